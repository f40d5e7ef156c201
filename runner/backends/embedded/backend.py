"""The embedded backend: the request the Elasticsearch backend would send, answered from the local store.

Index patterns resolve as Elasticsearch resolves them (wildcards, `-` exclusions, hidden `.`-indices only for
patterns that start with a dot, data streams by name for their `.ds-` backing indices; a request that matches no
index at all is a 404), the `filter` is applied with Query DSL semantics, and the query runs through
`runner.engine.search` with each index's mapping. The answer is the body of an `_eql/search` response.

`search_many` answers many requests as `eql_search` and `search` would one by one, reading each time window once:
requests that read the same time ranges of the store (an EQL request's `filter`, a `_search` query's range: the
same window, on the same timestamp field with the same override and fallback) and whose query `runner.engine.
search_many` can batch (`local_search.batchable` for EQL; every `_search`) are one group. A group's window is read
once from the store, for the union of its requests' indices, through the time index in the order `eql_search`
reads it (every index's rows by `(ts, rowid)`: a request's own indices are a sub-sequence of the union, in the same
order), and `runner.engine.search_many` answers every query of the group in that one pass, each over the documents
of its own indices that its own filter takes. A whole corpus enabled with the default `now-9m` and interval is one
group, EQL and query rules together, so a scheduled run costs one read of the window, not one per rule. The rest
(a group of one, samples, custom timestamp or category fields, head position, a query that does not parse, a
sequence that met sub-millisecond disorder: `OutOfOrder`) is searched one by one.

`search` answers a `_search` request (a query rule's page) with the body of a `_search` response: the query, sort,
`search_after` and size through `runner.engine.dsl_search`, the store read narrowed by the time range in the query
(`query_ranges`: `time_ranges` finds it in `bool.filter`); patterns matching no index give no hits, as the request allows. `search_many`
answers EQL and `_search` requests together: those reading the same time ranges share one read and one pass.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from runner.alerts import KIBANA_VERSION
from runner.backends.base import Access, IngestResult, WriteResult
from runner.backends.embedded.dsl import UnsupportedQuery, compile_query, matches_everything
from runner.backends.embedded.store import Store, StoreBusy, StoreDamaged, StoreError, millis
from runner.backends.errors import (
    BackendError,
    CannotOpen,
    IndexNotFound,
    NoStore,
    QueryError,
    RecordNotStored,
    StateBusy,
    StateNotSaved,
    TransientError,
)
from runner.backends.local_search import batchable, no_index_answer, run_query, run_search, search_error, verify_search
from runner.backends.request import EqlRequest, SearchRequest
from runner.ecs import Templates
from runner.engine import DslSearch, JudgedOnce, OutOfOrder, QuerySearch, date_range, search_many
from runner.eql import EqlError, Schema, parse
from runner.eql import nodes as n

_BACKING = re.compile(r"^\.ds-(?P<stream>.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$")
_COLUMNS = {"@timestamp": "ts", "event.ingested": "ingested"}


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z")


def resolve_indices(patterns: Sequence[str], available: Sequence[str]) -> list[str]:
    """The stored indices an index expression names, in Elasticsearch's manner."""
    chosen: list[str] = []
    expressions = [p.strip() for raw in patterns for p in str(raw).split(",") if p.strip()]
    for expression in expressions:
        exclude = expression.startswith("-") and chosen != []
        pattern = expression[1:] if exclude else expression
        if ":" in pattern:  # a remote cluster: not in a local store
            continue
        regex = _wildcard(pattern)
        matched = []
        for index in available:
            stream = _BACKING.match(index)
            names = [index] + ([stream.group("stream")] if stream else [])
            for name in names:
                hidden = name.startswith(".") and not pattern.startswith(".")
                if (("*" in pattern and not hidden) or "*" not in pattern) and regex.match(name):
                    matched.append(index)
                    break
        if exclude:
            chosen = [index for index in chosen if index not in matched]
        else:
            chosen += [index for index in matched if index not in chosen]
    return chosen


