"""Events held in memory (from files), searched exactly as the embedded store is: for `hunt` and `query`.

The mapping of each index is built as the store builds it (its template over ECS, plus dynamic mapping of the other
fields), so a
rule gives the same answer over a file as over the same events ingested. `search` answers a `_search` request (a query
rule's page) through `runner.engine.dsl_search`; `search_many` answers EQL and `_search` requests in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.backends.embedded.backend import request_filter, resolve_indices
from runner.backends.embedded.time_order import document_time
from runner.backends.errors import BackendError, IndexNotFound
from runner.backends.local_search import batchable, run_query, run_search, search_error
from runner.backends.request import EqlRequest, SearchRequest
from runner.ecs import Templates, shipped_templates
from runner.engine import DslSearch, OutOfOrder, QuerySearch, dynamic_mapping, search_many
from runner.eql import EqlError, Schema, parse
from runner.eql import nodes as n


class MemoryEvents:
    """Documents by index, each index in timestamp order, with its mapping."""

    name = "memory"

    def __init__(self, documents: Iterable[Mapping[str, Any]], templates: Templates | None = None) -> None:
        by_index: dict[str, list[Mapping[str, Any]]] = {}
        for doc in documents:
            by_index.setdefault(str(doc["_index"]), []).append(doc)
        self.by_index = {index: sorted(docs, key=document_time) for index, docs in by_index.items()}
        templates = shipped_templates() if templates is None else templates
        self.mappings = {index: dynamic_mapping((d["_source"] for d in docs), base=templates.mapping_for(index))
                         for index, docs in self.by_index.items()}
        self.count = sum(len(docs) for docs in self.by_index.values())
        self._merged: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        self._schemas: dict[tuple[str, ...], Schema] = {}

    def documents(self, indices: list[str]) -> list[Mapping[str, Any]]:
        """The documents of `indices` in timestamp order; merged once per set of indices (rules share patterns)."""
        if len(indices) == 1:
            return self.by_index[indices[0]]
        key = tuple(sorted(indices))
        merged = self._merged.get(key)
        if merged is None:
            merged = self._merged[key] = sorted((doc for index in key for doc in self.by_index[index]), key=document_time)
        return merged

    def schema(self, indices: list[str]) -> Schema:
        key = tuple(indices)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = Schema.from_mappings({index: self.mappings[index] for index in indices})
        return schema

    def batchable(self, request: EqlRequest, query: n.Query) -> bool:
        """Whether `search_many` batches this EQL request: `local_search.batchable`, and no filter beyond
        "everything"."""
        return batchable(request.body, query) and request_filter(request.body.get("filter")) is None

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """A `_search` request through `runner.engine.dsl_search`. Patterns matching no index are `IndexNotFound`,
        as for EQL: events searched offline answer "no index" for every type (a cluster answers no hits)."""
        indices = resolve_indices(request.index, sorted(self.by_index))
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        return run_search(self.documents(indices), request.body, self.schema(indices))

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        """EQL and `_search` requests: per request, what `eql_search` / `search` would answer; every `_search` and
        every EQL request `batchable` takes answered in one pass over the documents, the others one by one."""
        out: list[dict[str, Any] | BackendError | None] = [None] * len(requests)
        searches: list[QuerySearch | DslSearch] = []
        numbers: list[int] = []
        available = sorted(self.by_index)
        for number, request in enumerate(requests):
            indices = resolve_indices(request.index, available)
            if isinstance(request, SearchRequest):
                if not indices:
                    out[number] = IndexNotFound(f"no such index [{','.join(request.index)}]")
                    continue
                searches.append(DslSearch(request.body, frozenset(indices), self.schema(indices)))
                numbers.append(number)
                continue
            text = request.body.get("query")
            try:
                query = parse(text) if isinstance(text, str) else None
            except EqlError:
                query = None
            if query is None or not indices or not self.batchable(request, query):
                continue  # searched alone below
            searches.append(QuerySearch(query, frozenset(indices), self.schema(indices), request.body.get("size", 10)))
            numbers.append(number)
        if searches:
            for number, result in zip(numbers, search_many(self.documents(available), searches), strict=True):
                if not isinstance(result, OutOfOrder):  # sub-millisecond disorder: the single search reorders it
                    out[number] = search_error(result) if isinstance(result, Exception) else result
        for number, request in enumerate(requests):
            if out[number] is None:
                try:
                    out[number] = self.eql_search(request) if isinstance(request, EqlRequest) else \
                        self.search(request)
                except BackendError as error:
                    out[number] = error
        return [r for r in out if r is not None]

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        body = request.body
        indices = resolve_indices(request.index, sorted(self.by_index))
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        documents: Iterable[Mapping[str, Any]] = self.documents(indices)
        accept = request_filter(body.get("filter"))
        if accept is not None:
            documents = [doc for doc in documents if accept(doc["_source"])]
        return run_query(documents, body, self.schema(indices))

    def field_caps(self, index: Sequence[str], fields: Sequence[str], *,
                   include_unmapped: bool = False) -> dict[str, Any]:
        """What `_field_caps` answers for `fields` of the indices `index` resolves to, from their mappings
        (`runner.backends.field_caps`); no index: `{"indices": [], "fields": {}}`."""
        from runner.backends.field_caps import field_caps_body  # only this method uses it

        indices = resolve_indices(index, sorted(self.by_index))
        return field_caps_body(self.schema(indices).indices, fields, include_unmapped=include_unmapped)


__all__ = ["MemoryEvents"]
