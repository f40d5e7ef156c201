"""An embedded-store index whose mapping has a `runtime` section: ingest keeps the section and leaves the leaves it
defines unmapped (as Elasticsearch's DocumentParser does), and searches and verification read the runtime fields.

The index is given its mapping the way the store persists one (its `mappings` table, which ingest extends): a
mapping with a `runtime` section reaches a store from an index template, and this is where it lands."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runner.backends import EqlRequest, QueryError
from runner.backends.embedded import EmbeddedBackend, Store

INDEX = "logs-web.access-default"
BODY: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"category": {"type": "keyword"}}},
        "status": {"type": "keyword"},
    },
    "runtime": {
        "status": {"type": "long"},  # shadows the mapped keyword
        "client_ip": {"type": "ip"},
        "day_of_week": {"type": "keyword", "script": {"source": "emit(doc['@timestamp'].value.dayOfWeekEnum.toString())"}},
    },
}


def event(i: int, category: str, **source: Any) -> dict[str, Any]:
    return {"_index": INDEX, "_id": f"e{i}",
            "_source": {"@timestamp": f"2026-01-15T10:00:0{i}.000Z", "event": {"category": category}, **source}}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    path = tmp_path / "store.db"
    Store(path).close()  # the file and its tables
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO mappings VALUES (?, ?)", (INDEX, json.dumps(BODY)))
    db.close()
    store = Store(path)
    store.ingest([
        event(1, "web", status="200", client_ip="10.0.0.5", day_of_week="MONDAY", user={"name": "ann"}),
        event(2, "web", status=404, client_ip="192.168.1.9"),
        event(3, "network", status="503", client_ip="10.9.9.9"),
    ], on_bad=lambda doc, reason: pytest.fail(reason))
    return store


def request(query: str) -> EqlRequest:
    return EqlRequest(("logs-web.*",), {"query": query, "size": 100})


def test_ingest_keeps_the_runtime_section_and_maps_only_other_fields(store: Store) -> None:
    body = store.mappings([INDEX])[INDEX]
    assert body["runtime"] == BODY["runtime"]
    assert "client_ip" not in body["properties"] and "day_of_week" not in body["properties"]
    assert body["properties"]["status"] == {"type": "keyword"}  # still mapped; the runtime long takes precedence
    assert "user" in body["properties"]  # a field outside the runtime section is mapped dynamically


def test_searches_read_runtime_fields(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    backend = EmbeddedBackend(store)

    def ids(query: str) -> list[str]:
        return [e["_id"] for e in backend.eql_search(request(query))["hits"]["events"]]

    assert ids("web where status >= 400") == ["e2"]  # a long: 404, not the keyword "404"
    assert ids('any where cidrMatch(client_ip, "10.0.0.0/8")') == ["e1", "e3"]
    sequences = backend.eql_search(request("sequence [web where status == 200] [network where status > 500]"))
    assert [[e["_id"] for e in s["events"]] for s in sequences["hits"]["sequences"]] == [["e1", "e3"]]
    with caplog.at_level(logging.WARNING, logger="runner.engine"):
        assert ids('web where day_of_week == "MONDAY"') == []
    assert any("runtime field [day_of_week]" in r.getMessage() for r in caplog.records)
    backend.verify(request('any where day_of_week == "MONDAY" and client_ip != null'))
    with pytest.raises(QueryError, match=r"Unknown column \[client_iq\], did you mean \[client_ip\]\?"):
        backend.verify(request('any where client_iq == "10.0.0.1"'))
