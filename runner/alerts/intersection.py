"""Kibana's `objectArrayIntersection` (kibana-eql-execution.md §3.2 step 5): what a sequence shell alert copies from its building blocks.

Newest `build_alert_group_from_sequence.ts`: each pair of documents is normalised so that dotted keys and nested objects
name the same path; a path is kept when it is in both and its values intersect:
- two objects: intersected recursively;
- equal values (JavaScript `===`: a string is never equal to a number; containers only to themselves);
- otherwise, if either is an array: lodash `intersection` of the two (a lone value counts as a one-element array) —
  possibly `[]`, which is kept; elements compare like JavaScript's SameValueZero, objects and arrays by identity, so
  arrays of objects from different events intersect to `[]`;
- anything else is dropped, and objects left empty are dropped with it.
A path dotted in both inputs stays a dotted top-level key; every other path is nested.

This is the reference implementation, Kibana's algorithm step by step; `intersection_fast.sequence_common` is its fast
path for building blocks (checked against it by tests/alerts/test_fast_paths.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from runner.alerts.paths import MISSING, is_number

FieldPath = list[str]
_INDEX = re.compile(r"^(?:0|[1-9]\d*)$")


def object_array_intersection(objects: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The intersection of all documents (None when nothing is common). One document is returned as it is."""
    if not objects:
        return None
    result: dict[str, Any] | None = objects[0]
    for obj in objects[1:]:
        result = object_pair_intersection(result, obj)
    return result


def object_pair_intersection(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """Kibana `objectPairIntersection` (iterative, like Kibana, so key order and conflict resolution match)."""
    if a is None or b is None:
        return None
    nested, a_dotted, b_dotted = normalised_intersection(a, b)
    if not nested:
        return None
    return _apply_notation_preference(nested, a_dotted, b_dotted)


def normalised_intersection(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], set[str], set[str]]:
    """The first steps of `objectPairIntersection`: both documents normalised (dotted keys and nested objects name
    the same paths), intersected, emptied objects pruned; with the paths each document spelt with a dotted key."""
    a_values, a_dotted = _flatten_with_notation(a)
    b_values, b_dotted = _flatten_with_notation(b)
    a_norm = _unflatten(a_values)
    b_norm = _unflatten(b_values)
    nested: dict[str, Any] = {}
    stack: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [(nested, a_norm, b_norm)]
    while stack:
        target, a_obj, b_obj = stack.pop()
        for key, a_val in a_obj.items():
            if key not in b_obj:
                continue
            b_val = b_obj[key]
            if isinstance(a_val, dict) and isinstance(b_val, dict):
                child: dict[str, Any] = {}
                target[key] = child
                stack.append((child, a_val, b_val))
            elif _strict_equal(a_val, b_val):
                target[key] = a_val
            elif isinstance(a_val, list) or isinstance(b_val, list):
                target[key] = _lodash_intersection(
                    a_val if isinstance(a_val, list) else [a_val],
                    b_val if isinstance(b_val, list) else [b_val],
                )
    _prune_empty_objects(nested)
    return nested, a_dotted, b_dotted


def apply_notation_preference(nested: dict[str, Any], a_dotted: set[str], b_dotted: set[str]) -> dict[str, Any]:
    """The last step of `objectPairIntersection`: a path dotted in both documents stays a dotted key."""
    return _apply_notation_preference(nested, a_dotted, b_dotted)


def leaf_intersection(a: Any, b: Any) -> Any:
    """What the intersection keeps at a path where `a` and `b` are not both objects: `a` when they are `===`, their
    lodash intersection when either is an array, else `MISSING` (the path is dropped).

    The same decision as in `objectPairIntersection`, with the common cases (equal strings, numbers) decided first.
    """
    kind = type(a)
    if kind is type(b):
        if kind is str or kind is int:
            return a if a == b else MISSING
        if kind is list:
            return a if a is b else _lodash_intersection(a, b)
    if _strict_equal(a, b):
        return a
    if isinstance(a, list) or isinstance(b, list):
        return _lodash_intersection(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b])
    return MISSING


