"""What a sequence shell copies from its building blocks in Kibana before 9.4: `objectPairIntersection` key by key.

Kibana 8.11 (kibana#166751) to 9.3 intersect the blocks' documents in `build_alert_group_from_sequence.ts` thus (9.4
replaced it, kibana#254830: `intersection.py`):

    Object.entries(a).forEach(([key, aVal]) => {
      if (key in b) {
        const bVal = b[key];
        if (both are objects, neither an array nor null)  intersection[key] = objectPairIntersection(aVal, bVal);
        else if (aVal === bVal)                            intersection[key] = aVal;
        else if (either is an array)                       intersection[key] = lodash intersection of the two
                                                           (a lone value counts as a one-element array);
      }
    });
    return the intersection, or undefined when none of its values is defined;

folded over the blocks (`objectArrayIntersection`; one block is its own intersection). Dotted keys and nested objects
are different keys here: `"user.name"` and `{"user": {"name"}}` never meet.

What JavaScript makes of it, reproduced here:
- `key in b` is also true for a key `b` holds with the value undefined, and for the names every object inherits from
  `Object.prototype` (`toString`, `constructor`...), whose values are functions: an array meeting one intersects to
  `[]`. An own `__proto__` key (`JSON.parse` makes one) is never copied: assigning it sets the result's prototype.
- undefined values stay in the result while folding (the keys exist) and are left out at the end, as JSON leaves
  them out. The building blocks are given as JavaScript holds them (`block_view`): lodash `merge` gives a block every
  alert field, the undefined ones included.
- `===` and lodash's SameValueZero compare containers by identity, and no two blocks share a container (lodash
  `merge` copies the alert fields into each block; the events are parsed apart): containers are never equal here, so
  arrays of objects intersect to `[]`.

This is the reference implementation and the only one for these releases: one walk over the blocks' keys, no copy,
cheap enough without a fast path (`intersection_fast.py` is the fast path of the newest intersection only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from runner.alerts.paths import is_number


class _Undefined:
    """JavaScript's `undefined` as a value of a key that exists."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()
_FUNCTION: Final = object()  # an inherited method of Object.prototype: equal to nothing JSON holds
_PROTOTYPE_NAMES = frozenset({
    "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "toString", "valueOf",
    "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__",
})
_CONTAINERS = (dict, list)


def block_view(document: dict[str, Any], event_keys: Sequence[str], alert_order: Sequence[str]) -> dict[str, Any]:
    """A building block as Kibana holds it when it intersects: `lodash.merge(event, alertFields)`, i.e. the event's
    keys in their order (values replaced where an alert field is defined), then the alert fields in their order, an
    undefined one as `UNDEFINED` (`document`: the block as written, whose alert fields omit undefined ones)."""
    view = {key: document[key] for key in event_keys}
    for key in alert_order:
        if key not in view:
            view[key] = document.get(key, UNDEFINED)
    return view


def keywise_array_intersection(objects: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """`objectArrayIntersection` of two or more blocks (`block_view`s), None when nothing is common. Top-level keys
    whose value is undefined are kept as `UNDEFINED`, for their place in the shell (`{...common, ...doc}` keeps the
    place of a key the shell's own fields then define); nested ones are left out."""
    if len(objects) < 2:
        raise ValueError("a shell of one block is that block: only two or more blocks are intersected")
    result: dict[str, Any] | None = objects[0]
    for obj in objects[1:]:
        result = keywise_pair_intersection(result, obj)
        if result is None:
            return None
    assert result is not None
    for value in result.values():
        if type(value) is dict:
            _drop_undefined(value)
    return result


def keywise_pair_intersection(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """`objectPairIntersection` of Kibana 8.11 to 9.3, undefined values kept (see `keywise_array_intersection`)."""
    if a is None or b is None:
        return None
    result: dict[str, Any] = {}
    defined = False
    for key, a_value in a.items():
        if key == "__proto__":
            continue  # `intersection.__proto__ = ...` sets the prototype: never an own key, never counted
        if key in b:
            b_value = b[key]
        elif key in _PROTOTYPE_NAMES:
            b_value = _FUNCTION
        else:
            continue
        value: Any
        if isinstance(a_value, dict) and isinstance(b_value, dict):
            value = keywise_pair_intersection(a_value, b_value)
            if value is None:
                value = UNDEFINED
        elif _strict_equal(a_value, b_value):
            value = a_value
        elif isinstance(a_value, list) or isinstance(b_value, list):
            value = _lodash_intersection(a_value if isinstance(a_value, list) else [a_value],
                                         b_value if isinstance(b_value, list) else [b_value])
        else:
            continue
        result[key] = value
        defined = defined or value is not UNDEFINED
    return result if defined else None


def _same_value_zero(a: Any, b: Any) -> bool:
    """JavaScript SameValueZero of two values from different blocks (containers are never the same)."""
    if isinstance(a, _CONTAINERS) or isinstance(b, _CONTAINERS):
        return False
    if a is UNDEFINED or b is UNDEFINED or a is _FUNCTION or b is _FUNCTION or a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


def _strict_equal(a: Any, b: Any) -> bool:
    """JavaScript `===`: SameValueZero, except that NaN is not equal to itself."""
    return _same_value_zero(a, b) and not (is_number(a) and math.isnan(a))


def _lodash_intersection(a: list[Any], b: list[Any]) -> list[Any]:
    """lodash `intersection(a, b)`: the distinct values of `a`, in order, that are also in `b` (SameValueZero)."""
    if all(type(value) is str for value in a) and all(type(value) is str for value in b):
        present = set(b)  # keywords, the usual arrays: SameValueZero is `==` for strings
        return [value for value in dict.fromkeys(a) if value in present]
    result: list[Any] = []
    for value in a:
        if any(_same_value_zero(value, other) for other in b) and not any(_same_value_zero(value, r) for r in result):
            result.append(value)
    return result


def _drop_undefined(obj: dict[str, Any]) -> None:
    """Leave out the undefined values of an object the intersection made (every object in its result is its own)."""
    for key in [key for key, value in obj.items() if value is UNDEFINED]:
        del obj[key]
    for value in obj.values():
        if type(value) is dict:
            _drop_undefined(value)


__all__ = ["UNDEFINED", "block_view", "keywise_array_intersection", "keywise_pair_intersection"]
