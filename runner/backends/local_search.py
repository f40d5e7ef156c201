"""Our EQL engine answering a request body locally, as Elasticsearch would: the search of the embedded store and of
events held in memory, and the verifier that stands in for a cluster's when `validate` checks a rule's fields.

`run_query` runs the body's query and options through `runner.engine.search` with the indices' mappings;
`search_error` is the one translation of the engine's errors into what Elasticsearch answers (a 400 with its type
and reason: `QueryError`), so that a rule fails with the same message on every backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.backends.errors import BackendError, QueryError
from runner.engine import DocumentError, OrderingError, SearchRequestError, search
from runner.eql import EqlError, Schema


def search_error(error: Exception) -> BackendError:
    """What Elasticsearch would answer for an error of our engine: a 400 with its type and reason."""
    if isinstance(error, BackendError):
        return error
    if isinstance(error, EqlError):
        return QueryError(error.es_type, str(error))
    if isinstance(error, (SearchRequestError, OrderingError, DocumentError)):
        return QueryError("illegal_argument_exception", str(error))
    raise error  # not a search error: a bug, which must not pass for a rule's failure


def run_query(documents: Iterable[Mapping[str, Any]], body: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """The request body's query and options through the engine, errors as Elasticsearch would give them."""
    try:
        return search(
            documents,
            body["query"],
            mappings=schema,
            timestamp_field=body.get("timestamp_field") or "@timestamp",
            tiebreaker_field=body.get("tiebreaker_field"),
            event_category_field=body.get("event_category_field") or "event.category",
            size=body.get("size", 10),
            result_position=body.get("result_position", "tail"),
            max_samples_per_key=body.get("max_samples_per_key", 1),
        )
    except (EqlError, SearchRequestError, OrderingError, DocumentError) as err:
        raise search_error(err) from None


__all__ = ["run_query", "search_error"]
