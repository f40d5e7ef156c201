"""Single-event alerts (kibana-eql-execution.md §3.1, §3.3, §3.5): one per event, every Kibana field, overrides, own alerts skipped."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION, Alert, AlertBuildError, AlertContext, build_alerts
from runner.catalog import RuleSource
from tests.alerts.support import (
    EXECUTION,
    NOW,
    NOW_ISO,
    OVERRIDES,
    RULE_ID,
    eql_test_hit,
    make_context,
    office_event,
    reference_example,
    write_rule,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def one(alerts: list[Alert]) -> Alert:
    assert len(alerts) == 1
    return alerts[0]


def test_a_single_event_alert_has_every_kibana_field(tmp_path: Path) -> None:
    rule = write_rule(tmp_path)
    event = office_event()
    alert = one(build_alerts({"hits": {"events": [event]}}, make_context(rule)))
    expected_id = sha(event["_index"] + "AbC123" + "undefined" + f"default:{rule.uuid}")
    assert alert.id == expected_id
    assert (alert.building_block, alert.group_id, alert.group_index, alert.is_shell) == (False, None, None, False)
    s = alert.source

    # the event's own fields, with `fields` merged in where the source had nothing
    assert s["host"] == {"name": "ws-01", "id": "host-1", "os": {"family": "windows"}}
    assert s["process"] == {"name": "cmd.exe", "pid": 4242, "parent": {"name": "winword.exe"},
                            "command_line": "cmd.exe /c whoami"}
    assert s["agent"] == {"type": "endpoint", "id": "agent-1"}
    assert s["event"] == {"category": ["process"], "type": ["start"], "action": "start",
                          "dataset": "endpoint.events.process", "module": "endpoint",
                          "ingested": "2024-05-01T12:01:12Z"}
    assert s["event.kind"] == "signal"
    assert {k: v for k, v in s.items() if k.startswith("kibana.alert.original_event.")} == {
        "kibana.alert.original_event.category": ["process"],
        "kibana.alert.original_event.type": ["start"],
        "kibana.alert.original_event.action": "start",
        "kibana.alert.original_event.kind": "event",
        "kibana.alert.original_event.dataset": "endpoint.events.process",
        "kibana.alert.original_event.module": "endpoint",
        "kibana.alert.original_event.ingested": "2024-05-01T12:01:12Z",
    }
    assert s["kibana.alert.original_data_stream.dataset"] == "endpoint.events.process"
    assert "host.name.keyword" not in json.dumps(s)

    # the alert
    assert s["@timestamp"] == NOW_ISO
    assert s["kibana.alert.original_time"] == "2024-05-01T12:01:10.000Z"
    assert s["kibana.alert.uuid"] == expected_id
    assert s["kibana.alert.ancestors"] == [{"id": "AbC123", "type": "event", "index": event["_index"], "depth": 0}]
    assert s["kibana.alert.depth"] == 1
    assert s["kibana.alert.status"] == "active"
    assert s["kibana.alert.workflow_status"] == "open"
    assert s["kibana.alert.workflow_tags"] == [] and s["kibana.alert.workflow_assignee_ids"] == []
    assert s["kibana.alert.reason"] == (
        "process event with process cmd.exe, parent process winword.exe, by alice on ws-01 "
        "created high alert Suspicious Office Child Process."
    )
    assert (s["kibana.alert.severity"], s["kibana.alert.risk_score"]) == ("high", 73)
    assert s["kibana.alert.intended_timestamp"] == NOW_ISO
    assert s["kibana.alert.start"] == s["kibana.alert.last_detected"] == NOW_ISO
    assert s["kibana.space_ids"] == ["default"]
    assert s["kibana.version"] == KIBANA_VERSION

    # the rule and the execution
    expected_rule = {
        "uuid": rule.uuid,
        "rule_id": RULE_ID,
        "name": "Suspicious Office Child Process",
        "description": "Office spawning a shell.",
        "author": ["Elastic"],
        "severity": "high",
        "risk_score": 73,
        "tags": ["Domain: Endpoint"],
        "threat": [{"framework": "MITRE ATT&CK", "technique": [],
                    "tactic": {"id": "TA0002", "name": "Execution",
                               "reference": "https://attack.mitre.org/tactics/TA0002/"}}],
        "references": [],
        "false_positives": [],
        "from": "now-9m",
        "to": "now",
        "interval": "5m",
        "max_signals": 100,
        "indices": ["logs-endpoint.events.*"],
        "license": "Elastic License v2",
        "version": 1,
        "revision": 0,
        "enabled": True,
        "immutable": False,
        "exceptions_list": [],
        "risk_score_mapping": [],
        "severity_mapping": [],
        "timestamp_override": "event.ingested",
        "type": "eql",
        "rule_type_id": "siem.eqlRule",
        "category": "Event Correlation Rule",
        "consumer": "siem",
        "producer": "siem",
        "actions": [],
        "created_at": "2024-02-01T00:00:00.000Z",
        "updated_at": "2024-07-09T00:00:00.000Z",
        "created_by": "rule-runner",
        "updated_by": "rule-runner",
        "execution.uuid": EXECUTION,
        "execution.timestamp": NOW_ISO,
        "execution.type": "scheduled",
    }
    assert {k: s[f"kibana.alert.rule.{k}"] for k in expected_rule} == expected_rule
    # the rule's parameters, with what Kibana writes of every rule's source: a file-based rule is a custom rule
    assert s["kibana.alert.rule.parameters"] == {**rule.params.parameters(), "immutable": False,
                                                 "rule_source": {"type": "internal"}}

    # what Kibana leaves undefined is absent, never null
    for absent in ("kibana.alert.url", "kibana.alert.building_block_type", "kibana.alert.group.id",
                   "kibana.alert.group.index", "kibana.alert.rule.note", "kibana.alert.rule.rule_name_override",
                   "kibana.alert.rule.building_block_type", "kibana.alert.rule.namespace",
                   "kibana.alert.rule.timeline_id", "kibana.alert.rule.meta", "host.asset.criticality",
                   "kibana.alert.maintenance_window_ids"):
        assert absent not in s, absent
    assert None not in list(s.values())
    json.dumps(s)  # plain JSON


def test_the_response_is_not_changed(tmp_path: Path) -> None:
    response = {"hits": {"events": [office_event()]}}
    before = copy.deepcopy(response)
    build_alerts(response, make_context(write_rule(tmp_path)))
    assert response == before


def test_alerts_share_no_objects(tmp_path: Path) -> None:
    response = {"hits": {"events": [office_event("a"), office_event("b")]}}
    alerts = build_alerts(response, make_context(write_rule(tmp_path)))
    alerts[0].source["kibana.alert.rule.tags"].append("changed")
    alerts[0].source["kibana.alert.rule.parameters"]["references"].append("changed")
    assert alerts[1].source["kibana.alert.rule.tags"] == ["Domain: Endpoint"]
    assert "changed" not in alerts[1].source["kibana.alert.rule.parameters"]["references"]


def test_url_space_and_indices(tmp_path: Path) -> None:
    rule = write_rule(tmp_path)
    context = make_context(rule, space_id="soc", public_base_url="https://kibana.example.com/",
                           indices=["logs-endpoint.events.process-*"])
    alert = one(build_alerts({"hits": {"events": [office_event()]}}, context))
    assert alert.id == sha(office_event()["_index"] + "AbC123" + "undefined" + f"soc:{rule.uuid}")
    assert alert.source["kibana.alert.url"] == (
        f"https://kibana.example.com/s/soc/app/security/alerts/redirect/{alert.id}"
        f"?index=.alerts-security.alerts-soc&timestamp={NOW_ISO}"
    )
    assert alert.source["kibana.space_ids"] == ["soc"]
    assert alert.source["kibana.alert.rule.indices"] == ["logs-endpoint.events.process-*"]
    default = one(build_alerts({"hits": {"events": [office_event()]}},
                               make_context(rule, public_base_url="https://k", alerts_index="my-alerts")))
    assert default.source["kibana.alert.url"].startswith("https://k/app/security/alerts/redirect/")
    assert "?index=my-alerts&" in default.source["kibana.alert.url"]


def test_same_input_same_alerts_other_space_other_ids(tmp_path: Path) -> None:
    rule = write_rule(tmp_path)
    response = {"hits": {"events": [office_event("a"), office_event("b")]}}
    first = build_alerts(response, make_context(rule))
    second = build_alerts(response, make_context(rule))
    assert first == second
    assert len({a.id for a in first}) == 2
    elsewhere = build_alerts(response, make_context(rule, space_id="other"))
    assert not {a.id for a in first} & {a.id for a in elsewhere}


def test_a_manual_run_records_its_intended_time(tmp_path: Path) -> None:
    intended = datetime(2024, 4, 30, 8, 0, tzinfo=UTC)
    context = make_context(write_rule(tmp_path), execution_type="manual", intended_timestamp=intended)
    s = one(build_alerts({"hits": {"events": [office_event()]}}, context)).source
    assert s["kibana.alert.rule.execution.type"] == "manual"
    assert s["kibana.alert.intended_timestamp"] == "2024-04-30T08:00:00.000Z"
    assert s["@timestamp"] == NOW_ISO


def test_context_is_checked(tmp_path: Path) -> None:
    rule = write_rule(tmp_path)
    with pytest.raises(ValueError, match="aware"):
        AlertContext(rule=rule, execution_uuid="x", now=datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="intended_timestamp"):
        make_context(rule, execution_type="manual")
    with pytest.raises(ValueError, match="intended_timestamp"):
        make_context(rule, intended_timestamp=NOW)
    with pytest.raises(ValueError, match="merge_strategy"):
        make_context(rule, merge_strategy="everything")


def test_a_response_without_hits_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AlertBuildError, match="had neither"):
        build_alerts({"hits": {"total": {"value": 0}}}, make_context(write_rule(tmp_path)))
    assert build_alerts({"hits": {"events": []}}, make_context(write_rule(tmp_path))) == []


def test_overrides_apply_to_events(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, extra=OVERRIDES)
    overrides: dict[str, Any] = {"event.severity": 21, "event.risk_score": ["12", 99.5, 400]}
    event = office_event(rule={"name": "Office ran cmd"}, **overrides)
    s = one(build_alerts({"hits": {"events": [event]}}, make_context(rule))).source
    # both severity mappings match: the highest severity wins
    assert (s["kibana.alert.severity"], s["kibana.alert.risk_score"], s["kibana.alert.rule.name"]) == (
        "critical", 99.5, "Office ran cmd")
    assert s["kibana.alert.reason"].endswith("created critical alert Office ran cmd.")
    # the rule's own values stay where Kibana keeps them
    assert (s["kibana.alert.rule.severity"], s["kibana.alert.rule.risk_score"]) == ("high", 73)
    assert s["kibana.alert.rule.rule_name_override"] == "rule.name"
    # Kibana sorts the mapping (low to high) in place before matching; its alerts show the sorted order
    assert [m["severity"] for m in s["kibana.alert.rule.severity_mapping"]] == ["low", "critical"]
    assert [m["severity"] for m in s["kibana.alert.rule.parameters"]["severity_mapping"]] == ["low", "critical"]


def test_without_a_match_the_rule_values_stay(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, extra=OVERRIDES)
    event = office_event(host={"name": "ws-02"}, **{"event.severity": "21", "event.risk_score": "high"})
    s = one(build_alerts({"hits": {"events": [event]}}, make_context(rule))).source
    # event.severity is compared as a number: the string "21" does not match
    assert (s["kibana.alert.severity"], s["kibana.alert.risk_score"], s["kibana.alert.rule.name"]) == (
        "high", 73, "Suspicious Office Child Process")


def test_an_event_the_rule_alerted_on_before_is_skipped(tmp_path: Path) -> None:
    rule = write_rule(tmp_path)
    own_alert = office_event("own", **{
        "kibana.alert.uuid": "own", "kibana.alert.rule.uuid": rule.uuid, "kibana.alert.depth": 1,
        "kibana.alert.ancestors": [{"id": "e0", "type": "event", "index": "logs", "depth": 0}]})
    descendant = office_event("desc", **{
        "kibana.alert.uuid": "desc", "kibana.alert.rule.uuid": "another-rule", "kibana.alert.depth": 2,
        "kibana.alert.ancestors": [{"id": "x", "type": "signal", "index": ".alerts", "depth": 1, "rule": rule.uuid}]})
    other = office_event("other", **{
        "kibana.alert.uuid": "other", "kibana.alert.rule.uuid": "another-rule", "kibana.alert.depth": 1,
        "kibana.alert.ancestors": [{"id": "e1", "type": "event", "index": "logs", "depth": 0}]})
    alerts = build_alerts({"hits": {"events": [own_alert, descendant, other, office_event("plain")]}},
                          make_context(rule))
    assert [a.source["kibana.alert.ancestors"][-1]["id"] for a in alerts] == ["other", "plain"]
    on_alert = alerts[0].source
    assert on_alert["kibana.alert.depth"] == 2
    assert on_alert["kibana.alert.ancestors"] == [
        {"id": "e1", "type": "event", "index": "logs", "depth": 0},
        {"id": "other", "type": "signal", "index": office_event()["_index"], "depth": 1, "rule": "another-rule"},
    ]
    # the old alert's kibana.* fields are not copied into the new alert
    assert on_alert["kibana.alert.uuid"] == alerts[0].id


def test_reference_events_become_alerts(tmp_path: Path) -> None:
    # 02: the fields API returns epoch_millis dates as strings, and runtime fields only there
    example = reference_example("02_events_fields_and_format.json")["asserted_response"]
    hit = eql_test_hit("1")
    hit["fields"] = {"@timestamp": example["hits.events.0.fields.@timestamp"], "id": example["hits.events.0.fields.id"],
                     "valid": example["hits.events.0.fields.valid"],
                     "day_of_week": example["hits.events.0.fields.day_of_week"]}
    alert = one(build_alerts({"hits": {"events": [hit]}}, make_context(write_rule(tmp_path))))
    s = alert.source
    assert s["kibana.alert.original_time"] == "2020-02-03T12:34:56.000Z"
    assert s["day_of_week"] == "Monday"  # a runtime field only the fields API returns
    assert (s["id"], s["valid"]) == (123, False)
    # `"user": "SYSTEM"` would fail the bulk item (ECS maps `user` as an object): Kibana leaves it out, and so do we
    assert "user" not in s and alert.removed_fields == ("user",)
    # `event` is an array of objects here: copied as it is
    assert s["event"] == [{"category": "process"}]
    assert s["kibana.alert.original_event"] == [{"category": "process"}]


def test_a_prebuilt_rule_source_is_written_as_kibana_writes_it(tmp_path: Path) -> None:
    # what a rule linked to an installed Elastic prebuilt rule would carry: immutable, and its rule_source
    source = RuleSource("external", is_customized=True, customized_fields=("query",), has_base_version=True)
    rule = replace(write_rule(tmp_path), rule_source=source)
    s = one(build_alerts({"hits": {"events": [office_event()]}}, make_context(rule))).source
    assert s["kibana.alert.rule.immutable"] is True
    assert (s["kibana.alert.rule.parameters"]["immutable"], s["kibana.alert.rule.parameters"]["rule_source"]) == (
        True, {"type": "external", "is_customized": True, "customized_fields": [{"field_name": "query"}],
               "has_base_version": True})
    with pytest.raises(ValueError):
        RuleSource("internal", is_customized=True)
