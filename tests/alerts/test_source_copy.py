"""The event's fields in the alert: `fields` merged into `_source` per strategy, Kibana-only keys dropped, `event.*`
and `data_stream.*` preserved under `kibana.alert.original_*`, `event.kind` replaced (kibana-eql-execution.md §3.1)."""

from __future__ import annotations

import copy

from runner.alerts.merge import merge_fields
from runner.alerts.source import alert_source
from runner.alerts.times import original_time, parse_date


def test_missing_fields_adds_only_what_the_source_lacks() -> None:
    source = {"host": {"name": "ws-01"}, "process": {"name": "cmd.exe"}}
    fields = {
        "host.name": ["other"],  # present in the source: kept as it is
        "host.name.keyword": ["ws-01"],  # a multi-field of host.name: never merged
        "process.pid": [4242],  # missing: added, unboxed
        "process.args": ["-c", "id"],  # missing, several values: added as an array
        "_ignored": ["x"],
        "signal.rule.id": ["legacy"],
        ".hidden": [1],
        "a..b": [1],
        "empty": [],
        "location": [{"type": "Point", "coordinates": [1, 2]}],  # a geo-point: never merged
        "nested": [{"a": 1}],  # nested objects: never merged by missingFields
    }
    merged = merge_fields(copy.deepcopy(source), fields, "missingFields")
    assert merged == {"host": {"name": "ws-01"}, "process": {"name": "cmd.exe", "pid": 4242, "args": ["-c", "id"]}}


def test_missing_fields_follows_dotted_keys_and_skips_paths_through_values() -> None:
    source = {"process.parent": {"name": "apt"}, "user": "root"}
    merged = merge_fields(source, {"process.parent.pid": [1], "user.name": ["root"]}, "missingFields")
    assert merged == {"process.parent": {"name": "apt", "pid": 1}, "user": "root"}


def test_all_fields_replaces_primitives_too() -> None:
    source = {"host": {"name": "ws-01"}, "tags": ["a"]}
    merged = merge_fields(source, {"host.name": ["WS-01"], "tags": ["a", "b"], "host.ip": ["10.0.0.1"]}, "allFields")
    assert merged == {"host": {"name": "WS-01", "ip": "10.0.0.1"}, "tags": ["a", "b"]}


def test_no_fields_leaves_the_source_alone() -> None:
    assert merge_fields({"a": 1}, {"b": [2]}, "noFields") == {"a": 1}


def test_kibana_and_signal_keys_are_dropped_at_the_top_level_only() -> None:
    source = {
        "kibana": {"alert": {"uuid": "old"}},
        "kibana.alert.rule.uuid": "old-rule",
        "signal": {"rule": {"id": "x"}},
        "threshold_result": {"count": 3},
        "kibana_like": 1,
        "labels": {"kibana": "kept"},
    }
    assert alert_source(source) == {"kibana_like": 1, "labels": {"kibana": "kept"}}


def test_empty_values_are_dropped_at_any_depth() -> None:
    source = {"a": [], "b": {}, "c": {"d": [], "e": {"f": {}}}, "g": [[], {}, 1, [2, []]], "h": None, "i": ""}
    assert alert_source(source) == {"g": [1, [2]], "h": None, "i": ""}


def test_event_and_data_stream_are_copied_flat_and_event_kind_replaced() -> None:
    source = {
        "event": {"kind": "event", "category": ["process"], "outcome_of": {"detail": "ok"}},
        "event.dataset": "endpoint.events.process",
        "data_stream": {"type": "logs", "namespace": "default"},
    }
    result = alert_source(source)
    assert result == {
        "event": {"category": ["process"], "outcome_of": {"detail": "ok"}},
        "event.dataset": "endpoint.events.process",
        "data_stream": {"type": "logs", "namespace": "default"},
        "kibana.alert.original_event.kind": "event",
        "kibana.alert.original_event.category": ["process"],
        "kibana.alert.original_event.outcome_of.detail": "ok",
        "kibana.alert.original_event.dataset": "endpoint.events.process",
        "kibana.alert.original_data_stream.type": "logs",
        "kibana.alert.original_data_stream.namespace": "default",
    }


def test_dotted_event_kind_is_removed() -> None:
    result = alert_source({"event.kind": "alert", "event.action": "x"})
    assert result == {"event.action": "x", "kibana.alert.original_event.kind": "alert",
                      "kibana.alert.original_event.action": "x"}


def test_original_time_prefers_fields_and_reads_epoch_millis_strings() -> None:
    hit = {"_source": {"@timestamp": "2024-05-01T12:01:10Z"}, "fields": {"@timestamp": ["1580733296000"]}}
    assert original_time(hit) == "2020-02-03T12:34:56.000Z"
    assert original_time({"_source": {"@timestamp": "2024-05-01T12:01:10.123456789+02:00"}}) == (
        "2024-05-01T10:01:10.123Z")
    assert original_time({"_source": {"@timestamp": 1580733296000}}) == "2020-02-03T12:34:56.000Z"
    assert original_time({"_source": {}}) is None
    assert original_time({"_source": {"@timestamp": "yesterday"}}) is None
    assert parse_date("2024-05-01") is not None and parse_date("2024-13-01T00:00:00Z") is None
