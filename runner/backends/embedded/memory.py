"""Events held in memory (from files), searched exactly as the embedded store is: for `hunt` and `query`.

The mapping of each index is built as the store builds it (ECS, plus dynamic mapping of the other fields), so a
rule gives the same answer over a file as over the same events ingested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.backends.embedded.backend import resolve_indices
from runner.backends.embedded.dsl import UnsupportedQuery, compile_query
from runner.backends.embedded.ecs import ecs_mapping
from runner.backends.embedded.store import millis
from runner.backends.errors import IndexNotFound, QueryError
from runner.backends.request import EqlRequest
from runner.engine import DocumentError, OrderingError, SearchRequestError, dynamic_mapping, search
from runner.eql import EqlError
from runner.eql.schema import Schema


class MemoryEvents:
    """Documents by index, each index in timestamp order, with its mapping."""

    name = "memory"

    def __init__(self, documents: Iterable[Mapping[str, Any]]) -> None:
        by_index: dict[str, list[Mapping[str, Any]]] = {}
        for doc in documents:
            by_index.setdefault(str(doc["_index"]), []).append(doc)
        self.by_index = {index: sorted(docs, key=_time) for index, docs in by_index.items()}
        self.mappings = {index: dynamic_mapping((d["_source"] for d in docs), base=ecs_mapping())
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
            merged = self._merged[key] = sorted((doc for index in key for doc in self.by_index[index]), key=_time)
        return merged

    def schema(self, indices: list[str]) -> Schema:
        key = tuple(indices)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = Schema.from_mappings({index: self.mappings[index] for index in indices})
        return schema

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        body = request.body
        indices = resolve_indices(request.index, sorted(self.by_index))
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        documents: Iterable[Mapping[str, Any]] = self.documents(indices)
        if body.get("filter") and not matches_everything(body["filter"]):
            try:
                accept = compile_query(body["filter"])
            except UnsupportedQuery as err:
                raise QueryError("parsing_exception", f"the request filter cannot be evaluated here: {err}") from None
            documents = [doc for doc in documents if accept(doc["_source"])]
        try:
            return search(
                documents,
                body["query"],
                mappings=self.schema(indices),
                timestamp_field=body.get("timestamp_field") or "@timestamp",
                tiebreaker_field=body.get("tiebreaker_field"),
                event_category_field=body.get("event_category_field") or "event.category",
                size=body.get("size", 10),
                result_position=body.get("result_position", "tail"),
                max_samples_per_key=body.get("max_samples_per_key", 1),
            )
        except EqlError as err:
            raise QueryError(err.es_type, str(err)) from None
        except (SearchRequestError, OrderingError, DocumentError) as err:
            raise QueryError("illegal_argument_exception", str(err)) from None


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


def _time(doc: Mapping[str, Any]) -> int:
    source = doc.get("_source") or {}
    value = millis(source.get("@timestamp")) if isinstance(source, Mapping) else None
    return value if value is not None else -1


__all__ = ["MemoryEvents"]
