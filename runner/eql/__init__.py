"""The EQL language: grammar, typed syntax tree, printer and analyzer, with Elasticsearch's rules and messages.

`parse(text)` gives a `Query` or raises an `EqlError` (`EqlSyntaxError` / `EqlVerificationError`) whose message
names `line L:C` the way Elasticsearch does. `nodes` is the syntax tree the engine compiles; `Schema` and
`IndexMapping` the index mappings a query is verified against.
"""

from __future__ import annotations

from runner.eql import nodes
from runner.eql.analyzer import check, fields_of, verify
from runner.eql.build import build as _build
from runner.eql.errors import EqlError, EqlSyntaxError, EqlVerificationError, Problem
from runner.eql.lucene_regex import LuceneRegexError, compile_lucene_regex
from runner.eql.nodes import EventQuery, Query, SampleQuery, SequenceQuery
from runner.eql.parser import parse_tree as _parse_tree
from runner.eql.printer import to_eql
from runner.eql.schema import OBJECT_TYPES, FieldMapping, IndexMapping, MappingError, Schema, type_family


def parse(text: str) -> Query:
    """Parse EQL text into a `Query`, checking everything that does not need a mapping."""
    if not isinstance(text, str):
        raise TypeError(f"EQL text must be a str, not {type(text).__name__}")
    query = _build(_parse_tree(text))
    check(query)
    return query


__all__ = [
    "EqlError",
    "EqlSyntaxError",
    "EqlVerificationError",
    "EventQuery",
    "FieldMapping",
    "IndexMapping",
    "LuceneRegexError",
    "MappingError",
    "OBJECT_TYPES",
    "Problem",
    "Query",
    "SampleQuery",
    "Schema",
    "SequenceQuery",
    "check",
    "compile_lucene_regex",
    "fields_of",
    "nodes",
    "parse",
    "to_eql",
    "type_family",
    "verify",
]
