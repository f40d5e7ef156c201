"""Per-event overrides of the rule's name, severity and risk score (Kibana `rule_types/utils/mappings/`).

Applied to single-event alerts only, never to sequence shells or building blocks; read from the event's merged
`_source` (lodash paths: a dotted key equal to the field, else nested objects).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from runner.alerts.paths import is_number, js_number, lodash_get

# keyed by an entry's optional severity: an entry without one looks up None and finds no rank
SEVERITY_ORDER: dict[str | None, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_ECS_SEVERITY = "event.severity"
_MAX_SAFE_INTEGER = 2**53 - 1


def rule_name_override(source: Mapping[str, Any], name: str, field: str | None) -> str:
    """`buildRuleNameFromMapping`: the event's value of `rule_name_override` when it is a string."""
    if field is None:
        return name
    value = lodash_get(source, field, None)
    return value if isinstance(value, str) else name


def sorted_severity_mapping(mapping: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The mapping from low to high severity, as Kibana orders it before matching (a stable sort).

    Kibana sorts the rule's own array in place, so the alerts of an event rule also show the sorted order in
    `kibana.alert.rule.severity_mapping` and in the parameters.
    """
    def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
        ra, rb = SEVERITY_ORDER.get(a.get("severity")), SEVERITY_ORDER.get(b.get("severity"))
        return 0 if ra is None or rb is None else ra - rb  # JavaScript: an unknown severity compares as NaN

    return sorted(mapping, key=functools.cmp_to_key(compare))


def severity_override(source: Mapping[str, Any], severity: str, mapping: Sequence[Mapping[str, Any]]) -> str:
    """`buildSeverityFromMapping`: the severity of the last (highest) mapping entry whose value the event has."""
    match: Mapping[str, Any] | None = None
    for entry in sorted_severity_mapping(mapping):
        field = entry.get("field", "")
        wanted = _mapping_value(field, entry.get("value"))
        if wanted is not None and wanted in _event_values(field, lodash_get(source, field, None)):
            match = entry
    if match is not None and match.get("severity") in SEVERITY_ORDER:
        return str(match["severity"])
    return severity


def _safe_integer(value: Any) -> bool:
    return is_number(value) and math.isfinite(value) and float(value).is_integer() and abs(value) <= _MAX_SAFE_INTEGER


def _event_values(field: str, value: Any) -> set[str | int]:
    values = value if isinstance(value, list) else [value]
    if field == _ECS_SEVERITY:
        # `event.severity` is an ECS long: numbers are compared as numbers
        return {int(v) for v in values if _safe_integer(v)}
    # anything else is compared as text, numbers the way JavaScript prints them
    return {str(int(v)) if _safe_integer(v) else v for v in values if _safe_integer(v) or isinstance(v, str)}


def _mapping_value(field: str, value: Any) -> str | int | None:
    if field == _ECS_SEVERITY:
        number = js_number(value) if isinstance(value, str) else float(value) if is_number(value) else math.nan
        return math.floor(number) if math.isfinite(number) else None
    return value if isinstance(value, str) else None


def risk_score_override(
    source: Mapping[str, Any], risk_score: int, mapping: Sequence[Mapping[str, Any]]
) -> int | float:
    """`buildRiskScoreFromMapping`: the largest valid score (0-100, number or numeric string) in the first mapped
    field."""
    if not mapping:
        return risk_score
    value = lodash_get(source, mapping[0].get("field", ""), None)
    scores = [s for s in (_score(v) for v in (value if isinstance(value, list) else [value])) if s is not None]
    if not scores:
        return risk_score
    best = max(scores)
    return int(best) if float(best).is_integer() else best


def _score(value: Any) -> float | None:
    number = value if is_number(value) else js_number(value) if isinstance(value, str) else math.nan
    return float(number) if math.isfinite(number) and 0 <= number <= 100 else None


__all__ = ["SEVERITY_ORDER", "risk_score_override", "rule_name_override", "severity_override",
           "sorted_severity_mapping"]