def _flatten_with_notation(obj: dict[str, Any]) -> tuple[list[tuple[FieldPath, Any]], set[str]]:
    """Leaf (path, value) pairs, objects expanded through dotted keys; and the paths whose own key was dotted."""
    path_values: list[tuple[FieldPath, Any]] = []
    dotted: set[str] = set()
    stack: list[tuple[dict[str, Any], FieldPath]] = [(obj, [])]
    while stack:
        current, prefix = stack.pop()
        for key, value in current.items():
            key_was_dotted = "." in key
            path = prefix + (key.split(".") if key_was_dotted else [key])
            if isinstance(value, dict):
                stack.append((value, path))
            else:
                path_values.append((path, value))
                if key_was_dotted:
                    dotted.add(".".join(path))
    return path_values, dotted


def _set_path(target: dict[str, Any], path: FieldPath, value: Any) -> None:
    """lodash `setWith(target, path, value)` (no customiser), for the values JSON can show.

    An object or array met on the way is kept, anything else replaced by an object (an array before a numeric
    segment). A non-numeric segment on an array names a JavaScript property of the array, which neither JSON nor the
    intersection sees, so the write is dropped: that is what happens to the alert's own `"event.kind"` when the event's
    `event` is an array.
    """
    current: Any = target
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        if isinstance(current, list):
            if not _INDEX.match(segment):
                return
            index = int(segment)
            current.extend([None] * (index + 1 - len(current)))  # JavaScript leaves holes, JSON prints null
            if last:
                current[index] = value
                return
            child = current[index]
            if not isinstance(child, (dict, list)):
                child = [] if _INDEX.match(path[position + 1]) else {}
                current[index] = child
        else:
            if last:
                current[segment] = value
                return
            child = current.get(segment)
            if not isinstance(child, (dict, list)):
                child = [] if _INDEX.match(path[position + 1]) else {}
                current[segment] = child
        current = child


def _unflatten(path_values: list[tuple[FieldPath, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for path, value in path_values:
        _set_path(result, path, value)
    return result


def _is_primitive(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _strict_equal(a: Any, b: Any) -> bool:
    """JavaScript `a === b` for JSON values."""
    if not _is_primitive(a) or not _is_primitive(b):
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b) and a == b  # NaN is never equal to itself
    return type(a) is type(b) and a == b


def _same_value_zero(a: Any, b: Any) -> bool:
    """JavaScript SameValueZero (what lodash `intersection` compares with): `===` except that NaN equals NaN."""
    if is_number(a) and is_number(b) and math.isnan(a) and math.isnan(b):
        return True
    return _strict_equal(a, b)


_STR_ONLY = frozenset({str})


def _lodash_intersection(a: list[Any], b: list[Any]) -> list[Any]:
    """lodash `intersection`: the distinct values of `a`, in order, that are also in `b`."""
    if len(a) == 1 and len(b) == 1 and type(a[0]) is str and type(b[0]) is str:  # `["process"]`: the commonest
        return a.copy() if a[0] == b[0] else []
    if {*map(type, a), *map(type, b)} <= _STR_ONLY:
        # arrays of keywords: SameValueZero is `==` for strings, so a set lookup per value instead of a comparison
        # per pair (numbers keep the comparisons, which fail on integers too large for a float: they always did)
        present = set(b)
        return [value for value in dict.fromkeys(a) if value in present]
    result: list[Any] = []
    for value in a:
        if any(_same_value_zero(value, other) for other in b) and not any(_same_value_zero(value, r) for r in result):
            result.append(value)
    return result


def _prune_empty_objects(obj: dict[str, Any]) -> None:
    """Remove nested objects left empty, innermost first (the top level itself is kept)."""
    for key in list(obj):
        value = obj[key]
        if isinstance(value, dict):
            _prune_empty_objects(value)
            if not value:
                del obj[key]


def _apply_notation_preference(nested: dict[str, Any], a_dotted: set[str], b_dotted: set[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for path, value in _flatten_with_notation(nested)[0]:
        joined = ".".join(path)
        if joined in a_dotted and joined in b_dotted:
            result[joined] = value
        else:
            _set_path(result, path, value)
    return result


__all__ = ["apply_notation_preference", "leaf_intersection", "normalised_intersection", "object_array_intersection",
           "object_pair_intersection"]
