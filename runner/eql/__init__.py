"""The EQL language: grammar, typed syntax tree, printer and analyzer, with Elasticsearch's rules and messages.

`parse(text)` gives a `Query` or raises an `EqlError` (`EqlSyntaxError` / `EqlVerificationError`) whose message
names `line L:C` the way Elasticsearch does. `nodes` is the syntax tree the engine compiles; `Schema` and
`IndexMapping` the index mappings a query is verified against.
"""

from __future__ import annotations

from functools import lru_cache as _lru_cache

from runner.eql import nodes
from runner.eql.analyzer import check, fields_of, verify
from runner.eql.build import build as _build
from runner.eql.errors import EqlError, EqlSyntaxError, EqlVerificationError, Problem
from runner.eql.lucene_regex import LuceneRegexError, compile_lucene_regex
from runner.eql.nodes import EventQuery, Query, SampleQuery, SequenceQuery
from runner.eql.parser import parse_tree as _parse_tree
from runner.eql.printer import to_eql
from runner.eql.schema import (
    OBJECT_TYPES,
    FieldMapping,
    IndexMapping,
    MappingError,
    Runtime,
    Schema,
    runtime_fields,
    type_family,
)


def parse(text: str) -> Query:
    """Parse EQL text into a `Query`, checking everything that does not need a mapping.

    The same text gives the same `Query` object (the tree is immutable): the last 4,096 texts parsed are
    remembered, because a rule's query is parsed when its rule is loaded and again, from its request's text, by the
    embedded store's searches (each about 3 ms for a corpus query: with the whole corpus, seconds of every run).
    A text that does not parse raises each time (errors are not remembered)."""
    if not isinstance(text, str):
        raise TypeError(f"EQL text must be a str, not {type(text).__name__}")
    return _parsed(text)


@_lru_cache(maxsize=4096)
def _parsed(text: str) -> Query:
    query = _build(_parse_tree(text), text)
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
    "Runtime",
    "SampleQuery",
    "Schema",
    "SequenceQuery",
    "check",
    "compile_lucene_regex",
    "fields_of",
    "nodes",
    "parse",
    "runtime_fields",
    "to_eql",
    "type_family",
    "verify",
]
