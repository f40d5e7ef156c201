"""The `Backend` contract, written once and run over every backend (as APScheduler 4 runs one suite over every data
store): search, create-only writes exactly once, the ids already written with the execution that wrote them, rule
state, execution records, events ingested exactly once, the alerts listed back, a query verified without searching,
the lifecycle (open, check, close, the context manager), and failures by class.

Each test runs twice: over the embedded backend (a real store: the answer is computed) and over the Elasticsearch
backend against the loopback stub (tests/backends/es_stub.py), where each step's reply is scripted as a real cluster
gives it, from ../shared/reference/es-examples where one was recorded. The harness's `cluster_*` methods script
those replies and do nothing for the embedded backend; what the contract asserts is the same for both.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends import (
    Backend,
    BackendError,
    IndexNotFound,
    IngestResult,
    QueryError,
    StateBusy,
    TransientError,
    WriteError,
    describe,
    open_backend,
)
from runner.backends.base import EXECUTION_UUID
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.backends.embedded import EmbeddedBackend, Store
from runner.backends.request import EqlRequest
from runner.settings import Settings, load_settings
from tests.backends.es_stub import INFO, Recorded, Reply, Stub, bulk_ack, example

INDEX = ".alerts-security.alerts-default"
STATE_INDEX = "rule-runner-state"
EXECUTIONS_INDEX = "rule-runner-executions"
_READS = re.compile(r"/(_search|_eql/search|_field_caps)$")


class Harness:
    """One backend under the contract. `cluster_*`: what a real cluster answers at this step (scripted on the stub
    for the Elasticsearch backend; the embedded store computes it)."""

    backend: Backend
    settings: Settings  # the settings that configure this backend (`open_backend`)

    def given_events(self, index: str, docs: list[dict[str, Any]]) -> None:
        """These events are stored in `index` (the embedded store ingests them)."""

    def cluster_fields(self, index: str, fields: Mapping[str, str], *, indices: list[str] | None = None) -> None:
        """The cluster answers `_field_caps` on `index` with these fields (name → type) of `indices` (default:
        `[index]`; `[]`: the pattern matches no index)."""

    def cluster_ingest(self, duplicates: Collection[str] = (), refused: Collection[str] = ()) -> None:
        """The cluster answers the next bulk create of events (409 for `duplicates`, 400 for `refused`, by `_id`)
        and the refresh of the data streams written."""

    def cluster_alerts(self, alerts: Sequence[tuple[str, Mapping[str, Any]]], *, rule_id: str | None = None,
                       include_building_blocks: bool = True) -> None:
        """The cluster answers the next alerts listing with these stored alerts (those the listing asks for)."""

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

    def changes(self) -> object:
        """What the backend has changed so far (comparable): the store's files, the writes sent to the cluster."""
        raise NotImplementedError

    def close(self) -> None:
        self.backend.close()


