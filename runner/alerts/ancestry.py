"""Alert ancestry (`kibana.alert.ancestors`, `kibana.alert.depth`): Kibana `build_alert.ts: buildParent/buildAncestors`.

A hit is an event, or an alert when a rule reads an alerts index: a current alert has a dotted `kibana.alert.uuid` key,
a legacy (7.x) one a `signal` object. An alert parent is recorded with its depth and its rule, which is how a rule
recognises, and skips, alerts that it produced itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.alerts.paths import is_number, lodash_get

# for a legacy signal, Kibana reads these fields at their old names (`racFieldMappings` inverted)
_LEGACY_FIELDS = {
    "kibana.alert.ancestors": "signal.ancestors",
    "kibana.alert.depth": "signal.depth",
    "kibana.alert.rule.uuid": "signal.rule.id",
}


def _source(hit: Mapping[str, Any]) -> Mapping[str, Any]:
    source = hit.get("_source")
    return source if isinstance(source, dict) else {}


def is_detection_alert(hit: Mapping[str, Any]) -> bool:
    return _source(hit).get("kibana.alert.uuid") is not None


def is_legacy_signal(hit: Mapping[str, Any]) -> bool:
    return _source(hit).get("signal") is not None


def alert_field(hit: Mapping[str, Any], field: str) -> Any:
    """Kibana `getField` for the `kibana.alert.*` fields ancestry needs (None when absent)."""
    if not is_detection_alert(hit) and is_legacy_signal(hit):
        field = _LEGACY_FIELDS.get(field, field.replace("kibana.alert", "signal", 1))
    return lodash_get(_source(hit), field, None)


def build_parent(hit: Mapping[str, Any]) -> dict[str, Any]:
    """The ancestor entry for a hit: `{id, type, index, depth[, rule]}`."""
    if is_detection_alert(hit) or is_legacy_signal(hit):
        depth = alert_field(hit, "kibana.alert.depth")
        parent = {"id": hit.get("_id"), "type": "signal", "index": hit.get("_index"),
                  "depth": 1 if depth is None else depth}
        rule = alert_field(hit, "kibana.alert.rule.uuid")
        if rule is not None:
            parent["rule"] = rule
        return parent
    return {"id": hit.get("_id"), "type": "event", "index": hit.get("_index"), "depth": 0}


def build_ancestors(hit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hit's own ancestors (when it is an alert) followed by the hit itself."""
    existing = alert_field(hit, "kibana.alert.ancestors")
    return [*(existing if isinstance(existing, list) else []), build_parent(hit)]


def child_depth(hits: list[Mapping[str, Any]]) -> int:
    """`kibana.alert.depth` of an alert built from these hits: one more than the deepest parent."""
    depths = [build_parent(h)["depth"] for h in hits]
    # a stored depth that is not a number is not Kibana's; count it as an event's
    return max((d for d in depths if is_number(d)), default=0) + 1


__all__ = ["alert_field", "build_ancestors", "build_parent", "child_depth", "is_detection_alert", "is_legacy_signal"]
