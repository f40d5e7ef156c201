"""Events streamed from files, searched exactly as the embedded store would search them: for `hunt` and `query`.

`FileEvents(sources)` never holds the input: each search reads the sources again, in timestamp order
(`in_time_order`: a bounded reorder buffer per source, an external sort for a source out of order beyond it), so
memory depends on the open sequences and the buffer, never on the size of the files.

Each document is seen as it is READ (file order, before the reorder buffer), as Elasticsearch would see it when the
files are bulk-indexed one after the other: its index's mapping is extended by dynamic mapping (`extend_mapping`:
the first document with a field decides its type), and a plain document without `_id` gets the id ingest would
give it (`document_id`), so that a rule answers the same over a file as over the same file ingested, sequences
included (a hit without an id makes no alert).

The engine plans a search with the final mappings: the first pass over the input only builds them (`_map`), then
each search is a pass of its own. `_pass` is where a search reads the documents, and where a search over a mapping
still growing would start (the mapping pass then disappears; the bodies and `IndexMapping`s are already kept per
index and refreshed when a document adds a field). The switch: `_documents` reads with `extend=True`, `search_many`
gets `growing=True` and a search answered `Remapped` runs again alone; the indices a request names must then be
resolved without a first pass (today `indices()` reads them from the mapping pass). A source found out of order beyond the buffer (`Disordered`)
makes the pass start again with that source sorted on disk, and later passes sort it at once. `count` is the number
of documents the last pass read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runner.backends.embedded.backend import request_filter, resolve_indices
from runner.backends.embedded.store import document_id
from runner.backends.embedded.time_order import REORDER_BUFFER, Disordered, Source, in_time_order
from runner.backends.errors import BackendError, IndexNotFound
from runner.backends.local_search import run_query, search_error
from runner.backends.request import EqlRequest
from runner.ecs import ecs_mapping
from runner.engine import OutOfOrder, QuerySearch, extend_mapping, search_many
from runner.eql import IndexMapping, Schema
from runner.eql import nodes as n

T = TypeVar("T")


class FileEvents:
    """The documents of `sources` (callables, each opening one input and yielding `{"_index", "_id", "_source"}` in
    its order), searched one streaming pass per search."""

    name = "files"

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        base: Mapping[str, Any] | None = None,
        buffer: int = REORDER_BUFFER,
        spill_dir: str | Path | None = None,
        on_sorting: Callable[[int], None] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.base = ecs_mapping() if base is None else base
        self.buffer = buffer
        self.spill_dir = spill_dir
        self.on_sorting = on_sorting
        self.count = 0  # documents read by the last pass
        self.passes = 0
        self.bodies: dict[str, dict[str, Any]] = {}  # index -> its mapping body, as dynamic mapping extends it
        self._mappings: dict[str, IndexMapping] = {}  # index -> the engine's view of that body
        self._stale: set[str] = set()  # indices whose body changed since their IndexMapping was made
        self._schemas: dict[tuple[str, ...], Schema] = {}
        self._external: set[int] = set()  # sources found out of order beyond the buffer: sorted on disk
        self._mapped = False

    # reading

    def _reading(self, source: Source, *, extend: bool, ids: bool) -> Source:
        """`source`, each document seen as read: with `extend`, its index's mapping extended; with `ids`, its
        missing `_id` given."""
        def documents() -> Iterator[Mapping[str, Any]]:
            bodies = self.bodies
            for doc in source():
                if extend:
                    index = doc["_index"]
                    body = bodies.get(index)
                    if body is None:
                        body = bodies[index] = self._new_body()
                        self._stale.add(index)
                    if extend_mapping(body, doc["_source"]):
                        self._stale.add(index)
                if ids and doc.get("_id") is None:
                    doc = {**doc, "_id": document_id(doc["_source"])}
                self.count += 1
                yield doc
        return documents

    def _new_body(self) -> dict[str, Any]:
        body: dict[str, Any] = copy.deepcopy(dict(self.base))
        if "mappings" in body and isinstance(body["mappings"], dict):
            body = body["mappings"]
        body.setdefault("properties", {})
        return body

    def _map(self) -> None:
        """The mapping pass: every source read once in file order, the mappings built (once)."""
        if self._mapped:
            return
        self.count = 0
        self.passes += 1
        for source in self.sources:
            for _doc in self._reading(source, extend=True, ids=False)():
                pass
        self._mapped = True

    def _pass(self, consume: Callable[[Iterable[Mapping[str, Any]]], T]) -> T:
        """`consume` over one pass of the documents in timestamp order; started again, with the source sorted on
        disk, when a source turns out to be out of order beyond the buffer."""
        self._map()
        while True:
            try:
                return consume(_Pass(self))
            except Disordered as disordered:
                self._external.add(disordered.source)

    def _documents(self) -> Iterator[Mapping[str, Any]]:
        self.count = 0
        self.passes += 1
        sources = [self._reading(source, extend=not self._mapped, ids=True) for source in self.sources]
        return in_time_order(sources, buffer=self.buffer, spill_dir=self.spill_dir, external=frozenset(self._external),
                             on_sorting=self.on_sorting)

    # mappings

    def indices(self) -> list[str]:
        self._map()
        return sorted(self.bodies)

    def mapping(self, index: str) -> IndexMapping:
        """The engine's mapping of `index`, one object per index kept in step with its body."""
        mapping = self._mappings.get(index)
        if index in self._stale or mapping is None:
            fresh = IndexMapping.from_body(self.bodies[index])
            if mapping is None:
                mapping = self._mappings[index] = fresh
            else:  # in place: schemas already handed out see the new fields
                mapping.fields.update(fresh.fields)
                mapping.aliases.update(fresh.aliases)
                mapping.objects.update(fresh.objects)
            self._stale.discard(index)
        return mapping

    def schema(self, indices: list[str]) -> Schema:
        key = tuple(indices)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = Schema.from_mappings({index: self.mapping(index) for index in indices})
        else:
            for index in indices:
                self.mapping(index)
        return schema

    # searching

    def batchable(self, request: EqlRequest, query: n.Query) -> bool:
        """Whether `eql_search_many` can take this request: an event or sequence query with the default timestamp,
        category and result position, and no filter beyond "everything"."""
        if isinstance(query, n.SampleQuery):
            return False
        if not isinstance(query, (n.EventQuery, n.SequenceQuery)):
            raise TypeError(f"cannot tell whether {type(query).__name__} can be batched")
        body = request.body
        return (
            not body.get("timestamp_field") and not body.get("tiebreaker_field")
            and not body.get("event_category_field") and body.get("result_position", "tail") == "tail"
            and request_filter(body.get("filter")) is None
        )

    def eql_search_many(self, items: Sequence[tuple[EqlRequest, n.Query]]) -> list[dict[str, Any] | BackendError]:
        """Several batchable queries in one pass over the documents; per item, the response body or the error
        `eql_search` would have raised."""
        out: list[dict[str, Any] | BackendError | None] = [None] * len(items)
        searches: list[QuerySearch] = []
        numbers: list[int] = []
        available = self.indices()
        for number, (request, query) in enumerate(items):
            indices = resolve_indices(request.index, available)
            if not indices:
                out[number] = IndexNotFound(f"no such index [{','.join(request.index)}]")
                continue
            searches.append(QuerySearch(query, frozenset(indices), self.schema(indices), request.body.get("size", 10)))
            numbers.append(number)
        if searches:
            found = self._pass(lambda documents: search_many(documents, searches))
            for number, result in zip(numbers, found, strict=True):
                if isinstance(result, OutOfOrder):  # sub-millisecond disorder: the single search reorders it
                    try:
                        result = self.eql_search(items[number][0])
                    except BackendError as error:
                        result = error
                out[number] = search_error(result) if isinstance(result, Exception) else result
        return [r for r in out if r is not None]

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        """One request over a pass (two when sequences are out of order beyond the engine's own reorder window:
        the documents are an iterable whose every iteration is a new pass)."""
        body = request.body
        indices = resolve_indices(request.index, self.indices())
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        schema = self.schema(indices)
        wanted = None if len(indices) == len(self.bodies) else frozenset(indices)
        accept = request_filter(body.get("filter"))

        def chosen(documents: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
            return documents if wanted is None and accept is None else _Chosen(documents, wanted, accept)

        return self._pass(lambda documents: run_query(chosen(documents), body, schema))


class _Pass:
    """The documents of `FileEvents` as an iterable: every iteration is a new pass over the sources."""

    def __init__(self, events: FileEvents) -> None:
        self.events = events

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return self.events._documents()


class _Chosen:
    """The documents of some indices that a request's filter accepts; iterable as often as the documents are."""

    def __init__(self, documents: Iterable[Mapping[str, Any]], indices: frozenset[str] | None,
                 accept: Callable[[Mapping[str, Any]], bool] | None) -> None:
        self.documents = documents
        self.indices = indices
        self.accept = accept

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        indices, accept = self.indices, self.accept
        for doc in self.documents:
            if (indices is None or doc["_index"] in indices) and (accept is None or accept(doc["_source"])):
                yield doc


__all__ = ["FileEvents"]
