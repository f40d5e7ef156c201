"""`search()`: run an EQL query over documents and answer with the body of an Elasticsearch `_eql/search` response."""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from runner.engine.fields import IndexContext
from runner.engine.limits import Window, limit_chain
from runner.engine.ordering import OrderingError, Ordinal
from runner.engine.plan import IndexPlan, QueryPlan
from runner.engine.response import event_hit, response_body, sequence_hit
from runner.engine.samples import SampleCollector
from runner.engine.sequences import SequenceMatcher
from runner.eql import IndexMapping, MappingError, Schema, check, parse, verify
from runner.eql import nodes as n
from runner.errors import RuleRunnerError


class SearchRequestError(RuleRunnerError, ValueError):
    """A search request Elasticsearch would refuse with HTTP 400 before running it."""


class DocumentError(RuleRunnerError, ValueError):
    """A document that is not `{"_index": str, "_id": str, "_source": dict}`."""


def search(
    documents: Iterable[Mapping[str, Any]],
    query: str | n.Query,
    *,
    mappings: Mapping[str, Any] | Schema | None = None,
    timestamp_field: str = "@timestamp",
    tiebreaker_field: str | None = None,
    event_category_field: str = "event.category",
    size: int = 10,
    result_position: str = "tail",
    max_samples_per_key: int = 1,
) -> dict[str, Any]:
    """Run `query` over `documents` with Elasticsearch's EQL semantics.

    `documents` yields `{"_index", "_id", "_source"}` and is streamed. Sequences take events in timestamp order:
    documents in that order (or out of it by less than `REORDER_WINDOW` candidate events) keep memory bounded by
    the open sequences. A collection further out of order is gone over a second time and its candidates sorted; a
    one-shot iterator further out of order is an `OrderingError` (sort it, or pass a collection).
    `mappings` maps index names to Elasticsearch mapping bodies (or is a `runner.eql.schema.Schema` made from
    them, to reuse across searches); with it the query is verified as Elasticsearch
    would (unknown fields, types), and fields are read with their mapped types. Without it fields are mapped
    dynamically from the documents, as Elasticsearch's default mapping would, except that the timestamp field is
    always a date (as in a data stream), so epoch numbers order events too.
    """
    started = time.monotonic()
    _check_request(timestamp_field, event_category_field, size, result_position, max_samples_per_key)
    parsed = _parse(query)
    schema = _schema(mappings)
    if schema:
        verify(parsed, schema, event_category_field)
    plan = QueryPlan(parsed, schema, timestamp_field, tiebreaker_field, event_category_field)
    contexts = _Contexts(schema, frozenset({timestamp_field}))
    if isinstance(parsed, n.EventQuery):
        hits = {"events": _run_events(documents, plan, contexts, size, result_position)}
    elif isinstance(parsed, n.SequenceQuery):
        hits = {"sequences": _run_sequences(documents, plan, contexts, size, result_position)}
    elif isinstance(parsed, n.SampleQuery):
        hits = {"sequences": _run_samples(documents, plan, contexts, size, max_samples_per_key)}
    else:
        raise TypeError(f"cannot run {type(parsed).__name__}")
    return response_body(hits, took=int((time.monotonic() - started) * 1000))


def _check_request(
    timestamp_field: str, event_category_field: str, size: int, result_position: str, max_samples_per_key: int
) -> None:
    if not timestamp_field:
        raise SearchRequestError("timestamp field is null or empty")
    if not event_category_field:
        raise SearchRequestError("event category field is null or empty")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise SearchRequestError("size must be greater than or equal to 0")
    if result_position not in ("head", "tail"):
        raise SearchRequestError(f"result_position must be [head] or [tail], not [{result_position}]")
    if isinstance(max_samples_per_key, bool) or not isinstance(max_samples_per_key, int) or max_samples_per_key < 1:
        raise SearchRequestError("max_samples_per_key must be greater than 0")


def _parse(query: str | n.Query) -> n.Query:
    if isinstance(query, n.Query):
        check(query)  # a query built by hand gets the checks parse() makes
        return query
    if not isinstance(query, str) or not query.strip():
        raise SearchRequestError("query is null or empty")
    return parse(query)


def _schema(mappings: Mapping[str, Any] | Schema | None) -> Schema | None:
    if mappings is None or isinstance(mappings, Schema):
        return mappings  # a Schema built once by the caller (a backend searching the same indices again and again)
    try:
        return Schema.from_mappings(mappings)
    except MappingError as err:
        raise SearchRequestError(f"invalid mapping: {err}") from None


