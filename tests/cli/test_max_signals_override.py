"""`rules.overrides.<rule_id>.max_signals`, end to end: the search's `size`, the alerts' copies of the value and
`explain` all follow the override (Elasticsearch backend against the loopback stub; embedded store for `explain`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli.main import main
from tests.backends.es_stub import Reply, Stub, first_op, standalone_cluster

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
NOW = "2026-01-15T10:05:00Z"


def config(tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / SEED.name).write_text(SEED.read_text())
    path = tmp_path / "runner.yaml"
    path.write_text(
        f"{backend}\nalerts: {{mode: standalone}}\nrules:\n  paths: [rules]\n  overrides:\n"
        f"    {SEED_ID}: {{max_signals: 250}}\nlogging: {{level: WARNING}}\n"
    )
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return path


def test_run_once_searches_and_writes_with_the_overridden_max_signals(
        tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from runner.catalog import load_rule_file
    from runner.engine import search

    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    response = search(docs, load_rule_file(SEED).query, size=100)
    standalone_cluster(stub, Reply(200, response))
    path = config(tmp_path, f"backend: elasticsearch\nelasticsearch: {{hosts: {stub.url}, retry_backoff: 0s}}",
                  monkeypatch)
    assert main(["run", "--once", "--now", NOW, "--config", str(path)]) == 0
    assert "succeeded" in capsys.readouterr().out
    [eql] = stub.sent("POST", "/logs-endpoint.events.\\*/_eql/search")
    assert eql.json["size"] == 250
    [write] = [r for r in stub.sent("PUT", "/_bulk") if first_op(r) == "create"]
    alerts = write.ndjson[1::2]
    assert len(alerts) == 30
    assert {a["kibana.alert.rule.max_signals"] for a in alerts} == {250}
    assert {a["kibana.alert.rule.parameters"]["max_signals"] for a in alerts} == {250}


def test_explain_shows_the_overridden_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, "embedded: {path: store.db}", monkeypatch)
    assert main(["explain", SEED_ID, "--now", NOW, "--format", "json", "--config", str(path)]) == 0
    [request] = json.loads(capsys.readouterr().out)["requests"]
    assert request["body"]["size"] == 250
    assert main(["explain", SEED_ID, "--now", NOW, "--config", str(path)]) == 0
    assert '"size": 250' in capsys.readouterr().out
