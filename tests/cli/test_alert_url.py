"""`kibana.alert.url` from the Kibana base URL setting, end to end through `run --once` (embedded store): Kibana's
`getAlertDetailsUrl` format, `/s/<space>` for a space other than the default, on shells and building blocks alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
NOW = "2026-01-15T10:05:00Z"


def run_and_list_alerts(tmp_path: Path, extra: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n" + extra)
    assert main(["ingest", "--config", str(config), str(SAMPLES)]) == 0
    assert main(["run", "--once", "--now", NOW, "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["alerts", "--config", str(config), "--format", "ndjson"]) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(alerts) == 30  # 10 sequences: a shell and 2 building blocks each
    return alerts


def kinds(alerts: list[dict]) -> set[str]:
    return {"block" if a["_source"].get("kibana.alert.building_block_type") else "shell" for a in alerts}


def test_alerts_link_to_kibana_in_a_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    alerts = run_and_list_alerts(
        tmp_path, "alerts: {space_id: soc}\nkibana: {public_base_url: 'HTTPS://Kibana.Example.com:5601/kbn/'}\n", capsys)
    assert kinds(alerts) == {"shell", "block"}
    for alert in alerts:
        source = alert["_source"]
        assert source["kibana.alert.url"] == (
            f"https://kibana.example.com:5601/kbn/s/soc/app/security/alerts/redirect/{alert['_id']}"
            f"?index=.alerts-security.alerts-soc&timestamp={source['@timestamp']}"
        )


def test_alerts_link_to_kibana_in_the_default_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    alerts = run_and_list_alerts(tmp_path, "kibana: {public_base_url: 'https://kibana.example.com'}\n", capsys)
    assert kinds(alerts) == {"shell", "block"}
    for alert in alerts:
        source = alert["_source"]
        assert source["kibana.alert.url"] == (
            f"https://kibana.example.com/app/security/alerts/redirect/{alert['_id']}"
            f"?index=.alerts-security.alerts-default&timestamp={source['@timestamp']}"
        )


def test_no_link_without_a_kibana_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    alerts = run_and_list_alerts(tmp_path, "", capsys)
    assert not [a for a in alerts if "kibana.alert.url" in a["_source"]]
