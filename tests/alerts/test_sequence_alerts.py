"""Sequence alerts (kibana-eql-execution.md §3.2, §3.6, §4.1): a shell, then one building block per present event."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from runner.alerts import Alert, build_alerts
from tests.alerts.support import (
    NOW_ISO,
    OVERRIDES,
    SEQUENCE_QUERY,
    apt_sequence_events,
    eql_test_hit,
    make_context,
    reference_example,
    seed_rule,
    write_rule,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sequence(*events: dict[str, Any], join_keys: list[Any] | None = None) -> dict[str, Any]:
    return {"join_keys": join_keys or [], "events": list(events)}


def missing_event() -> dict[str, Any]:
    return dict(reference_example("04_sequence_missing_events.json")["documented_missing_placeholder"])


def response_03() -> dict[str, Any]:
    """03_sequence_by_string_key: `sequence by user` over eql_test found [1, 2] and [2, 3]."""
    asserted = reference_example("03_sequence_by_string_key.json")["asserted_response"]
    ids = [[asserted[f"hits.sequences.{s}.events.{e}._id"] for e in (0, 1)] for s in (0, 1)]
    return {"hits": {"total": {"value": 2, "relation": "eq"}, "sequences": [
        sequence(*(eql_test_hit(i) for i in pair), join_keys=[asserted[f"hits.sequences.{n}.join_keys.0"]])
        for n, pair in enumerate(ids)
    ]}}


def check_group(alerts: list[Alert], events: list[dict[str, Any]], rule_uuid: str) -> None:
    """The structure and ids of one shell + building blocks group, against the formulas."""
    shell, blocks = alerts[0], alerts[1:]
    assert len(blocks) == len(events)
    base = "".join(e["_id"] + e["_index"] + rule_uuid for e in events)
    block_ids = [sha(base + str(i)) for i in range(len(events))]
    assert [b.id for b in blocks] == block_ids
    ancestors = []
    for event, block_id in zip(events, block_ids, strict=False):
        ancestors += [{"id": event["_id"], "type": "event", "index": event["_index"], "depth": 0},
                      {"id": block_id, "type": "signal", "index": "", "depth": 1, "rule": rule_uuid}]
    shell_id = sha("".join(a["id"] + a["index"] for a in ancestors) + rule_uuid)
    assert shell.id == shell_id

    s = shell.source
    assert (shell.is_shell, shell.building_block, shell.group_id, shell.group_index) == (True, False, shell_id, None)
    assert s["kibana.alert.uuid"] == s["kibana.alert.group.id"] == shell_id
    assert "kibana.alert.group.index" not in s and "kibana.alert.building_block_type" not in s
    assert s["kibana.alert.ancestors"] == ancestors
    assert s["kibana.alert.depth"] == 2
    # the shell's original time is its first building block's @timestamp, i.e. now (spec: inferred from the code)
    assert s["kibana.alert.original_time"] == NOW_ISO

    for index, (block, event) in enumerate(zip(blocks, events, strict=False)):
        b = block.source
        assert (block.building_block, block.group_id, block.group_index, block.counts_as_alert) == (
            True, shell_id, index, False)
        assert b["kibana.alert.uuid"] == block.id
        assert b["kibana.alert.building_block_type"] == "default"
        assert b["kibana.alert.group.id"] == shell_id and b["kibana.alert.group.index"] == index
        assert b["kibana.alert.depth"] == 1
        assert b["kibana.alert.ancestors"] == [{"id": event["_id"], "type": "event", "index": event["_index"],
                                               "depth": 0}]


def test_sequences_by_string_key_from_the_reference_response(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    alerts = build_alerts(response_03(), make_context(rule))
    assert [a.building_block for a in alerts] == [False, True, True, False, True, True]
    check_group(alerts[:3], [eql_test_hit("1"), eql_test_hit("2")], rule.uuid)
    check_group(alerts[3:], [eql_test_hit("2"), eql_test_hit("3")], rule.uuid)
    # event 2 is a building block of both sequences, under a different id in each
    assert alerts[2].id != alerts[4].id
    assert alerts[2].source["kibana.alert.original_time"] == "2020-02-04T12:34:56.000Z"

    shell = alerts[0].source
    # only what both events share: same id, not `valid` (false/true) nor `some_keyword` (doc 1 only);
    # `event` is an array of objects, and objects from different events never intersect
    assert (shell["id"], shell["event"]) == (123, [])
    assert "valid" not in shell and "some_keyword" not in shell
    # `"user": "SYSTEM"` does not fit ECS (an object): each building block leaves it out, so the shell cannot share it
    assert [a.removed_fields for a in alerts[:3]] == [(), ("user",), ("user",)]
    assert "user" not in shell and "user" not in alerts[1].source
    assert alerts[1].source["some_keyword"] == "longer than normal"
    assert shell["kibana.alert.reason"] == "event created high alert Suspicious Office Child Process."


def test_a_seed_rule_sequence(tmp_path: Path) -> None:
    rule = seed_rule()
    events = apt_sequence_events()
    context = make_context(rule, public_base_url="https://kibana.example.com")
    alerts = build_alerts({"hits": {"sequences": [sequence(*events, join_keys=["h1"])]}}, context)
    check_group(alerts, events, rule.uuid)
    shell, first, second = (a.source for a in alerts)

    assert shell["host"] == {"id": "h1", "name": "web-1", "os": {"type": "linux"}}
    assert shell["user"] == {"name": "root"}
    assert shell["event"] == {"type": ["start"], "category": []}
    assert shell["kibana.alert.original_event.type"] == ["start"]
    assert "process" not in shell and "destination" not in shell
    assert shell["kibana.alert.reason"] == (
        "event by root on web-1 created medium alert Suspicious APT Package Manager Network Connection.")
    assert first["kibana.alert.reason"] == (
        "process event with process sh, parent process apt, by root on web-1 "
        "created medium alert Suspicious APT Package Manager Network Connection.")
    # a bare numeric port is not shown (Kibana reads the value's length)
    assert second["kibana.alert.reason"] == (
        "network event with process curl, parent process sh, destination 10.0.0.9 by root on web-1 "
        "created medium alert Suspicious APT Package Manager Network Connection.")
    assert second["destination"] == {"ip": "10.0.0.9", "port": 443}

    for alert, source in zip(alerts, (shell, first, second), strict=False):
        assert source["kibana.alert.url"] == (
            f"https://kibana.example.com/app/security/alerts/redirect/{alert.id}"
            f"?index=.alerts-security.alerts-default&timestamp={NOW_ISO}")
        assert source["kibana.alert.rule.uuid"] == rule.uuid
        assert source["kibana.alert.rule.rule_id"] == "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
        assert (source["kibana.alert.severity"], source["kibana.alert.risk_score"]) == ("medium", 47)
        assert source["kibana.alert.rule.parameters"] == rule.parameters()
        assert source["kibana.alert.rule.execution.uuid"] == context.execution_uuid
        assert source["event.kind"] == "signal"
    # the blocks' dotted rule fields are common to all of them; their object-valued parameters come back nested
    # from the intersection (newest Kibana does the same), beside the dotted key the shell sets
    assert shell["kibana"]["alert"]["rule"]["parameters"] == rule.parameters()


def test_missing_events_are_left_out(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    asserted = reference_example("04_sequence_missing_events.json")["asserted_response"]
    assert asserted["hits.sequences.0.events.1.missing"] is True
    present = [eql_test_hit(asserted["hits.sequences.0.events.0._id"]),
               eql_test_hit(asserted["hits.sequences.0.events.2._id"])]
    response = {"hits": {"sequences": [
        sequence(present[0], missing_event(), present[1]),
        sequence(missing_event(), missing_event()),
    ]}}
    alerts = build_alerts(response, make_context(rule))
    assert len(alerts) == 3
    check_group(alerts, present, rule.uuid)
    assert [a.group_index for a in alerts] == [None, 0, 1]
    # the shell of events 4 and 6 (both ADMIN, both network): `user` is a string where ECS has an object, so neither
    # building block keeps it (Kibana strips it)
    assert alerts[0].source["id"] == 123 and "user" not in alerts[0].source
    assert [a.removed_fields for a in alerts] == [(), ("user",), ("user",)]


def test_one_present_event_makes_a_shell_with_all_its_fields(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    event = apt_sequence_events()[0]
    alerts = build_alerts({"hits": {"sequences": [sequence(event, {"_index": "", "_id": "", "_source": {},
                                                                   "missing": True})]}}, make_context(rule))
    check_group(alerts, [event], rule.uuid)
    assert alerts[0].source["process"] == alerts[1].source["process"]


def test_overrides_never_apply_to_sequences(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY, extra=OVERRIDES)
    events = apt_sequence_events()
    for event in events:
        event["_source"].update({"event.severity": 21, "event.risk_score": 5, "rule": {"name": "renamed"}})
    alerts = build_alerts({"hits": {"sequences": [sequence(*events)]}}, make_context(rule))
    for alert in alerts:
        s = alert.source
        assert (s["kibana.alert.severity"], s["kibana.alert.risk_score"], s["kibana.alert.rule.name"]) == (
            "high", 73, "Suspicious Office Child Process")
        assert s["kibana.alert.reason"].endswith("created high alert Suspicious Office Child Process.")
        # no mapping was applied, so none was sorted either
        assert [m["severity"] for m in s["kibana.alert.rule.severity_mapping"]] == ["critical", "low"]


def test_a_sequence_through_an_alert_of_this_rule_is_skipped(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    own, plain = apt_sequence_events()
    own["_source"].update({"kibana.alert.uuid": "x", "kibana.alert.rule.uuid": rule.uuid, "kibana.alert.depth": 1,
                           "kibana.alert.ancestors": [{"id": "e", "type": "event", "index": "logs", "depth": 0}]})
    kept = apt_sequence_events()
    alerts = build_alerts({"hits": {"sequences": [sequence(own, plain), sequence(*kept)]}}, make_context(rule))
    assert len(alerts) == 3
    check_group(alerts, kept, rule.uuid)


def test_sequence_ids_are_deterministic(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    response = {"hits": {"sequences": [sequence(*apt_sequence_events())]}}
    first = build_alerts(response, make_context(rule))
    assert build_alerts(response, make_context(rule)) == first
    # Kibana's sequence ids hash the events and the rule's saved-object id only: not the space
    assert [a.id for a in build_alerts(response, make_context(rule, space_id="other"))] == [a.id for a in first]