class _Contexts:
    """Index contexts, made on first sight of an index; an index without a mapping is mapped dynamically."""

    def __init__(self, schema: Schema | None, date_fields: frozenset[str], live: bool = False) -> None:
        self.schema = schema
        self.date_fields = date_fields
        # live: the caller grows the schema's mappings while the search runs; they are read, never copied or added to
        self.live = live
        self._by_name: dict[str, IndexContext] = {}

    def get(self, index: str) -> IndexContext:
        ctx = self._by_name.get(index)
        if ctx is None:
            mapping = self.schema.indices.get(index) if self.schema is not None else None
            if mapping is not None and self.live:
                ctx = IndexContext(index, mapping, self.date_fields, grow=False)
            else:
                if mapping is not None:
                    # a private copy: dynamic additions for this search must not leak into the caller's mapping
                    mapping = IndexMapping(
                        dict(mapping.fields), dict(mapping.aliases), set(mapping.objects), mapping.dynamic,
                        set(mapping.nested),
                    )
                ctx = IndexContext(index, mapping, self.date_fields)
            self._by_name[index] = ctx
        return ctx

    def contexts(self) -> dict[str, IndexContext]:
        """The index contexts made so far, by index name."""
        return dict(self._by_name)


def _documents(
    documents: Iterable[Mapping[str, Any]], plan: QueryPlan, contexts: _Contexts
) -> Iterator[tuple[int, Mapping[str, Any], dict[str, Any], IndexPlan]]:
    """Each document with its position in the stream, its `_source` and the query compiled for its index.

    The reference loop over documents (sequences and samples read through it); `_run_events` inlines it."""
    by_index: dict[Any, IndexPlan] = {}
    for position, doc in enumerate(documents):
        try:
            index = doc["_index"]
            source = doc["_source"]
            compiled = by_index.get(index)
        except (KeyError, TypeError):
            raise _bad_document(position, doc) from None
        if type(source) is not dict:
            raise _bad_source(position, doc)
        if compiled is None:
            compiled = by_index[index] = plan.for_index(contexts.get(str(index)), source)
        yield position, doc, source, compiled


def _bad_document(position: int, doc: Any) -> DocumentError:
    return DocumentError(
        f"document #{position} must be a mapping with '_index', '_id' and '_source', got {_describe(doc)}"
    )


def _bad_source(position: int, doc: Mapping[str, Any]) -> DocumentError:
    return DocumentError(f"document #{position} ('_id' {doc.get('_id')!r}): '_source' must be an object")


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "keys " + ", ".join(sorted(map(str, value.keys()))[:5])
    return type(value).__name__


# ---- event queries -----------------------------------------------------------------------------------------------------


def _run_events(
    documents: Iterable[Mapping[str, Any]], plan: QueryPlan, contexts: _Contexts, size: int, result_position: str
) -> list[dict[str, Any]]:
    """Fast path of `_documents` followed by the event filter: the loop of `_documents` inlined (its generator costs
    some 15% of an event query, the hot path of every rule). Checked against `_documents` (which sequences and samples
    read through) by tests/engine/test_fast_paths.py::test_the_inlined_document_loop_is_the_reference_loop, and
    against `search_many` by tests/engine/test_multi.py::test_every_corpus_rule_batched_equals_one_by_one."""
    window: Window[Mapping[str, Any]] = Window(limit_chain(plan.query, size, result_position))
    add = window.add
    by_index: dict[Any, IndexPlan] = {}
    # the loop of _documents, inlined: this is the hot path of every event query
    for position, doc in enumerate(documents):
        try:
            index = doc["_index"]
            source = doc["_source"]
            compiled = by_index.get(index)
        except (KeyError, TypeError):
            raise _bad_document(position, doc) from None
        if type(source) is not dict:
            raise _bad_source(position, doc)
        if compiled is None:
            compiled = by_index[index] = plan.for_index(contexts.get(str(index)), source)
        if not compiled.filters[0](source):
            continue
        # events without a usable timestamp sort after every other (Elasticsearch's missing: _last)
        add(compiled.ordinal.event_key(source, position), doc)
    return [event_hit(doc) for doc in window.results()]


# ---- sequences ---------------------------------------------------------------------------------------------------------


REORDER_WINDOW = 4096

Candidate = tuple[Ordinal, Mapping[str, Any], list[list[tuple[Any, ...]] | None], list[tuple[Any, ...]] | None]


