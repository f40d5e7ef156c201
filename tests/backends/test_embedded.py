"""The embedded backend: the store (SQLite), index resolution, the request filter, and search through the engine."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runner.backends import EqlRequest, IndexNotFound, QueryError
from runner.backends.embedded import BadDocument, EmbeddedBackend, Store, StoreError, resolve_indices
from runner.backends.embedded.backend import time_ranges
from runner.backends.embedded.dsl import UnsupportedQuery, compile_query
from runner.ruletypes.kibana import time_range_filter


def doc(index: str, i: int, ts: str, **source: Any) -> dict[str, Any]:
    return {"_index": index, "_id": f"d{i}", "_source": {"@timestamp": ts, **source}}


PROC = ".ds-logs-endpoint.events.process-default-2026.01.15-000001"
NET = ".ds-logs-endpoint.events.network-default-2026.01.15-000001"


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.db")
    s.ingest([
        doc(PROC, 1, "2026-01-15T10:00:01.000Z", event={"category": ["process"], "type": ["start"]}, process={"name": "sh", "pid": 10}),
        doc(PROC, 2, "2026-01-15T10:00:03.000Z", event={"category": ["process"], "type": ["start"]}, process={"name": "curl", "pid": 11}),
        doc(NET, 3, "2026-01-15T10:00:02.000Z", event={"category": ["network"]}, destination={"ip": "10.0.0.1"}),
        doc("winlogbeat-1", 4, "2026-01-15T10:00:04.000Z", event={"category": ["process"]}, process={"name": "cmd.exe"}),
    ])
    return s


def test_resolve_indices_like_elasticsearch() -> None:
    available = [PROC, NET, "winlogbeat-1", ".alerts-security.alerts-default", "logs-x"]
    assert resolve_indices(["logs-endpoint.events.*"], available) == [PROC, NET]
    assert resolve_indices(["logs-endpoint.events.process*"], available) == [PROC]
    assert resolve_indices(["logs-*", "-logs-endpoint.events.network*"], available) == [PROC, "logs-x"]
    assert resolve_indices(["*"], available) == [PROC, NET, "winlogbeat-1", "logs-x"]  # hidden ones only by name
    assert resolve_indices([".alerts-*"], available) == [".alerts-security.alerts-default"]
    assert resolve_indices(["winlogbeat-1,logs-x"], available) == ["winlogbeat-1", "logs-x"]
    assert resolve_indices(["remote:logs-*", "nope-*"], available) == []


def test_ingest_is_idempotent_and_maps_ecs_plus_dynamic(store: Store) -> None:
    again = store.ingest([doc(PROC, 1, "2026-01-15T10:00:01.000Z", event={"category": ["process"]})])
    assert (again.added, again.duplicates) == (0, 1)
    assert store.count() == 4
    props = store.mappings([NET])[NET]["properties"]
    assert props["destination"]["properties"]["ip"] == {"type": "ip"}  # ECS, not a dynamic keyword
    result = store.ingest([{"_index": "custom", "_source": {"@timestamp": 1768471200000, "odd": {"thing": "x"}}}])
    assert result.added == 1
    odd = store.mappings(["custom"])["custom"]["properties"]["odd"]["properties"]["thing"]
    assert odd["type"] == "text" and odd["fields"]["keyword"]["type"] == "keyword"


def test_documents_without_id_get_a_content_hash(store: Store) -> None:
    body = {"_index": "x", "_source": {"@timestamp": "2026-01-15T10:00:00Z", "a": 1}}
    assert store.ingest([body, body]).added == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [({"_source": {"@timestamp": "2026-01-15T10:00:00Z"}}, "no index name"),
     ({"_index": "x", "_source": []}, "_source must be a JSON object"),
     ({"_index": "x", "_source": {"a": 1}}, "no readable @timestamp"),
     ({"_index": "x", "_source": {"@timestamp": "yesterday"}}, "no readable @timestamp")],
)
def test_bad_documents(store: Store, document: dict[str, Any], message: str) -> None:
    with pytest.raises(BadDocument, match=message):
        store.ingest([document])


def test_unwritable_store_path(tmp_path: Path) -> None:
    blocked = tmp_path / "ro"
    blocked.mkdir()
    blocked.chmod(0o500)
    try:
        if os.access(blocked, os.W_OK):
            pytest.skip("running as a user that can write anywhere")
        with pytest.raises(StoreError, match=r"cannot open the embedded store at .*ro/sub/store.db"):
            Store(blocked / "sub" / "store.db")
    finally:
        blocked.chmod(0o700)


def test_store_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the embedded store"):
        Store(tmp_path)


def test_alerts_are_unique_by_id(store: Store) -> None:
    first = store.create_alerts("alerts", [("a1", {"x": 1}), ("a2", {"x": 2})])
    second = store.create_alerts("alerts", [("a2", {"x": 3}), ("a3", {"x": 4})])
    assert (first.created, first.duplicates) == (("a1", "a2"), ())
    assert (second.created, second.duplicates) == (("a3",), ("a2",))
    assert [a["_source"]["x"] for a in store.alerts()] == [1, 2, 4]  # a duplicate never overwrites
    assert store.existing_alerts(["a1", "zz", "a3"]) == {"a1": None, "a3": None}
    store.create_alerts("alerts", [("a4", {"kibana.alert.rule.execution.uuid": "e-1"})])
    assert store.existing_alerts(["a4"]) == {"a4": "e-1"}  # and which execution wrote it


def test_rule_state_and_executions_survive_reopening(store: Store, tmp_path: Path) -> None:
    store.save_rule_state("r1", {"previous_started_at": "2026-01-15T10:05:00+00:00"})
    store.record_execution({"uuid": "e1", "rule_id": "r1", "started_at": "2026-01-15T10:05:00+00:00", "status": "succeeded"})
    reopened = Store(tmp_path / "store.db")
    assert reopened.rule_state("r1") == {"previous_started_at": "2026-01-15T10:05:00+00:00"}
    assert reopened.executions("r1")[0]["status"] == "succeeded"
    assert reopened.rule_state("nope") is None


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    class Boom(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(StoreError):
        store.create_alerts("alerts", [("ok-1", {"x": 1}), ("bad", Boom())])
    assert store.existing_alerts(["ok-1"]) == {}


def test_dsl_filters() -> None:
    source = {"@timestamp": "2026-01-15T10:00:01.000Z", "file": {"path": "C:\\Windows\\x.dll"}, "n": [1, 5]}
    assert compile_query({"wildcard": {"file.path": {"value": "?:\\\\windows\\\\*", "case_insensitive": True}}})(source)
    assert not compile_query({"wildcard": {"file.path": {"value": "?:\\\\windows\\\\*"}}})(source)
    assert compile_query({"range": {"n": {"gte": 4, "lte": 6}}})(source)  # any value
    assert compile_query({"bool": {"must_not": [{"exists": {"field": "nope"}}]}})(source)
    assert compile_query({"bool": {"should": [{"term": {"n": 2}}, {"term": {"n": 5}}]}})(source)
    assert not compile_query({"bool": {"should": [{"term": {"n": 2}}]}})(source)
    assert compile_query({"terms": {"file.path": ["a", "C:\\Windows\\x.dll"]}})(source)
    with pytest.raises(UnsupportedQuery, match=r"\[script\]"):
        compile_query({"script": {"source": "true"}})


def test_time_range_with_fallback() -> None:
    filt = time_range_filter("event.ingested", "@timestamp", "2026-01-15T10:00:00.000Z", "2026-01-15T10:10:00.000Z")
    accept = compile_query(filt)
    assert accept({"@timestamp": "2026-01-15T09:00:00Z", "event": {"ingested": "2026-01-15T10:00:05Z"}})
    assert not accept({"@timestamp": "2026-01-15T10:05:00Z", "event": {"ingested": "2026-01-15T11:00:00Z"}})
    assert accept({"@timestamp": "2026-01-15T10:05:00Z"})  # no override value: @timestamp decides
    assert time_ranges(filt) == [("ingested", 1768471200000, 1768471800000), ("ts", 1768471200000, 1768471800000)]


def request(query: str, index: str = "logs-endpoint.events.*", **body: Any) -> EqlRequest:
    filt = {"bool": {"filter": [time_range_filter("@timestamp", None, "2026-01-15T10:00:00.000Z", "2026-01-15T10:00:03.500Z")]}}
    return EqlRequest((index,), {"query": query, "size": 100, "filter": filt, **body})


def test_search_events_in_window(store: Store) -> None:
    backend = EmbeddedBackend(store)
    body = backend.eql_search(request("process where true"))
    assert [e["_id"] for e in body["hits"]["events"]] == ["d1", "d2"]  # d4 is not in the index pattern
    assert body["hits"]["events"][0]["_index"] == PROC
    body = backend.eql_search(request("sequence [process where process.name == \"sh\"] [network where true]"))
    assert [[e["_id"] for e in s["events"]] for s in body["hits"]["sequences"]] == [["d1", "d3"]]
    body = backend.eql_search(request('network where cidrMatch(destination.ip, "10.0.0.0/8")'))
    assert [e["_id"] for e in body["hits"]["events"]] == ["d3"]


def test_search_errors(store: Store) -> None:
    backend = EmbeddedBackend(store)
    with pytest.raises(IndexNotFound, match=r"no such index \[nothing-\*\]"):
        backend.eql_search(request("any where true", index="nothing-*"))
    with pytest.raises(QueryError) as info:
        backend.eql_search(request("process where process.nme == \"x\""))
    assert info.value.es_type == "verification_exception"
    assert "Unknown column [process.nme], did you mean any of [process.name, " in info.value.reason
    with pytest.raises(QueryError, match="parsing_exception"):
        backend.eql_search(request("process where"))


def test_store_file_is_valid_json_records(store: Store, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "store.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for (source,) in db.execute("SELECT source FROM events"):
        json.loads(source)
