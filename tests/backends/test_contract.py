"""The `Backend` contract, written once and run over every backend (as APScheduler 4 runs one suite over every data
store): search, create-only writes exactly once, the ids already written with the execution that wrote them, rule
state, execution records, and failures by class.

Each test runs twice: over the embedded backend (a real store: the answer is computed) and over the Elasticsearch
backend against the loopback stub (tests/backends/es_stub.py), where each step's reply is scripted as a real cluster
gives it, from ../shared/reference/es-examples where one was recorded. The harness's `cluster_*` methods script
those replies and do nothing for the embedded backend; what the contract asserts is the same for both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends import (
    Backend,
    BackendError,
    IndexNotFound,
    QueryError,
    StateBusy,
    TransientError,
    WriteError,
)
from runner.backends.base import EXECUTION_UUID
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.backends.embedded import EmbeddedBackend, Store
from runner.backends.request import EqlRequest
from runner.settings import load_settings
from tests.backends.es_stub import INFO, Recorded, Reply, Stub, bulk_ack, example

INDEX = ".alerts-security.alerts-default"
STATE_INDEX = "rule-runner-state"
EXECUTIONS_INDEX = "rule-runner-executions"


class Harness:
    """One backend under the contract. `cluster_*`: what a real cluster answers at this step (scripted on the stub
    for the Elasticsearch backend; the embedded store computes it)."""

    backend: Backend

    def given_events(self, index: str, docs: list[dict[str, Any]]) -> None:
        """These events are stored in `index` (the embedded store ingests them)."""

    def cluster_search(self, status: int, body: Mapping[str, Any]) -> None:
        """The cluster answers the next search with `status` and `body`."""

    def cluster_create(self, duplicates: set[str]) -> None:
        """The cluster answers the next bulk create: 409 for `duplicates`, 201 for the others."""

    def cluster_refresh(self) -> None:
        """The cluster answers the next refresh of the alerts alias."""

    def cluster_existing(self, found: Mapping[str, str | None]) -> None:
        """The cluster answers the next ids lookup with these alerts (id → execution uuid)."""

    def cluster_state(self, rule_id: str, state: Mapping[str, Any] | None) -> None:
        """The cluster answers the next real-time GET of the rule's state document."""

    def cluster_bulk(self, statuses: dict[int, int] | None = None) -> None:
        """The cluster answers the next state/record bulk (item statuses by position; 201 otherwise)."""

    def busy(self) -> None:
        """From now on every request meets an overloaded or locked store."""

    def executions(self, rule_id: str) -> list[dict[str, Any]]:
        """The execution records stored for the rule, as stored."""
        raise NotImplementedError

    def close(self) -> None:
        self.backend.close()


class EmbeddedHarness(Harness):
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "store.db"
        self.store = Store(self.path, busy_timeout=0.05)
        self.backend = EmbeddedBackend(self.store)
        self._holder: sqlite3.Connection | None = None

    def given_events(self, index: str, docs: list[dict[str, Any]]) -> None:
        refused: list[str] = []
        self.backend.ingest([{"_index": index, **doc} for doc in docs], lambda _doc, why: refused.append(why))
        assert not refused

    def busy(self) -> None:
        """Another connection holds the store exclusively (SQLite's exclusive locking mode, a write begun)."""
        self.store.close()
        self._holder = sqlite3.connect(self.path, isolation_level=None)
        self._holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._holder.execute("BEGIN EXCLUSIVE")
        self._holder.execute("INSERT INTO meta VALUES ('holder', 'x')")

    def executions(self, rule_id: str) -> list[dict[str, Any]]:
        return self.store.executions(rule_id)

    def close(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
        super().close()


class ClusterHarness(Harness):
    def __init__(self, tmp_path: Path, stub: Stub) -> None:
        self.stub = stub
        config = tmp_path / "runner.yaml"
        config.write_text(f"backend: elasticsearch\nelasticsearch:\n  hosts: {stub.url}\n  request_timeout: 2s\n",
                          encoding="utf-8")
        self.backend = ElasticsearchBackend.from_settings(load_settings(config, env={}), KIBANA_VERSION)
        stub.always("GET", "/", Reply(200, INFO))

    def cluster_search(self, status: int, body: Mapping[str, Any]) -> None:
        self.stub.expect("POST", "/.*/_eql/search", Reply(status, dict(body)))

    def cluster_create(self, duplicates: set[str]) -> None:
        def reply(request: Recorded) -> Reply:
            ids = [line["create"]["_id"] for line in request.ndjson[::2]]
            return bulk_ack(request, {n: 409 for n, alert_id in enumerate(ids) if alert_id in duplicates})

        self.stub.expect("PUT", "/_bulk", reply)

    def cluster_refresh(self) -> None:
        self.stub.expect("POST", f"/{INDEX}/_refresh", Reply(200, {"_shards": {"total": 2, "successful": 2,
                                                                               "failed": 0}}))

    def cluster_existing(self, found: Mapping[str, str | None]) -> None:
        hits = [{"_index": f"{INDEX}-000001", "_id": alert_id,
                 **({"fields": {EXECUTION_UUID: [uuid]}} if uuid is not None else {})}
                for alert_id, uuid in found.items()]
        self.stub.expect("POST", f"/{INDEX}/_search", Reply(200, {"hits": {"hits": hits}}))

    def cluster_state(self, rule_id: str, state: Mapping[str, Any] | None) -> None:
        if state is None:
            reply = Reply(404, {"_index": STATE_INDEX, "_id": rule_id, "found": False})
        else:
            reply = Reply(200, {"_index": STATE_INDEX, "_id": rule_id, "found": True, "_source": dict(state)})
        self.stub.expect("GET", f"/{STATE_INDEX}/_doc/{rule_id}", reply)

    def cluster_bulk(self, statuses: dict[int, int] | None = None) -> None:
        self.stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, statuses))

    def busy(self) -> None:
        """Every request is refused as the recorded indexing-pressure rejection (a whole-request 429)."""
        self.stub._once.clear()
        for method in ("GET", "HEAD", "POST", "PUT"):
            self.stub.always(method, ".*", Reply(429, example("22")["response"]))

    def executions(self, rule_id: str) -> list[dict[str, Any]]:
        records = []
        for request in self.stub.sent("PUT", "/_bulk"):
            lines = request.ndjson
            for action, source in zip(lines[::2], lines[1::2], strict=True):
                if action.get("index", {}).get("_index") == EXECUTIONS_INDEX and source.get("rule_id") == rule_id:
                    records.append(source)
        return list(reversed(records))  # newest first, as the store lists them


