"""Query rules' requests as Kibana's query rule executor builds them (facts from Kibana's source, see
runner/ruletypes/query.py): `buildEventsSearchQuery`'s body, pages of min(max_signals, 100) with `search_after` the
last hit's sort values until an empty page, the KQL translated against the fields `_field_caps` reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.backends import SearchRequest
from runner.catalog import load_rule_file
from runner.ruletypes import prepare
from runner.ruletypes.query import PAGE_SIZE, query_fields

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 15, 10, 9, tzinfo=UTC)

RULE = """[metadata]
creation_date = "2026/01/01"
updated_date = "2026/01/01"

[rule]
author = ["rule-runner"]
description = "A query rule."
name = "Whoami"
risk_score = 21
rule_id = "0f4d1f4e-1b8a-4c55-9c53-2b0a2a3c9d10"
severity = "low"
type = "query"
language = "kuery"
index = ["logs-endpoint.events.*"]
query = '''
event.category:process and process.name:(whoami or "whoami.exe") and not user.name:root*
'''
{extra}
"""


def rule(tmp_path: Path, extra: str = ""):
    path = tmp_path / "r.toml"
    path.write_text(RULE.replace("{extra}", extra), encoding="utf-8")
    return load_rule_file(path)


class Caps:
    """A field source answering `_field_caps` with a fixed body, recording what it was asked."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.asked: list[tuple[list[str], list[str]]] = []

    def field_caps(self, index, fields):
        self.asked.append((list(index), list(fields)))
        return self.body


KEYWORDS = {"indices": ["logs-endpoint.events.process-default"], "fields": {
    name: {"keyword": {"type": "keyword", "metadata_field": False, "searchable": True, "aggregatable": True}}
    for name in ("event.category", "process.name", "user.name")}}


def test_the_request_of_a_window_is_build_events_search_query(tmp_path: Path) -> None:
    search = prepare(rule(tmp_path), Caps(KEYWORDS))
    request = search.request(T0, T1)
    assert isinstance(request, SearchRequest) and request.index == ("logs-endpoint.events.*",)
    assert request.params == {"allow_no_indices": True, "ignore_unavailable": True}
    body = request.body
    assert list(body) == ["size", "query", "fields", "runtime_mappings", "sort"]
    assert body["size"] == 100 and body["runtime_mappings"] == {}
    assert body["sort"] == [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}]
    assert body["fields"] == [{"field": "*", "include_unmapped": True},
                              {"field": "@timestamp", "format": "strict_date_optional_time"}]
    kql, time_range = body["query"]["bool"]["filter"]
    assert time_range == {"range": {"@timestamp": {"gte": "2026-01-15T10:00:00.000Z", "lte": "2026-01-15T10:09:00.000Z",
                                                   "format": "strict_date_optional_time"}}}
    # keyword fields (as _field_caps says): term queries; the filters' bool around the KQL, as buildEsQuery makes it
    assert kql["bool"]["filter"][0]["bool"]["filter"][0] == {
        "bool": {"should": [{"term": {"event.category": {"value": "process"}}}], "minimum_should_match": 1}}
    assert kql["bool"]["must"] == [] and kql["bool"]["must_not"] == []


def test_without_field_information_the_names_are_used_as_written(tmp_path: Path) -> None:
    search = prepare(rule(tmp_path))
    kql = search.request(T0, T1).body["query"]["bool"]["filter"][0]
    assert kql["bool"]["filter"][0]["bool"]["filter"][0] == {
        "bool": {"should": [{"match": {"event.category": "process"}}], "minimum_should_match": 1}}


def test_the_fields_asked_are_those_the_query_names_and_the_timestamps(tmp_path: Path) -> None:
    caps = Caps(KEYWORDS)
    prepare(rule(tmp_path, 'timestamp_override = "event.ingested"'), caps)
    assert caps.asked == [(["logs-endpoint.events.*"],
                           ["event.category", "process.name", "user.name", "event.ingested", "@timestamp"])]
    assert query_fields(rule(tmp_path)) == ["event.category", "process.name", "user.name"]


