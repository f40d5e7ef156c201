"""The rules' uuids from Kibana (`kibana.url`), end to end: `run --once` on the embedded store with Kibana's API
played by the loopback stub. An explicit override wins, then the rule installed in Kibana, then the uuid5 default;
one lookup for every rule at start-up; Kibana unreachable or refusing stops the start with exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.catalog import default_rule_uuid
from runner.cli.main import main
from tests.backends.es_stub import Recorded, Reply, Stub, refused_url

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
# the same rule under two more rule_ids: three rules that find the same 10 sequences
OTHER_ID = "0f0b5c6e-0000-4000-8000-00000000c0de"
PINNED_ID = "1e1b5c6e-0000-4000-8000-00000000beef"
KIBANA_UUID = "5a1e7c2e-9a41-11ef-b3b1-6f2c1b4d9e01"
PINNED_UUID = "0b7d6f1a-0000-4000-8000-000000000000"
SECRET = "kibana-api-key-never-shown"
NOW = "2026-01-15T10:05:00Z"
FIND = "/api/detection_engine/rules/_find"


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = SEED.read_text()
    (rules / "seed.toml").write_text(text)
    (rules / "other.toml").write_text(text.replace(SEED_ID, OTHER_ID))
    (rules / "pinned.toml").write_text(text.replace(SEED_ID, PINNED_ID))
    monkeypatch.setenv("KIBANA_API_KEY", SECRET)
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    path = tmp_path / "runner.yaml"
    path.write_text(
        "embedded: {path: store.db}\nalerts: {space_id: soc}\nlogging: {level: INFO}\n"
        f"rules:\n  paths: [rules]\n  overrides:\n    {PINNED_ID}: {{uuid: {PINNED_UUID}}}\n"
    )
    assert main(["ingest", "--config", str(path), str(SAMPLES)]) == 0
    return path


def with_kibana(config: Path, url: str) -> Path:
    config.write_text(config.read_text() + f"kibana:\n  url: {url}\n  api_key: ${{KIBANA_API_KEY}}\n")
    return config


def kibana_has(installed: dict[str, str]):
    """`_find`'s answer for the rule ids the filter names, among `installed` (a scripted reply, not a Kibana)."""
    def reply(request: Recorded) -> Reply:
        data = [{"id": uuid, "rule_id": rule_id} for rule_id, uuid in installed.items()
                if f'"{rule_id}"' in request.query["filter"]]
        return Reply(200, {"page": 1, "perPage": 50, "total": len(data), "data": data})
    return reply


def alerts_by_rule(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[dict]]:
    capsys.readouterr()
    assert main(["alerts", "--config", str(config), "--format", "ndjson"]) == 0
    by_rule: dict[str, list[dict]] = {}
    for line in capsys.readouterr().out.splitlines():
        alert = json.loads(line)
        by_rule.setdefault(alert["_source"]["kibana.alert.rule.rule_id"], []).append(alert)
    return by_rule


