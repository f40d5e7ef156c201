"""`_search` requests (query rules) on the embedded store, over files and in memory: the same hits everywhere, EQL
and `_search` requests batched in one read/pass exactly as one by one, no index → no hits, a bad clause → a
`QueryError` naming it."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.backends import BackendError, EqlRequest, FileEvents, IndexNotFound, MemoryEvents, QueryError, SearchRequest
from runner.backends.embedded import EmbeddedBackend, Store
from runner.engine import dsl_search
from runner.kql import kql_to_dsl
from tests.engine.test_multi import generated

PATTERNS = ("logs-endpoint.events.*", "logs-windows.*")


class Reads(Store):
    """A store counting its reads."""

    reads = 0

    def events(self, *args: Any, **kwargs: Any) -> Generator[dict[str, Any]]:
        self.reads += 1
        return super().events(*args, **kwargs)


def source(docs: list[dict[str, Any]]) -> Callable[[], Iterator[Mapping[str, Any]]]:
    return lambda: iter([dict(d) for d in docs])


def query_rule_request(kql: str, start: str | None, end: str | None, size: int = 5,
                       after: list[Any] | None = None, index: tuple[str, ...] = PATTERNS) -> SearchRequest:
    """A query rule's page as Kibana's buildEventsSearchQuery builds it (the lead's request builder)."""
    filters: list[Any] = [kql_to_dsl(kql)]
    if start is not None:
        filters.append({"range": {"@timestamp": {"gte": start, "lte": end, "format": "strict_date_optional_time"}}})
    body: dict[str, Any] = {
        "size": size, "query": {"bool": {"filter": filters}},
        "fields": [{"field": "*", "include_unmapped": True},
                   {"field": "@timestamp", "format": "strict_date_optional_time"}],
        "sort": [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}], "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return SearchRequest(index, body)


def without_took(answer: dict[str, Any] | BackendError) -> object:
    if isinstance(answer, BackendError):
        return (type(answer), str(answer))
    return {key: value for key, value in answer.items() if key != "took"}


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return generated(3000)


@pytest.fixture
def backends(tmp_path: Path, docs: list[dict[str, Any]]) -> dict[str, Any]:
    store = Reads(tmp_path / "store.db")
    store.ingest(docs)
    return {"store": EmbeddedBackend(store), "files": FileEvents([source(docs)]), "memory": MemoryEvents(docs)}


def pages(backend: Any, kql: str, start: str | None, end: str | None) -> list[tuple[str, list[Any]]]:
    """Every hit of a query rule, paged by search_after as Kibana pages (five a page)."""
    found: list[tuple[str, list[Any]]] = []
    after = None
    while True:
        answer = backend.search(query_rule_request(kql, start, end, after=after))
        hits = answer["hits"]["hits"]
        if not hits:
            return found
        found += [(hit["_id"], hit["sort"]) for hit in hits]
        after = hits[-1]["sort"]


def test_a_query_rule_gives_the_same_hits_over_the_store_files_and_memory(
        backends: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    kql = "event.category:process and process.name:(curl or sh) and not process.args:*-fsS*"
    start, end = "2026-11-29T00:00:05.000Z", "2026-11-29T00:00:40.000Z"
    answers = {name: pages(backend, kql, start, end) for name, backend in backends.items()}
    assert answers["store"] == answers["files"] == answers["memory"]
    # the same as the engine over the documents of the window, in one page
    whole = query_rule_request(kql, start, end, size=1000)
    memory = backends["memory"]
    indices = sorted(memory.by_index)
    direct = dsl_search(memory.documents(indices), whole.body, memory.schema(indices))
    expected = [(hit["_id"], hit["sort"]) for hit in direct["hits"]["hits"]]
    assert len(expected) > 10
    # paging by timestamp skips what shares the timestamp a page ended on, as Elasticsearch does: each page is the
    # next five hits strictly after the last page's sort values
    simulated: list[tuple[str, list[Any]]] = []
    rest = expected
    while rest:
        simulated += rest[:5]
        rest = [hit for hit in rest if hit[1] > simulated[-1][1]]
    assert answers["store"] == simulated


def test_mixed_eql_and_search_requests_are_answered_in_one_read_as_one_by_one(backends: dict[str, Any]) -> None:
    start, end = "2026-11-29T00:00:05.000Z", "2026-11-29T00:00:40.000Z"
    window = {"bool": {"filter": [{"range": {"@timestamp": {"gte": start, "lte": end,
                                                            "format": "strict_date_optional_time"}}}]}}
    requests: list[EqlRequest | SearchRequest] = [
        EqlRequest(PATTERNS, {"query": 'any where process.name == "curl"', "size": 1000, "filter": window}),
        query_rule_request("process.name:curl", start, end, size=1000),
        query_rule_request("process.name:(nginx or gunicorn) and event.type:start", start, end, size=3),
        EqlRequest(PATTERNS, {"query": 'network where destination.port == 443', "size": 100, "filter": window}),
        query_rule_request("process.name:curl", start, end, index=("nothing-*",)),
        query_rule_request("destination.port >= 443", start, end, size=50),
        EqlRequest(("nothing-*",), {"query": "process where true", "filter": window}),
        SearchRequest(PATTERNS, {**query_rule_request("process.name:curl", start, end).body,  # files: run alone
                                 "runtime_mappings": {"x": {"type": "keyword", "script": {"source": "emit('a')"}}}}),
    ]
    for name, backend in backends.items():
        if name == "store":
            backend.store.reads = 0
        many = backend.search_many(requests)
        if name == "store":
            assert backend.store.reads == 1, "one read of the window for every request"
        one = []
        for request in requests:
            try:
                one.append(backend.eql_search(request) if isinstance(request, EqlRequest) else backend.search(request))
            except BackendError as error:
                one.append(error)
        assert [without_took(a) for a in many] == [without_took(a) for a in one], name
        assert isinstance(many[6], IndexNotFound)
        if name == "store":  # a cluster's answer: no index, no hits, no error
            assert many[4] == {**many[4], "hits": {"max_score": None, "hits": []}}
        else:  # events searched offline answer "no index" for every type, as a hunt reports it
            assert isinstance(many[4], IndexNotFound)
        assert len(many[1]["hits"]["hits"]) == len(many[0]["hits"]["events"]) > 0


def test_patterns_matching_no_index_give_no_hits(backends: dict[str, Any]) -> None:
    """On the store, as on a cluster (the request allows no indices); events searched offline answer "no index"
    (`IndexNotFound`), as they do for EQL, so that a hunt reports it for every rule type."""
    request = query_rule_request("process.name:curl", None, None, index=("nothing-*", "-logs-*"))
    request.body["track_total_hits"] = True
    for name, backend in backends.items():
        if name != "store":
            with pytest.raises(IndexNotFound):
                backend.search(request)
            continue
        answer = backend.search(request)
        assert answer["hits"] == {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []}
        assert answer["_shards"]["total"] == 0


def test_a_bad_clause_is_a_query_error_naming_it(backends: dict[str, Any]) -> None:
    unsupported = SearchRequest(PATTERNS, {"query": {"bool": {"filter": [{"regexp": {"process.name": "cu.*"}}]}}})
    refused = SearchRequest(PATTERNS, {"query": {"bool": {"filter": [{"term": {"process.pid": "abc"}}]}}})
    for name, backend in backends.items():
        for request, es_type, where in [(unsupported, "parsing_exception", "bool.filter[0].regexp"),
                                        (refused, "search_phase_execution_exception", "bool.filter[0].term")]:
            with pytest.raises(QueryError) as raised:
                backend.search(request)
            assert raised.value.es_type == es_type and where in str(raised.value), name
            [batched] = backend.search_many([request])
            assert isinstance(batched, QueryError) and str(batched) == str(raised.value), name


def test_the_store_reads_only_the_window_it_can_read_exactly(backends: dict[str, Any]) -> None:
    # a range with a time zone: the store cannot narrow its read by it (it would read 05:00 UTC), so it reads all
    local = SearchRequest(PATTERNS, {"size": 1000, "sort": [{"@timestamp": "asc"}], "query": {"bool": {"filter": [
        {"range": {"@timestamp": {"gte": "2026-11-29T05:00:05", "lte": "2026-11-29T05:00:10", "time_zone": "+05:00"}}},
    ]}}})
    answers = [backend.search(local)["hits"]["hits"] for backend in backends.values()]
    # (equal timestamps keep each backend's document order: compared as sets with the sort values in order)
    assert len({frozenset(hit["_id"] for hit in hits) for hits in answers}) == 1
    assert len({tuple(hit["sort"][0] for hit in hits) for hits in answers}) == 1
    assert len(answers[0]) > 10