def time_ranges(query: Any) -> list[tuple[str, int | None, int | None]] | None:
    """Inclusive `(column, low, high)` ranges on the store's indexed timestamps that every document the filter
    accepts lies in (one of), or None when the filter does not bound them."""
    if not isinstance(query, Mapping) or len(query) != 1:
        return None
    (kind, spec), = query.items()
    if kind == "range" and isinstance(spec, Mapping) and len(spec) == 1:
        (field, bounds), = spec.items()
        column = _COLUMNS.get(field)
        if column is None or not isinstance(bounds, Mapping):
            return None
        low = bounds.get("gte", bounds.get("gt"))
        high = bounds.get("lte", bounds.get("lt"))
        return [(column, millis(low) if low is not None else None, _upper(high))]
    if kind != "bool" or not isinstance(spec, Mapping):
        return None
    for key in ("filter", "must"):
        clauses = spec.get(key) or []
        for clause in clauses if isinstance(clauses, list) else [clauses]:
            found = time_ranges(clause)
            if found is not None:
                return found
    should = spec.get("should") or []
    if should and not spec.get("filter") and not spec.get("must") and spec.get("minimum_should_match", 1):
        union: list[tuple[str, int | None, int | None]] = []
        for clause in should if isinstance(should, list) else [should]:
            found = time_ranges(clause)
            if found is None:
                return None
            union += found
        return union
    return None


_PLAIN_FORMATS = (None, "strict_date_optional_time", "strict_date_optional_time||epoch_millis", "epoch_millis",
                  "date_optional_time")


def query_ranges(query: Any) -> list[tuple[str, int | None, int | None]] | None:
    """`time_ranges` of a `_search` query (a query rule's: the window's range in `bool.filter`), when every range on
    a timestamp the store indexes reads its bounds as `time_ranges` does (no `time_zone`, an ISO or epoch
    format): else None, the whole store (a narrower read must never drop a document the query matches)."""
    if not query:
        return None
    stack = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, Mapping):
            spec = node.get("range")
            if isinstance(spec, Mapping):
                for field_name, bounds in spec.items():
                    if field_name in _COLUMNS and isinstance(bounds, Mapping) and (
                            bounds.get("time_zone") is not None or bounds.get("format") not in _PLAIN_FORMATS):
                        return None
            stack.extend(node.values())
    return time_ranges(query)


def _upper(value: Any) -> int | None:
    if value is None:
        return None
    interval = date_range(value)
    return None if interval is None else interval[1] // 1_000_000


def request_filter(query: Any) -> Callable[[Mapping[str, Any]], bool] | None:
    """The request's `filter` as a predicate on `_source`; None when it keeps every document."""
    if not query or matches_everything(query):
        return None
    try:
        return compile_query(query)
    except UnsupportedQuery as err:
        raise QueryError("parsing_exception", f"the request filter cannot be evaluated here: {err}") from None


