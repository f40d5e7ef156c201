"""The event's own fields as an alert carries them, in one pass: the fast path of `source.alert_source`.

Fast path of `source.alert_source` (the reference, Kibana's steps in place); checked against it on random events by
tests/alerts/test_fast_paths.py::test_alert_source_copy_is_alert_source_on_a_copy (and by bench/alerts_golden.py).

`alert_source_copy` makes the cleaned copy in one pass over the event, without copying what it then drops, and checks
a value's type only where ECS has a field: its walk follows the ECS tree (`ecs_conformance.ecs_tree`) key by key, and
below a key outside ECS nothing is checked (same result, for plain JSON). A path spelt with an empty part
(`host..name`, a key `""`) is checked by its full path, as Kibana joins it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from operator import itemgetter
from typing import Any, Final, Literal, final

from runner.alerts.copying import ATOMIC, NotPlainJson
from runner.alerts.ecs_conformance import (
    ANY,
    LEAF,
    TAKES_OBJECTS,
    Node,
    ecs_tree,
    fits,
    path_rule,
    scalar_check,
)
from runner.alerts.paths import is_index
from runner.alerts.source import BANNED_TOP_LEVEL, NAMESPACES, finish_alert_source

_DIGITS = frozenset("0123456789")


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


def alert_source_copy(source: dict[str, Any], notes: SourceNotes | None = None,
                      removed: list[str] | None = None, namespaces: Mapping[str, str] = NAMESPACES) -> dict[str, Any]:
    """`alert_source(copy.deepcopy(source), removed, namespaces)` for a plain JSON source, which is left unchanged.

    Raises `NotPlainJson` when the source holds anything else (a tuple, a dict subclass, ...): deepcopy the source and
    use `source.alert_source` for those. Fills `notes` when given.
    """
    if type(source) is not dict:
        raise NotPlainJson(type(source).__name__)
    removed = [] if removed is None else removed
    unusual = None if notes is None else notes.unusual
    document = source.copy()  # scalars in one step; containers replaced (or dropped) below, in place
    copies: list[tuple[str, Any]] = []
    root = _root()
    children, strict = root.children, root.strict
    for key, value in source.items():
        top = key.partition(".")[0]
        if top in BANNED_TOP_LEVEL:
            del document[key]
            continue
        kind = type(value)
        if kind in ATOMIC:
            check = strict.get(key)
            if check is None:
                if (key and "." not in key) or fits(path_rule(key), value):
                    pass  # a keyword, a field outside ECS, or a dotted key that fits
                else:
                    removed.append(key)
                    del document[key]
                    continue
            elif not check(value):
                removed.append(key)
                del document[key]
                continue
        else:
            found = children.get(key)
            node: Node | _Exact | None
            if found is not None:
                rule, node, path = found.rule, found, found.path
            elif key and "." not in key:  # outside ECS: nothing below is checked
                rule, node, path = ANY, None, key
            else:
                rule, node, path = _beyond(None, key)
            if kind is dict:
                if rule not in TAKES_OBJECTS:
                    removed.append(path)
                    del document[key]
                    continue
                if node is None:
                    value = _cleaned_object(value) if unusual is None else _cleaned_object_noting(value, unusual, key)
                else:
                    value = _checked_somewhere(value, node, removed, unusual, key)
            elif kind is list:
                value = _cleaned_array(value) if node is None and rule == ANY else \
                    _checked_array(value, rule, scalar_check(rule), node, path, removed)
            else:
                raise NotPlainJson(kind.__name__)
        if kind is dict or kind is list:
            if not value:
                del document[key]
                continue
            document[key] = value
        if top in namespaces:
            destination = namespaces[top] + key[len(top):]
            if kind is dict:
                _flatten_into(destination, value, copies)
            else:
                copies.append((destination, value))
            if notes is not None:
                notes.copied.append(key)
    finish_alert_source(document, copies)
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


# ---- the one-pass copy: where ECS has fields, each value checked as the ECS tree says --------------------------------

@final  # no subclass: `type(where) is _Exact` decides between the two kinds of place
@dataclass(frozen=True, slots=True)
class _Exact:
    """A path spelt with an empty part (a key `""`, `host..name`): Kibana's checks skip empty parts in the prefixes but
    not in the path itself, so every key below it is checked by its full path."""

    path: str


_Where = Node | _Exact | None  # a node of the ECS tree; a path checked by its full name; or outside ECS (None)
_RESOLVED: dict[str, _Where] = {}


def _root() -> Node:
    return ecs_tree()


class _Unknown(Enum):
    """Not resolved yet (a typed sentinel: `None` is a resolved place, outside ECS)."""

    UNKNOWN = 0


_UNKNOWN: Final = _Unknown.UNKNOWN


def _resolve(path: str) -> _Where:
    """Where a path reached through a dotted or empty key lies: its node, outside ECS, or `_Exact`."""
    where: _Where | Literal[_Unknown.UNKNOWN] = _RESOLVED.get(path, _UNKNOWN)
    if where is _UNKNOWN:
        parts = path.split(".")
        if "" in parts:
            where = _Exact(path)
        else:
            node: Node | None = _root()
            for part in parts:
                node = node.children.get(part) if node is not None else None
            where = node
        if len(_RESOLVED) >= 65536:
            _RESOLVED.clear()
        _RESOLVED[path] = where
    return where


def _beyond(parent: str | None, key: str) -> tuple[int, _Where, str]:
    """The rule, place and path of a key the tree's children do not name (dotted, empty, or below an `_Exact`)."""
    path = key if parent is None else f"{parent}.{key}"
    return path_rule(path), _resolve(path), path


