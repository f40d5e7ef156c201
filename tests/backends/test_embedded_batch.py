"""The embedded store's `search_many` over the whole corpus: every rule's scheduled request over a store of
generated events answers exactly as `eql_search` one by one, while the window is read once per group of requests
sharing it, not once per rule."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from runner.backends import BackendError, EqlRequest
from runner.backends.embedded import EmbeddedBackend, Store
from runner.catalog import load_rules
from runner.ruletypes.eql import build_request
from tests.conftest import shared_path
from tests.engine.test_multi import generated


class Reads(Store):
    """A store counting its window reads."""

    reads = 0

    def events(self, *args: Any, **kwargs: Any) -> Generator[dict[str, Any]]:
        self.reads += 1
        return super().events(*args, **kwargs)


def without_took(answer: dict[str, Any] | BackendError) -> object:
    if isinstance(answer, BackendError):
        return (type(answer), str(answer))
    return {key: value for key, value in answer.items() if key != "took"}


@pytest.fixture(scope="module")
def corpus() -> list[Any]:
    return [rule for rule in load_rules([shared_path("detection-rules")]).rules if rule.type == "eql"]


def test_every_corpus_rule_batched_equals_one_by_one(tmp_path: Path, corpus: list[Any]) -> None:
    docs = generated(2500)
    store = Reads(tmp_path / "store.db")
    store.ingest(docs)
    backend = EmbeddedBackend(store)
    times = sorted(d["_source"]["@timestamp"] for d in docs)
    # a window inside the data (documents on both sides of it), as a scheduled run's
    start, end = (datetime.fromisoformat(times[i].replace("Z", "+00:00")) for i in (500, 2000))
    requests = [build_request(rule, start, end) for rule in corpus if rule.query is not None]
    for request in requests:
        request.body["size"] = 1000  # every match, so that a difference anywhere shows
    assert len(requests) > 1000
    store.reads = 0
    many = backend.search_many(requests)
    reads = store.reads
    one: list[dict[str, Any] | BackendError] = []
    for request in requests:
        try:
            one.append(backend.eql_search(request))
        except BackendError as error:
            one.append(error)
    assert len(many) == len(one)
    differ = [r.body["query"] for r, a, b in zip(requests, many, one, strict=True) if without_took(a) != without_took(b)]
    assert differ == []
    with_hits = sum(1 for a in one if isinstance(a, dict) and (a["hits"].get("events") or a["hits"].get("sequences")))
    failed = sum(1 for a in one if isinstance(a, BackendError))
    assert with_hits >= 2 and failed < len(one) / 2
    # one read per window shared by many requests (the corpus has a few: `@timestamp`, overrides with fallback),
    # one per request searched on its own (samples, custom fields); one by one, a read per request that has indices
    assert reads < 20 < store.reads - reads, reads


def test_requests_of_one_window_read_it_once(tmp_path: Path) -> None:
    store = Reads(tmp_path / "store.db")
    store.ingest(generated(500))
    backend = EmbeddedBackend(store)
    window = {"bool": {"filter": [{"range": {"@timestamp": {"gte": "2020-01-01T00:00:00.000Z",
                                                            "lte": "2100-01-01T00:00:00.000Z"}}}]}}
    other = {"range": {"@timestamp": {"gte": "2020-01-01T00:00:00.000Z", "lte": "2099-01-01T00:00:00.000Z"}}}
    requests = [
        EqlRequest(("logs-endpoint.events.process-*",), {"query": "process where true", "filter": window}),
        EqlRequest(("logs-endpoint.events.network-*",), {"query": "network where true", "filter": window}),
        EqlRequest(("logs-*",), {"query": "sequence by host.id [process where true] [network where true]",
                                 "filter": window}),
        EqlRequest(("logs-*",), {"query": "any where true", "filter": other}),  # another window: alone
        EqlRequest(("logs-*",), {"query": "sample by host.id [process where true] [network where true]",
                                 "filter": window}),  # samples: alone
        EqlRequest(("logs-*",), {"query": "any where true", "filter": window, "result_position": "head"}),  # alone
    ]
    answers = backend.search_many(requests)
    assert store.reads == 4
    for request, answer in zip(requests, answers, strict=True):
        assert without_took(answer) == without_took(backend.eql_search(request))
        assert isinstance(answer, dict) and answer["hits"]["total"]["value"] > 0
