"""The `_eql/search` request, as Kibana builds it (golden bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from runner.catalog import iso, load_rule_file
from runner.ruletypes.eql import build_request
from tests.conftest import shared_path

START = datetime(2026, 3, 31, 11, 51, tzinfo=UTC)
END = datetime(2026, 3, 31, 12, 0, 0, 250000, tzinfo=UTC)


def test_iso_is_javascript_to_iso_string() -> None:
    assert iso(END) == "2026-03-31T12:00:00.250Z"


def test_seed_rule_request() -> None:
    rule = load_rule_file(shared_path("seed", "persistence_apt_package_manager_netcon.toml"))
    request = build_request(rule, START, END)
    assert request.to_dict() == {
        "index": ["logs-endpoint.events.*"],
        "params": {"allow_no_indices": True},
        "body": {
            "size": 100,
            "query": rule.params.query,
            "filter": {"bool": {"filter": [
                {"range": {"@timestamp": {"gte": "2026-03-31T11:51:00.000Z", "lte": "2026-03-31T12:00:00.250Z",
                                          "format": "strict_date_optional_time"}}},
                {"bool": {"must": [], "filter": [], "should": [], "must_not": []}},
            ]}},
            "allow_partial_search_results": True,
            "fields": [{"field": "*", "include_unmapped": True},
                       {"field": "@timestamp", "format": "strict_date_optional_time"}],
        },
    }
    assert "case_sensitive" not in request.body


RULE = '''[metadata]
creation_date = "2024/02/01"
updated_date = "2024/07/09"

[rule]
author = ["Elastic"]
description = "d"
index = ["logs-endpoint.events.process-*", "winlogbeat-*"]
language = "eql"
name = "With an override"
risk_score = 21
rule_id = "bbbbbbbb-0000-4000-8000-000000000001"
severity = "low"
type = "eql"
timestamp_override = "event.ingested"
event_category_override = "event.type"
tiebreaker_field = "event.sequence"
max_signals = 33
query = 'process where process.name == "x"'

[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."file.path"]
case_insensitive = true
value = "?:\\\\Windows\\\\*"
'''


def test_timestamp_override_request(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(RULE, encoding="utf-8")
    body = build_request(load_rule_file(path), START, END).body
    start, end = "2026-03-31T11:51:00.000Z", "2026-03-31T12:00:00.250Z"
    assert body["size"] == 33
    assert body["filter"]["bool"]["filter"][0] == {"bool": {"minimum_should_match": 1, "should": [
        {"range": {"event.ingested": {"lte": end, "gte": start, "format": "strict_date_optional_time"}}},
        {"bool": {"filter": [
            {"range": {"@timestamp": {"lte": end, "gte": start, "format": "strict_date_optional_time"}}},
            {"bool": {"must_not": {"exists": {"field": "event.ingested"}}}},
        ]}},
    ]}}
    assert body["filter"]["bool"]["filter"][1] == {"bool": {"must": [], "filter": [], "should": [], "must_not": [
        {"wildcard": {"file.path": {"case_insensitive": True, "value": "?:\\Windows\\*"}}}]}}
    runtime = body["runtime_mappings"]["kibana.combined_timestamp"]
    assert runtime["type"] == "date" and runtime["script"]["params"] == {"timestampOverride": "event.ingested"}
    assert "emit(doc[params.timestampOverride].value.millis);" in runtime["script"]["source"]
    assert body["event_category_field"] == "event.type" and body["tiebreaker_field"] == "event.sequence"
    assert "timestamp_field" not in body
    assert body["fields"] == [
        {"field": "*", "include_unmapped": True},
        {"field": "event.ingested", "format": "strict_date_optional_time"},
        {"field": "@timestamp", "format": "strict_date_optional_time"},
    ]
    assert list(body) == ["size", "query", "filter", "allow_partial_search_results", "runtime_mappings",
                          "event_category_field", "tiebreaker_field", "fields"]
