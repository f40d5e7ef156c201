"""Reading and writing document fields the ways Kibana's helpers do.

Elasticsearch documents mix nested objects (`{"host": {"name": "a"}}`) and dotted keys (`{"host.name": "a"}`).
Kibana resolves a path in two different ways depending on the step, and the way changes which value is found:

- lodash `get`/`set` (reason, overrides, ancestry, the `allFields` merge): a key equal to the whole path wins, otherwise
  the path is split on every dot and walked through nested objects only;
- `robustGet`/`robustSet`/`robustIsPathValid` (the `missingFields` merge, removing `event.kind`): any mix of dotted and
  nested segments, tried shortest prefix first.

Values are plain JSON: dicts, lists, str, int/float, bool, None. `MISSING` stands for JavaScript's `undefined` where
Kibana tells it apart from `null`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final


class _Missing:
    """JavaScript's `undefined`: a value that is not there (as opposed to `null`, which is `None`)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
# A value to delete rather than to set (lodash `set(doc, key, undefined)` leaves a key JSON does not serialise).
DELETE: Final = object()

_INDEX = re.compile(r"^(?:0|[1-9]\d*)$")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")
# what JavaScript's `Number()` trims: WhiteSpace (Unicode Zs and U+FEFF among them) and LineTerminator
_JS_SPACE = ("\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
             "\u2028\u2029\u202f\u205f\u3000\ufeff")


def is_index(segment: str) -> bool:
    """Whether lodash reads this path segment as an array index (and builds an array for it)."""
    return _INDEX.match(segment) is not None


def is_plain_object(value: Any) -> bool:
    return isinstance(value, dict)


def is_object_like(value: Any) -> bool:
    """lodash `isObjectLike`: objects and arrays (not null, not primitives)."""
    return isinstance(value, (dict, list))


def is_number(value: Any) -> bool:
    """JavaScript `typeof value === 'number'` (a Python bool is an int, but never a JavaScript number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def js_truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False:
        return False
    if is_number(value):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones


def js_number(text: str) -> float:
    """JavaScript `Number(string)`: blank is 0, decimal/exponent/0x/0o/0b literals and Infinity, anything else NaN."""
    stripped = text.strip(_JS_SPACE)
    if not stripped:
        return 0.0
    if _DECIMAL.fullmatch(stripped):
        return float(stripped)
    if stripped in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if stripped.startswith("-") else math.inf
    radix = _RADIX.fullmatch(stripped)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
        try:
            return float(int(radix.group(2), base))
        except ValueError:  # a digit of another base (`0o8`)
            return math.nan
        except OverflowError:  # beyond a double: JavaScript says Infinity
            return math.inf
    return math.nan


def js_string(value: Any) -> str:
    """JavaScript `String(value)` for JSON values (what string concatenation and `Array.join` produce)."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, list):
        return js_join(value, ",")
    return "[object Object]"


def js_join(values: Sequence[Any], separator: str) -> str:
    """JavaScript `Array.prototype.join`: null and undefined elements become empty strings."""
    return separator.join("" if v is None or v is MISSING else js_string(v) for v in values)


def lodash_get(document: Any, path: str | Sequence[str], default: Any = MISSING) -> Any:
    """lodash `get`: a key equal to the whole (string) path first, else the dot-split path through objects/arrays."""
    if isinstance(path, str):
        if isinstance(document, dict) and path in document:
            return document[path]
        segments: Sequence[str] = path.split(".")
    else:
        segments = path
    current = document
    for segment in segments:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and _INDEX.match(segment) and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return default
    return current


def lodash_set(document: dict[str, Any], path: str | Sequence[str], value: Any) -> None:
    """lodash `set` (mutating): `DELETE` removes the last key instead.

    lodash would also write into an array met on the way or create arrays for numeric segments; alert sources never
    need that (the merge only writes where the path holds objects or nothing), so intermediates are always objects.
    """
    if isinstance(path, str):
        segments: Sequence[str] = [path] if path in document else path.split(".")
    else:
        segments = path
    current = document
    for segment in segments[:-1]:
        child = current.get(segment)
        if not isinstance(child, dict):
            if value is DELETE:
                return
            child = {}
            current[segment] = child
        current = child
    if value is DELETE:
        current.pop(segments[-1], None)
    else:
        current[segments[-1]] = value


def robust_get(key: str, document: Mapping[str, Any]) -> Any:
    """Kibana `robustGet`: the value at a dotted path through any mix of dotted keys and nested objects, or None."""
    fast = document.get(key)
    if fast is not None:
        return fast
    parts = key.split(".")
    prefix = parts[0]
    for i in range(len(parts) - 1):
        if i > 0:
            prefix += f".{parts[i]}"
        value = document.get(prefix)
        if value is not None:
            if isinstance(value, dict):
                return robust_get(".".join(parts[i + 1:]), value)
            return None
    return None


def robust_set(key: str, value: Any, document: dict[str, Any]) -> None:
    """Kibana `robustSet`: descend into the first existing object prefix, else lodash `set` the rest."""
    parts = key.split(".")
    prefix = parts[0]
    for i in range(len(parts) - 1):
        if i > 0:
            prefix += f".{parts[i]}"
        child = document.get(prefix)
        if isinstance(child, dict):
            robust_set(".".join(parts[i + 1:]), value, child)
            return
    lodash_set(document, key, value)


def robust_is_path_valid(key: str, document: Mapping[str, Any]) -> bool:
    """Kibana `robustIsPathValid`: every value met along the path is an object (or absent)."""
    parts = key.split(".")
    prefix = parts[0]
    for i in range(len(parts)):
        if i > 0:
            prefix += f".{parts[i]}"
        value = document.get(prefix)
        if value is not None:
            if not isinstance(value, dict):
                return False
            return robust_is_path_valid(".".join(parts[i + 1:]), value)
    return True


def flatten_with_prefix(prefix: str, value: Any) -> dict[str, Any]:
    """`flattenWithPrefix` (@kbn/securitysolution-rules): nested objects become dotted keys; arrays stay values."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(flatten_with_prefix(f"{prefix}.{key}", child))
        return flat
    return {prefix: value}


def remove_field(document: dict[str, Any], path: str) -> bool:
    """Remove every value Elasticsearch would index under the field `path` (a full dotted name), however the
    document spells it: dotted keys, nested objects, objects inside arrays. True if anything was removed."""
    removed = False
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        key = ".".join(parts[:end])
        if key not in document:
            continue
        if end == len(parts):
            del document[key]
            removed = True
            continue
        rest = ".".join(parts[end:])
        value = document[key]
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, dict):
                removed = remove_field(child, rest) or removed
    return removed


__all__ = [
    "DELETE",
    "MISSING",
    "flatten_with_prefix",
    "is_index",
    "is_number",
    "is_object_like",
    "is_plain_object",
    "js_join",
    "js_number",
    "js_string",
    "js_truthy",
    "lodash_get",
    "lodash_set",
    "remove_field",
    "robust_get",
    "robust_is_path_valid",
    "robust_set",
]