def test_run_uses_the_uuid_of_the_rule_installed_in_kibana(config: Path, stub: Stub,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # Kibana has the seed rule, and a rule with the pinned rule_id too: the override wins over Kibana's
    stub.always("GET", "/s/soc" + FIND, kibana_has({SEED_ID: KIBANA_UUID, PINNED_ID: "never-used"}))
    assert main(["run", "--once", "--now", NOW, "--config", str(with_kibana(config, stub.url))]) == 0
    logged = capsys.readouterr().err  # logging: INFO, as text
    warnings = [line.split(" WARNING runner.cli: ", 1)[1] for line in logged.splitlines() if " WARNING " in line]
    assert warnings == [f"1 rule(s) not installed in Kibana ({stub.url}, space soc) keep the default uuid (a uuid5 "
                        f"of the rule_id), so their alerts link to no Kibana rule: {OTHER_ID}"]
    assert (f"Kibana ({stub.url}, space soc): 1 rule(s) linked to the rule installed with their rule_id, 1 not "
            "installed, 1 with their uuid set in rules.overrides") in logged
    assert SECRET not in logged
    # one lookup, at start-up, for the rules whose uuid is not pinned (in rule file order)
    [request] = stub.requests
    assert request.query["filter"] == f'alert.attributes.params.ruleId: ("{OTHER_ID}" OR "{SEED_ID}")'
    assert request.headers["authorization"] == f"ApiKey {SECRET}"
    alerts = alerts_by_rule(config, capsys)
    expected = {SEED_ID: KIBANA_UUID, PINNED_ID: PINNED_UUID, OTHER_ID: default_rule_uuid(OTHER_ID)}
    for rule_id, uuid in expected.items():
        assert len(alerts[rule_id]) == 30
        assert {a["_source"]["kibana.alert.rule.uuid"] for a in alerts[rule_id]} == {uuid}
        # the shells' ancestors name the rule by it too, and Kibana's address is the links' base
        shells = [a for a in alerts[rule_id] if "kibana.alert.building_block_type" not in a["_source"]]
        assert {ancestor["rule"] for s in shells for ancestor in s["_source"]["kibana.alert.ancestors"]
                if ancestor["type"] == "signal"} == {uuid}
        assert all(a["_source"]["kibana.alert.url"].startswith(f"{stub.url}/s/soc/app/security/alerts/redirect/"
                                                                f"{a['_id']}?") for a in alerts[rule_id])
    # alert ids hash the rule uuid: the same events, three rules, no id in common
    assert len({a["_id"] for rule_alerts in alerts.values() for a in rule_alerts}) == 90


@pytest.mark.parametrize("failure", ["refused", "503", "401"])
def test_kibana_unreachable_or_refusing_stops_the_start(config: Path, stub: Stub, failure: str,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("runner.execution.retry.time.sleep", waits.append)
    url = stub.url
    if failure == "refused":
        url = refused_url()
    else:
        status = int(failure)
        stub.always("GET", "/s/soc" + FIND, Reply(status, {"statusCode": status, "message": "no way"}))
    assert main(["run", "--once", "--now", NOW, "--config", str(with_kibana(config, url))]) == 1
    err = capsys.readouterr().err
    *retries, last = err.strip().splitlines()
    assert last.startswith("rule-runner run: cannot read the rules' ids from Kibana, so rule-runner does not start (its "
                           f"alerts would not match Kibana's rules): Kibana ({url}): ")
    # failures that may pass are tried again (max_retries, one line each); a refusal is not
    assert len([line for line in retries if "trying again" in line]) == (0 if failure == "401" else 3)
    assert waits == ([] if failure == "401" else [0.5, 1.0, 2.0])
    assert {"refused": "cannot connect", "503": "HTTP 503: no way", "401": "check kibana.api_key"}[failure] in err
    assert "Traceback" not in err and SECRET not in err
    assert alerts_by_rule(config, capsys) == {}  # nothing ran


def test_explain_shows_the_uuid_and_where_it_comes_from(config: Path, stub: Stub,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    def explain(rule_id: str) -> tuple[dict, str]:
        assert main(["explain", rule_id, "--now", NOW, "--format", "json", "--config", str(config)]) == 0
        document = json.loads(capsys.readouterr().out)
        assert main(["explain", rule_id, "--now", NOW, "--config", str(config)]) == 0
        return document["rule_uuid"], capsys.readouterr().out

    # without Kibana: the default, or the override
    uuid, text = explain(SEED_ID)
    assert uuid == {"uuid": default_rule_uuid(SEED_ID), "source": "default"}
    assert f"rule uuid: {default_rule_uuid(SEED_ID)} (default: a uuid5 of the rule_id)" in text
    uuid, text = explain(PINNED_ID)
    assert uuid == {"uuid": PINNED_UUID, "source": "override"}
    assert f"rule uuid: {PINNED_UUID} (set in rules.overrides)" in text
    # with Kibana: the installed rule's, or the default with the reason
    stub.always("GET", "/s/soc" + FIND, kibana_has({SEED_ID: KIBANA_UUID}))
    with_kibana(config, stub.url)
    uuid, text = explain(SEED_ID)
    assert uuid == {"uuid": KIBANA_UUID, "source": "kibana"}
    assert f"rule uuid: {KIBANA_UUID} (the rule installed in Kibana with this rule_id)" in text
    assert '"api_key": "**********"' in text and SECRET not in text
    uuid, text = explain(OTHER_ID)
    assert uuid["source"] == "default" and uuid["note"] == (
        "not installed in Kibana (space soc): its alerts link to no Kibana rule")
    uuid, _ = explain(PINNED_ID)
    assert uuid == {"uuid": PINNED_UUID, "source": "override"}
    # Kibana not reached: explain still answers, and says what run would do
    stub.close()
    uuid, text = explain(SEED_ID)
    assert uuid["source"] == "default" and "cannot connect" in uuid["note"]
    assert uuid["note"].endswith("; run would not start") and SECRET not in text