class EmbeddedBackend:
    """Searches, alert writes, events and state against a `Store`. `open` opens the store for an `Access`;
    constructed from a `Store`, the backend closes it when it is closed."""

    name = "embedded"
    title = "the embedded store"
    kibana_version = KIBANA_VERSION  # no Kibana reads this store: the newest format
    shares_reads = True  # `search_many` reads a window once for all its requests
    groups_writes = True  # `save_rule_states` and `complete_executions` commit a group in one transaction

    def __init__(self, store: Store) -> None:
        self.store = store
        self.where = self.where_of(store.path)
        # a Schema per set of indices, rebuilt when an ingest changes a mapping: building one from the ECS mapping
        # costs more than a typical search
        self._schemas: dict[tuple[str, tuple[str, ...]], Schema] = {}
        self._lock = threading.Lock()

    @staticmethod
    def where_of(path: str | Path) -> str:
        """What messages call the store at `path`."""
        return f"the embedded store {path}"

    @classmethod
    def open(cls, path: str | Path, access: Access = Access.WRITE, *, templates: Templates | None = None) -> EmbeddedBackend:
        """The store at `path`, opened and checked: made when there is none (`Access.WRITE`), else `NoStore`;
        read-only with `Access.READ`. `StoreDamaged` when it is not a sound store, `CannotOpen` when it cannot be
        opened or made. `templates` give its new indices their mappings (default: the shipped ones)."""
        path = Path(path)
        if access is not Access.WRITE and not path.exists():
            raise NoStore(f"no embedded store at {path}")
        try:
            return cls(Store(path, read_only=access is Access.READ, templates=templates))
        except StoreDamaged:
            raise
        except StoreError as err:
            raise CannotOpen(str(err)) from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def schema(self, indices: list[str]) -> Schema:
        key = (self.store.mappings_version(), tuple(indices))
        with self._lock:
            schema = self._schemas.get(key)
        if schema is None:
            schema = Schema.from_mappings(self.store.mappings(indices))
            with self._lock:
                if len(self._schemas) > 256:
                    self._schemas.clear()
                self._schemas[key] = schema
        return schema

    def check(self) -> None:
        """Nothing to check: opening the store checked it (header and SQLite's `quick_check`)."""

    def start(self) -> None:
        """Nothing to prepare: the store was opened (and made) when this backend was."""

    def close(self) -> None:
        self.store.close()

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        body = request.body
        with _busy():
            indices = resolve_indices(request.index, self.store.indices())
            if not indices:
                raise IndexNotFound(f"no such index [{','.join(request.index)}]")
            query_filter = body.get("filter")
            accept = request_filter(query_filter)
            ranges = time_ranges(query_filter) if query_filter else None
            events = self.store.events(indices, ranges=ranges or ())
            documents = events if accept is None else (doc for doc in events if accept(doc["_source"]))
            try:
                return run_query(documents, body, self.schema(indices))
            finally:
                events.close()

    def _search_one(self, request: EqlRequest | SearchRequest) -> dict[str, Any] | BackendError:
        try:
            return self.eql_search(request) if isinstance(request, EqlRequest) else self.search(request)
        except BackendError as error:
            return error

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """A `_search` request (a query rule's page): the body's query, sort and paging through the engine's Query
        DSL over the store's documents of the resolved indices, the read narrowed by the time range the query
        holds. Patterns matching no index give no hits (the request allows no indices)."""
        body = request.body
        with _busy():
            indices = resolve_indices(request.index, self.store.indices())
            if not indices:
                return no_index_answer(body)
            ranges = query_ranges(body.get("query"))
            events = self.store.events(indices, ranges=ranges or ())
            try:
                return run_search(events, body, self.schema(indices))
            finally:
                events.close()

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        """For each request, what `eql_search` or `search` would answer (the body, or the `BackendError` it would
        raise). The requests that read the same stretch of the store (the same time ranges, from a `_search`
        query's range or an EQL request's `filter`) are answered from one read of it, EQL and `_search` alike, in
        one pass of `runner.engine.search_many` (each EQL request's own filter applied to its documents); a group
        of one, and an EQL request the batch cannot take, are searched alone."""
        answers: list[dict[str, Any] | BackendError | None] = [None] * len(requests)
        groups: dict[str, list[tuple[int, n.Query | None]]] = {}
        for number, request in enumerate(requests):
            if isinstance(request, SearchRequest):
                ranges = query_ranges(request.body.get("query"))
                groups.setdefault(json.dumps(ranges), []).append((number, None))
                continue
            parsed = self._parsed(request.body.get("query"))
            if parsed is not None and batchable(request.body, parsed):
                query_filter = request.body.get("filter")
                ranges = time_ranges(query_filter) if query_filter else None
                groups.setdefault(json.dumps(ranges), []).append((number, parsed))
        for key, members in groups.items():
            if len(members) > 1:
                ranges = json.loads(key)
                self._search_group([(number, requests[number], query) for number, query in members],
                                   [tuple(r) for r in ranges] if ranges else (), answers)
        for number, request in enumerate(requests):
            if answers[number] is None:
                answers[number] = self._search_one(request)
        return [answer for answer in answers if answer is not None]

    def _search_group(self, members: list[tuple[int, EqlRequest | SearchRequest, n.Query | None]],
                      ranges: Sequence[Any], answers: list[dict[str, Any] | BackendError | None]) -> None:
        """One group of `search_many`: the requests reading the same time ranges, answered from one read."""
        searches: list[QuerySearch | DslSearch] = []
        numbers: list[int] = []
        union: dict[str, None] = {}
        # one predicate per distinct filter (a window's EQL rules share theirs), each document judged once by it
        accepts: dict[str, Callable[[Mapping[str, Any]], bool] | None] = {}
        try:
            with _busy():
                available = self.store.indices()
                for number, request, query in members:
                    indices = resolve_indices(request.index, available)
                    if not indices:
                        answers[number] = (IndexNotFound(f"no such index [{','.join(request.index)}]")
                                           if isinstance(request, EqlRequest) else no_index_answer(request.body))
                        continue
                    if isinstance(request, SearchRequest):
                        searches.append(DslSearch(request.body, frozenset(indices), self.schema(indices)))
                    else:
                        assert query is not None
                        key = json.dumps(request.body.get("filter"), sort_keys=True, default=str)
                        try:
                            if key not in accepts:
                                found = request_filter(request.body.get("filter"))
                                accepts[key] = None if found is None else JudgedOnce(found)
                            accept = accepts[key]
                        except QueryError as error:  # this request's filter alone is refused
                            answers[number] = error
                            continue
                        searches.append(QuerySearch(query, frozenset(indices), self.schema(indices),
                                                    request.body.get("size", 10), accept=accept))
                    union.update(dict.fromkeys(indices))
                    numbers.append(number)
                if not searches:
                    return
                events = self.store.events(list(union), ranges=ranges)
                try:
                    results = search_many(events, searches)
                finally:
                    events.close()
        except BackendError as error:  # the read failed (or a filter is refused): every request of the group
            for number in numbers:
                answers[number] = error
            return
        for number, result in zip(numbers, results, strict=True):
            if isinstance(result, OutOfOrder):  # sub-millisecond disorder: the single search reorders it
                continue  # left for `_search_one`
            answers[number] = search_error(result) if isinstance(result, Exception) else result

    @staticmethod
    def _parsed(text: Any) -> n.Query | None:
        """The request's query parsed (`parse` remembers the texts it parsed: a service asks the same queries every
        interval); None when it does not parse: the single search says why."""
        if not isinstance(text, str):
            return None
        try:
            return parse(text)
        except EqlError:
            return None

    def verify(self, request: EqlRequest | SearchRequest) -> None:
        """The first step of a search without reading an event: the index patterns resolved against the store's
        indices, then an EQL request's filter compiled and its query verified against their mappings by the
        engine, or a `_search` query compiled for each index (`local_search.verify_search`)."""
        with _busy():
            indices = resolve_indices(request.index, self.store.indices())
            if not indices:
                raise IndexNotFound(f"no such index [{','.join(request.index)}]")
            if isinstance(request, SearchRequest):
                verify_search(request.body, self.schema(indices))
                return
            request_filter(request.body.get("filter"))  # a filter the store cannot evaluate fails its searches too
            run_query((), request.body, self.schema(indices))

    def existing_alerts(self, ids: Sequence[str]) -> dict[str, str | None]:
        with _busy():
            return self.store.existing_alerts(ids)

    def refresh_alerts(self) -> None:
        """Nothing to do: a committed transaction is visible at once."""

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteResult:
        with _busy():
            return self.store.create_alerts(index, alerts)

    def list_alerts(self, *, rule_id: str | None = None,
                    include_building_blocks: bool = True) -> Iterator[dict[str, Any]]:
        with _busy():
            yield from self.store.alerts(rule_id=rule_id, include_building_blocks=include_building_blocks)

    def ingest(self, documents: Iterable[Mapping[str, Any]],
               on_bad: Callable[[Mapping[str, Any], str], None]) -> IngestResult:
        """Events into the store, a transaction per batch (what was committed before a failure stays). A damaged
        store is `StoreDamaged`; a failed write (another writer holding the lock too long, a full disk) a
        `TransientError`."""
        with _busy():
            return self.store.ingest(documents, on_bad=on_bad)

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        with _busy():
            return self.store.rule_state(rule_id)

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        try:
            self.store.save_rule_state(rule_id, state)
        except (StoreError, sqlite3.Error) as err:
            raise _state_error(err) from None

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        if state is not None:
            self.save_rule_state(rule_id, state)
        try:
            self.store.record_execution(record)
        except (StoreError, sqlite3.Error) as err:
            raise RecordNotStored(f"the execution record was not stored: {err}") from None

    def save_rule_states(self, states: Sequence[tuple[str, Mapping[str, Any]]]) -> list[BackendError | None]:
        """All the states in one transaction (`Store.save_group`): every one saved, or none, each with the error
        `save_rule_state` would raise."""
        try:
            self.store.save_group(states, ())
        except (StoreError, sqlite3.Error) as err:
            return [_state_error(err)] * len(states)
        return [None] * len(states)

    def complete_executions(self, items: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]],
                            ) -> list[BackendError | None]:
        """Every new state, then every record, in one transaction (`Store.save_group`): all written, or none (a
        rule whose state was to advance then gets the error `save_rule_state` would raise, one that only records
        `RecordNotStored`)."""
        try:
            self.store.save_group([(rule_id, state) for rule_id, state, _ in items if state is not None],
                                  [record for _, _, record in items])
        except (StoreError, sqlite3.Error) as err:
            state_error = _state_error(err)
            record_error = RecordNotStored(f"the execution record was not stored: {err}")
            return [state_error if state is not None else record_error for _, state, _ in items]
        return [None] * len(items)

    def field_caps(self, index: Sequence[str], fields: Sequence[str], *,
                   include_unmapped: bool = False) -> dict[str, Any]:
        """What `_field_caps` answers for `fields` of the stored indices `index` resolves to, from their mappings
        (`runner.backends.field_caps`); no index: `{"indices": [], "fields": {}}`."""
        from runner.backends.field_caps import field_caps_body  # only this method uses it

        with _busy():
            indices = resolve_indices(index, self.store.indices())
            return field_caps_body(self.schema(indices).indices, fields, include_unmapped=include_unmapped)


