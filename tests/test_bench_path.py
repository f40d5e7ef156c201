"""bench/path.py, the user's-path benchmark, end to end at a tiny N: every path it runs completes, the window's events
are extracted, the store is cached and reused, and the report's targets are computed from the measurements.

The figures themselves are not asserted (tests assert behaviour, never timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "bench" / "path.py"
RULE_RUNNER = Path(sys.executable).with_name("rule-runner")


def harness_module() -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import path  # type: ignore[import-not-found]  # bench/ is on sys.path for this import only
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return path


def bench(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HARNESS), "--events", "2000", "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200"})


def test_the_harness_runs_end_to_end_at_tiny_n(tmp_path: Path) -> None:
    shared_path("seed")
    if not RULE_RUNNER.exists():
        pytest.skip(f"the rule-runner command is not installed beside {sys.executable} (pip install -e .)")
    paths = "floor,eql-seed,hunt-seed,ingest,hunt-window-seed,once-seed"
    done = bench(tmp_path, "--paths", paths, "--json", str(tmp_path / "first.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "first.json").read_text())
    results = {r["path"]: r for r in report["results"]}
    assert list(results) == paths.split(",")
    for name, result in results.items():
        if name == "eql-seed" and result["status"] == "skipped":
            assert "eql package is not installed" in result["note"]  # the bench extra is absent: said, not failed
            continue
        assert result["status"] == "ok", result
        assert result["seconds"] > 0 and result["peak_rss_mib"] > 0
    assert results["floor"]["summary"] == "floor: 2,000 lines parsed"
    assert "ingested 2,000 events" in results["ingest"]["summary"]
    # 2,000 generated events span seconds: the 9-minute window ending 5 s after the newest event holds them all
    assert results["hunt-window-seed"]["input_events"] == 2000
    assert any("the window [" in note and "holds 2,000 events" in note for note in report["notes"])
    assert (tmp_path / "events-2k.ndjson").exists()
    targets = {t["name"]: t for t in report["targets"]}
    assert targets["hunt-seed 2k: ≤ 2× floor"]["met"] is not None
    assert targets["once-seed 2k: ≤ 1.5× hunt-window-seed"]["met"] is not None
    # run --once over the window and hunt of the window's events agree (counts read from each command's output)
    assert results["once-seed"]["alerts"] == results["hunt-window-seed"]["alerts"] is not None
    assert targets["once-seed 2k: at least the alerts of hunt-window-seed"]["met"] is True
    assert "Targets (issue 12)" in done.stdout and "The user's path" in done.stdout

    # again without ingest: the cached store serves run --once, not rebuilt; alerts and state emptied first
    again = bench(tmp_path, "--paths", "once-seed", "--json", str(tmp_path / "second.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "building the store" not in again.stdout
    second = json.loads((tmp_path / "second.json").read_text())
    assert [r["status"] for r in second["results"]] == ["ok"]


def test_a_store_is_rebuilt_when_its_key_changes(tmp_path: Path) -> None:
    harness = harness_module()
    file = tmp_path / "events-2k.ndjson"
    file.write_text("{}\n")
    store, meta = harness.store_paths(tmp_path, file)
    store.parent.mkdir()
    store.write_bytes(b"")
    assert harness.cached_store(tmp_path, file) is None  # no key: an ingest that did not finish
    meta.write_text(json.dumps(harness.store_key(file)))
    assert harness.cached_store(tmp_path, file) == store
    file.write_text("{}\n{}\n")  # the data changed
    assert harness.cached_store(tmp_path, file) is None
    meta.write_text(json.dumps({**harness.store_key(file), "schema_version": -1}))  # another store schema
    assert harness.cached_store(tmp_path, file) is None


def test_targets_from_measurements() -> None:
    harness = harness_module()
    measure = harness.Measure

    def m(path: str, n: int, seconds: float, rss: float) -> Any:
        return measure(path, n, n, seconds=seconds, peak_rss_mib=rss)

    results = [m("floor", 10, 2.0, 10), m("hunt-seed", 10, 3.0, 100), m("eql-seed", 10, 6.0, 30),
               m("floor", 30, 6.0, 10), m("hunt-seed", 30, 13.0, 400), m("eql-seed", 30, 18.0, 30),
               m("hunt-window-seed", 10, 2.0, 50), m("once-seed", 10, 4.0, 50)]
    got = {t.name: (t.measured, t.met) for t in harness.targets(results, [10, 30])}
    assert got["hunt-seed 10: ≤ 2× floor"] == ("1.50×", True)
    assert got["hunt-seed 30: ≤ 2× floor"] == ("2.17×", False)
    assert got["hunt-seed 30: peak RSS ≤ 300 MiB"] == ("400 MiB", False)
    assert got["hunt-seed 10: ahead of eql streaming (< 1×)"] == ("0.50×", True)
    assert got["once-seed 10: ≤ 1.5× hunt-window-seed"] == ("2.00×", False)
    assert got["once-seed 30: ≤ 1.5× hunt-window-seed"] == ("n/a", None)  # not measured: said, not judged
    assert got["hunt-seed: peak RSS flat 10 → 30 (≤ 1.15×)"] == ("4.00×", False)


def test_exit_1_of_a_run_that_answered_every_rule_is_its_answer() -> None:
    harness = harness_module()
    hunt = ["rule-runner", "hunt", "x.ndjson"]
    assert harness.completed(hunt, ["...", "1,081 rules, 4 with hits, 78 failed; 153 alert documents written"])
    assert not harness.completed(hunt, ["Traceback (most recent call last):", "1 rules, 0 with hits, 0 failed;"])
    assert not harness.completed(hunt, ["error: cannot read x.ndjson"])
    once = ["rule-runner", "run", "--once"]
    assert harness.completed(once, ["1,081 rule(s) run once at 2026-11-29T00:45:00+00:00", "┏━━"])
    assert not harness.completed(["rule-runner", "ingest"], ["1 rules, 0 with hits, 0 failed;"])


def test_alert_counts_read_from_the_commands_output() -> None:
    harness = harness_module()
    hunt = ["1 rules, 1 with hits, 0 failed; 21 alert documents written to out.ndjson; searched 1,000 events in 2s"]
    assert harness.alerts_of(hunt) == 21
    once = ["1 rule(s) run once at 2026-11-29T00:45:26+00:00", "┃ status ┃ rules ┃ hits ┃ alerts ┃ duplicates ┃",
            "│ succeeded       │       1 │       1 │       3 │          0 │",
            "│ total           │       1 │       1 │   1,203 │          0 │", "└──┘"]
    assert harness.alerts_of(once) == 1203
    assert harness.alerts_of(["floor: 2,000 lines parsed"]) is None