def _run_sequences(
    documents: Iterable[Mapping[str, Any]], plan: QueryPlan, contexts: _Contexts, size: int, result_position: str
) -> list[dict[str, Any]]:
    query = plan.query
    assert isinstance(query, n.SequenceQuery)
    chain = limit_chain(query, size, result_position)
    maxspan = query.maxspan.millis * 1_000_000 if query.maxspan is not None else None
    missing = [spec.missing for spec in plan.stages]
    matcher = SequenceMatcher(missing, maxspan, chain)
    try:
        _feed_in_order(_sequence_candidates(documents, plan, contexts), matcher)
    except _TooLate as late:
        if isinstance(documents, Iterator):
            raise OrderingError(
                f"document [{late.doc.get('_id')}] of index [{late.doc.get('_index')}] comes after events later "
                f"than it by more than the {REORDER_WINDOW} candidate events a sequence query reorders; over a "
                "one-shot iterator, sequences need documents sorted by timestamp (then tiebreaker): sort them, "
                "or pass a list or another collection that can be iterated twice"
            ) from None
        # a collection: go over it again, keep every candidate and sort them
        candidates = sorted(_sequence_candidates(documents, plan, contexts), key=lambda c: c[0])
        matcher = SequenceMatcher(missing, maxspan, chain)
        for ordinal, doc, stage_keys, until_keys in candidates:
            matcher.feed(doc, ordinal, stage_keys, until_keys)
    sequences = matcher.finish()
    has_keys = bool(plan.stages[0].keys)
    return [sequence_hit(s.key if has_keys else None, s.events) for s in sequences]


class _TooLate(Exception):
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc


def _feed_in_order(candidates: Iterator[Candidate], matcher: SequenceMatcher) -> None:
    """Feed candidates in ordinal order through a window of `REORDER_WINDOW` candidates.

    A stream in order passes straight through (a FIFO); from the first candidate that comes late, the window is a
    heap that puts each late candidate in its place, as long as no later one has been fed yet. Memory stays bounded
    by the window, whatever the length of the stream.
    """
    fifo: deque[Candidate] = deque()
    heap: list[tuple[tuple[Any, ...], Candidate]] | None = None
    fed: Ordinal | None = None
    for candidate in candidates:
        ordinal = candidate[0]
        if fed is not None and ordinal < fed:
            raise _TooLate(candidate[1])
        if heap is None:
            if not fifo or not ordinal < fifo[-1][0]:
                fifo.append(candidate)
                if len(fifo) > REORDER_WINDOW:
                    first = fifo.popleft()
                    fed = first[0]
                    matcher.feed(first[1], first[0], first[2], first[3])
                continue
            heap = [(c[0], c) for c in fifo]  # sorted, hence already a heap
            fifo.clear()
        heapq.heappush(heap, (ordinal, candidate))
        if len(heap) > REORDER_WINDOW:
            _, first = heapq.heappop(heap)
            fed = first[0]
            matcher.feed(first[1], first[0], first[2], first[3])
    remaining = [c for _, c in sorted(heap, key=lambda entry: entry[0])] if heap is not None else fifo
    for ordinal, doc, stage_keys, until_keys in remaining:
        matcher.feed(doc, ordinal, stage_keys, until_keys)


def _sequence_candidates(documents: Iterable[Mapping[str, Any]], plan: QueryPlan, contexts: _Contexts) -> Iterator[Candidate]:
    """Events that match at least one stage (or the until clause), with their ordinal and join keys per stage."""
    count = len(plan.stages)
    for position, doc, source, compiled in _documents(documents, plan, contexts):
        found = compiled.sequence_keys(source, count)
        if found is None:
            continue
        ordinal = compiled.ordinal.ordinal(doc, position, strict=True)
        assert ordinal is not None
        yield ordinal, doc, found[0], found[1]


# ---- samples -----------------------------------------------------------------------------------------------------------


def _run_samples(
    documents: Iterable[Mapping[str, Any]], plan: QueryPlan, contexts: _Contexts, size: int, max_samples_per_key: int
) -> list[dict[str, Any]]:
    collector = SampleCollector(len(plan.stages), max_samples_per_key, limit_chain(plan.query, size, "head", samples=True))
    count = len(plan.stages)
    for position, doc, source, compiled in _documents(documents, plan, contexts):
        stage_keys: list[list[tuple[Any, ...]] | None] = [None] * count
        for stage in compiled.dispatch(source):
            if compiled.conditions[stage](source):
                stage_keys[stage] = compiled.keys[stage](source)
        if any(stage_keys):
            collector.feed(doc, str(doc["_index"]), position, stage_keys)
    return [sequence_hit(key, events) for key, events in collector.results()]


__all__ = ["DocumentError", "SearchRequestError", "search"]
