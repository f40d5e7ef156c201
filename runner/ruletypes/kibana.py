"""What Kibana's detection engine adds around every rule type's query: the time range with `timestamp_override`
and its fallback (`buildTimeRangeFilter`), the runtime field that combines the two timestamps, and the rule's
Kibana filters as a bool query.

This is Kibana's detection-engine logic, so it sits with the rule types, not with a backend: both backends take the
requests built from it, and `explain` prints them.
"""

from __future__ import annotations

from typing import Any

from runner.catalog import Rule
from runner.kql import build_es_query

DATE_FORMAT = "strict_date_optional_time"
TIMESTAMP_RUNTIME_FIELD = "kibana.combined_timestamp"
# Kibana's build_timestamp_runtime_mapping.ts, whitespace included: the request is compared byte for byte in tests
COMBINED_TIMESTAMP_SCRIPT = """
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
    `must_not`, disabled ones dropped, legacy shapes migrated), through the one translation of Kibana filters that
    query rules use too (`runner.kql.build_es_query`, whose empty query adds nothing). A filter it refuses
    (`meta.type: combined`) is a `KqlError`."""
    return build_es_query("", filters, None)


def unsupported_filters(rule: Rule) -> str | None:
    """Why the rule's Kibana filters cannot be translated (None: they can): combined filters, filters of filters,
    are not supported yet (none in the detection-rules corpus)."""
    for item in rule.params.filters:
        meta = item.model_dump(mode="json").get("meta") or {}
        if isinstance(meta, dict) and meta.get("type") == "combined":
            return f"{rule.type} rules with combined filters (meta.type: combined) are not supported yet"
    return None


def combined_timestamp(primary: str) -> dict[str, Any]:
    """The runtime field Kibana adds for a timestamp override with its fallback (`kibana.combined_timestamp`)."""
    return {
        TIMESTAMP_RUNTIME_FIELD: {
            "type": "date",
            "script": {"source": COMBINED_TIMESTAMP_SCRIPT, "params": {"timestampOverride": primary}},
        }
    }


def timestamp_fields(primary: str, secondary: str | None) -> list[dict[str, Any]]:
    """The `fields` Kibana asks for: every field, unmapped included, and the timestamps formatted."""
    return [{"field": "*", "include_unmapped": True}, {"field": primary, "format": DATE_FORMAT},
            *([{"field": secondary, "format": DATE_FORMAT}] if secondary is not None else [])]


__all__ = [
    "COMBINED_TIMESTAMP_SCRIPT",
    "DATE_FORMAT",
    "TIMESTAMP_RUNTIME_FIELD",
    "combined_timestamp",
    "rule_filter",
    "time_range_filter",
    "timestamp_fields",
    "timestamps",
    "unsupported_filters",
]
