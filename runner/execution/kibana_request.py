"""The `_eql/search` request Kibana sends for one window of one rule (`build_eql_search_request.ts`).

This is Kibana's detection-engine logic, so it sits with the execution, not with a backend: both backends take the
`EqlRequest` it returns (the Elasticsearch backend sends it as it is, the embedded backend applies the same index
patterns, filter and options locally), and `explain` prints it. A hunt searches all its input: its request is the
same without the time range (`build_untimed_request`). Requests are built whole, never changed afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.backends import EqlRequest
from runner.catalog import Rule, iso

DATE_FORMAT = "strict_date_optional_time"
TIMESTAMP_RUNTIME_FIELD = "kibana.combined_timestamp"
# Kibana's build_timestamp_runtime_mapping.ts, whitespace included: the request is compared byte for byte in tests
_COMBINED_TIMESTAMP_SCRIPT = """
              if (doc.containsKey(params.timestampOverride) && doc[params.timestampOverride].size()!=0) {
                emit(doc[params.timestampOverride].value.millis);
              } else {
                emit(doc['@timestamp'].value.millis);
              }
            """


def timestamps(rule: Rule) -> tuple[str, str | None]:
    """The primary timestamp (the override, or `@timestamp`) and the fallback Kibana adds for an override."""
    params = rule.params
    primary = params.timestamp_override or "@timestamp"
    secondary = "@timestamp" if primary != "@timestamp" and not params.timestamp_override_fallback_disabled else None
    return primary, secondary


def time_range_filter(primary: str, secondary: str | None, start: str, end: str) -> dict[str, Any]:
    """`buildTimeRangeFilter`: both bounds inclusive; with a fallback, documents without the override field are
    ranged on `@timestamp`."""
    if secondary is None:
        return {"range": {primary: {"gte": start, "lte": end, "format": DATE_FORMAT}}}
    return {
        "bool": {
            "minimum_should_match": 1,
            "should": [
                {"range": {primary: {"lte": end, "gte": start, "format": DATE_FORMAT}}},
                {
                    "bool": {
                        "filter": [
                            {"range": {secondary: {"lte": end, "gte": start, "format": DATE_FORMAT}}},
                            {"bool": {"must_not": {"exists": {"field": primary}}}},
                        ]
                    }
                },
            ],
        }
    }


def rule_filter(filters: list[dict[str, Any]]) -> dict[str, Any]:
    """`getQueryFilter` with an empty EQL query: the rule's Kibana filters as a bool query (negated ones in
    `must_not`, disabled ones dropped)."""
    positive: list[dict[str, Any]] = []
    negative: list[dict[str, Any]] = []
    for item in filters:
        meta = item.get("meta") or {}
        if meta.get("disabled"):
            continue
        query = item.get("query")
        if query is None:  # the older filter shape: the query sits beside `meta`
            query = {k: v for k, v in item.items() if k not in ("meta", "$state")}
        (negative if meta.get("negate") else positive).append(query)
    return {"bool": {"must": [], "filter": positive, "should": [], "must_not": negative}}


def build_request(rule: Rule, start: datetime, end: datetime) -> EqlRequest:
    """The request for `rule` over `[start, end]`."""
    primary, secondary = timestamps(rule)
    return _request(rule, time_range_filter(primary, secondary, iso(start), iso(end)))


def build_untimed_request(rule: Rule) -> EqlRequest:
    """The request for `rule` over all the input (a hunt): the same as `build_request` without the time range,
    the rule's own filters still applied."""
    return _request(rule, None)


def _request(rule: Rule, time_range: dict[str, Any] | None) -> EqlRequest:
    params = rule.params
    primary, secondary = timestamps(rule)
    filters = [item.model_dump(mode="json") for item in params.filters]
    body: dict[str, Any] = {
        "size": params.max_signals,
        "query": params.query,
        "filter": {"bool": {"filter": [*([time_range] if time_range is not None else []), rule_filter(filters)]}},
        "allow_partial_search_results": True,
    }
    if secondary is not None:
        body["runtime_mappings"] = {
            TIMESTAMP_RUNTIME_FIELD: {
                "type": "date",
                "script": {"source": _COMBINED_TIMESTAMP_SCRIPT, "params": {"timestampOverride": primary}},
            }
        }
    if params.timestamp_field:
        body["timestamp_field"] = params.timestamp_field
    if params.event_category_override:
        body["event_category_field"] = params.event_category_override
    if params.tiebreaker_field:
        body["tiebreaker_field"] = params.tiebreaker_field
    body["fields"] = [{"field": "*", "include_unmapped": True}, {"field": primary, "format": DATE_FORMAT}]
    if secondary is not None:
        body["fields"].append({"field": secondary, "format": DATE_FORMAT})
    return EqlRequest(tuple(params.index_patterns), body)


__all__ = [
    "DATE_FORMAT",
    "TIMESTAMP_RUNTIME_FIELD",
    "build_request",
    "build_untimed_request",
    "rule_filter",
    "time_range_filter",
    "timestamps",
]