def test_an_override_with_its_fallback_sorts_on_both_and_sends_the_combined_timestamp(tmp_path: Path) -> None:
    body = prepare(rule(tmp_path, 'timestamp_override = "event.ingested"'), Caps(KEYWORDS)).request(T0, T1).body
    assert body["sort"] == [{"event.ingested": {"order": "asc", "unmapped_type": "date"}},
                            {"@timestamp": {"order": "asc", "unmapped_type": "date"}}]
    assert list(body["runtime_mappings"]) == ["kibana.combined_timestamp"]
    assert [f["field"] for f in body["fields"]] == ["*", "event.ingested", "@timestamp"]
    assert body["query"]["bool"]["filter"][1]["bool"]["minimum_should_match"] == 1
    disabled = prepare(rule(tmp_path, 'timestamp_override = "event.ingested"\ntimestamp_override_fallback_disabled = true'),
                       Caps(KEYWORDS)).request(T0, T1).body
    assert disabled["sort"] == [{"event.ingested": {"order": "asc", "unmapped_type": "date"}}]
    assert disabled["runtime_mappings"] == {}


@pytest.mark.parametrize(("max_signals", "size"), [(1, 1), (100, 100), (1000, PAGE_SIZE)])
def test_pages_hold_max_signals_at_most_100(tmp_path: Path, max_signals: int, size: int) -> None:
    search = prepare(rule(tmp_path, f"max_signals = {max_signals}"), Caps(KEYWORDS))
    assert search.request(T0, T1).body["size"] == size
    assert search.request(None, None).body["size"] == max_signals  # a hunt: the first max_signals in one answer
    assert len(search.request(None, None).body["query"]["bool"]["filter"]) == 1  # no time range


def test_the_next_page_starts_after_the_last_hit_until_a_page_is_empty(tmp_path: Path) -> None:
    search = prepare(rule(tmp_path), Caps(KEYWORDS))
    first = search.request(T0, T1)

    def answer(*sorts: list[Any]) -> dict[str, Any]:
        return {"hits": {"hits": [{"_index": "i", "_id": str(n), "_source": {}, "sort": s}
                                  for n, s in enumerate(sorts)]}}

    # a short page does not stop the loop: only an empty one does
    second = search.next_page(first, answer([1], [2]))
    assert second is not None and second.body["search_after"] == [2] and second.body["size"] == 100
    assert list(second.body)[-1] == "search_after" and "search_after" not in first.body
    third = search.next_page(second, answer([3], [9223372036854775807]))
    assert third is not None and third.body["search_after"] == [9223372036854775807]
    assert search.next_page(third, answer()) is None
    assert search.next_page(first, answer([-1])) is None  # kibana#174573: a negative cursor ends the loop


def test_patterns_matching_no_index_are_said(tmp_path: Path) -> None:
    search = prepare(rule(tmp_path), Caps({"indices": [], "fields": {}}))
    assert search.no_index is not None and "logs-endpoint.events.*" in search.no_index


def test_query_alerts_are_event_alerts_of_the_query_rule_type(tmp_path: Path) -> None:
    from runner.alerts import AlertContext

    loaded = rule(tmp_path)
    search = prepare(loaded, Caps(KEYWORDS))
    hit = {"_index": ".ds-logs-endpoint.events.process-default-2026.01.15-000001", "_id": "a1", "_score": None,
           "_source": {"@timestamp": "2026-01-15T10:01:00.000Z", "event": {"category": ["process"]},
                       "process": {"name": "whoami"}}, "sort": [1768471260000]}
    context = AlertContext(rule=loaded, execution_uuid="e", now=T1)
    [alert] = search.alerts({"hits": {"hits": [hit]}}, context)
    source = alert.source
    assert source["kibana.alert.rule.rule_type_id"] == "siem.queryRule"
    assert source["kibana.alert.rule.category"] == "Custom Query Rule"
    assert source["kibana.alert.rule.type"] == "query"
    assert source["kibana.alert.rule.parameters"]["language"] == "kuery"
    assert source["kibana.alert.ancestors"] == [{"id": "a1", "type": "event", "index": hit["_index"], "depth": 0}]
    # Kibana's id: sha256(_index + _id + String(_version) + "<space>:<rule id>"), `_version` absent: "undefined"
    import hashlib
    expected = hashlib.sha256(f"{hit['_index']}a1undefineddefault:{loaded.uuid}".encode()).hexdigest()
    assert alert.id == expected
