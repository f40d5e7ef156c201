"""The event's own fields as an alert carries them (Kibana `traverse_and_mutate_doc.ts` + `transform_hit_to_alert.ts`).

- top-level keys whose first dotted segment is `kibana`, `signal` or `threshold_result` are removed (a rule reading an
  alerts index must not copy the old alert's `kibana.alert.*` into the new one);
- empty arrays and empty objects are removed, at any depth (also inside arrays);
- every top-level `event.*` value is copied to a flattened `kibana.alert.original_event.*` key and every `data_stream.*`
  one to `kibana.alert.original_data_stream.*` (the alert's own `event.kind` would otherwise hide the original);
- `event.kind` is then removed (nested or dotted), since the alert sets `"event.kind": "signal"`.

Kibana also drops values whose type conflicts with the ECS mapping (a string in a `long` field, an object where ECS has
a keyword, ...). That needs Kibana's ECS field map, which we do not have, so values are copied as they are.
"""

from __future__ import annotations

from typing import Any

from runner.alerts.paths import DELETE, flatten_with_prefix, robust_get, robust_set

_BANNED_TOP_LEVEL = frozenset({"kibana", "signal", "threshold_result"})
_COPIED_NAMESPACES = {
    "event": "kibana.alert.original_event",
    "data_stream": "kibana.alert.original_data_stream",
}


def alert_source(source: dict[str, Any]) -> dict[str, Any]:
    """The source prepared for an alert; `source` is changed in place (pass a copy) and returned."""
    copies: list[tuple[str, Any]] = []
    for key in list(source):
        value = source[key]
        top = key.split(".")[0]
        if top in _BANNED_TOP_LEVEL:
            del source[key]
            continue
        if not _keep(source, key, value):
            continue
        if top in _COPIED_NAMESPACES:
            # the key starts with `top`, so this is the path below it (JavaScript `replace` of the first occurrence)
            destination = _COPIED_NAMESPACES[top] + key[len(top):]
            kept = source[key]
            copies.extend(flatten_with_prefix(destination, kept).items() if isinstance(kept, dict)
                          else [(destination, kept)])
    for key, value in copies:
        source[key] = value
    if robust_get("event.kind", source) is not None:
        robust_set("event.kind", DELETE, source)
    return source


def _keep(document: dict[str, Any], key: str, value: Any) -> bool:
    """Clean one value in place; False (and the key removed) when nothing is left of it."""
    if isinstance(value, list):
        cleaned = _clean_array(value)
        if not cleaned:
            del document[key]
            return False
        document[key] = cleaned
    elif isinstance(value, dict):
        _clean_object(value)
        if not value:
            del document[key]
            return False
    return True


def _clean_object(document: dict[str, Any]) -> None:
    for key in list(document):
        _keep(document, key, document[key])


def _clean_array(array: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for value in array:
        if isinstance(value, list):
            value = _clean_array(value)
            if not value:
                continue
        elif isinstance(value, dict):
            _clean_object(value)
            if not value:
                continue
        kept.append(value)
    return kept


__all__ = ["alert_source"]