def _checked_somewhere(document: dict[str, Any], where: Node | _Exact, removed: list[str],
                       unusual: dict[str, int] | None, top: str) -> dict[str, Any]:
    """`_checked_object` for an object at a node of the ECS tree or at an `_Exact` path."""
    if type(where) is _Exact:
        _note(document, unusual, top)
        return _checked_in_order(document, where, removed, unusual, top)
    return _checked_object(document, where, removed, unusual, top)


def _note(document: dict[str, Any], unusual: dict[str, int] | None, top: str) -> None:
    """What `_cleaned_object_noting` notes of an object's keys."""
    if unusual is not None and not _PLAIN_KEYS.issuperset(document):
        note = max(map(_key_note, document))
        if note > unusual.get(top, 0):
            unusual[top] = note


def _checked_object(document: dict[str, Any], where: Node, removed: list[str],
                    unusual: dict[str, int] | None, top: str) -> dict[str, Any]:
    """`_cleaned_object` (or `_cleaned_object_noting` with `unusual`) for an object at an ECS path: each value kept
    only if it fits; the paths of those that do not go to `removed`.

    Most objects hold plain keys whose scalars need no check (keywords, fields outside ECS) and a few typed fields
    that fit: the typed ones present are found by one set operation and checked, and then only the containers are
    walked. A scalar that does not fit, or a dotted or empty key, sends the object to the walk that looks up every
    key (`_checked_in_order`), so that removals are reported in Kibana's order."""
    if unusual is not None:
        _note(document, unusual, top)
    if not where.safe.issuperset(document):  # else: plain keys only, none typed (the usual `agent`, `user`...)
        if not (_SIMPLE_KEYS.issuperset(document) or _all_simple(document)):
            return _checked_in_order(document, where, removed, unusual, top)
        strict = where.strict
        keys = document.keys()
        if strict.keys().isdisjoint(keys):
            if len(where.safe) >= 4096:
                where.safe.clear()
            where.safe.update(keys)
        else:  # typed fields (or ECS objects) here: their scalars checked first
            for key in strict.keys() & keys:
                value = document[key]
                if type(value) in ATOMIC and not strict[key](value):
                    # a value that does not fit: key by key, to report the removals in Kibana's order
                    return _checked_in_order(document, where, removed, unusual, top)
    result = document.copy()
    children = where.children.get
    atomic = ATOMIC
    for key, value in document.items():
        kind = type(value)
        if kind in atomic:
            continue  # settled above: a scalar fits unless its field is typed
        node = children(key)
        if kind is dict:
            if node is None:  # outside ECS: nothing below is checked
                value = _cleaned_object(value) if unusual is None else _cleaned_object_noting(value, unusual, top)
            elif node.rule in TAKES_OBJECTS:
                value = _checked_object(value, node, removed, unusual, top)
            else:
                removed.append(node.path)
                del result[key]
                continue
        elif kind is list:
            if node is None:
                value = _cleaned_array(value)
            else:
                check = node.check
                for item in value:
                    if type(item) not in atomic or (check is not None and not check(item)):
                        value = _checked_array(value, node.rule, check, node, node.path, removed)
                        break
                else:  # the usual array of keywords, addresses or numbers, all fitting
                    value = value.copy()
        else:
            raise NotPlainJson(kind.__name__)
        if value:
            result[key] = value
        else:
            del result[key]
    return result