_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


def _state_error(err: StoreError | sqlite3.Error) -> StateNotSaved:
    """A failed state write as the execution decides on it: busy (worth trying again) or refused."""
    busy = isinstance(err, StoreBusy) or getattr(err, "sqlite_errorname", None) in _BUSY
    return (StateBusy if busy else StateNotSaved)(str(err))


def _window_key(body: Mapping[str, Any]) -> str | None:
    """What requests answered from one read share: the same `filter`, which must bound the store's timestamps (a
    window); None for a request without one."""
    query_filter = body.get("filter")
    if not query_filter or time_ranges(query_filter) is None:
        return None
    return json.dumps(query_filter, sort_keys=True, default=str)


@contextmanager
def _busy() -> Iterator[None]:
    """The store's failures as the execution decides on them: a damaged store as it is (`StoreDamaged`, nothing to
    retry), anything else SQLite or the store refuses (a locked or busy database, a failed write) as a
    `TransientError`, since the next attempt may pass."""
    try:
        yield
    except StoreDamaged:
        raise
    except sqlite3.Error as err:
        raise TransientError(f"the embedded store is busy: {err}") from None
    except StoreError as err:
        raise TransientError(str(err)) from None


__all__ = ["EmbeddedBackend", "resolve_indices", "time_ranges"]