class EmbeddedHarness(Harness):
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "store.db"
        self.store = Store(self.path, busy_timeout=0.05)
        self.backend = EmbeddedBackend(self.store)
        self._holder: sqlite3.Connection | None = None
        config = tmp_path / "runner.yaml"
        config.write_text(f"embedded:\n  path: {self.path}\n", encoding="utf-8")
        self.settings = load_settings(config, env={})

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

    def changes(self) -> object:
        """The database and its write-ahead log (not `-shm`, the readers' shared index SQLite keeps beside them)."""
        files = [file for file in (self.path, self.path.with_name(f"{self.path.name}-wal")) if file.exists()]
        return {file.name: hashlib.sha256(file.read_bytes()).hexdigest() for file in files}

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
        self.settings = load_settings(config, env={})
        self.backend = ElasticsearchBackend.from_settings(self.settings, KIBANA_VERSION)
        stub.always("GET", "/", Reply(200, INFO))

    def cluster_fields(self, index: str, fields: Mapping[str, str], *, indices: list[str] | None = None) -> None:
        """A `_field_caps` answer (Elasticsearch 8.x shape: a field of one type across the indices lists no
        `indices`; metadata fields are there too), as `runner.backends.elasticsearch.fields` reads it."""
        def caps(es_type: str, metadata: bool = False) -> dict[str, Any]:
            return {"type": es_type, "metadata_field": metadata, "searchable": es_type != "object",
                    "aggregatable": es_type not in ("object", "text")}

        names = [index] if indices is None else indices
        body: dict[str, Any] = {"indices": names, "fields": {}}
        if names:
            body["fields"] = {"_id": {"_id": caps("_id", True)}, "_index": {"_index": caps("_index", True)},
                              **{name: {es_type: caps(es_type)} for name, es_type in fields.items()}}
        self.stub.always("POST", f"/{re.escape(index)}/_field_caps", Reply(200, body))

    def cluster_ingest(self, duplicates: Collection[str] = (), refused: Collection[str] = ()) -> None:
        """Items as a data stream answers them (../shared/reference/es-examples/20_*: created, or 409 with the
        recorded conflict), and a refused date as Elasticsearch words a mapping failure (document_parsing_exception
        caused by the date parser), then the refresh of what was written."""
        def reply(request: Recorded) -> Reply:
            items = []
            for n, (action, source) in enumerate(zip(request.ndjson[::2], request.ndjson[1::2], strict=True)):
                stream, doc_id = action["create"]["_index"], action["create"]["_id"]
                backing = f".ds-{stream}-2026.01.15-000001"
                if doc_id in duplicates:
                    item = {"_index": backing, "_id": doc_id, "status": 409, "error": {
                        "type": "version_conflict_engine_exception",
                        "reason": f"[{doc_id}]: version conflict, document already exists (current version [1])",
                        "index_uuid": "aBcD1234", "shard": "0", "index": backing}}
                elif doc_id in refused:
                    value = source.get("@timestamp")
                    item = {"_index": backing, "_id": doc_id, "status": 400, "error": {
                        "type": "document_parsing_exception",
                        "reason": f"[1:15] failed to parse field [@timestamp] of type [date] in document with id "
                                  f"'{doc_id}'. Preview of field's value: '{value}'",
                        "caused_by": {"type": "illegal_argument_exception",
                                      "reason": f"failed to parse date field [{value}] with format "
                                                "[strict_date_optional_time||epoch_millis]"}}}
                else:
                    item = {"_index": backing, "_id": doc_id, "_version": 1, "result": "created",
                            "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": n,
                            "_primary_term": 1, "status": 201}
                items.append({"create": item})
            return Reply(200, {"errors": bool(duplicates or refused), "took": 5, "items": items})

        self.stub.expect("PUT", "/_bulk", reply)
        self.stub.expect("POST", "/.*/_refresh", Reply(200, {"_shards": {"total": 2, "successful": 1, "failed": 0}}))

    def cluster_alerts(self, alerts: Sequence[tuple[str, Mapping[str, Any]]], *, rule_id: str | None = None,
                       include_building_blocks: bool = True) -> None:
        """A `_search` answer with these hits in the order the request's sort asks for, with their sort values,
        to a request that filters as asked (else it is not answered, and the test fails)."""
        def asked(request: Recorded) -> bool:
            query = json.dumps(request.json.get("query"))
            return ((rule_id is None or json.dumps({"kibana.alert.rule.rule_id": rule_id}) in query)
                    and ("kibana.alert.group.index" in query) is not include_building_blocks)

        def millis(source: Mapping[str, Any]) -> int:
            return int(datetime.fromisoformat(source["@timestamp"]).timestamp() * 1000)

        ordered = sorted(alerts, key=lambda a: (millis(a[1]), a[1]["kibana.alert.uuid"]))
        hits = [{"_index": f"{INDEX}-000001", "_id": alert_id, "_score": None, "_source": dict(source),
                 "sort": [millis(source), source["kibana.alert.uuid"]]} for alert_id, source in ordered]
        self.stub.expect("POST", f"/{re.escape(INDEX)}/_search", Reply(200, {
            "took": 2, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None, "hits": hits}}),
            when=asked)

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

    def changes(self) -> object:
        """The requests sent that are not reads (GET, HEAD, or a search or `_field_caps` POST)."""
        return [(r.method, r.path) for r in self.stub.requests
                if r.method not in ("GET", "HEAD") and not _READS.search(r.path)]


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



