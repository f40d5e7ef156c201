"""Many `_search` requests answered in one pass over documents (the query rules of a hunt or of a window), each as
`dsl_search` would answer it alone; `runner.engine.search_many` runs them in the same pass as its EQL queries.

Per index, at its first document, each search is compiled for that index (`DslRun.plan`) and filed in the index's
`TermTable` by what its query requires (terms.py); a document is offered only to the searches it can match. An index
a search has no mapping for is mapped dynamically by the search itself, which must then see every document of the
index: it is offered all of them.

Growing mappings (`growing=True`, files): the searches' `Schema`s hold live `IndexMapping`s the caller extends with
each document before handing it over, so a field read by a search is mapped before any value of it is read: the
evaluator reads as `dsl_search` over the final mappings would, and a field that gets mapped later than the search was
compiled is read from then on. What may differ is a decision taken when the search was compiled for an index: a
value a field's type rejects (an error with the final mapping, "matches nothing" for a field mapped later), a
`nested` path or sort field mapped later. At the end each search is compiled again against the final mappings: an
error there is its answer, a compilation that failed before but passes now is `remapped` (the caller runs it alone
with the final mappings), as is a request with `runtime_mappings` (which a live mapping cannot take).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.engine.plan import warn_scripted
from runner.engine.query_dsl.errors import QueryDslError
from runner.engine.query_dsl.search import DslRun, IndexRun, SearchBody, _schema, parse_body, scripted
from runner.engine.query_dsl.terms import TermTable, ways
from runner.eql import Schema
from runner.errors import RuleRunnerError


@dataclass
class DslSearch:
    """One `_search` of a batch: its body (query, size, from, sort, search_after, track_total_hits, ...), the
    indices whose documents it sees (growing batches: a set the caller adds an index to before its first document),
    their mappings, and the instant date math's `now` stands for (default: when the batch starts)."""

    body: Mapping[str, Any]
    indices: AbstractSet[str]
    mappings: Mapping[str, Any] | Schema | None = None
    now: datetime | None = None


class Remap(RuleRunnerError):
    """The reason a growing batch's answer for a search cannot stand (the caller runs it alone)."""


class _Entry:
    __slots__ = ("body", "deferred", "failed", "number", "remap", "run", "schema", "spec")

    def __init__(self, number: int, spec: DslSearch, body: SearchBody, schema: Schema | None) -> None:
        self.number = number
        self.spec = spec
        self.body = body
        self.schema = schema
        self.run = DslRun(body, spec.now)
        self.failed: Exception | None = None
        self.deferred: Exception | None = None  # growing: compiling for an index failed with the mapping then
        self.remap: str | None = None


class DslBatch:
    """The `_search` requests of a batch: `offer` each document of the pass, then `finish`."""

    def __init__(self, items: Sequence[tuple[int, DslSearch]], growing: bool) -> None:
        self.growing = growing
        self.results: dict[int, dict[str, Any] | Exception] = {}
        self.entries: list[_Entry] = []
        self.tables: dict[str, tuple[TermTable, list[_Entry]]] = {}
        self.indexed_fields = 0
        self.readers: dict[str, dict[Any, Any]] = {}  # per index: the field readers its searches share
        for number, spec in items:
            try:
                body = parse_body(spec.body)
                schema = _schema(spec.mappings)
            except QueryDslError as error:
                self.results[number] = error
                continue
            entry = _Entry(number, spec, body, schema)
            if growing and body.runtime:
                entry.remap = "runtime_mappings are added to the final mappings only"
            self.entries.append(entry)

    def _mapping(self, entry: _Entry, index: str) -> Any:
        return entry.schema.indices.get(index) if entry.schema is not None else None

    def _plan(self, entry: _Entry, index: str) -> IndexRun | None:
        mapping = self._mapping(entry, index)
        try:
            return entry.run.plan(index, mapping, live=self.growing and mapping is not None,
                                  shared=self.readers.setdefault(index, {}))
        except QueryDslError as error:
            if self.growing:
                entry.deferred = entry.deferred or error
            else:
                entry.failed = entry.failed or error
            return None

    def _table(self, index: str) -> tuple[TermTable, list[_Entry]]:
        table = TermTable()
        members: list[_Entry] = []
        for entry in self.entries:
            if index not in entry.spec.indices or entry.failed is not None or entry.remap is not None:
                continue
            run = self._plan(entry, index)
            if run is None:
                continue
            number = len(members)
            members.append(entry)
            if run.extend is not None:
                table.always.add(number)  # it maps the index itself: it reads every document
                continue
            found, fields = ways(entry.body.query, run.compiler)
            table.add(number, found, fields)
        table.build()
        self.indexed_fields += table.indexed
        return table, members

    def offer(self, position: int, doc: Mapping[str, Any], index: str, source: Mapping[str, Any]) -> None:
        found = self.tables.get(index)
        if found is None:
            found = self.tables[index] = self._table(index)
        table, members = found
        if not members:
            return
        for number in table.candidates(source):
            entry = members[number]
            if entry.failed is not None:
                continue
            try:
                entry.run.offer(entry.run.runs[index], doc, source, position)
            except RuleRunnerError as error:  # what the search alone raises on this document
                entry.failed = error

    def finish(self, took: int) -> dict[int, dict[str, Any] | Exception]:
        """Per search number: the `_search` body, the error, or `Remap` (growing batches: run it alone)."""
        for entry in self.entries:
            self.results[entry.number] = self._answer(entry, took)
        return self.results

    def _answer(self, entry: _Entry, took: int) -> dict[str, Any] | Exception:
        if entry.remap is not None:
            return Remap(entry.remap)
        run = entry.run
        if not self.growing:
            for index in sorted(entry.spec.indices):  # an index without documents fails a search as well
                if entry.failed is None and index not in run.runs and entry.schema is not None \
                        and index in entry.schema.indices:
                    self._plan(entry, index)
        try:
            if self.growing:
                check = DslRun(entry.body, run.now)
                for index in run.runs:
                    mapping = self._mapping(entry, index)
                    if mapping is not None:  # else the search mapped the index itself, from every document
                        check.plan(index, mapping, live=True)
                check.check_unmapped()
            if entry.deferred is not None:
                return Remap("a field the search was compiled with was mapped later in the stream")
            if entry.failed is not None:
                return entry.failed
            run.check_unmapped()
        except QueryDslError as error:
            return error
        warn_scripted(scripted(entry.body, run.runs))
        return run.response(took, len(run.runs))


__all__ = ["DslBatch", "DslSearch", "Remap"]
