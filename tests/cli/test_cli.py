"""The `rule-runner` commands, run in-process on real files; bad input gives a clear message and a non-zero exit."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config in tmp_path with the seed rule and a store beside it; returns the config path."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return config


def cli(*args: str) -> int:
    return main(list(args))


def test_validate_the_seed_rule(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("validate", "--config", str(setup)) == 0
    output = capsys.readouterr().out
    assert "eql" in output and "runnable" in output and "1 rule files, 0 with errors" in output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('severity = "medium"', 'severity = "medium'), r"bad\.toml: line \d+:\d+: invalid TOML"),
        (lambda t: t.replace("risk_score = 47", 'risk_score = "high"'), r"bad\.toml: rule\.risk_score, line \d+:1: "),
        (lambda t: t.replace('process.args == "-c"', "process.args = '-c'"), r"bad\.toml: rule\.query, line \d+:\d+: EQL query line"),
        (lambda t: t, r"\.toml: rule\.rule_id, line \d+:1: duplicate rule_id"),
    ],
    ids=["malformed-toml", "invalid-field", "invalid-eql", "duplicate-rule-id"],
)
def test_validate_reports_bad_rule_files(setup: Path, capsys: pytest.CaptureFixture[str], edit, expected: str) -> None:
    (setup.parent / "rules" / "bad.toml").write_text(edit(SEED.read_text()))
    assert cli("validate", "--config", str(setup)) == 1
    captured = capsys.readouterr()
    assert __import__("re").search(expected, captured.err), captured.err
    assert "2 rule files, 1 with errors" in captured.out  # the good rule still loaded


def test_validate_the_corpus(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import shared_path

    corpus = shared_path("detection-rules")
    # nothing ingested: the fields are checked against the index templates (tests/backends/test_templates_corpus.py
    # lists the 41 rules a cluster with them installed fails too)
    assert cli("validate", "--config", str(setup), "--rules", str(corpus)) == 1
    output = capsys.readouterr().out
    assert "2,192 rule files, 0 with errors" in output
    assert "1,588 runnable, 604 skipped" in output and "not supported yet" in output
    assert "runnable; 1 skipped: lucene query rules are not supported yet" in output
    # the 1,081 EQL rules and the 499 enabled query rules: every query rule's KQL, translated against the
    # templates' fields, compiles there; the 41 errors are EQL rules'
    assert "1,580 enabled rule(s) checked" in output
    assert "1,539 ok, 41 with errors, 0 whose index patterns match no index there" in output


def test_empty_rules_directory(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = setup.parent / "empty"
    empty.mkdir()
    assert cli("validate", "--config", str(setup), "--rules", str(empty)) == 1
    assert "no rule files (*.toml) in this directory" in capsys.readouterr().err
    setup.write_text(setup.read_text().replace("paths: [rules]", "paths: [empty]"))
    assert cli("run", "--once", "--config", str(setup)) == 1
    assert "no enabled EQL rule to run" in capsys.readouterr().err
    assert not (setup.parent / "store.db").exists()  # nothing half-done


def test_unknown_config_key(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup.write_text(setup.read_text() + "schedular: {max_concurrent_executions: 2}\n")
    assert cli("validate", "--config", str(setup)) == 2
    message = capsys.readouterr().err
    assert 'schedular, line 4:1: unknown key "schedular"; did you mean "scheduler"?' in message


def test_missing_environment_variable(setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RR_TEST_STORE", raising=False)
    setup.write_text(setup.read_text().replace("embedded: {path: store.db}", "embedded:\n  path: ${RR_TEST_STORE}"))
    assert cli("ingest", "--config", str(setup), str(SAMPLES)) == 2
    assert "embedded.path, line 2:9: environment variable RR_TEST_STORE is not set" in capsys.readouterr().err
    assert not list(setup.parent.glob("*.db"))


def test_store_path_not_writable(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (setup.parent / "blocker").write_text("a file where a directory should be")
    setup.write_text(setup.read_text().replace("path: store.db", "path: blocker/store.db"))
    assert cli("ingest", "--config", str(setup), str(SAMPLES)) == 2
    assert "cannot open the embedded store at" in capsys.readouterr().err


def test_ingest_reports_bad_lines_and_keeps_the_good(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = SAMPLES.read_text().splitlines()[:3]
    data = setup.parent / "events.ndjson.gz"
    with gzip.open(data, "wt") as handle:
        handle.write("\n".join([lines[0], "{not json", lines[1], '{"_index": "x", "_source": {"no": "timestamp"}}',
                                '["a list"]', lines[2]]) + "\n")
    assert cli("ingest", "--config", str(setup), str(data)) == 0
    captured = capsys.readouterr()
    assert f"skipped {data}:2: not JSON" in captured.err
    assert f"skipped {data}:4: no readable @timestamp" in captured.err
    assert f"skipped {data}:5: not a JSON object" in captured.err
    assert "ingested 3 events" in captured.out and "3 bad lines skipped" in captured.out
    assert cli("ingest", "--config", str(setup), str(data)) == 0
    assert "ingested 0 events" in capsys.readouterr().out  # the same file twice adds nothing


def test_ingest_says_how_long_it_took_and_its_throughput(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("ingest", "--config", str(setup), str(SAMPLES)) == 0
    line = capsys.readouterr().out.strip()
    found = re.fullmatch(r"ingested ([\d,]+) events into .* lines read\) in (\d+\.\d) s, ([\d,]+) events/s", line)
    assert found, line
    assert int(found[1].replace(",", "")) == len(SAMPLES.read_text().splitlines()) and int(found[3].replace(",", "")) > 0


def test_plain_documents_need_an_index(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = setup.parent / "plain.ndjson"
    data.write_text('{"@timestamp": "2026-01-15T10:00:00Z", "event": {"category": "process"}}\n')
    assert cli("ingest", "--config", str(setup), str(data)) == 1
    assert "plain.ndjson:1: no index" in capsys.readouterr().err
    assert cli("ingest", "--config", str(setup), "--index", "logs-test", str(data)) == 0


def test_run_once_then_alerts_then_rerun(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("ingest", "--config", str(setup), str(SAMPLES)) == 0
    assert cli("run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(setup)) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and "30" in out
    assert cli("alerts", "--config", str(setup), "--format", "ndjson") == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(alerts) == 30 and {a["_index"] for a in alerts} == {".alerts-security.alerts-default"}
    assert cli("alerts", "--config", str(setup), "--rule", SEED_ID) == 0
    assert "10 alert(s)" in capsys.readouterr().out
    assert cli("run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(setup)) == 0
    capsys.readouterr()
    assert cli("alerts", "--config", str(setup), "--format", "ndjson") == 0
    assert len(capsys.readouterr().out.splitlines()) == 30


def test_bad_now(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("run", "--once", "--now", "yesterday", "--config", str(setup)) == 2
    assert "--now: [yesterday] is not an ISO 8601" in capsys.readouterr().err


def test_explain_json(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("explain", SEED_ID, "--now", "2026-01-15T10:05:00Z", "--format", "json", "--config", str(setup)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rule_id"] == SEED_ID
    [request] = document["requests"]
    assert request["window"] == {"from": "2026-01-15T09:56:00.000Z", "to": "2026-01-15T10:05:00.000Z"}
    assert request["index"] == ["logs-endpoint.events.*"] and request["body"]["size"] == 100
    assert not (setup.parent / "store.db").exists()  # explain reads state, never creates a store


def test_explain_unknown_rule(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("explain", "no-such-rule", "--config", str(setup)) == 1
    assert "unknown rule id no-such-rule" in capsys.readouterr().err


def test_explain_never_prints_secrets(setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RR_TEST_PASSWORD", "s3cr3t-Pa55")
    setup.write_text(setup.read_text() + "backend: elasticsearch\nelasticsearch:\n  hosts: https://es:9200\n"
                     "  username: elastic\n  password: ${RR_TEST_PASSWORD}\n")
    assert cli("explain", SEED_ID, "--config", str(setup)) == 0
    output = capsys.readouterr().out
    assert "s3cr3t-Pa55" not in output and "**********" in output and "_eql/search" in output


def test_query_command(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("query", 'process where process.name == "apt"', "--events", str(SAMPLES), "--size", "3", "--compact") == 0
    response = json.loads(capsys.readouterr().out)
    assert response["hits"]["total"] == {"value": 3, "relation": "eq"} and len(response["hits"]["events"]) == 3
    assert cli("query", "process where", "--events", str(SAMPLES)) == 1
    assert "parsing_exception: line 1:14: mismatched input '<EOF>'" in capsys.readouterr().err


def test_hunt_writes_alerts(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = setup.parent / "alerts.ndjson"
    assert cli("hunt", str(SAMPLES), "--config", str(setup), "--out", str(out_file)) == 0
    table = capsys.readouterr().out
    assert "Suspicious APT" in table and "1 rules, 1 with hits, 0 failed; 30 alert documents" in table
    alerts = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(alerts) == 30 and all(a["_source"]["kibana.alert.rule.execution.type"] == "manual" for a in alerts)


def test_python_dash_m_runner() -> None:
    result = subprocess.run([sys.executable, "-m", "runner", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("validate", "run", "ingest", "hunt", "query", "alerts", "explain"):
        assert command in result.stdout


SUDOERS_ID = "76152ca1-71d0-4003-9e37-0983e12832da"  # a corpus KQL query rule on auditbeat-*, logs-endpoint.events.*


def _with_query_rule(setup: Path) -> Path:
    from tests.conftest import shared_path

    [source] = shared_path("detection-rules").rglob("privilege_escalation_echo_nopasswd_sudoers.toml")
    (setup.parent / "rules" / source.name).write_text(source.read_text())
    return setup


def test_explain_a_query_rule_prints_its_search_request(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_query_rule(setup)
    assert cli("explain", SUDOERS_ID, "--now", "2026-01-15T10:05:00Z", "--config", str(setup)) == 0
    output = capsys.readouterr().out
    assert "POST /auditbeat-*,logs-endpoint.events.*/_search?allow_no_indices=true&ignore_unavailable=true" in output
    # nothing ingested: translated against the templates' fields (Elastic Defend's keyword fields: term queries)
    assert "fields: from the index templates (nothing ingested yet)" in output and '"term"' in output
    assert cli("explain", SUDOERS_ID, "--now", "2026-01-15T10:05:00Z", "--format", "json", "--config", str(setup)) == 0
    [request] = json.loads(capsys.readouterr().out)["requests"]
    assert request["endpoint"] == "_search" and request["body"]["size"] == 100
    assert request["body"]["sort"][0] == {"event.ingested": {"order": "asc", "unmapped_type": "date"}}
    assert not (setup.parent / "store.db").exists()


def test_hunt_runs_query_rules_with_eql_rules_in_one_pass(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_query_rule(setup)
    events = setup.parent / "events.ndjson"
    matching = {"_index": ".ds-logs-endpoint.events.process-default-2026.01.15-000001", "_id": "q1", "_source": {
        "@timestamp": "2026-01-15T10:00:00.000Z", "event": {"category": ["process"], "type": ["start"]},
        "process": {"name": "bash", "args": ["echo", "alice ALL=(ALL) NOPASSWD: ALL"]}}}
    events.write_text(SAMPLES.read_text() + json.dumps(matching) + "\n")
    out_file = setup.parent / "alerts.ndjson"
    assert cli("hunt", str(events), "--config", str(setup), "--out", str(out_file)) == 0
    table = capsys.readouterr().out
    assert "2 rules, 2 with hits, 0 failed; 31 alert documents" in table
    alerts = [json.loads(line)["_source"] for line in out_file.read_text().splitlines()]
    [query_alert] = [a for a in alerts if a["kibana.alert.rule.rule_type_id"] == "siem.queryRule"]
    assert query_alert["kibana.alert.ancestors"][0]["id"] == "q1"
    # rules whose patterns match no index of the file: "no index", for a query rule as for an EQL rule
    other = setup.parent / "other.ndjson"
    other.write_text(json.dumps({"_index": "other-1", "_id": "o1", "_source": {"@timestamp": "2026-01-15T10:00:00Z"}})
                     + "\n")
    assert cli("hunt", str(other), "--config", str(setup), "--all", "--format", "ndjson") == 0
    rows = {row["rule_id"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows[SUDOERS_ID]["status"] == rows[SEED_ID]["status"] == "no index"


def test_validate_reports_a_kql_query_its_fields_cannot_translate(setup: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _with_query_rule(setup)
    path = next((setup.parent / "rules").glob("privilege_escalation_*.toml"))
    text = path.read_text()
    start = text.index("query = '''")
    end = text.index("'''", start + 11) + 3
    path.write_text(text[:start] + "query = '''\nprocess.Ext.code_signature.trusted:false\n'''" + text[end:])
    assert cli("validate", "--config", str(setup)) == 1
    captured = capsys.readouterr()
    assert "2 enabled rule(s) checked" in captured.out and "1 ok, 1 with errors" in captured.out
    assert "kql_translation_exception" in captured.err and "is a nested field" in captured.err
