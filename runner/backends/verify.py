"""Checking a rule's query against the fields of the indices it searches, without searching: `validate`.

Each check raises what the rule's execution would meet at its first search: `IndexNotFound` when its index patterns
match no index (a warning for the execution, not an error), `QueryError` when Elasticsearch's verifier refuses the
query against those indices' mappings (`verification_exception`: `Unknown column [...]`, a type mismatch), with the
message the execution would record.

The check takes the request the rule's execution sends (its caller builds it with the execution's request builder)
and is the first step of that search: the request's index patterns resolved to indices, their
mappings, then the query run through the engine (`run_query`, the embedded backend's own) over no event, which
verifies it against those mappings before reading anything. The mappings come from the embedded store (the same
`Schema` its search uses), or from a cluster's `_field_caps` (one request per set of index patterns), against which
the engine's verifier, which reproduces Elasticsearch's, stands in for the cluster's.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from runner.backends.elasticsearch.fields import index_mappings
from runner.backends.embedded.backend import EmbeddedBackend, request_filter, resolve_indices, run_query
from runner.backends.embedded.store import Store
from runner.backends.errors import IndexNotFound
from runner.backends.request import EqlRequest
from runner.eql.schema import Schema


class StoreFields:
    """The fields of the embedded store's indices."""

    def __init__(self, store: Store) -> None:
        self.backend = EmbeddedBackend(store)
        self.where = f"the embedded store {store.path}"
        self._indices = store.indices()

    def check(self, request: EqlRequest) -> None:
        indices = resolve_indices(request.index, self._indices)
        if not indices:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        request_filter(request.body.get("filter"))  # a filter the store cannot evaluate fails its searches too
        run_query((), request.body, self.backend.schema(indices))


class ClusterFields:
    """The fields of a cluster's indices, as `_field_caps` reports them."""

    def __init__(self, client: Elasticsearch, where: str) -> None:
        self.client = client
        self.where = where
        self._schemas: dict[tuple[str, ...], Schema] = {}

    def check(self, request: EqlRequest) -> None:
        schema = self._schemas.get(request.index)
        if schema is None:
            schema = self._schemas[request.index] = Schema.from_mappings(index_mappings(self.client, request.index))
        if not schema:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        run_query((), request.body, schema)


__all__ = ["ClusterFields", "StoreFields"]
