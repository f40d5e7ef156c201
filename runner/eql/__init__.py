"""The EQL language: grammar, typed syntax tree, printer and analyzer, with Elasticsearch's rules and messages.

`parse(text)` gives a `Query` or raises an `EqlError` (`EqlSyntaxError` / `EqlVerificationError`) whose message
names `line L:C` the way Elasticsearch does.
"""

from __future__ import annotations

from runner.eql.analyzer import check, verify
from runner.eql.build import build
from runner.eql.errors import EqlError, EqlSyntaxError, EqlVerificationError, Problem
from runner.eql.nodes import EventQuery, Query, SampleQuery, SequenceQuery
from runner.eql.parser import parse_tree
from runner.eql.printer import to_eql
from runner.eql.schema import IndexMapping, Schema


def parse(text: str) -> Query:
    """Parse EQL text into a `Query`, checking everything that does not need a mapping."""
    if not isinstance(text, str):
        raise TypeError(f"EQL text must be a str, not {type(text).__name__}")
    query = build(parse_tree(text))
    check(query)
    return query


__all__ = [
    "EqlError",
    "EqlSyntaxError",
    "EqlVerificationError",
    "EventQuery",
    "IndexMapping",
    "Problem",
    "Query",
    "SampleQuery",
    "Schema",
    "SequenceQuery",
    "check",
    "parse",
    "to_eql",
    "verify",
]
