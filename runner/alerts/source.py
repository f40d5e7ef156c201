"""The event's own fields as an alert carries them (Kibana `traverse_and_mutate_doc.ts` + `transform_hit_to_alert.ts`).

- top-level keys whose first dotted segment is `kibana`, `signal` or `threshold_result` are removed (a rule reading an
  alerts index must not copy the old alert's `kibana.alert.*` into the new one);
- values that do not fit the ECS mapping of Kibana's alerts index are removed (`ecs_conformance`: `"user": "SYSTEM"`
  where ECS has an object, `source.port: "ssh"`, `event.duration: "12ms"`, `agent.name.first`), array elements one
  by one (`["true", "yes"]` in a boolean keeps `["true"]`); the removed values' paths are reported;
- empty arrays and empty objects are removed, at any depth (also inside arrays);
- every top-level `event.*` value is copied to a flattened `kibana.alert.original_event.*` key and (Kibana 8.19 and 9.1
  on: `NAMESPACES_8_16` before) every `data_stream.*` one to `kibana.alert.original_data_stream.*` (the alert's own
  `event.kind` would otherwise hide the original);
- `event.kind` is then removed (nested or dotted), since the alert sets `"event.kind": "signal"`.

`alert_source` here is the reference implementation: it works in place on a copy of the source, step by step as
Kibana does. Its fast path, `source_fast.alert_source_copy`, makes the same document in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.alerts.ecs_conformance import is_ecs_compliant
from runner.alerts.paths import DELETE, flatten_with_prefix, robust_get, robust_set

BANNED_TOP_LEVEL = frozenset({"kibana", "signal", "threshold_result"})
# the namespaces whose values are copied under `kibana.alert.original_*`, by the releases that copy them
# (plain dicts, read in the hot loop: never changed)
NAMESPACES: Mapping[str, str] = {
    "event": "kibana.alert.original_event",
    "data_stream": "kibana.alert.original_data_stream",  # kibana#220447: 8.19, 9.1
}
NAMESPACES_8_16: Mapping[str, str] = {"event": "kibana.alert.original_event"}


def copied_namespaces(original_data_stream: bool) -> Mapping[str, str]:
    """The namespaces a release copies (`AlertFormat.original_data_stream`)."""
    return NAMESPACES if original_data_stream else NAMESPACES_8_16


def alert_source(source: dict[str, Any], removed: list[str] | None = None,
                 namespaces: Mapping[str, str] = NAMESPACES) -> dict[str, Any]:
    """The source prepared for an alert; `source` is changed in place (pass a copy) and returned. The paths of the
    values removed for not fitting ECS are appended to `removed`, one per value, in Kibana's order.

    The reference implementation, step by step as Kibana does; `source_fast.alert_source_copy` is its fast path."""
    removed = [] if removed is None else removed
    copies: list[tuple[str, Any]] = []
    for key in list(source):
        value = source[key]
        top = key.split(".")[0]
        if top in BANNED_TOP_LEVEL:
            del source[key]
            continue
        if not _keep(source, key, value, key, removed):
            continue
        if top in namespaces:
            # the key starts with `top`, so this is the path below it (JavaScript `replace` of the first occurrence)
            destination = namespaces[top] + key[len(top):]
            kept = source[key]
            copies.extend(flatten_with_prefix(destination, kept).items() if isinstance(kept, dict)
                          else [(destination, kept)])
    return finish_alert_source(source, copies)


def finish_alert_source(document: dict[str, Any], copies: list[tuple[str, Any]]) -> dict[str, Any]:
    """The last step of both implementations: the `kibana.alert.original_*` copies go last; the event's own `event.kind` goes (the alert sets its own)."""
    document.update(copies)
    event = document.get("event")
    if isinstance(event, dict):
        # `robustGet`/`robustSet` of `event.kind` when `event` is an object, spelt out: the value is found as the
        # dotted key or in the object, and removed from the object (a dotted key stays, as in Kibana)
        if document.get("event.kind") is not None or event.get("kind") is not None:
            event.pop("kind", None)
    elif robust_get("event.kind", document) is not None:
        robust_set("event.kind", DELETE, document)
    return document


def _keep(document: dict[str, Any], key: str, value: Any, path: str, removed: list[str]) -> bool:
    """Clean one value in place (`path`: the keys down to it, joined with dots); False (and the key removed) when
    nothing is left of it."""
    if isinstance(value, list):
        cleaned = _clean_array(value, path, removed)
        if not cleaned:
            del document[key]
            return False
        document[key] = cleaned
    elif not is_ecs_compliant(value, path):
        del document[key]
        removed.append(path)
        return False
    elif isinstance(value, dict):
        _clean_object(value, path, removed)
        if not value:
            del document[key]
            return False
    return True


def _clean_object(document: dict[str, Any], path: str, removed: list[str]) -> None:
    for key in list(document):
        _keep(document, key, document[key], f"{path}.{key}", removed)


def _clean_array(array: list[Any], path: str, removed: list[str]) -> list[Any]:
    """Kibana's `traverseArray`: the arrays inside first, then each element checked against the array's path."""
    items = [_clean_array(value, path, removed) if isinstance(value, list) else value for value in array]
    kept: list[Any] = []
    for value in items:
        if isinstance(value, list):
            if value:
                kept.append(value)
        elif not is_ecs_compliant(value, path):
            removed.append(path)
        elif isinstance(value, dict):
            _clean_object(value, path, removed)
            if value:
                kept.append(value)
        else:
            kept.append(value)
    return kept


__all__ = ["BANNED_TOP_LEVEL", "NAMESPACES", "NAMESPACES_8_16", "alert_source", "copied_namespaces", "finish_alert_source"]