def test_open_backend_opens_the_configured_backend(harness: Harness) -> None:
    described = describe(harness.settings)
    with open_backend(harness.settings) as backend:
        assert (backend.name, backend.title, backend.where) == (described.name, described.title, described.where)
        backend.check()


def test_leaving_the_block_closes_the_backend_even_after_an_error(harness: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    backend = harness.backend
    closed: list[bool] = []
    monkeypatch.setattr(backend, "close", lambda: closed.append(True))
    with pytest.raises(RuntimeError, match="inside"), backend as entered:
        assert entered is backend
        raise RuntimeError("inside")
    assert closed == [True]
    monkeypatch.undo()
    backend.close()
    backend.close()  # idempotent (the harness closes it once more)


def test_check_changes_nothing(harness: Harness) -> None:
    before = harness.changes()
    harness.backend.check()
    harness.backend.check()
    assert harness.changes() == before


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



def test_many_searches_answer_as_each_one_alone(harness: Harness) -> None:
    """`search_many`: per request, in order, the body `eql_search` gives or the error it raises (the embedded
    store answers the requests sharing a window from one read of it; Elasticsearch searches one by one)."""
    recorded, docs = recorded_events()
    harness.given_events(recorded["setup"]["index"], docs)
    sources = {doc["_id"]: doc["_source"] for doc in docs}
    window = {"bool": {"filter": [{"range": {"@timestamp": {"gte": "2020-02-04T00:00:00.000Z",
                                                            "lte": "2020-02-06T00:00:00.000Z",
                                                            "format": "strict_date_optional_time"}}}]}}
    [unknown] = [r for r in example("06")["requests"] if "used ==" in r["body"]["query"]
                 and r["body"]["query"].startswith("sequence with maxspan=10d [network where used")]
    requests = [
        EqlRequest(("eql_test",), {"query": 'process where account == "SYSTEM"', "filter": window}),
        EqlRequest(("eql_test",), {"query": "process where valid == false", "filter": window}),
        EqlRequest(("inexistent*",), {"query": "any where true", "filter": window}),
        EqlRequest(("eql_test",), {**unknown["body"], "filter": window}),
        EqlRequest(("eql_test",), {"query": "process where true", "filter": window, "size": 1}),
    ]
    found = {"is_partial": False, "is_running": False, "took": 3, "timed_out": False}

    def events(ids: list[str]) -> dict[str, Any]:
        return found | {"hits": {"total": {"value": len(ids), "relation": "eq"},
                                 "events": [{"_index": "eql_test", "_id": i, "_source": sources[i]} for i in ids]}}

    harness.cluster_search(200, events(["2", "3"]))
    harness.cluster_search(200, events([]))  # the one document with valid == false is outside the window
    harness.cluster_search(404, example("08")["full_body_shape_reconstructed"])
    harness.cluster_search(400, example("06")["full_body_shape_reconstructed"])
    harness.cluster_search(200, events(["3"]))  # tail 1
    answers = harness.backend.search_many(requests)
    assert len(answers) == len(requests)
    first, second, missing, refused, last = answers
    assert isinstance(first, dict) and [e["_id"] for e in first["hits"]["events"]] == ["2", "3"]
    assert first["hits"]["events"][0]["_source"] == sources["2"]
    assert isinstance(second, dict) and second["hits"]["events"] == []
    assert isinstance(missing, IndexNotFound)
    assert isinstance(refused, QueryError) and refused.es_type == "verification_exception"
    assert refused.reason.startswith(unknown["asserted"]["error.root_cause.0.reason"])
    assert isinstance(last, dict) and [e["_id"] for e in last["hits"]["events"]] == ["3"]


def test_verify_checks_the_fields_without_searching(harness: Harness) -> None:
    recorded, docs = recorded_events()
    harness.given_events(recorded["setup"]["index"], docs)
    # the fields Elasticsearch's dynamic mapping gives these documents (strings as text with a keyword sub-field),
    # with the test's own mapping of some_keyword
    harness.cluster_fields("eql_test", {
        "@timestamp": "date", "event": "object", "event.category": "text", "event.category.keyword": "keyword",
        "account": "text", "account.keyword": "keyword", "id": "long", "valid": "boolean", "some_keyword": "keyword",
    })
    before = harness.changes()
    query = recorded["request"]["body"]["query"].replace("user ==", "account ==")
    harness.backend.verify(EqlRequest(("eql_test",), {"query": query}))  # verifies: no error
    [unknown] = [r for r in example("06")["requests"] if r["body"]["query"].startswith(
        "sequence with maxspan=10d [network where used")]
    with pytest.raises(QueryError) as refused:
        harness.backend.verify(EqlRequest(("eql_test",), dict(unknown["body"])))
    assert refused.value.es_type == "verification_exception"  # as Elasticsearch's search words it
    assert refused.value.reason.startswith(unknown["asserted"]["error.root_cause.0.reason"])
    harness.cluster_fields("inexistent*", {}, indices=[])  # allow_no_indices: an empty answer, not a 404
    with pytest.raises(IndexNotFound, match=re.escape("no such index [inexistent*]")):
        harness.backend.verify(EqlRequest(("inexistent*",), {"query": "any where true"}))
    assert harness.changes() == before


# ---- events: create-only, exactly once -------------------------------------------------------------------------------


def event(doc_id: str, timestamp: str = "2026-01-15T10:00:00.000Z") -> dict[str, Any]:
    return {"_index": ".ds-logs-contract-default-2026.01.15-000001", "_id": doc_id,
            "_source": {"@timestamp": timestamp, "event": {"category": "process"}, "process": {"name": doc_id}}}


def test_events_are_ingested_once_and_refused_ones_reported(harness: Harness) -> None:
    documents = [event("e1"), event("e2"), event("e3", "not a date"),
                 {"_index": "logs-contract-default", "_id": "e4"}]  # no _source
    refused: list[tuple[Mapping[str, Any], str]] = []

    def on_bad(document: Mapping[str, Any], why: str) -> None:
        refused.append((document, why))

    harness.cluster_ingest(refused={"e3"})
    first = harness.backend.ingest(documents, on_bad)
    assert isinstance(first, IngestResult)
    assert (first.added, first.duplicates) == (2, 0) and first.target
    assert sorted(document["_id"] for document, _ in refused) == ["e3", "e4"] and all(why for _, why in refused)
    refused.clear()
    harness.cluster_ingest(duplicates={"e1", "e2"}, refused={"e3"})
    second = harness.backend.ingest(documents, on_bad)  # the same documents again: nothing added
    assert (second.added, second.duplicates, second.target) == (0, 2, first.target)
    assert sorted(document["_id"] for document, _ in refused) == ["e3", "e4"]


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



def test_refresh_makes_every_write_visible_to_existing_alerts(harness: Harness) -> None:
    harness.cluster_refresh()
    harness.backend.refresh_alerts()  # nothing written yet: nothing to refresh, no failure
    harness.cluster_create(duplicates=set())
    harness.backend.create_alerts(INDEX, [alert("a", "e-1")])
    harness.cluster_refresh()
    harness.backend.refresh_alerts()
    harness.cluster_existing({"a": "e-1"})
    assert harness.backend.existing_alerts(["a", "b"]) == {"a": "e-1"}


# ---- alerts listed back ----------------------------------------------------------------------------------------------


def listed(rule: str, alert_id: str, timestamp: str, *, building_block: bool = False) -> tuple[str, dict[str, Any]]:
    source = {"@timestamp": timestamp, "kibana.alert.uuid": alert_id, "kibana.alert.rule.rule_id": rule,
              EXECUTION_UUID: f"e-{timestamp[11:16]}"}
    return alert_id, {**source, **({"kibana.alert.group.index": 0} if building_block else {})}


def test_alerts_are_listed_by_rule_oldest_first_building_blocks_as_asked(harness: Harness) -> None:
    # two executions; within the first, written out of uuid order (the order among them is the backend's own)
    first = [listed("r1", "r1-z", "2026-01-15T10:00:00.000Z"), listed("r2", "r2-a", "2026-01-15T10:00:00.000Z"),
             listed("r1", "r1-a", "2026-01-15T10:00:00.000Z", building_block=True)]
    second = [listed("r1", "r1-m", "2026-01-15T10:05:00.000Z"), listed("r2", "r2-b", "2026-01-15T10:05:00.000Z")]
    for batch in (first, second):
        harness.cluster_create(duplicates=set())
        harness.backend.create_alerts(INDEX, batch)
    stored = dict(first + second)

    def listing(alerts: list[tuple[str, dict[str, Any]]], **asked: Any) -> list[dict[str, Any]]:
        harness.cluster_alerts(alerts, **asked)
        found = list(harness.backend.list_alerts(**asked))
        assert all(hit["_source"] == stored[hit["_id"]] and hit["_index"] for hit in found)  # as written
        return found

    everything = [hit["_id"] for hit in listing(first + second)]
    assert sorted(everything[:3]) == ["r1-a", "r1-z", "r2-a"] and sorted(everything[3:]) == ["r1-m", "r2-b"]
    of_r1 = [hit["_id"] for hit in listing([a for a in first + second if a[1]["kibana.alert.rule.rule_id"] == "r1"],
                                           rule_id="r1")]
    assert sorted(of_r1[:2]) == ["r1-a", "r1-z"] and of_r1[2:] == ["r1-m"]
    without = listing([first[0], second[0]], rule_id="r1", include_building_blocks=False)
    assert [hit["_id"] for hit in without] == ["r1-z", "r1-m"]
    assert [hit["_id"] for hit in listing([a for a in first + second if a[0] != "r1-a"],
                                          include_building_blocks=False)][-2:] in (["r1-m", "r2-b"], ["r2-b", "r1-m"])
    harness.cluster_alerts([], rule_id="r3")
    assert list(harness.backend.list_alerts(rule_id="r3")) == []


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


def test_group_writes_save_each_item_as_alone(harness: Harness) -> None:
    """`save_rule_states` and `complete_executions`: each item as `save_rule_state` / `complete_execution` (the
    embedded store in one transaction, Elasticsearch one by one: a bulk request per rule)."""
    backend = harness.backend
    pending = {"pending_since": "2026-01-15T10:00:00+00:00"}
    for _ in range(2):
        harness.cluster_bulk()
    assert backend.save_rule_states([("r1", pending), ("r2", pending)]) == [None, None]
    assert (backend.rule_state("r1") or {}).items() >= pending.items()
    assert (backend.rule_state("r2") or {}).items() >= pending.items()
    state = {"previous_started_at": "2026-01-15T10:05:00+00:00"}
    records = [{"uuid": f"u-{n}", "rule_id": f"r{n}", "started_at": "2026-01-15T10:05:00+00:00",
                "status": "succeeded"} for n in (1, 2)]
    for _ in range(2):
        harness.cluster_bulk()
    assert backend.complete_executions([("r1", state, records[0]), ("r2", None, records[1])]) == [None, None]
    assert (backend.rule_state("r1") or {}).items() >= state.items()  # advanced
    assert (backend.rule_state("r2") or {}).items() >= pending.items()  # stays: no new state
    assert [r["uuid"] for r in harness.executions("r1")] == ["u-1"]
    assert [r["uuid"] for r in harness.executions("r2")] == ["u-2"]
    assert backend.save_rule_states([]) == [] and backend.complete_executions([]) == []


def test_a_group_write_refused_for_now_answers_state_busy(harness: Harness) -> None:
    if isinstance(harness, EmbeddedHarness):  # the store cannot write it for now: locked
        harness.busy()
    harness.cluster_bulk({0: 429})  # the cluster refuses its item for now: overloaded
    record = {"uuid": "u", "rule_id": "r1", "started_at": "x", "status": "failed"}
    [answer] = harness.backend.complete_executions([("r1", {"previous_started_at": "x"}, record)])
    assert isinstance(answer, StateBusy)


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
