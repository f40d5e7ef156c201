"""The single home of Elasticsearch's EQL value rules: case folding, wildcards, regular expressions, CIDR ranges,
three-valued logic and comparisons. The compiler (compile.py) only wires these together.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Callable

from runner.eql.lucene_regex import compile_lucene_regex
from runner.engine.types import CidrError, Version, parse_cidr, parse_ip

Matcher = Callable[[str], bool]


def fold(text: str) -> str:
    """Case folding for case-insensitive operators (`:`, `like~`, `in~`, `fn~`)."""
    return text.lower()


# ---- wildcards (`:`, `like`, `like~`) ---------------------------------------------------------------------------------


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


@lru_cache(maxsize=4096)
def wildcard_matcher(pattern: str, case_insensitive: bool) -> Matcher:
    """`*` matches any sequence, `?` any one character, everything else itself (a backslash included).

    Common shapes get a plain string test instead of a regular expression.
    """
    if case_insensitive:
        pattern = fold(pattern)
    stars = pattern.count("*")
    if "?" not in pattern:
        core = pattern.strip("*")
        if "*" not in core:
            lead, trail = pattern.startswith("*"), pattern.endswith("*") and len(pattern) > 1
            if stars == 0:
                test: Matcher = core.__eq__
            elif lead and trail:
                test = (lambda v: core in v) if core else (lambda _v: True)
            elif lead and stars == 1:
                test = lambda v: v.endswith(core)  # noqa: E731
            elif trail and stars == 1:
                test = lambda v: v.startswith(core)  # noqa: E731
            else:
                test = None  # type: ignore[assignment]
            if test is not None:
                if case_insensitive:
                    return lambda v: test(fold(v))
                return test
    regex = re.compile(
        "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern), re.DOTALL
    )
    if case_insensitive:
        return lambda v: regex.fullmatch(fold(v)) is not None
    return lambda v: regex.fullmatch(v) is not None


@lru_cache(maxsize=1024)
def lucene_wildcard_matcher(pattern: str, case_insensitive: bool) -> Matcher:
    """A Lucene `wildcard` query pattern: `*`, `?`, and `\\` escaping the next character.

    Elasticsearch hands `endsWith`/`stringContains` on a field to such a query without escaping the argument.
    """
    if case_insensitive:
        pattern = fold(pattern)
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    regex = re.compile("".join(parts), re.DOTALL)
    if case_insensitive:
        return lambda v: regex.fullmatch(fold(v)) is not None
    return lambda v: regex.fullmatch(v) is not None


def wildcard_any(patterns: list[str], case_insensitive: bool) -> Matcher:
    matchers = [wildcard_matcher(p, case_insensitive) for p in patterns]
    if len(matchers) == 1:
        return matchers[0]
    exact = {fold(p) if case_insensitive else p for p in patterns if not has_wildcard(p)}
    others = [wildcard_matcher(p, case_insensitive) for p in patterns if has_wildcard(p)]
    if not others:
        if case_insensitive:
            return lambda v: fold(v) in exact
        return exact.__contains__
    if case_insensitive:
        return lambda v: fold(v) in exact or any(m(v) for m in others)
    return lambda v: v in exact or any(m(v) for m in others)


# ---- regular expressions ----------------------------------------------------------------------------------------------


def lucene_regex_any(patterns: list[str], case_insensitive: bool) -> Matcher:
    """A `regex` query on a field: Lucene syntax, whole-value match."""
    compiled = [compile_lucene_regex(p, case_insensitive) for p in patterns]
    return lambda v: any(r.fullmatch(v) is not None for r in compiled)


@lru_cache(maxsize=1024)
def _java_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if case_insensitive else 0)


def java_regex_any(patterns: list[str], case_insensitive: bool) -> Matcher:
    """`regex` evaluated in a script (on a function's result): java.util.regex `matches()`, a whole-value match."""
    compiled = [_java_regex(p, case_insensitive) for p in patterns]
    return lambda v: any(r.fullmatch(v) is not None for r in compiled)


# ---- CIDR -------------------------------------------------------------------------------------------------------------


def cidr_matcher(cidrs: list[str]) -> Callable[[int], bool]:
    ranges = [parse_cidr(c) for c in cidrs]
    return lambda address: any(low <= address <= high for low, high in ranges)


def ip_of(value: Any) -> int | None:
    """An address from an indexed ip value (an int) or a keyword holding an address."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_ip(value)
    return None


# ---- three-valued logic and comparisons (script semantics) ------------------------------------------------------------


def and3(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def not3(a: Any) -> Any:
    if a is None:
        return None
    return not a


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float))
    return type(a) is type(b)


def compare3(op: str, a: Any, b: Any) -> Any:
    """`==`, `!=`, `<`, ... between two script values; null if either is null or they cannot be compared."""
    if a is None or b is None:
        return None
    if not _comparable(a, b):
        if isinstance(a, Version) and isinstance(b, str):
            b = Version(b)
        elif isinstance(b, Version) and isinstance(a, str):
            a = Version(a)
        else:
            return None if op not in ("==", "!=") else op == "!="
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


__all__ = [
    "COMPARATORS",
    "FLIPPED",
    "CidrError",
    "and3",
    "cidr_matcher",
    "compare3",
    "fold",
    "has_wildcard",
    "ip_of",
    "java_regex_any",
    "lucene_wildcard_matcher",
    "lucene_regex_any",
    "not3",
    "or3",
    "parse_cidr",
    "wildcard_any",
    "wildcard_matcher",
]
