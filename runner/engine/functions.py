"""EQL functions evaluated on script values, keyed by the canonical names of `runner.eql.signatures`.

Every function returns null when an input it needs is null, like Elasticsearch's function processors.
Integer arithmetic follows Java (`/` and `%` truncate toward zero). A value a function cannot work with raises
`FunctionError`: see there what Elasticsearch makes of it, and what the engine does instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from runner.engine.field_types import to_text
from runner.engine.semantics import CidrError, cidr_matcher, fold, ip_of
from runner.errors import RuleRunnerError


class FunctionError(RuleRunnerError):
    """A function or operator given a value it cannot work with (`number("abc")`, an integer `/ by zero`), with
    Elasticsearch's message.

    In Elasticsearch the function runs in the shard's script query and nothing catches what it throws
    (Elasticsearch source: `ToNumberFunctionProcessor` throws `EqlIllegalArgumentException("Unable to convert [..]
    to number of base [..]")`, QL `Arithmetics.div` divides Java longs and throws `ArithmeticException("/ by zero")`).
    So the *shard* fails, not the document: with `allow_partial_search_results: false` the whole search fails; with
    `true` (what Kibana sends) the answer drops that shard's hits and lists it in `shard_failures`, and a sequence
    query returns no sequence (../shared/reference/elasticsearch-api.md, "Partial results default"). A constant
    expression that throws fails when the query is planned.

    The engine does not reproduce that: `runner.engine.compile.Compiler` makes the script leaf false for a
    combination of values that raises (the document is left out, or let through by a `not` around the leaf, and
    nothing reports it), and reads a constant that raises as no constant (its leaf matches nothing).
    tests/engine/test_function_errors.py pins this; the divergence is left open (issue 11's note): reproducing
    Elasticsearch changes the engine's answers and the embedded backend's.
    """


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric(name: str, value: Any) -> int | float:
    if not _is_number(value):
        raise FunctionError(f"A number is required; received [{to_text(value)}]")
    number: int | float = value
    return number


def arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    a = _numeric(op, left)
    b = _numeric(op, right)
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if both_int:
            if b == 0:
                raise FunctionError("/ by zero")
            quotient = abs(a) // abs(b)
            return quotient if (a >= 0) == (b >= 0) else -quotient
        if b == 0:
            # IEEE division, as Java's double arithmetic does
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if op == "%":
        if both_int:
            if b == 0:
                raise FunctionError("/ by zero")
            return int(math.fmod(a, b))
        if b == 0:
            return math.nan
        return math.fmod(a, b)
    raise ValueError(op)


def negate(value: Any) -> Any:
    if value is None:
        return None
    return -_numeric("-", value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return to_text(value)


def _between(args: list[Any], ci: bool) -> Any:
    source, left, right = (_text(a) for a in args[:3])
    greedy = args[3] if len(args) > 3 else False
    if source is None or left is None or right is None:
        return None
    if greedy is None:
        greedy = False
    haystack = fold(source) if ci else source
    left_key = fold(left) if ci else left
    right_key = fold(right) if ci else right
    start = haystack.find(left_key)
    if start < 0:
        return ""
    start += len(left_key)
    end = haystack.rfind(right_key, start) if greedy else haystack.find(right_key, start)
    if end < 0:
        return ""
    return source[start:end]


def _cidr_match(args: list[Any], ci: bool) -> Any:
    address = args[0]
    if address is None:
        return None
    value = ip_of(address)
    if value is None:
        return False
    cidrs = [c for c in args[1:] if c is not None]
    try:
        return cidr_matcher([to_text(c) for c in cidrs])(value)
    except CidrError as err:
        raise FunctionError(str(err)) from None


def _concat(args: list[Any], ci: bool) -> Any:
    parts = []
    for value in args:
        if value is None:
            return None
        parts.append(to_text(value))
    return "".join(parts)


def _ends_with(args: list[Any], ci: bool) -> Any:
    source, suffix = _text(args[0]), _text(args[1])
    if source is None or suffix is None:
        return None
    if ci:
        return fold(source).endswith(fold(suffix))
    return source.endswith(suffix)


def _starts_with(args: list[Any], ci: bool) -> Any:
    source, prefix = _text(args[0]), _text(args[1])
    if source is None or prefix is None:
        return None
    if ci:
        return fold(source).startswith(fold(prefix))
    return source.startswith(prefix)


def _string_contains(args: list[Any], ci: bool) -> Any:
    source, needle = _text(args[0]), _text(args[1])
    if source is None or needle is None:
        return None
    if ci:
        return fold(needle) in fold(source)
    return needle in source


def _index_of(args: list[Any], ci: bool) -> Any:
    source, needle = _text(args[0]), _text(args[1])
    start = args[2] if len(args) > 2 else 0
    if source is None or needle is None:
        return None
    if start is None:
        start = 0
    start = int(_numeric("indexOf", start))
    if ci:
        source, needle = fold(source), fold(needle)
    found = source.find(needle, max(start, 0))
    return None if found < 0 else found


def _length(args: list[Any], ci: bool) -> Any:
    source = _text(args[0])
    return None if source is None else len(source)


def _number(args: list[Any], ci: bool) -> Any:
    source = args[0]
    base = args[1] if len(args) > 1 else None
    if source is None:
        return None
    text = to_text(source).strip()
    if base is None:
        base = 10
    base = int(_numeric("number", base))
    try:
        if base == 10:
            if any(c in text for c in ".eE") or text.lower() in ("nan", "infinity", "-infinity"):
                return float(text)
            return int(text)
        digits = text
        negative = digits.startswith("-")
        if negative or digits.startswith("+"):
            digits = digits[1:]
        if base == 16 and digits.lower().startswith("0x"):
            digits = digits[2:]
        value = int(digits, base)
        return -value if negative else value
    except ValueError:
        raise FunctionError(f"Unable to convert [{text}] to number of base [{base}]") from None


def _string(args: list[Any], ci: bool) -> Any:
    return _text(args[0])


def _substring(args: list[Any], ci: bool) -> Any:
    source = _text(args[0])
    start = args[1]
    end = args[2] if len(args) > 2 else None
    if source is None or start is None:
        return None
    start = int(_numeric("substring", start))
    if end is None:
        return source[start:]
    return source[start : int(_numeric("substring", end))]


def _math(op: str) -> Callable[[list[Any], bool], Any]:
    return lambda args, ci: arithmetic(op, args[0], args[1])


FUNCTIONS: dict[str, Callable[[list[Any], bool], Any]] = {
    "add": _math("+"),
    "between": _between,
    "cidrMatch": _cidr_match,
    "concat": _concat,
    "divide": _math("/"),
    "endsWith": _ends_with,
    "indexOf": _index_of,
    "length": _length,
    "modulo": _math("%"),
    "multiply": _math("*"),
    "number": _number,
    "startsWith": _starts_with,
    "string": _string,
    "stringContains": _string_contains,
    "substring": _substring,
    "subtract": _math("-"),
}


__all__ = ["FUNCTIONS", "FunctionError", "arithmetic", "negate"]
