"""The README's test command on a clone without ../shared: the tests needing it skip with the reason; under
REQUIRE_SHARED=1 (what .ci/run sets) they fail instead. Run on a copy of this checkout in a directory that has no
`shared` beside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# tests that read ../shared in each way there is: the stub's recorded examples, a parametrised suite, shared_path
NEEDING_SHARED = [
    "tests/backends/test_elasticsearch.py::test_the_recorded_mixed_bulk_response",
    "tests/execution/test_elasticsearch_faults.py::test_a_bad_query_fails_at_once_with_elasticsearchs_message",
    "tests/engine/test_conformance.py::test_case",
    "tests/eql/test_rules_corpus.py",
]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    checkout = tmp_path_factory.mktemp("fresh") / "rule-runner"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info"))
    assert not (checkout.parent / "shared").exists()
    return checkout


def pytest_in(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "REQUIRE_SHARED"} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsfE", *NEEDING_SHARED],
                          cwd=checkout, env=environment, capture_output=True, text=True, timeout=300)


def test_without_shared_the_tests_skip_with_the_reason(clone: Path) -> None:
    result = pytest_in(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    missing = clone.parent / "shared"
    assert f"reference material not found: {missing / 'reference' / 'es-examples'}" in result.stdout
    assert f"reference material not found: {missing / 'eql-spec'}" in result.stdout
    assert " failed" not in result.stdout and "skipped" in result.stdout
    assert f"reference material: {missing} (absent: tests needing it skip" in result.stdout


def test_under_require_shared_they_fail(clone: Path) -> None:
    result = pytest_in(clone, REQUIRE_SHARED="1")
    assert result.returncode == 1, result.stdout + result.stderr
    for test in NEEDING_SHARED:  # a failure in the test or in its fixture (an error): either way, red
        assert re.search(rf"^(FAILED|ERROR) {re.escape(test)}", result.stdout, re.MULTILINE), result.stdout
    assert "REQUIRE_SHARED=1: reference material not found" in result.stdout
    assert " passed" not in result.stdout
