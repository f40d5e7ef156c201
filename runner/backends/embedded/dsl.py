"""The Query DSL of an EQL request's `filter`, evaluated on `_source` documents.

Kibana's EQL requests filter with a time range (`range` with `gte`/`lte` and `strict_date_optional_time`, inside
`bool` clauses, with `exists` for the timestamp fallback) and with the rule's own filters (`wildcard`, `exists`,
`term`, ... in `bool.must_not`). Those are the clauses implemented here, each with Elasticsearch's meaning on the
indexed values of the field (any value matches; a missing field matches no positive clause). A clause outside this
set is an `UnsupportedQuery`: the rule fails with a clear message instead of running with a filter ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from runner.engine import MISSING, SourcePath, date_range
from runner.errors import RuleRunnerError

Predicate = Callable[[Mapping[str, Any]], bool]


class UnsupportedQuery(RuleRunnerError):
    """A Query DSL clause the embedded backend does not evaluate."""


@lru_cache(maxsize=4096)
def _path(field: str) -> SourcePath:
    return SourcePath(field)


def values(source: Mapping[str, Any], field: str) -> list[Any]:
    raw = _path(field).get(source)
    if raw is MISSING or raw is None:
        return []
    return [v for v in (raw if isinstance(raw, list) else [raw]) if v is not None]


def compile_query(query: Mapping[str, Any]) -> Predicate:
    """A predicate over `_source` for one Query DSL object."""
    if not isinstance(query, Mapping) or len(query) != 1:
        raise UnsupportedQuery(f"a query clause must be an object with exactly one key, got {_short(query)}")
    (kind, spec), = query.items()
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise UnsupportedQuery(
            f"the embedded backend does not evaluate [{kind}] queries in a rule filter (supported: {', '.join(sorted(_BUILDERS))})"
        )
    return builder(spec)


def matches_everything(query: Any) -> bool:
    """A bool query with nothing but empty or match-everything clauses (Kibana's filter for a rule without
    filters), which needs no pass over the documents."""
    if not isinstance(query, Mapping) or len(query) != 1:
        return False
    (kind, spec), = query.items()
    if kind == "match_all":
        return True
    if kind != "bool" or not isinstance(spec, Mapping):
        return False
    if spec.get("should") or spec.get("must_not"):
        return False
    clauses = [c for key in ("must", "filter") for c in (spec.get(key) or [])]
    return all(matches_everything(c) for c in clauses)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _clauses(spec: Any) -> list[Predicate]:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    return [compile_query(item) for item in items]


def _bool(spec: Mapping[str, Any]) -> Predicate:
    unknown = set(spec) - {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"}
    if unknown:
        raise UnsupportedQuery(f"unknown bool keys {sorted(unknown)}")
    required = _clauses(spec.get("must")) + _clauses(spec.get("filter"))
    should = _clauses(spec.get("should"))
    excluded = _clauses(spec.get("must_not"))
    # Elasticsearch: with no must/filter clause, at least one should clause has to match (when there are any)
    minimum = spec.get("minimum_should_match", 0 if required else (1 if should else 0))
    minimum = int(minimum) if not isinstance(minimum, str) else int(minimum.rstrip("%")) * len(should) // 100

    def matches(source: Mapping[str, Any]) -> bool:
        if not all(p(source) for p in required):
            return False
        if any(p(source) for p in excluded):
            return False
        if minimum:
            return sum(1 for p in should if p(source)) >= minimum
        return True

    return matches


def _field_spec(spec: Mapping[str, Any], kind: str) -> tuple[str, Any]:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise UnsupportedQuery(f"[{kind}] needs exactly one field, got {_short(spec)}")
    (field, value), = spec.items()
    return field, value


def _range(spec: Mapping[str, Any]) -> Predicate:
    field, bounds = _field_spec(spec, "range")
    unknown = set(bounds) - {"gte", "gt", "lte", "lt", "format", "time_zone", "boost"}
    if unknown:
        raise UnsupportedQuery(f"unknown range keys {sorted(unknown)}")
    formats = bounds.get("format")
    dated = any(isinstance(bounds.get(k), str) for k in ("gte", "gt", "lte", "lt"))

    def point(value: Any, low_end: bool) -> Any:
        if not dated:
            return value
        interval = date_range(value, formats)
        if interval is None:
            raise UnsupportedQuery(f"cannot read the date [{value}] of a range on [{field}]")
        # date math rounding: gte takes the start of the named period, lte its end
        return interval[0] if low_end else interval[1]

    gte = point(bounds["gte"], True) if "gte" in bounds else None
    gt = point(bounds["gt"], False) if "gt" in bounds else None
    lte = point(bounds["lte"], False) if "lte" in bounds else None
    lt = point(bounds["lt"], True) if "lt" in bounds else None

    def convert(value: Any) -> Any:
        if dated:
            interval = date_range(value)
            return None if interval is None else interval[0]
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def matches(source: Mapping[str, Any]) -> bool:
        for raw in values(source, field):
            value = convert(raw)
            if value is None:
                continue
            if gte is not None and value < gte:
                continue
            if gt is not None and value <= gt:
                continue
            if lte is not None and value > lte:
                continue
            if lt is not None and value >= lt:
                continue
            return True
        return False

    return matches


def _exists(spec: Mapping[str, Any]) -> Predicate:
    field = spec.get("field") if isinstance(spec, Mapping) else None
    if not isinstance(field, str):
        raise UnsupportedQuery(f"[exists] needs a field, got {_short(spec)}")
    return lambda source: bool(values(source, field))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _term(spec: Mapping[str, Any]) -> Predicate:
    field, value = _field_spec(spec, "term")
    insensitive = False
    if isinstance(value, Mapping):
        insensitive = bool(value.get("case_insensitive"))
        value = value.get("value")
    wanted = _text(value).lower() if insensitive else _text(value)
    if insensitive:
        return lambda source: any(_text(v).lower() == wanted for v in values(source, field))
    return lambda source: any(_text(v) == wanted for v in values(source, field))


def _terms(spec: Mapping[str, Any]) -> Predicate:
    spec = {k: v for k, v in spec.items() if k != "boost"}
    field, wanted = _field_spec(spec, "terms")
    if not isinstance(wanted, list):
        raise UnsupportedQuery("[terms] needs a list of values (terms lookup is not supported)")
    accepted = {_text(v) for v in wanted}
    return lambda source: any(_text(v) in accepted for v in values(source, field))


def _pattern(kind: str, spec: Mapping[str, Any]) -> Predicate:
    field, value = _field_spec(spec, kind)
    insensitive = False
    if isinstance(value, Mapping):
        insensitive = bool(value.get("case_insensitive"))
        value = value.get("value", value.get("wildcard"))
    text = _text(value)
    if kind == "prefix":
        regex = re.escape(text) + ".*"
    else:
        # Lucene wildcards: * and ?, with \ escaping the next character
        regex = "".join(
            ".*" if part == "*" else "." if part == "?" else re.escape(part[1:] if part.startswith("\\") else part)
            for part in re.findall(r"\\.|\*|\?|[^\\*?]+", text)
        )
    compiled = re.compile(regex, re.DOTALL | (re.IGNORECASE if insensitive else 0))
    return lambda source: any(compiled.fullmatch(_text(v)) for v in values(source, field))


def _match_all(_spec: Any) -> Predicate:
    return lambda _source: True


def _match_none(_spec: Any) -> Predicate:
    return lambda _source: False


def _match_phrase(spec: Mapping[str, Any]) -> Predicate:
    field, value = _field_spec(spec, "match_phrase")
    if isinstance(value, Mapping):
        value = value.get("query")
    # on keyword fields (all ECS string fields are) a phrase query is an exact term query
    return _term({field: value})


_BUILDERS: dict[str, Callable[[Any], Predicate]] = {
    "bool": _bool,
    "range": _range,
    "exists": _exists,
    "term": _term,
    "terms": _terms,
    "wildcard": lambda spec: _pattern("wildcard", spec),
    "prefix": lambda spec: _pattern("prefix", spec),
    "match_all": _match_all,
    "match_none": _match_none,
    "match_phrase": _match_phrase,
    "match": _match_phrase,
}

__all__ = ["UnsupportedQuery", "compile_query", "matches_everything", "values"]