@pytest.fixture(params=["embedded", "elasticsearch"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    made: Harness
    if request.param == "embedded":
        made = EmbeddedHarness(tmp_path)
    else:
        made = ClusterHarness(tmp_path, request.getfixturevalue("stub"))
    yield made
    made.close()
    if isinstance(made, ClusterHarness):  # every reply scripted was asked for: each step met a real request
        assert not made.stub.unanswered()


def test_the_backend_is_a_context_manager_that_checks(harness: Harness) -> None:
    with harness.backend as backend:
        backend.check()
        backend.check()  # idempotent
        assert backend.name in ("embedded", "elasticsearch") and backend.where and backend.title


# ---- search ----------------------------------------------------------------------------------------------------------


def recorded_events() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Elasticsearch's own REST test (10_basic.yml, "Execute some EQL."): its recording and its documents, with
    `user` renamed `account`: the store maps every index with ECS as Elastic's templates do, where `user` is an
    object, while the test's index maps it dynamically as text."""
    recorded = example("01")
    docs = [{**doc, "_source": {("account" if key == "user" else key): value for key, value in doc["_source"].items()}}
            for doc in recorded["setup"]["docs"]]
    return recorded, docs


def test_a_search_answers_with_the_eql_response_body(harness: Harness) -> None:
    recorded, docs = recorded_events()
    harness.given_events(recorded["setup"]["index"], docs)
    asserted = recorded["asserted_response"]
    ids = [asserted[f"hits.events.{n}._id"] for n in range(asserted["hits.total.value"])]
    sources = {doc["_id"]: doc["_source"] for doc in docs}
    harness.cluster_search(200, {"is_partial": False, "is_running": False, "took": 3, "timed_out": False,
                                 "hits": {"total": {"value": len(ids), "relation": "eq"},
                                          "events": [{"_index": "eql_test", "_id": i, "_source": sources[i]}
                                                     for i in ids]}})
    query = recorded["request"]["body"]["query"].replace("user ==", "account ==")
    body = harness.backend.eql_search(EqlRequest(("eql_test",), {"query": query}))
    assert body["timed_out"] is asserted["timed_out"]
    assert body["hits"]["total"] == {"value": asserted["hits.total.value"],
                                     "relation": asserted["hits.total.relation"]}
    assert [event["_id"] for event in body["hits"]["events"]] == ids
    assert body["hits"]["events"][0]["_source"]["account"] == asserted["hits.events.0._source.user"]


def test_search_failures_by_class(harness: Harness) -> None:
    recorded, docs = recorded_events()
    harness.given_events(recorded["setup"]["index"], docs)
    [unknown] = [r for r in example("06")["requests"] if "used ==" in r["body"]["query"]
                 and r["body"]["query"].startswith("sequence with maxspan=10d [network where used")]
    harness.cluster_search(400, example("06")["full_body_shape_reconstructed"])
    with pytest.raises(QueryError) as refused:
        harness.backend.eql_search(EqlRequest(("eql_test",), dict(unknown["body"])))
    assert refused.value.es_type == "verification_exception"
    assert refused.value.reason.startswith(unknown["asserted"]["error.root_cause.0.reason"])
    harness.cluster_search(404, example("08")["full_body_shape_reconstructed"])
    with pytest.raises(IndexNotFound):
        harness.backend.eql_search(EqlRequest(("inexistent*",), {"query": "any where true"}))


# ---- alerts: create-only, exactly once -------------------------------------------------------------------------------


def alert(alert_id: str, execution: str) -> tuple[str, dict[str, Any]]:
    return alert_id, {"@timestamp": "2026-01-15T10:00:00.000Z", "kibana.alert.uuid": alert_id,
                      "kibana.alert.rule.rule_id": "r1", EXECUTION_UUID: execution}


def test_alerts_are_written_exactly_once(harness: Harness) -> None:
    backend = harness.backend
    harness.cluster_create(duplicates=set())
    first = backend.create_alerts(INDEX, [alert("a", "e-1"), alert("b", "e-1")])
    assert (first.created, first.duplicates) == (("a", "b"), ())
    harness.cluster_create(duplicates={"b"})
    second = backend.create_alerts(INDEX, [alert("b", "e-2"), alert("c", "e-2")])
    assert (second.created, second.duplicates) == (("c",), ("b",))  # b stays as e-1 wrote it
    harness.cluster_refresh()
    backend.refresh_alerts()  # writes whose acknowledgement was lost are found too
    harness.cluster_existing({"a": "e-1", "b": "e-1", "c": "e-2"})
    assert backend.existing_alerts(["a", "b", "c", "d"]) == {"a": "e-1", "b": "e-1", "c": "e-2"}


def test_an_alert_without_an_execution_uuid_is_known_with_none(harness: Harness) -> None:
    harness.cluster_create(duplicates=set())
    harness.backend.create_alerts(INDEX, [("x", {"@timestamp": "2026-01-15T10:00:00.000Z"})])
    harness.cluster_existing({"x": None})
    assert harness.backend.existing_alerts(["x", "y"]) == {"x": None}


# ---- rule state and execution records --------------------------------------------------------------------------------


def test_state_is_none_then_what_was_saved(harness: Harness) -> None:
    backend = harness.backend
    harness.cluster_state("r1", None)
    assert backend.rule_state("r1") is None
    state = {"previous_started_at": "2026-01-15T10:05:00+00:00", "pending_since": None}
    harness.cluster_bulk()
    backend.save_rule_state("r1", state)
    saved = backend.rule_state("r1")
    assert saved is not None and saved.items() >= state.items()  # the cluster's document adds rule_id, updated_at


def test_complete_execution_saves_the_state_then_the_record(harness: Harness) -> None:
    backend = harness.backend
    state = {"previous_started_at": "2026-01-15T10:05:00+00:00"}
    record = {"uuid": "u-1", "rule_id": "r1", "started_at": "2026-01-15T10:05:00+00:00", "status": "succeeded"}
    harness.cluster_bulk()
    backend.complete_execution("r1", state, record)
    harness.cluster_bulk()
    backend.complete_execution("r1", state, record)  # idempotent: repeated after an unknown outcome
    saved = backend.rule_state("r1")
    assert saved is not None and saved.items() >= state.items()
    later = {**record, "uuid": "u-2", "started_at": "2026-01-15T10:10:00+00:00", "status": "failed"}
    harness.cluster_bulk()
    backend.complete_execution("r1", None, later)  # the state stays
    assert (backend.rule_state("r1") or {}).items() >= state.items()
    stored = harness.executions("r1")
    assert [r["uuid"] for r in stored][:1] == ["u-2"] and {r["uuid"] for r in stored} == {"u-1", "u-2"}
    assert stored[0] == later


def test_a_state_refused_for_now_is_state_busy(harness: Harness) -> None:
    if isinstance(harness, EmbeddedHarness):  # the store cannot write it for now: locked
        harness.busy()
    harness.cluster_bulk({0: 429})  # the cluster refuses its item for now: overloaded
    with pytest.raises(StateBusy):
        harness.backend.complete_execution("r1", {"previous_started_at": "x"},
                                           {"uuid": "u", "rule_id": "r1", "started_at": "x", "status": "failed"})


# ---- failures by class -----------------------------------------------------------------------------------------------


def test_an_overloaded_or_locked_store_is_worth_trying_again(harness: Harness) -> None:
    harness.cluster_state("r1", None)
    harness.backend.rule_state("r1")  # read before: a cluster's state is then known without asking
    harness.busy()
    backend = harness.backend
    request = EqlRequest(("logs-*",), {"query": "any where true"})
    calls: list[Callable[[], object]] = [
        lambda: backend.eql_search(request), lambda: backend.existing_alerts(["a"]), lambda: backend.rule_state("r2"),
    ]
    for call in calls:
        with pytest.raises(TransientError):
            call()
    with pytest.raises(TransientError):  # not saved for now (`StateBusy`), or its outcome unknown
        backend.save_rule_state("r1", {"previous_started_at": "x"})
    with pytest.raises(BackendError) as writing:
        backend.create_alerts(INDEX, [alert("a", "e-1")])
    failure = writing.value  # retried by the execution either way, and nothing counted as written
    assert isinstance(failure, TransientError) or (isinstance(failure, WriteError) and failure.retryable
                                                   and not failure.created)
