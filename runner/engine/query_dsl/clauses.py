"""The tests of one field clause on one field's indexed values, per type family (term, wildcard, range, match,
match_phrase, a query_string term), with Elasticsearch's rules; `Refused` where Elasticsearch fails the query.

A test takes the list of values `DslField.read` gives (typed values; for `text`, the strings the analyzer receives)
and answers whether any value (or, for `match` with `and`, the field as a whole) satisfies the clause. The compiler
(compile.py) prepares one per field and family and wires them together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from runner.engine.field_types import (
    BooleanType,
    CidrError,
    UnknownNormalizer,
    Version,
    field_type,
    lowercase,
    parse_cidr,
    parse_ip,
    to_text,
)
from runner.engine.query_dsl.analysis import analyze
from runner.engine.query_dsl.datemath import DateMathError, bound
from runner.engine.query_dsl.errors import QueryDslError, UnsupportedQuery
from runner.engine.semantics import lucene_wildcard_matcher
from runner.eql import FieldMapping
from runner.errors import RuleRunnerError

ValuesTest = Callable[[list[Any]], bool]

_STRING_FAMILIES = frozenset({"keyword", "text"})


def _nothing(values: list[Any]) -> bool:
    return False


NEVER: ValuesTest = _nothing
ANY: ValuesTest = bool


class Refused(RuleRunnerError):
    """A value the field's type cannot take (Elasticsearch's 400), raised while preparing a field's test."""


# ---- values of one type family ---------------------------------------------------------------------------------------


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def _number(value: Any, family: str) -> float | int:
    """A query value on a numeric field, as NumberFieldMapper parses it (strings too); `Refused` otherwise."""
    if isinstance(value, bool):
        raise Refused(f"failed to create query: For input string: \"{to_text(value)}\"")
    if isinstance(value, (int, float)):
        return value
    text = to_text(value).strip() if not isinstance(value, (dict, list)) else ""
    if not _DECIMAL.match(text):
        raise Refused(f"failed to create query: For input string: \"{to_text(value)}\"")
    number = float(text)
    if family == "integer" and number.is_integer() and "e" not in text.lower() and "." not in text:
        return int(text)
    return number


