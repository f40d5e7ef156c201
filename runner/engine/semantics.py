"""The single home of Elasticsearch's EQL value rules: case folding, wildcards, regular expressions, CIDR ranges,
three-valued logic and comparisons. The compiler (compile.py) only wires these together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from runner.engine.field_types import CidrError, Version, parse_cidr, parse_ip
from runner.eql import compile_lucene_regex

Matcher = Callable[[str], bool]


def fold(text: str) -> str:
    """Case folding for case-insensitive operators (`:`, `like~`, `in~`, `fn~`)."""
    return text.lower()


# ---- wildcards (`:`, `like`, `like~`) ---------------------------------------------------------------------------------


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _plain_test(pattern: str) -> Matcher | None:
    """A string method for the shapes `abc`, `*abc*`, `abc*`, `*abc` (no regular expression needed), or None."""
    if "?" in pattern:
        return None
    core = pattern.strip("*")
    if "*" in core:
        return None
    lead, trail = pattern.startswith("*"), pattern.endswith("*")
    if not lead and not trail:
        return core.__eq__
    if not core:
        return lambda _v: True
    if lead and trail and len(pattern) > 1:
        return lambda v: core in v
    if lead and pattern.count("*") == 1:
        return lambda v: v.endswith(core)
    if trail and pattern.count("*") == 1:
        return lambda v: v.startswith(core)
    return None


def _wildcard_regex(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


@lru_cache(maxsize=4096)
def _wildcard_any(patterns: tuple[str, ...], case_insensitive: bool) -> Matcher:
    if case_insensitive:
        patterns = tuple(fold(p) for p in patterns)
    exact = frozenset(p for p in patterns if not has_wildcard(p))
    if case_insensitive and len(exact) == len(patterns):
        return folded_terms(exact)
    plain = [t for t in (_plain_test(p) for p in patterns if has_wildcard(p)) if t is not None]
    complex_ = [p for p in patterns if has_wildcard(p) and _plain_test(p) is None]
    combined = re.compile("|".join(f"(?:{_wildcard_regex(p)})" for p in complex_), re.DOTALL) if complex_ else None
    if len(patterns) == 1:
        single = plain[0] if plain else (exact.__contains__ if exact else None)
        if single is not None:
            if exact:
                return single  # one exact term, matched as it is (folded ones are answered above)
            test = single
            return _carrying((lambda v: test(fold(v))) if case_insensitive else test, patterns, case_insensitive)
    full = combined.fullmatch if combined is not None else None

    def match(value: str) -> bool:
        if case_insensitive:
            value = fold(value)
        if value in exact:
            return True
        for test in plain:
            if test(value):
                return True
        return full is not None and full(value) is not None

    return _carrying(match, patterns, case_insensitive)


def _carrying(test: Matcher, patterns: tuple[str, ...], folds: bool) -> Matcher:
    """`test` (a Python function) with the patterns it tests (folded when it folds) on it, for `patterns_of`."""
    test.wildcard_patterns = patterns  # type: ignore[attr-defined]
    test.folds = folds  # type: ignore[attr-defined]
    return test


def patterns_of(test: Callable[[str], bool]) -> tuple[str, ...] | None:
    """The wildcard patterns a matcher made by `wildcard_any` tests, folded when it folds the value; None for any
    other test (an exact one included)."""
    found = getattr(test, "wildcard_patterns", None)
    return found if isinstance(found, tuple) else None


def folded_terms(terms: frozenset[str]) -> Matcher:
    """A case-insensitive test against exact terms (already folded). The terms are kept on the function, so that a
    planner can index queries by them (see engine/multi.py)."""
    test = lambda value: fold(value) in terms  # noqa: E731 - a function object that can carry attributes
    # mypy types the lambda as a bare Callable; a callable class instead would cost a slower call per value
    test.folded_terms = terms  # type: ignore[attr-defined]
    return test


def wildcard_any(patterns: list[str], case_insensitive: bool) -> Matcher:
    """`*` matches any sequence, `?` any one character, everything else itself (a backslash included); the value
    matches if any pattern does. Plain shapes use string methods, the others one combined regular expression, and a
    case-insensitive value is folded once."""
    return _wildcard_any(tuple(patterns), case_insensitive)


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
    "lucene_regex_any",
    "lucene_wildcard_matcher",
    "not3",
    "or3",
    "parse_cidr",
    "patterns_of",
    "wildcard_any",
]
