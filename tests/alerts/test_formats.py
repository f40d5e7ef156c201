"""Alerts written in the format of the Kibana release `AlertContext.kibana_version` names (`versions.format_for`).

Per format boundary, the same response built for the release just below it and for the first release at it: the
documents differ exactly as the two releases' alerts do, and in nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.alerts import Alert, build_alerts
from tests.alerts.support import SEQUENCE_QUERY, apt_sequence_events, make_context, office_event, write_rule

ABSENT = "<absent>"
MISSING_EVENT = {"_index": "", "_id": "", "_source": {}, "missing": True}


def build(tmp_path: Path, response: dict[str, Any], version: str, query: str | None = None) -> list[Alert]:
    rule = write_rule(tmp_path, **({"query": query} if query else {}))
    alerts = build_alerts(response, make_context(rule, kibana_version=version))
    assert {alert.source["kibana.version"] for alert in alerts} == {version}
    return alerts


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The top-level keys whose values differ, `kibana.version` aside."""
    return {key: (a.get(key, ABSENT), b.get(key, ABSENT)) for key in {*a, *b}
            if key != "kibana.version" and a.get(key, ABSENT) != b.get(key, ABSENT)}


def sequences(*events: dict[str, Any]) -> dict[str, Any]:
    return {"hits": {"sequences": [{"join_keys": [], "events": list(events)}]}}


@pytest.mark.parametrize(("below", "at"), [("8.18.8", "8.19.0"), ("9.0.8", "9.1.0")])
def test_data_stream_is_copied_from_8_19_and_9_1(tmp_path: Path, below: str, at: str) -> None:
    response = {"hits": {"events": [office_event()]}}
    [old] = build(tmp_path, response, below)
    [new] = build(tmp_path, response, at)
    # kibana#220447: the event's data_stream.* also under kibana.alert.original_data_stream.*; data_stream stays
    assert differences(old.source, new.source) == {
        "kibana.alert.original_data_stream.type": (ABSENT, "logs"),
        "kibana.alert.original_data_stream.dataset": (ABSENT, "endpoint.events.process"),
        "kibana.alert.original_data_stream.namespace": (ABSENT, "default"),
    }
    assert old.source["data_stream"] == new.source["data_stream"] == office_event()["_source"]["data_stream"]
    assert old.id == new.id


def test_service_enrichment_fields_are_undefined_in_shells_from_8_18(tmp_path: Path) -> None:
    # both events carry the same dotted service.* enrichment value: the 8.18 buildAlertFields leaves it undefined, so
    # the shell's {...common, ...doc} spread removes it; 8.17 did not have the field
    events = apt_sequence_events()
    for event in events:
        event["_source"]["service.asset.criticality"] = "high_impact"
    old = build(tmp_path, sequences(*events), "8.17.9", SEQUENCE_QUERY)
    new = build(tmp_path, sequences(*events), "8.18.0", SEQUENCE_QUERY)
    assert differences(old[0].source, new[0].source) == {"service.asset.criticality": ("high_impact", ABSENT)}
    for old_block, new_block in zip(old[1:], new[1:], strict=False):  # a block keeps its event's value (lodash merge skips it)
        assert differences(old_block.source, new_block.source) == {}
        assert new_block.source["service.asset.criticality"] == "high_impact"


def test_missing_events_make_building_blocks_before_9_2(tmp_path: Path) -> None:
    shell_event, network_event = apt_sequence_events()
    response = sequences(shell_event, MISSING_EVENT, network_event)
    old = build(tmp_path, response, "9.1.9", SEQUENCE_QUERY)
    new = build(tmp_path, response, "9.2.0", SEQUENCE_QUERY)
    # kibana#235133 (9.2): the missing event of a `!` clause makes no building block
    assert [a.group_index for a in old] == [None, 0, 1, 2] and [a.group_index for a in new] == [None, 0, 1]
    empty = old[2].source
    assert empty["kibana.alert.ancestors"] == [{"id": "", "type": "event", "index": "", "depth": 0}]
    assert empty["kibana.alert.reason"] == "event created high alert Suspicious Office Child Process."
    assert "kibana.alert.original_time" not in empty and "host" not in empty and "kibana.alert.original_event" \
        not in empty
    # the shell: the empty block has nothing of the events, so it holds none of them (and other ids: its ancestors)
    assert old[0].id != new[0].id and {a.id for a in old[1:]}.isdisjoint(a.id for a in new[1:])
    assert "host" not in old[0].source and new[0].source["host"] == {"id": "h1", "name": "web-1",
                                                                     "os": {"type": "linux"}}
    assert old[0].source["kibana.alert.reason"] == "event created high alert Suspicious Office Child Process."


def test_shells_intersect_key_by_key_before_9_4(tmp_path: Path) -> None:
    shell_event, network_event = apt_sequence_events()
    network_event["_source"]["user.name"] = network_event["_source"].pop("user")["name"]  # a dotted key in one event
    old = build(tmp_path, sequences(shell_event, network_event), "9.3.4", SEQUENCE_QUERY)
    new = build(tmp_path, sequences(shell_event, network_event), "9.4.0", SEQUENCE_QUERY)
    rule_parameters = new[0].source["kibana.alert.rule.parameters"]
    # kibana#254830 (9.4): dotted keys and nested objects name one path, so `user.name` (dotted in one event, nested
    # in the other) is common, and the blocks' dotted `kibana.alert.rule.parameters` comes back as a nested path
    # beside the shell's own. Before, key by key: neither meets the other
    assert differences(old[0].source, new[0].source) == {
        "user": (ABSENT, {"name": "root"}),
        "kibana": (ABSENT, {"alert": {"rule": {"parameters": rule_parameters}}}),
        "kibana.alert.reason": ("event on web-1 created high alert Suspicious Office Child Process.",
                                "event by root on web-1 created high alert Suspicious Office Child Process."),
    }
    assert old[0].id == new[0].id
    for old_block, new_block in zip(old[1:], new[1:], strict=False):
        assert differences(old_block.source, new_block.source) == {}
    # what both keep: equal nested values, arrays intersected
    for shell in (old[0], new[0]):
        assert shell.source["host"] == {"id": "h1", "name": "web-1", "os": {"type": "linux"}}
        assert shell.source["event"] == {"category": [], "type": ["start"]}  # disjoint arrays leave []


def test_an_older_release_writes_every_format_it_had(tmp_path: Path) -> None:
    # 8.16: the oldest written; everything after it absent at once
    events = apt_sequence_events()
    for event in events:
        event["_source"]["data_stream"] = {"type": "logs", "dataset": "endpoint.events.process",
                                           "namespace": "default"}
    old = build(tmp_path, sequences(events[0], MISSING_EVENT, events[1]), "8.16.0", SEQUENCE_QUERY)
    assert len(old) == 4 and "kibana" not in old[0].source
    assert not any(key.startswith("kibana.alert.original_data_stream") for alert in old for key in alert.source)
    assert all(alert.source["kibana.alert.rule.parameters"]["rule_source"] == {"type": "internal"} for alert in old)
