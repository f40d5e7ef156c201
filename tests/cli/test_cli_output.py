"""What the commands print: foreign text shown as it is (never taken for markup), summaries by status before the rows,
one line per row however long, wherever the output goes, and bad-line reports that stay short."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
NOW = "2026-01-15T10:05:00Z"
BAD_ID = "00000000-0000-4000-8000-00000000bad1"
NO_INDEX_ID = "00000000-0000-4000-8000-0000000000e2"
BAD_NAME = "[Test] Bad column :warning: rule"


def variant(rule_id: str, name: str, *, query: str | None = None, index: str | None = None) -> str:
    text = SEED.read_text().replace(SEED_ID, rule_id).replace(
        'name = "Suspicious APT Package Manager Network Connection"', f'name = "{name}"')
    if query is not None:
        text = re.sub(r"query = '''.*?'''", lambda _: f"query = '''\n{query}\n'''", text, flags=re.DOTALL)
    if index is not None:
        text = text.replace('index = ["logs-endpoint.events.*"]', f'index = ["{index}"]')
    return text


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed rule, a rule whose query names a field the events do not have, and one whose index matches nothing;
    the sample events ingested."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / SEED.name).write_text(SEED.read_text())
    (rules / "bad_column.toml").write_text(variant(BAD_ID, BAD_NAME, query='process where flow.final == true'))
    (rules / "no_index.toml").write_text(variant(NO_INDEX_ID, "No index rule", index="nothing-here-*"))
    path = tmp_path / "runner.yaml"
    path.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\nlogging: {level: ERROR}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)  # rich would take it as the width
    # a terminal of 80 columns beside the captured output (rich measures stdin's too): output to a pipe ignores it
    monkeypatch.setattr(os, "get_terminal_size", lambda *_: os.terminal_size((80, 24)))
    assert main(["ingest", "--config", str(path), str(SAMPLES)]) == 0
    return path


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_run_once_summarises_by_status_and_lists_hits_and_failures(config: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["run", "--once", "--now", NOW, "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"succeeded\s*│\s*1 │\s*10 │\s*30 │", out)
    assert re.search(r"partial failure\s*│\s*1 │\s*0 │", out) and re.search(r"failed\s*│\s*1 │", out)
    assert re.search(r"total\s*│\s*3 │\s*10 │\s*30 │", out)
    assert out.index("partial failure") < out.index("Suspicious APT")  # the summary comes first
    assert "2 of 3 rule(s) with hits or a failure" in out
    assert "No index rule" not in out  # a warning without hits: counted, not listed
    # foreign text is never markup: brackets and emoji codes come through, on the rule's one line, past 80 columns
    row = line_with(out, BAD_NAME)
    assert "Found 1 problem line 1:15: Unknown column [flow.final], did you mean [url.original]?" in row
    assert len(row) > 80 and row.rstrip().endswith("│")
    assert main(["run", "--once", "--now", NOW, "--all", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    row = line_with(out, "No index rule")
    assert "every rule" in out and "partial failure │ This rule is attempting to query data" in row
    assert " … " in row and row.rstrip(" │").endswith("(no such index [nothing-here-*])")  # shortened: both ends


def test_run_once_ndjson_has_each_record_in_full(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["run", "--once", "--now", NOW, "--format", "ndjson", "--config", str(config)]) == 1
    records = {r["rule_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(records) == {SEED_ID, BAD_ID, NO_INDEX_ID}
    assert records[SEED_ID]["alerts_created"] == 30
    assert records[BAD_ID]["message"].startswith("Found 1 problem\nline 1:15: Unknown column [flow.final]")
    assert '["nothing-here-*"] was found' in records[NO_INDEX_ID]["message"]  # the full warning, not shortened


def test_service_flags_need_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--all", "--config", str(config)]) == 2
    assert "--all applies to --once" in capsys.readouterr().err


def test_hunt_summarises_and_keeps_brackets(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["hunt", str(SAMPLES), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"ok\s*│\s*1 │\s*10 │\s*30 │", out) and re.search(r"no index\s*│\s*1 │", out)
    assert re.search(r"failed\s*│\s*1 │", out)
    assert "Unknown column [flow.final]" in line_with(out, BAD_NAME)
    assert "No index rule" not in out
    assert "3 rules, 1 with hits, 1 failed; 30 alert documents" in out
    assert main(["hunt", str(SAMPLES), "--all", "--config", str(config)]) == 1
    assert "No index rule" in capsys.readouterr().out


def test_hunt_ndjson(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["hunt", str(SAMPLES), "--format", "ndjson", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    results = {r["rule_id"]: r for r in map(json.loads, captured.out.splitlines())}
    assert results[SEED_ID]["hits"] == 10 and results[SEED_ID]["alerts"] == 30
    assert results[BAD_ID]["status"] == "failed" and "Unknown column [flow.final]" in results[BAD_ID]["message"]
    assert "3 rules, 1 with hits" in captured.err  # stdout stays one JSON document per line


def test_alerts_table_has_the_rule(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config.parent / "rules" / SEED.name).write_text(variant(SEED_ID, "[Seed] APT :fire: rule"))
    assert main(["run", "--once", "--now", NOW, "--config", str(config)]) == 1
    capsys.readouterr()
    assert main(["alerts", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "┃ rule " in line_with(out, "┃ time")
    assert len([line for line in out.splitlines() if "[Seed] APT :fire: rule │ sequence" in line]) == 10


def test_explain_prints_names_as_they_are(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", BAD_ID, "--now", NOW, "--config", str(config)]) == 0
    assert f"rule {BAD_ID}: {BAD_NAME}" in capsys.readouterr().out


def test_bad_lines_are_capped_with_a_count(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = SAMPLES.read_text().splitlines()[:2]
    data = config.parent / "bad.ndjson"
    data.write_text("\n".join([good[0], *(f"{{not json [{n}]" for n in range(30)), good[1]]) + "\n")
    capsys.readouterr()
    assert main(["ingest", "--config", str(config), str(data)]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 21 and skipped[0].startswith(f"skipped {data}:2: not JSON")
    assert skipped[-1] == "skipped 10 more bad lines (the first 20 are listed)"
    assert "30 bad lines skipped" in captured.out
    assert main(["query", "process where true", "--events", str(data), "--compact"]) == 0
    assert capsys.readouterr().err.splitlines()[20] == "skipped 10 more bad lines (the first 20 are listed)"


def test_a_narrow_terminal_cuts_long_texts_not_numbers(config: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # the width of a terminal (rich reads it)
    capsys.readouterr()
    assert main(["hunt", str(SAMPLES), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table)
    assert re.search(r"^│ Suspicious APT \S*… │ +10 │ +30 │ ok +│ +│$", line_with(out, "Suspicious APT"))
    assert re.search(r"^│ \[Test\] Bad \S*… │ +0 │ +0 │ failed +│ verif\w*… │$", line_with(out, "[Test] Bad"))
