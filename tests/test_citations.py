"""Comments and docstrings cite only documents a reader can open: a file of this repository or of `../shared`
(the reference material beside the checkout), named by its file name (`kibana-eql-execution.md §4.1`), never an
unnamed "spec"."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[1]
CITED = re.compile(r"(?<![\w/.-])([\w.-]+\.md)\b")


def _texts() -> list[Path]:
    return [path for folder in ("runner", "tests", "bench", "samples", "docker", ".ci") if (REPO / folder).exists()
            for path in sorted((REPO / folder).rglob("*")) if path.suffix in {".py", ".md", ".yaml", ".yml", ""}
            and path.is_file() and ".venv" not in path.parts and "__pycache__" not in path.parts]


def test_no_unnamed_spec_is_cited() -> None:
    problems = [f"{path.relative_to(REPO)}:{number}" for path in _texts()
                for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
                if re.search(r"\bspec §", line)]
    assert not problems, "cite the document by its file name: " + ", ".join(problems)


def test_every_cited_document_exists() -> None:
    shared = shared_path()
    names = {path.name for path in REPO.rglob("*.md") if ".venv" not in path.parts}
    names |= {path.name for path in shared.rglob("*.md")}
    problems = []
    for path in [*_texts(), REPO / "README.md"]:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            problems.extend(f"{path.relative_to(REPO)}:{number}: {cited}" for cited in CITED.findall(line)
                            if cited not in names)
    assert not problems, "\n".join(problems)
