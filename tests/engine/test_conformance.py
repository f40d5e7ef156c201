"""Elasticsearch's own EQL QA suite as the oracle for the embedded engine."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from tests.conftest import SHARED, shared_path
from tests.engine.conformance import DATASETS, Case, load_cases, run_case

SPEC = SHARED / "eql-spec"
# without the suite, one placeholder case whose `spec_dir` fixture skips it (or fails it under REQUIRE_SHARED=1)
CASES: list[Any] = load_cases(SPEC) if SPEC.is_dir() else [None]

# Cases the engine does not pass yet, with the cause. Each one is a strict xfail: fixing it turns the test red
# until it is removed from here.
KNOWN_FAILURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def spec_dir() -> Path:
    return shared_path("eql-spec")


@pytest.mark.parametrize("case", CASES, ids=[c.id if isinstance(c, Case) else "eql-spec" for c in CASES])
def test_case(spec_dir: Path, case: Case) -> None:
    if case.id in KNOWN_FAILURES:
        pytest.xfail(KNOWN_FAILURES[case.id])
    outcome = run_case(spec_dir, case)
    assert outcome.status == "pass", f"{case.query}\n{outcome.detail}"


def test_conformance_table(spec_dir: Path) -> None:
    """Runs the whole suite, prints the per-file table and every failing case, and holds the 95% bar."""
    outcomes = [run_case(spec_dir, case) for case in load_cases(spec_dir)]
    table = Table(title="Elasticsearch EQL QA suite: embedded engine conformance")
    for column in ("file", "cases", "pass", "fail", "error"):
        table.add_column(column, justify="left" if column == "file" else "right")
    total: Counter[str] = Counter()
    for file in DATASETS:
        counts = Counter(o.status for o in outcomes if o.case.file == file)
        cases = sum(counts.values())
        total.update(counts)
        table.add_row(file, str(cases), str(counts["pass"]), str(counts["fail"]), str(counts["error"]))
    cases = sum(total.values())
    table.add_row("total", str(cases), str(total["pass"]), str(total["fail"]), str(total["error"]), style="bold")
    console = Console(width=160)
    console.print(table)
    for outcome in outcomes:
        if outcome.status != "pass":
            console.print(f"[{outcome.status}] {outcome.case.id}: {outcome.detail}", markup=False)
    console.print(f"conformance: {total['pass']}/{cases} ({100 * total['pass'] / cases:.1f}%)")
    assert cases == 298
    assert total["pass"] / cases >= 0.95
