"""KQL (Kibana Query Language), translated to Elasticsearch query DSL exactly as Kibana's detection engine does.

- `parse(text)` gives the syntax tree (`nodes`) or raises `KqlSyntaxError` with `line L:C`; it stays linear on any
  input (Kibana's own parser is exponential on nested parentheses).
- `kql_to_dsl(kql, fields=None, **options)` is Kibana's `toElasticsearchQuery(fromKueryExpression(kql), indexPattern,
  config)` with the detection engine's config: `fields` is the index pattern's field list (Kibana's field objects:
  `name`, `type`, `esTypes`, `subType`, `scripted`, ...; `None` or `[]` = no field information), and the options
  keep Kibana's names: `dateFormatTZ` (default `"Zulu"`, `None` = not set), `caseInsensitive`,
  `nestedIgnoreUnmapped`, `filtersInMustClause`, `allowLeadingWildcards` (default true).
- `build_es_query(kql, filters, fields=None, **options)` is the whole query the engine sends: the KQL and the rule's
  Kibana filter objects in one bool query.

The contract and its conformance cases are ../shared/kql-spec (FORMAT.md); tests/kql grades against them. Errors
derive from `KqlError`: `KqlSyntaxError` (the text), `KqlTranslationError` (the text against the field list).
A language package: it imports nothing of the project above it.
"""

from __future__ import annotations

from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from collections.abc import Sequence as _Sequence
from functools import lru_cache as _lru_cache
from typing import Any as _Any

from runner.kql import nodes
from runner.kql.errors import KqlError, KqlSyntaxError, KqlTranslationError
from runner.kql.fields import FieldList, FieldSpec
from runner.kql.filters import combine as _combine
from runner.kql.nodes import field_names
from runner.kql.parser import parse_text as _parse_text
from runner.kql.translate import Options as _Options
from runner.kql.translate import to_dsl as _to_dsl

_OPTION_NAMES = {
    "dateFormatTZ": "date_format_tz",
    "caseInsensitive": "case_insensitive",
    "nestedIgnoreUnmapped": "nested_ignore_unmapped",
    "filtersInMustClause": "filters_in_must_clause",
}


def parse(text: str, *, allow_leading_wildcards: bool = True) -> nodes.Node:
    """Parse KQL text into its syntax tree (the same text gives the same, immutable, tree)."""
    if not isinstance(text, str):
        raise TypeError(f"KQL text must be a str, not {type(text).__name__}")
    return _parsed(text, allow_leading_wildcards)


@_lru_cache(maxsize=4096)
def _parsed(text: str, allow_leading_wildcards: bool) -> nodes.Node:
    return _parse_text(text, allow_leading_wildcards)


def _options(options: _Mapping[str, _Any]) -> tuple[_Options, bool]:
    unknown = sorted(set(options) - set(_OPTION_NAMES) - {"allowLeadingWildcards"})
    if unknown:
        raise TypeError(f"unknown KQL option(s) {', '.join(unknown)}; known: "
                        f"{', '.join(sorted([*_OPTION_NAMES, 'allowLeadingWildcards']))}")
    values = {_OPTION_NAMES[name]: value for name, value in options.items() if name in _OPTION_NAMES}
    if values.get("filters_in_must_clause") is None:
        values.pop("filters_in_must_clause", None)
    return _Options(**values), bool(options.get("allowLeadingWildcards", True))


def kql_to_dsl(kql: str, fields: _Iterable[FieldSpec | _Mapping[str, _Any]] | None = None, **options: _Any) -> dict[str, _Any]:
    """The Elasticsearch DSL Kibana builds for `kql` against the field list `fields` (see the module docstring)."""
    config, leading = _options(options)
    return _to_dsl(parse(kql, allow_leading_wildcards=leading), FieldList(fields), config)


def build_es_query(kql: str, filters: _Sequence[_Mapping[str, _Any]] | None = None,
                   fields: _Iterable[FieldSpec | _Mapping[str, _Any]] | None = None, **options: _Any) -> dict[str, _Any]:
    """The whole bool query for `kql` and the rule's Kibana `filters` (Kibana's `buildEsQuery`)."""
    config, leading = _options(options)
    field_list = FieldList(fields)
    dsl = _to_dsl(parse(kql, allow_leading_wildcards=leading), field_list, config)
    return _combine(dsl, filters, field_list, filters_in_must_clause=config.filters_in_must_clause,
                    nested_ignore_unmapped=config.nested_ignore_unmapped)


__all__ = [
    "FieldList",
    "FieldSpec",
    "KqlError",
    "KqlSyntaxError",
    "KqlTranslationError",
    "build_es_query",
    "field_names",
    "kql_to_dsl",
    "nodes",
    "parse",
]
