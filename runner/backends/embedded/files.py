"""Events streamed from files, searched exactly as the embedded store would search them: for `hunt` and `query`.

`FileEvents(sources)` never holds the input: each search reads the sources again, in timestamp order
(`in_time_order`: one bounded reorder buffer, an external sort for a source out of order beyond it), so
memory depends on the open sequences and the buffer, never on the size of the files.

Each document is seen as it is READ (file order, before the reorder buffer), as Elasticsearch would see it when the
files are bulk-indexed one after the other: its index's mapping starts as its template gives it (`templates`, as the
store's does) and is extended by dynamic mapping (`LiveMapping`: the first document with a field decides its type),
and a plain document without `_id` gets the id ingest would give it
(`document_id`), so that a rule answers the same over a file as over the same file ingested, sequences included (a
hit without an id makes no alert).

One pass answers a batch (`search_many`, what `hunt` sends): the mappings grow while the documents stream and
the engine searches over them as they grow (`search_many(..., growing=True)`): an index's name is resolved against
each request's patterns when its first document is read, verification of fields not yet seen waits for the end of
the pass, and a search whose plan a later field would have changed is answered `Remapped` and run again alone, over
a pass of its own with the final mappings (as is a sequence that saw sub-millisecond disorder, `OutOfOrder`). After
one complete pass the mappings are final and kept (they are what the files hold), so later passes only read. A
request the batch cannot take (a custom timestamp, tiebreaker or category field, `result_position: head`) goes
through `eql_search`: a pass that only maps, when no pass completed yet, then a pass searching with the final
mappings. With several files, a pass that only maps comes first (their mapping is the first file's, then what
the second adds, ...: a pass merging them by time reads them interleaved). A source found out of order beyond the buffer (`Disordered`) makes the pass start again, from empty
mappings, with that source sorted on disk; later passes sort it at once. `count` is the number of documents the
last pass read.

`search` answers a `_search` request (a query rule's page) through `runner.engine.dsl_search` with the final
mappings; `search_many` answers `_search` requests in the same one pass as the EQL requests of a batch
(`DslSearch` items of `search_many`, growing mappings included), a `Remapped` one run alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runner.backends.embedded.backend import request_filter, resolve_indices
from runner.backends.embedded.store import document_id
from runner.backends.embedded.time_order import REORDER_BUFFER, Disordered, Source, in_time_order
from runner.backends.errors import BackendError, IndexNotFound
from runner.backends.field_caps import field_caps_body
from runner.backends.local_search import TemplateVerifier, batchable, run_query, run_search, search_error
from runner.backends.request import EqlRequest, SearchRequest
from runner.ecs import Templates, shipped_templates
from runner.engine import DslSearch, LiveMapping, OutOfOrder, QuerySearch, Remapped, search_many
from runner.eql import EqlError, IndexMapping, Schema, parse
from runner.eql import nodes as n

T = TypeVar("T")
NewIndex = Callable[[str, IndexMapping], None]


class FileEvents:
    """The documents of `sources` (callables, each opening one input and yielding `{"_index", "_id", "_source"}` in
    its order), searched one streaming pass per batch."""

    name = "files"

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        templates: Templates | None = None,
        buffer: int = REORDER_BUFFER,
        spill_dir: str | Path | None = None,
        on_sorting: Callable[[int], None] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.templates = shipped_templates() if templates is None else templates  # an index's starting mapping
        self.buffer = buffer
        self.spill_dir = spill_dir
        self.on_sorting = on_sorting
        self.count = 0  # documents read by the last pass
        self.passes = 0
        self._mappings: dict[str, LiveMapping] = {}  # index -> its mapping (final once `_complete`)
        self._complete = False  # a pass read every document: the mappings are final
        self._external: set[int] = set()  # sources found out of order beyond the buffer: sorted on disk
        self._verifier: TemplateVerifier | None = None  # `field_caps` before the mappings are final

    # reading

    def _reading(self, source: Source, on_new: NewIndex | None, *, ids: bool = True) -> Source:
        """`source`, each document seen as read: until the mappings are final, its index's mapping extended (a new
        index announced to `on_new` before its first document goes on); its missing `_id` given."""
        mappings = self._mappings
        growing = not self._complete

        def documents() -> Iterator[Mapping[str, Any]]:
            for doc in source():
                if growing:
                    index = doc["_index"]
                    live = mappings.get(index)
                    if live is None:
                        live = mappings[index] = LiveMapping(self.templates.mapping_for(index))
                        if on_new is not None:
                            on_new(index, live.mapping)
                    live.extend(doc["_source"])
                if ids and doc.get("_id") is None:
                    doc = {**doc, "_id": document_id(doc["_source"])}
                self.count += 1
                yield doc
        return documents

    def _documents(self, on_new: NewIndex | None = None) -> Iterator[Mapping[str, Any]]:
        """One pass, in timestamp order; the mappings start empty unless final."""
        self.count = 0
        self.passes += 1
        if not self._complete:
            self._mappings.clear()
        sources = [self._reading(source, on_new) for source in self.sources]
        return in_time_order(sources, buffer=self.buffer, spill_dir=self.spill_dir, external=frozenset(self._external),
                             on_sorting=self.on_sorting)

    def _pass(self, consume: Callable[[Iterable[Mapping[str, Any]]], T], on_new: NewIndex | None = None) -> T:
        """`consume` over one pass of the documents in timestamp order; started again, with the source sorted on
        disk, when a source turns out to be out of order beyond the buffer. A pass read to its end makes the
        mappings final."""
        while True:
            try:
                result = consume(_Pass(self, on_new))
            except Disordered as disordered:
                self._external.add(disordered.source)
                continue
            self._complete = True
            return result

    def _map(self) -> None:
        """A pass that only builds the mappings, when no pass completed yet: the files one after the other, each in
        its own order (as indexing them would), no ids computed."""
        if self._complete:
            return
        self.count = 0
        self.passes += 1
        self._mappings.clear()
        for source in self.sources:
            for _doc in self._reading(source, None, ids=False)():
                pass
        self._complete = True

    # mappings

    def indices(self) -> list[str]:
        """Every index of the files (read through, once, if no pass completed yet)."""
        self._map()
        return sorted(self._mappings)

    def mapping(self, index: str) -> IndexMapping:
        return self._mappings[index].mapping

    def schema(self, indices: list[str]) -> Schema:
        return Schema.from_mappings({index: self.mapping(index) for index in indices})

    # searching

    def batchable(self, request: EqlRequest, query: n.Query) -> bool:
        """Whether `search_many` batches this EQL request: `local_search.batchable`, samples included (a `filter` is
        applied to each document)."""
        return batchable(request.body, query, samples=True)

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        """EQL and `_search` requests: per request, what `eql_search` / `search` would answer. Every `_search` and
        every EQL request the batch takes (`batchable`) are answered in one pass over the documents; the other EQL
        requests one by one."""
        answers: list[dict[str, Any] | BackendError | None] = [None] * len(requests)
        items: list[tuple[EqlRequest | SearchRequest, n.Query | None]] = []
        numbers: list[int] = []
        for number, request in enumerate(requests):
            query: n.Query | None = None
            if isinstance(request, EqlRequest):
                text = request.body.get("query")
                try:
                    query = parse(text) if isinstance(text, str) else None
                except EqlError:
                    query = None
                if query is None or not self.batchable(request, query):
                    continue
            items.append((request, query))
            numbers.append(number)
        for number, answer in zip(numbers, self._batch(items), strict=True):
            answers[number] = answer
        for number, request in enumerate(requests):
            if answers[number] is None:
                try:
                    answers[number] = self.eql_search(request) if isinstance(request, EqlRequest) else \
                        self.search(request)
                except BackendError as error:
                    answers[number] = error
        return [answer for answer in answers if answer is not None]

    def _batch(self, items: Sequence[tuple[EqlRequest | SearchRequest, n.Query | None]],
               ) -> list[dict[str, Any] | BackendError]:
        """Requests in one pass (an EQL request with its parsed query, a `_search` with None)."""
        if not items:
            return []
        if len(self.sources) > 1:
            # several files: their mapping is the first file's fields, then the second's new ones... (as indexing
            # them one after the other makes), which a pass merging them by time cannot build as it reads
            self._map()
        indices: list[set[str]] = [set() for _ in items]
        schemas = [Schema() for _ in items]

        def on_new(index: str, mapping: IndexMapping) -> None:
            for number, (request, _query) in enumerate(items):
                if resolve_indices(request.index, [index]):
                    indices[number].add(index)
                    schemas[number].indices = dict(sorted({**schemas[number].indices, index: mapping}.items()))

        def searched(documents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any] | Exception]:
            for found, schema in zip(indices, schemas, strict=True):  # a pass started again starts from nothing
                found.clear()
                schema.indices = {}
            if self._complete:  # the mappings are final: the indices are known before the pass
                for index in sorted(self._mappings):
                    on_new(index, self.mapping(index))
            searches: list[QuerySearch | DslSearch] = []
            for (request, query), found, schema in zip(items, indices, schemas, strict=True):
                if query is None:
                    searches.append(DslSearch(request.body, found, schema))
                else:
                    searches.append(QuerySearch(query, found, schema, request.body.get("size", 10),
                                                accept=request_filter(request.body.get("filter")),
                                                max_samples_per_key=request.body.get("max_samples_per_key", 1)))
            return search_many(documents, searches, growing=not self._complete)

        found = self._pass(searched, on_new)
        out: list[dict[str, Any] | BackendError] = []
        for (request, _query), names, result in zip(items, indices, found, strict=True):
            if not names:  # offline events answer "no index" for every type (a cluster answers no hits to _search)
                out.append(IndexNotFound(f"no such index [{','.join(request.index)}]"))
            elif isinstance(result, (OutOfOrder, Remapped)):  # run alone, with the final mappings
                try:
                    out.append(self.eql_search(request) if isinstance(request, EqlRequest) else self.search(request))
                except BackendError as error:
                    out.append(error)
            else:
                out.append(search_error(result) if isinstance(result, Exception) else result)
        return out

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """One `_search` request with the final mappings (a pass that only maps first, if no pass completed yet);
        patterns matching no index are `IndexNotFound`, as for EQL (offline events answer "no index" for every
        type)."""
        body = request.body
        schema, chosen = self._alone(request, None)
        return self._pass(lambda documents: run_search(chosen(documents), body, schema))

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        """One request with the final mappings (a pass that only maps first, if no pass completed yet), over a
        pass (two when sequences are out of order beyond the engine's own reorder window: the documents are an
        iterable whose every iteration is a new pass)."""
        body = request.body
        schema, chosen = self._alone(request, request_filter(body.get("filter")))
        return self._pass(lambda documents: run_query(chosen(documents), body, schema))

    def _alone(self, request: EqlRequest | SearchRequest, accept: Callable[[Mapping[str, Any]], bool] | None,
               ) -> tuple[Schema, Callable[[Iterable[Mapping[str, Any]]], Iterable[Mapping[str, Any]]]]:
        """What a request searched on its own reads: its indices' schema (the final mappings) and the choice of
        the documents of a pass (its indices', those `accept` takes). No index: `IndexNotFound`."""
        indices = resolve_indices(request.index, self.indices())
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        wanted = None if len(indices) == len(self._mappings) else frozenset(indices)

        def chosen(documents: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
            return documents if wanted is None and accept is None else _Chosen(documents, wanted, accept)

        return self.schema(indices), chosen

    def field_caps(self, index: Sequence[str], fields: Sequence[str], *,
                   include_unmapped: bool = False) -> dict[str, Any]:
        """What `_field_caps` answers for `fields` (`runner.backends.field_caps`): once a pass read every document,
        of the indices `index` resolves to, from their final mappings. Before that (a hunt prepares its query
        rules before its one pass), of the indices a cluster with the index templates installed would have for
        those patterns (`TemplateVerifier`: one per template reached, ECS alone for a pattern reaching none), as it
        reports them before the events arrive. A field only the documents' dynamic mapping adds is then unknown to
        a KQL translation, as a field Kibana finds in no index is: used as written (`match` and the like, which a
        dynamically mapped field answers as its type's term does). No extra pass over the files for it."""
        if not self._complete:
            if self._verifier is None:
                self._verifier = TemplateVerifier(self.templates)
            return self._verifier.field_caps(index, fields, include_unmapped=include_unmapped)
        mappings = {name: self.mapping(name) for name in resolve_indices(index, self.indices())}
        return field_caps_body(mappings, fields, include_unmapped=include_unmapped)


class _Pass:
    """The documents of `FileEvents` as an iterable: every iteration is a new pass over the sources."""

    def __init__(self, events: FileEvents, on_new: NewIndex | None = None) -> None:
        self.events = events
        self.on_new = on_new

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return self.events._documents(self.on_new)


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
