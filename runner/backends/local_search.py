"""Our EQL engine answering a request body locally, as Elasticsearch would: the search of the embedded store and of
events held in memory, and the verifier that stands in for a cluster's when `validate` checks a rule's fields.

`run_query` runs the body's query and options through `runner.engine.search` with the indices' mappings;
`run_search` does the same for a `_search` body (a query rule's request) through `runner.engine.dsl_search`, and
`no_index_answer` is what such a request gets when its patterns match no index;
`batchable` is the one decision of which requests `runner.engine.search_many` can answer with others in one pass;
`search_error` is the one translation of the engine's errors into what Elasticsearch answers (a 400 with its type
and reason: `QueryError`), so that a rule fails with the same message on every backend. `TemplateVerifier` verifies
a request as a cluster with the index templates installed and no event yet would (`validate` before anything was
ingested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.backends.errors import BackendError, QueryError
from runner.backends.field_caps import field_caps_body
from runner.backends.request import EqlRequest, SearchRequest
from runner.ecs import Templates, template_indices
from runner.engine import (
    DocumentError,
    OrderingError,
    QueryDslError,
    SearchRequestError,
    UnsearchableField,
    UnsupportedQuery,
    dsl_search,
    search,
)
from runner.eql import EqlError, IndexMapping, Schema
from runner.eql import nodes as n


def search_error(error: Exception) -> BackendError:
    """What Elasticsearch would answer for an error of our engine: a 400 with its type and reason."""
    if isinstance(error, BackendError):
        return error
    if isinstance(error, (EqlError, UnsearchableField)):
        return QueryError(error.es_type, str(error))
    if isinstance(error, (SearchRequestError, OrderingError, DocumentError)):
        return QueryError("illegal_argument_exception", str(error))
    if isinstance(error, UnsupportedQuery):  # valid DSL the evaluator does not run: the rule is refused, named where
        return QueryError("parsing_exception", f"the query cannot be evaluated here: {error}")
    if isinstance(error, QueryDslError):  # Elasticsearch fails the shards' query phase: a 400 for the search
        return QueryError("search_phase_execution_exception", str(error))
    raise error  # not a search error: a bug, which must not pass for a rule's failure


def batchable(body: Mapping[str, Any], query: n.Query, *, samples: bool = False) -> bool:
    """Whether a request with this body and (parsed) query can be answered by `search_many` alongside others: an
    event or sequence query (and a sample query, with `samples`) with the default timestamp, tiebreaker, category
    and result position. (Its `filter` is the caller's to apply: by choosing the documents, or as `accept`.)"""
    if not isinstance(query, (n.EventQuery, n.SequenceQuery, n.SampleQuery)):
        raise TypeError(f"cannot tell whether {type(query).__name__} can be batched")
    if isinstance(query, n.SampleQuery) and not samples:
        return False
    return (
        not body.get("timestamp_field") and not body.get("tiebreaker_field")
        and not body.get("event_category_field") and body.get("result_position", "tail") == "tail"
    )


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


def run_search(documents: Iterable[Mapping[str, Any]], body: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """A `_search` request body through the engine's Query DSL (`dsl_search`) with the indices' mappings, errors as
    Elasticsearch would give them."""
    try:
        return dsl_search(documents, body, schema)
    except (QueryDslError, DocumentError) as err:
        raise search_error(err) from None


def no_index_answer(body: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a `_search` whose index patterns match no index: Kibana sends `allow_no_indices` and
    `ignore_unavailable`, so Elasticsearch answers no hits from no shards (after reading the body: a malformed one
    still fails)."""
    return run_search((), body, Schema())


def verify_search(body: Mapping[str, Any], schema: Schema, *, unsupported: bool = True) -> None:
    """A `_search` body checked against the indices' mappings without a document: its query compiled for each
    index, as Elasticsearch's shards would parse it. `QueryError` for what Elasticsearch refuses; for valid DSL the
    engine does not run too when `unsupported` (the embedded store cannot run it; a cluster can)."""
    try:
        dsl_search((), body, schema)
    except UnsupportedQuery as err:
        if unsupported:
            raise search_error(err) from None
    except (QueryDslError, DocumentError) as err:
        raise search_error(err) from None


class TemplateVerifier:
    """`verify(request)` and `field_caps(index, fields)` as a cluster with `templates` installed would answer them
    before any event arrived: against one index per template the request's index patterns reach, and an ECS-only
    index for a pattern reaching none (`runner.ecs.template_indices`). `verify` raises `QueryError` as a search
    would."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self._indices: dict[str, IndexMapping] = {}  # index -> its mapping, made once (a large one costs ~50 ms)

    def schema(self, patterns: Sequence[str]) -> Schema:
        """The indices a cluster with the templates would have for `patterns`, with their mappings."""
        schema = Schema()
        for index, template in template_indices(patterns, self.templates).items():
            mapping = self._indices.get(index)
            if mapping is None:
                body = self.templates.shared_body(template) if template is not None else self.templates.body_of(None)
                mapping = self._indices[index] = IndexMapping.from_body(body)
            schema.indices[index] = mapping
        return schema

    def verify(self, request: EqlRequest | SearchRequest) -> None:
        schema = self.schema(request.index)
        if isinstance(request, SearchRequest):
            verify_search(request.body, schema)
        else:
            run_query((), request.body, schema)

    def field_caps(self, index: Sequence[str], fields: Sequence[str], *,
                   include_unmapped: bool = False) -> dict[str, Any]:
        """What `_field_caps` answers for `fields` on those indices (`runner.backends.field_caps`)."""
        return field_caps_body(self.schema(index).indices, fields, include_unmapped=include_unmapped)


__all__ = ["TemplateVerifier", "batchable", "no_index_answer", "run_query", "run_search", "search_error",
           "verify_search"]