def _ip(value: Any) -> tuple[int, int]:
    text = to_text(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is not None and "/" in text:
        try:
            return parse_cidr(text)
        except CidrError:
            pass
    address = parse_ip(text) if text is not None else None
    if address is None:
        raise Refused(f"failed to create query: '{to_text(value)}' is not an IP string literal.")
    return address, address


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    parsed = BooleanType().index(value) if value != "" else None
    if parsed is None:
        raise Refused(
            f"failed to create query: Failed to parse value [{to_text(value)}] as only [true] or [false] are allowed."
        )
    return bool(parsed)


def _keyword_constant(text: str, mapping: FieldMapping | None) -> str:
    """A term, pattern or bound compared with a keyword field, as the field's normalizer makes it (Elasticsearch
    normalises every query constant: KeywordFieldType.indexedValueForSearch, and the pattern of a wildcard query
    through the normalizer too), the way the indexed values were."""
    if mapping is None:
        return text
    try:
        return field_type(mapping).search_text(text)
    except UnknownNormalizer as error:
        raise Refused(str(error)) from None


def _has_decimal(number: float | int) -> bool:
    return isinstance(number, float) and not number.is_integer()


class Env:
    """What preparing a test needs besides the value: the instant `now` stands for."""

    def __init__(self, now_nanos: int) -> None:
        self.now_nanos = now_nanos

    def date_interval(self, value: Any, mapping: FieldMapping | None, formats: str | None = None,
                      time_zone: str | None = None) -> tuple[int, int]:
        """A term on a date field: `[value rounded down, value rounded up]`, as DateFieldType.termQuery."""
        fmt = formats or (mapping.format if mapping is not None else None)
        try:
            low = bound(value, round_up=False, formats=fmt, time_zone=time_zone, now_nanos=self.now_nanos)
            high = bound(value, round_up=True, formats=fmt, time_zone=time_zone, now_nanos=self.now_nanos)
        except DateMathError as error:
            raise Refused(str(error)) from None
        return low, high


def term_test(env: Env, value: Any, case_insensitive: bool, family: str, mapping: FieldMapping | None,
              name: str) -> ValuesTest:
    """Equality with one query value on a field of `family` (term, terms, match on non-text, match_phrase...)."""
    if isinstance(value, (dict, list)) or value is None:
        raise Refused(f"[term] query does not support a value of [{value!r}]")
    if family in _STRING_FAMILIES:
        text = to_text(value)
        if family == "text":
            if case_insensitive:
                folded = lowercase(text)
                return lambda values: any(folded in analyze(v) for v in values)
            return lambda values: any(text in analyze(v) for v in values)
        text = _keyword_constant(text, mapping)
        if case_insensitive:
            folded = lowercase(text)
            return lambda values: any(lowercase(v) == folded for v in values)
        return lambda values: text in values
    if family in ("integer", "rational"):
        number = _number(value, family)
        if family == "integer" and _has_decimal(number):
            return NEVER
        return lambda values: number in values
    if family == "date":
        low, high = env.date_interval(value, mapping)
        return lambda values: any(low <= v <= high for v in values)
    if family == "ip":
        first, last = _ip(value)
        return lambda values: any(first <= v <= last for v in values)
    if family == "boolean":
        wanted = _boolean(value)
        return lambda values: wanted in values
    if family == "version":
        version = Version(to_text(value))
        return lambda values: version in values
    raise Refused(f"field [{name}] of type [{mapping.type if mapping else family}] does not support term queries")


def wildcard_test(pattern: str, case_insensitive: bool, family: str, mapping: FieldMapping | None,
                  name: str) -> ValuesTest:
    """A Lucene wildcard (`*`, `?`, `\\` escapes) on each keyword value, or on each term of a text field (the
    pattern normalized by the analyzer: lowercased)."""
    if family == "keyword":
        if pattern == "*":
            return ANY
        match = lucene_wildcard_matcher(_keyword_constant(pattern, mapping), case_insensitive)
        return lambda values: any(match(v) for v in values)
    if family == "text":
        match = lucene_wildcard_matcher(lowercase(pattern), case_insensitive)
        return lambda values: any(match(t) for v in values for t in analyze(v))
    es_type = mapping.type if mapping is not None else family
    raise Refused(f"Can only use wildcard queries on keyword and text fields - not on [{name}] which is of type "
                   f"[{es_type}]")


_RANGE_OPS = {"gt", "gte", "lt", "lte"}


def range_test(env: Env, bounds: list[tuple[str, Any]], formats: str | None, time_zone: str | None,
               family: str, mapping: FieldMapping | None, name: str) -> ValuesTest:
    """Values within the bounds, compared as the family orders them (dates with date math and rounding)."""
    if time_zone is not None and family != "date":
        raise Refused(f"[range] time_zone can not be applied to non date field [{name}]")
    checks: list[tuple[str, Any]] = []
    for op, value in bounds:
        if family == "date":
            fmt = formats or (mapping.format if mapping is not None else None)
            try:
                limit: Any = bound(value, round_up=op in ("gt", "lte"), formats=fmt, time_zone=time_zone,
                                   now_nanos=env.now_nanos)
            except DateMathError as error:
                raise Refused(str(error)) from None
        elif family in ("integer", "rational"):
            limit = _number(value, family)
        elif family in _STRING_FAMILIES:
            if isinstance(value, (dict, list)):
                raise Refused(f"[range] query does not support a bound of [{value!r}]")
            limit = to_text(value) if family == "text" else _keyword_constant(to_text(value), mapping)
        elif family == "ip":
            address = parse_ip(to_text(value)) if isinstance(value, str) else None
            if address is None:
                raise Refused(f"failed to create query: '{to_text(value)}' is not an IP string literal.")
            limit = address
        elif family == "boolean":
            limit = _boolean(value)
        elif family == "version":
            limit = Version(to_text(value))
        else:
            raise Refused(f"field [{name}] of type [{mapping.type if mapping else family}] does not support range "
                           f"queries")
        checks.append((op, limit))

    def within(v: Any) -> bool:
        for op, limit in checks:
            if op == "gte":
                if not v >= limit:
                    return False
            elif op == "gt":
                if not v > limit:
                    return False
            elif op == "lte":
                if not v <= limit:
                    return False
            elif not v < limit:
                return False
        return True

    if family == "text":
        return lambda values: any(within(t) for v in values for t in analyze(v))
    return lambda values: any(within(v) for v in values)


def match_test(env: Env, query: Any, operator: str, family: str, mapping: FieldMapping | None,
               name: str) -> ValuesTest:
    """`match`: the query analyzed on a text field (any term with `or`, every term with `and`); on other fields one
    term of the field's type."""
    if family != "text":
        return term_test(env, query, False, family, mapping, name)
    terms = analyze(to_text(query))
    if not terms:
        return NEVER  # zero_terms_query: none
    wanted = frozenset(terms)
    if operator == "and":
        return lambda values: wanted <= {t for v in values for t in analyze(v)}
    return lambda values: any(not wanted.isdisjoint(analyze(v)) for v in values)


def phrase_test(env: Env, query: Any, family: str, mapping: FieldMapping | None, name: str) -> ValuesTest:
    """`match_phrase` with slop 0: the query's terms at consecutive positions of one value (values of an array are
    100 positions apart, so a phrase never spans two); on other fields one term of the field's type."""
    if family != "text":
        return term_test(env, query, False, family, mapping, name)
    terms = analyze(to_text(query))
    if not terms:
        return NEVER
    if len(terms) == 1:
        (only,) = terms
        return lambda values: any(only in analyze(v) for v in values)
    size = len(terms)
    first = terms[0]

    def contains(value: str) -> bool:
        tokens = analyze(value)
        for start in range(len(tokens) - size + 1):
            if tokens[start] == first and tokens[start : start + size] == terms:
                return True
        return False

    return lambda values: any(contains(v) for v in values)


# ---- query_string ----------------------------------------------------------------------------------------------------

_QS_SPECIAL = frozenset('+!():^[]"{}~/&|')


def parse_query_string(query: str, where: str) -> list[tuple[str, str, bool]]:
    """A query_string query of whitespace-separated terms (Kibana's shape: values with wildcards and `\\` escapes,
    an unquoted value of several words giving several terms) → for each term (its Lucene wildcard pattern, escapes
    kept; its text with escapes removed; whether it has wildcards). The terms combine with `default_operator`.
    Anything else of the Lucene syntax (operators, field names, phrases, groups, ranges, regexes, fuzzy or boost
    suffixes) is an `UnsupportedQuery`."""
    terms: list[tuple[str, str, bool]] = []
    pattern: list[str] = []
    plain: list[str] = []
    wildcard = False

    def close() -> None:
        nonlocal wildcard
        if pattern:
            word = "".join(pattern)
            if word in ("AND", "OR", "NOT", "&&", "||"):
                raise UnsupportedQuery(where, f"query_string [{query}]: the operator [{word}] is not supported")
            terms.append((word, "".join(plain), wildcard))
        pattern.clear()
        plain.clear()
        wildcard = False

    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "\\":
            if i + 1 >= len(query):
                raise QueryDslError(where, f"Failed to parse query [{query}]: the query ends with an escape")
            pattern.append(query[i : i + 2])
            plain.append(query[i + 1])
            i += 2
            continue
        if ch.isspace():
            close()
            i += 1
            continue
        if ch in "*?":
            wildcard = True
        elif ch in _QS_SPECIAL or (ch in "-+" and not pattern):
            raise UnsupportedQuery(
                where,
                f"query_string [{query}]: only terms (with * and ? wildcards and \\ escapes) are supported; "
                f"[{ch}] at offset {i} starts Lucene syntax the evaluator does not run",
            )
        pattern.append(ch)
        plain.append(ch)
        i += 1
    close()
    return terms


def query_string_test(env: Env, pattern: str, plain: str, wildcard: bool, operator: str, family: str,
                      mapping: FieldMapping | None, name: str) -> ValuesTest:
    """One query_string term on one field: `*` alone is an exists query; a wildcard term a wildcard query (on a
    text field its pattern normalized: lowercased, analyze_wildcard off); a plain term a match query."""
    if wildcard:
        if pattern == "*":
            return ANY
        return wildcard_test(pattern, False, family, mapping, name)
    return match_test(env, plain, operator, family, mapping, name)


__all__ = [
    "ANY",
    "NEVER",
    "Env",
    "Refused",
    "ValuesTest",
    "match_test",
    "parse_query_string",
    "phrase_test",
    "query_string_test",
    "range_test",
    "term_test",
    "wildcard_test",
]

