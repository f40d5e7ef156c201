"""The embedded store's window read: through each index's time index (never a walk of every row, never a sort of
the window), in the order and with the rows the plain SQL query gives (the oracle), and on a store made by schema
version 1 (migrated when opened for writing, read as it is when opened read-only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from runner.backends.embedded import Store

PROC = ".ds-logs-endpoint.events.process-default-2026.01.15-000001"
NET = ".ds-logs-endpoint.events.network-default-2026.01.15-000001"
FILE = ".ds-logs-endpoint.events.file-default-2026.01.15-000001"
T0 = 1_768_471_200_000  # 2026-01-15T10:00:00Z in epoch millis

Ranges = Sequence[tuple[str, int | None, int | None]]


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"2026-01-15T10:{(seconds - T0 // 1000) // 60:02d}:{(seconds - T0 // 1000) % 60:02d}.{millis:03d}Z"


def documents() -> list[dict[str, Any]]:
    """Three indices interleaved, timestamps repeating across and within indices, inserted out of time order, some
    with an `event.ingested` far from their `@timestamp`."""
    docs = []
    for i in range(300):
        index = (PROC, NET, FILE)[i * 7 % 3]
        ts = T0 + (i * 37 % 120) * 500  # 0..59.5 s, each value several times
        source: dict[str, Any] = {"@timestamp": iso(ts), "n": i}
        if i % 5 == 0:
            source["event"] = {"ingested": iso(T0 + (i * 13 % 120) * 500)}
        docs.append({"_index": index, "_id": f"d{i}", "_source": source})
    return docs


def oracle(path: Path, indices: Sequence[str], ranges: Ranges) -> list[tuple[str, str]]:
    """The same read as one plain SQL statement, planned however SQLite likes."""
    sql = f"SELECT idx, id FROM events WHERE idx IN ({','.join('?' * len(indices))})"
    args: list[Any] = list(indices)
    if ranges:
        parts = []
        for column, low, high in ranges:
            bounds = [f"{column} IS NOT NULL"]
            for op, value in ((">=", low), ("<=", high)):
                if value is not None:
                    bounds.append(f"{column} {op} ?")
                    args.append(value)
            parts.append("(" + " AND ".join(bounds) + ")")
        sql += " AND (" + " OR ".join(parts) + ")"
    db = sqlite3.connect(path)
    try:
        return [(row[0], row[1]) for row in db.execute(sql + " ORDER BY ts, rowid", args)]
    finally:
        db.close()


CASES: list[tuple[list[str], Ranges]] = [
    ([PROC, NET, FILE], [("ts", T0 + 10_000, T0 + 40_000)]),
    ([PROC, FILE], [("ts", T0 + 10_000, None)]),
    ([NET], [("ts", None, T0 + 20_000)]),
    ([PROC, NET, FILE], []),
    # Kibana's timestamp override with its fallback: event.ingested in the window, or @timestamp
    ([PROC, NET, FILE], [("ingested", T0 + 30_000, T0 + 50_000), ("ts", T0 + 30_000, T0 + 50_000)]),
    ([PROC, NET], [("ts", T0, T0 + 5_000), ("ts", T0 + 50_000, T0 + 55_000)]),
]


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.db")
    s.ingest(documents())
    return s


@pytest.mark.parametrize(("indices", "ranges"), CASES)
def test_window_read_equals_the_plain_query(store: Store, indices: list[str], ranges: Ranges) -> None:
    got = [(doc["_index"], doc["_id"]) for doc in store.events(indices, ranges=ranges)]
    assert got == oracle(store.path, indices, ranges)
    assert got  # the cases read something


def statements(store: Store, monkeypatch: pytest.MonkeyPatch, indices: list[str], ranges: Ranges) -> list[str]:
    """The SQL `events` runs (values bound), read in full."""
    seen: list[str] = []
    connect = store._connect

    def traced() -> sqlite3.Connection:
        db = connect()
        db.set_trace_callback(seen.append)
        return db

    monkeypatch.setattr(store, "_connect", traced)
    list(store.events(indices, ranges=ranges))
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]


def plans(path: Path, sql: str) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
    finally:
        db.close()


@pytest.mark.parametrize("analyzed", [False, True], ids=["no statistics", "analyzed"])
def test_a_time_window_is_read_through_the_time_index_without_a_sort(
    store: Store, monkeypatch: pytest.MonkeyPatch, analyzed: bool
) -> None:
    if analyzed:  # statistics must not change the plan
        db = sqlite3.connect(store.path)
        db.execute("ANALYZE")
        db.commit()
        db.close()
    for indices, ranges in CASES:
        if any(column != "ts" for column, _, _ in ranges):
            continue
        sqls = statements(store, monkeypatch, indices, ranges)
        assert sqls
        for sql in sqls:
            plan = " / ".join(plans(store.path, sql))
            assert "USING INDEX events_by_index_time" in plan, (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)
            assert "SCAN events" not in plan.replace("SCAN events USING INDEX", ""), (sql, plan)


def test_a_timestamp_override_window_reads_both_time_indices(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    indices, ranges = CASES[4]
    used = {" / ".join(plans(store.path, sql)) for sql in statements(store, monkeypatch, indices, ranges)}
    # the @timestamp range streams unsorted; only events ingested in the window but stamped outside it are sorted
    assert {plan.split(" (")[0] for plan in used} == {"SEARCH events USING INDEX events_by_index_time",
                                                      "SEARCH events USING INDEX events_by_index_ingested"}
    assert all("TEMP B-TREE" not in plan for plan in used if "events_by_index_time" in plan)
    sqls = statements(store, monkeypatch, indices, ranges)
    assert all(" AND NOT (ts " in sql for sql in sqls if "INDEXED BY events_by_index_ingested" in sql)


VERSION_1_INDICES = """
DROP INDEX events_by_index_time;
DROP INDEX events_by_index_ingested;
CREATE INDEX events_by_time ON events (ts);
CREATE INDEX events_by_ingested ON events (ingested);
UPDATE meta SET value = '1' WHERE key = 'schema_version';
"""


def make_version_1(path: Path) -> None:
    Store(path).ingest(documents())
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(VERSION_1_INDICES)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def schema(path: Path) -> tuple[str, set[str]]:
    db = sqlite3.connect(path)
    try:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                                               "'events' AND name NOT LIKE 'sqlite_%'")}
        return version, names
    finally:
        db.close()


def test_a_version_1_store_is_migrated_when_opened_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    make_version_1(path)
    assert schema(path) == ("1", {"events_by_time", "events_by_ingested"})
    store = Store(path)
    assert schema(path) == ("2", {"events_by_index_time", "events_by_index_ingested"})
    for indices, ranges in CASES:
        assert [(d["_index"], d["_id"]) for d in store.events(indices, ranges=ranges)] == oracle(path, indices, ranges)
    store.close()
    Store(path).close()  # opening a migrated store again changes nothing
    assert schema(path) == ("2", {"events_by_index_time", "events_by_index_ingested"})


def test_a_version_1_store_opened_read_only_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    make_version_1(path)
    store = Store(path, read_only=True)
    for indices, ranges in CASES:
        assert [(d["_index"], d["_id"]) for d in store.events(indices, ranges=ranges)] == oracle(path, indices, ranges)
    store.close()
    assert schema(path) == ("1", {"events_by_time", "events_by_ingested"})


def test_stored_documents_json_wrote_and_orjson_refuses_read_back(store: Store) -> None:
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("INSERT INTO events VALUES (?, 'big', ?, NULL, ?)",
               (PROC, T0, '{"@timestamp":"2026-01-15T10:00:00.000Z","n":123456789012345678901234567890,"x":NaN}'))
    db.close()
    doc = next(d for d in store.events([PROC]) if d["_id"] == "big")
    assert doc["_source"]["n"] == 123456789012345678901234567890
    assert doc["_source"]["x"] != doc["_source"]["x"]  # NaN
