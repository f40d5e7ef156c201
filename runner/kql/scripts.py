"""Script queries for scripted fields (Kibana's `getPhraseScript` / `getRangeScript`), which KQL uses for an index
pattern's scripted fields: Painless scripts are wrapped in a comparator so a script that returns a list matches when
any element does; Lucene expressions are compared directly.

Values are converted as Kibana converts them for a field: for an equality, a number field's value becomes a number
(JavaScript's `Number`: `"2020-01-01"` is NaN, sent as null) and a boolean field's `"true"` / `"false"` a boolean
(anything else is refused); for a range, a number field's string goes through `parseFloat` (`"2020-01-01"` is 2020).
"""

from __future__ import annotations

import math
import re
from typing import Any

from runner.kql.errors import KqlTranslationError
from runner.kql.fields import FieldSpec

_OPERATORS = {"gt": ">", "gte": ">=", "lte": "<=", "lt": "<"}
_COMPARATORS = {
    "gt": "boolean gt(Supplier s, def v) {return s.get() > v}",
    "gte": "boolean gte(Supplier s, def v) {return s.get() >= v}",
    "lte": "boolean lte(Supplier s, def v) {return s.get() <= v}",
    "lt": "boolean lt(Supplier s, def v) {return s.get() < v}",
}
_DATE_COMPARATORS = {
    "gt": "boolean gt(Supplier s, def v) {return s.get().toInstant().isAfter(Instant.parse(v))}",
    "gte": "boolean gte(Supplier s, def v) {return !s.get().toInstant().isBefore(Instant.parse(v))}",
    "lte": "boolean lte(Supplier s, def v) {return !s.get().toInstant().isAfter(Instant.parse(v))}",
    "lt": "boolean lt(Supplier s, def v) {return s.get().toInstant().isBefore(Instant.parse(v))}",
}
_PAINLESS_PHRASE = (
    "boolean compare(Supplier s, def v) {if(s.get() instanceof List){List list = s.get(); for(def k : list)"
    "{if(k==v){return true;}}return false;}else{return s.get() == v;}}"
)
_FLOAT_PREFIX = re.compile(r"[ \t\n\r\v\f\u00a0\ufeff]*([+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))")


def parse_float(text: str) -> float | int | None:
    """JavaScript's `parseFloat`: the longest numeric prefix; NaN (no number) is `None`, which JSON writes as
    JavaScript's JSON.stringify writes NaN (`null`). Integral values come back as `int`, as JSON numbers do."""
    match = _FLOAT_PREFIX.match(text)
    if not match:
        return None
    number = float(match.group(1).replace("Infinity", "inf"))
    if math.isinf(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")


def js_number(value: Any) -> float | int | None:
    """JavaScript's `Number(value)` for what KQL yields (a string, a boolean or null): the whole (trimmed) text must
    be a number; NaN and the infinities are `None` (JSON.stringify writes them as null)."""
    if value is None or isinstance(value, bool):
        return int(bool(value))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip(_JS_SPACE)
        radix = _RADIX.fullmatch(text)
        if not text:
            return 0
        if radix:
            try:
                number = float(int(radix.group(2), {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]))
            except ValueError:
                return None
        elif _DECIMAL.fullmatch(text):
            number = float(text)
        else:
            return None
    if math.isinf(number) or math.isnan(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def converted_value(field: FieldSpec, value: Any) -> Any:
    """Kibana's `getConvertedValueForField`: a boolean field's value as a boolean (`1`/`"true"`, `0`/`"false"`,
    anything else refused), a number field's as JavaScript's `Number` reads it."""
    if field.type == "boolean" and not isinstance(value, bool):
        if value in (1, "true") and not isinstance(value, float):
            return True
        if value in (0, "false") and not isinstance(value, float):
            return False
        raise KqlTranslationError(f"{value} is not a valid boolean value for boolean field {field.name}")
    if field.type == "number" and not (isinstance(value, int | float) and not isinstance(value, bool)):
        return js_number(value)
    return value


def phrase_script(field: FieldSpec, value: Any) -> dict[str, Any]:
    """`{"script": {...}}` testing the scripted field for equality with `value`."""
    if field.lang == "painless":
        source = f"{_PAINLESS_PHRASE}compare(() -> {{ {field.script} }}, params.value);"
    else:
        source = f"({field.script}) == value"
    return {"script": _without_none({"source": source, "lang": field.lang, "params": {"value": converted_value(field, value)}})}


def range_script(field: FieldSpec, params: dict[str, Any]) -> dict[str, Any]:
    """`{"script": {...}}` testing the scripted field against `gt` / `gte` / `lt` / `lte` bounds."""
    known = {key: (parse_float(value) if field.type == "number" and isinstance(value, str) else value)
             for key, value in params.items() if key in _OPERATORS}
    if field.lang == "painless":
        comparators = _DATE_COMPARATORS if field.type == "date" else _COMPARATORS
        source = " ".join(comparators[key] for key in known) + " && ".join(
            f"{key}(() -> {{ {field.script} }}, params.{key})" for key in known)
    else:
        source = " && ".join(f"({field.script}){_OPERATORS[key]}{key}" for key in known)
    return {"script": _without_none({"source": source, "params": known, "lang": field.lang})}


def _without_none(script: dict[str, Any]) -> dict[str, Any]:
    # JSON.stringify leaves out undefined members: a field without `lang` sends none
    return {key: value for key, value in script.items() if not (key == "lang" and value is None)}
