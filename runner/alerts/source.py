"""The event's own fields as an alert carries them (Kibana `traverse_and_mutate_doc.ts` + `transform_hit_to_alert.ts`).

- top-level keys whose first dotted segment is `kibana`, `signal` or `threshold_result` are removed (a rule reading an
  alerts index must not copy the old alert's `kibana.alert.*` into the new one);
- empty arrays and empty objects are removed, at any depth (also inside arrays);
- every top-level `event.*` value is copied to a flattened `kibana.alert.original_event.*` key and every `data_stream.*`
  one to `kibana.alert.original_data_stream.*` (the alert's own `event.kind` would otherwise hide the original);
- `event.kind` is then removed (nested or dotted), since the alert sets `"event.kind": "signal"`.

Kibana also drops values whose type conflicts with the ECS mapping (a string in a `long` field, an object where ECS has
a keyword, ...). That needs Kibana's ECS field map, which we do not have, so values are copied as they are.

`alert_source` works in place on a copy of the source; `alert_source_copy` makes the cleaned copy in one pass over the
event, without copying what it then drops (same result, for plain JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from runner.alerts.copying import ATOMIC, NotPlainJson
from runner.alerts.paths import DELETE, flatten_with_prefix, is_index, robust_get, robust_set

_BANNED_TOP_LEVEL = frozenset({"kibana", "signal", "threshold_result"})
_DIGITS = frozenset("0123456789")
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
    return _finish(source, copies)


@dataclass
class SourceNotes:
    """What `alert_source_copy` saw while copying, for a caller that reads the document again (the intersection of a
    sequence's blocks needs to know how its keys are spelt); noting changes nothing in the document."""

    # top-level keys whose objects hold, at some depth, a dotted or digit-led key (1) or a key with a segment that
    # reads as an array index (2); keys of objects emptied by the cleaning count too (that only errs on the safe side)
    unusual: dict[str, int] = field(default_factory=dict)
    event_keys: list[str] = field(default_factory=list)  # the document's keys from the event, in order
    originals: list[str] = field(default_factory=list)  # then its `kibana.alert.original_*` keys, in order
    copied: list[str] = field(default_factory=list)  # the source keys they were copied from (maybe removed since)


def alert_source_copy(source: dict[str, Any], notes: SourceNotes | None = None) -> dict[str, Any]:
    """`alert_source(copy.deepcopy(source))` for a plain JSON source, which is left unchanged.

    Raises `NotPlainJson` when the source holds anything else (a tuple, a dict subclass, ...): deepcopy the source and
    use `alert_source` for those. Fills `notes` when given.
    """
    if type(source) is not dict:
        raise NotPlainJson(type(source).__name__)
    document = source.copy()  # scalars in one step; containers replaced (or dropped) below, in place
    copies: list[tuple[str, Any]] = []
    for key, value in source.items():
        top = key.partition(".")[0]
        if top in _BANNED_TOP_LEVEL:
            del document[key]
            continue
        kind = type(value)
        if kind is dict:
            value = _cleaned_object(value) if notes is None else _cleaned_object_noting(value, notes.unusual, key)
        elif kind is list:
            value = _cleaned_array(value)
        elif kind not in ATOMIC:
            raise NotPlainJson(kind.__name__)
        if kind is dict or kind is list:
            if not value:
                del document[key]
                continue
            document[key] = value
        if top in _COPIED_NAMESPACES:
            destination = _COPIED_NAMESPACES[top] + key[len(top):]
            if kind is dict:
                _flatten_into(destination, value, copies)
            else:
                copies.append((destination, value))
            if notes is not None:
                notes.copied.append(key)
    _finish(document, copies)
    if notes is not None:
        # the copies were added last (a key copied twice keeps its first place), and nothing removed after them
        notes.originals = list(dict.fromkeys(map(itemgetter(0), copies)))
        keys = list(document)
        notes.event_keys = keys[:len(keys) - len(notes.originals)]
    return document


def _flatten_into(prefix: str, value: dict[str, Any], out: list[tuple[str, Any]]) -> None:
    """`flatten_with_prefix(prefix, value).items()` appended to `out` (for an object; the order is the same)."""
    for key, child in value.items():
        if type(child) is dict:
            _flatten_into(f"{prefix}.{key}", child, out)
        else:
            out.append((f"{prefix}.{key}", child))


def _finish(document: dict[str, Any], copies: list[tuple[str, Any]]) -> dict[str, Any]:
    """The `kibana.alert.original_*` copies go last; the event's own `event.kind` goes (the alert sets its own)."""
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


def _cleaned_object(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` without its empty arrays and objects, at any depth (`_clean_object` on a copy)."""
    result = document.copy()
    for key, value in document.items():
        kind = type(value)
        if kind is dict:
            value = _cleaned_object(value)
        elif kind is list:
            value = _cleaned_array(value)
        elif kind in ATOMIC:
            continue
        else:
            raise NotPlainJson(kind.__name__)
        if value:
            result[key] = value
        else:
            del result[key]
    return result


def _cleaned_object_noting(document: dict[str, Any], unusual: dict[str, int], top: str) -> dict[str, Any]:
    """`_cleaned_object`, noting in `unusual[top]` the most unusual key met (see `SourceNotes`)."""
    if not _PLAIN_KEYS.issuperset(document):  # one C-level pass over the keys; the usual keys were seen before
        note = max(map(_key_note, document))
        if note > unusual.get(top, 0):
            unusual[top] = note
    result = document.copy()
    for key, value in document.items():
        kind = type(value)
        if kind is dict:
            value = _cleaned_object_noting(value, unusual, top)
        elif kind is list:
            value = _cleaned_array(value)
        elif kind in ATOMIC:
            continue
        else:
            raise NotPlainJson(kind.__name__)
        if value:
            result[key] = value
        else:
            del result[key]
    return result


def _key_note(key: str) -> int:
    """0 for a plain key (remembered), 1 for a dotted or digit-led one, 2 when a segment reads as an array index."""
    if "." in key or key[:1] in _DIGITS:
        return 2 if any(is_index(part) for part in key.split(".")) else 1
    if len(_PLAIN_KEYS) >= 65536:
        _PLAIN_KEYS.clear()
    _PLAIN_KEYS.add(key)
    return 0


_PLAIN_KEYS: set[str] = set()


def _cleaned_array(array: list[Any]) -> list[Any]:
    for value in array:
        if type(value) not in ATOMIC:
            break
    else:
        return array.copy()  # the usual array of keywords or numbers: nothing to clean
    kept: list[Any] = []
    for value in array:
        kind = type(value)
        if kind is dict:
            value = _cleaned_object(value)
            if not value:
                continue
        elif kind is list:
            value = _cleaned_array(value)
            if not value:
                continue
        elif kind not in ATOMIC:
            raise NotPlainJson(kind.__name__)
        kept.append(value)
    return kept


__all__ = ["SourceNotes", "alert_source", "alert_source_copy"]