def _all_simple(document: dict[str, Any]) -> bool:
    """Whether every key is plain (not empty, no dot), remembering the plain ones."""
    simple = True
    for key in document:
        if key and "." not in key:
            if len(_SIMPLE_KEYS) >= 65536:
                _SIMPLE_KEYS.clear()
            _SIMPLE_KEYS.add(key)
        else:
            simple = False
    return simple


_SIMPLE_KEYS: set[str] = set()
_NO_CHILDREN: dict[str, Node] = {}


def _checked_in_order(document: dict[str, Any], where: Node | _Exact, removed: list[str],
                      unusual: dict[str, int] | None, top: str) -> dict[str, Any]:
    """`_checked_object` key by key, in the document's order (`unusual` already noted for this object)."""
    result = document.copy()
    children: dict[str, Node]
    if type(where) is _Exact:
        exact, children = True, _NO_CHILDREN  # not read: every key goes by its full path
    else:
        exact, children = False, where.children
    for key, value in document.items():
        kind = type(value)
        node: _Where
        if exact:
            rule, node, path = _beyond(where.path, key)
        else:
            node = children.get(key)
            if node is not None:
                rule, path = node.rule, node.path
            elif "." in key or not key:
                rule, node, path = _beyond(where.path, key)
            else:  # outside ECS: nothing below is checked
                if kind is dict:
                    value = _cleaned_object(value) if unusual is None else _cleaned_object_noting(value, unusual, top)
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
                continue
        if kind is dict:
            if rule not in TAKES_OBJECTS:
                removed.append(path)
                del result[key]
                continue
            if node is None:
                value = _cleaned_object(value) if unusual is None else _cleaned_object_noting(value, unusual, top)
            else:
                value = _checked_somewhere(value, node, removed, unusual, top)
        elif kind is list:
            value = _checked_array(value, rule, scalar_check(rule), node, path, removed)
        elif kind in ATOMIC:
            if rule in (LEAF, ANY) or fits(rule, value):
                continue
            removed.append(path)
            del result[key]
            continue
        else:
            raise NotPlainJson(kind.__name__)
        if value:
            result[key] = value
        else:
            del result[key]
    return result


def _checked_array(array: list[Any], rule: int, check: Callable[[Any], bool] | None, where: _Where, path: str,
                   removed: list[str]) -> list[Any]:
    """`_cleaned_array` for an array at an ECS path (`check`: `scalar_check(rule)`): the arrays inside first, then
    each element checked against the array's path (Kibana's `traverseArray`); the objects kept are checked below as
    the path's objects are."""
    for value in array:
        if type(value) not in ATOMIC:
            break
    else:  # the usual array of keywords, addresses or numbers
        if check is None or all(map(check, array)):
            return array.copy()
    items = array
    for value in array:
        if type(value) is list:
            items = [_checked_array(v, rule, check, where, path, removed) if type(v) is list else v for v in array]
            break
    kept: list[Any] = []
    for value in items:
        kind = type(value)
        if kind is list:
            if value:
                kept.append(value)
        elif kind is dict:
            if rule not in TAKES_OBJECTS:
                removed.append(path)
                continue
            value = _cleaned_object(value) if where is None else _checked_somewhere(value, where, removed, None, "")
            if value:
                kept.append(value)
        elif kind not in ATOMIC:
            raise NotPlainJson(kind.__name__)
        elif check is None or check(value):
            kept.append(value)
        else:
            removed.append(path)
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


__all__ = ["SourceNotes", "alert_source_copy"]
