"""The embedded store: events, alerts, rule state and execution records in one SQLite file.

Why SQLite: it ships with Python, a single file is easy to back up and move, and its write-ahead log with
`synchronous=FULL` makes every committed transaction survive a crash or power loss, while an interrupted one leaves
no trace. That gives the guarantees the runner relies on: an alert is reported written only after the transaction
holding it committed, writing an alert id that exists is a no-op (the primary key), and a rule's state advances in
its own transaction after the alerts. Several processes (the service, `ingest`, `alerts`) may open the same file;
SQLite serialises the writers. `ingest` alone trades that durability for speed (`synchronous=NORMAL`, large
batches: see `Store.ingest`): what it may lose to a power loss, ingesting the same input again restores.

Opening checks the file before anything else reads or writes it: a file that is not an SQLite database, or one
that fails SQLite's `PRAGMA quick_check` (a page overwritten, a truncated file), is refused with one `StoreDamaged`
naming the file and what to do, instead of failing every execution later (or answering from a damaged index as if
it were empty). The check reads every page once: about 0.5 s per GB from the page cache, 4 s per GB from disk
(README, "The embedded store"), once per process for the commands that search or write events. `read_only` opens
the file with SQLite's `mode=ro`, for the commands that only look (`alerts`, `explain`): they work on a read-only
file or directory, never create or change a store, and check every table but the events they do not read (so they
stay fast on a large store). A corruption met after opening is the same `StoreDamaged`, never a raw
`sqlite3.DatabaseError`.

Events are stored per index with their `@timestamp` and `event.ingested` as epoch milliseconds in columns indexed
per index (`(idx, ts)`, `(idx, ingested)`), so a window reads only its time range, whatever the size of the store:
each index's rows come through its time index already in timestamp order (no sort of the window, rows streamed as
SQLite steps), and the indices' streams are merged by `(ts, rowid)`, the order the engine gets. The query names the
index it must use (`INDEXED BY`): the plan does not depend on SQLite's statistics, which the store never gathers.
The exact Query DSL filter is applied afterwards.

Schema versions: 1 indexed `ts` and `ingested` alone, so a window's read walked every row of its indices (SQLite
planned it through the `(idx, id)` key plus a sort); 2 indexes them per index. Opening a store for writing migrates
it in one transaction (an interrupted migration leaves version 1 as it was); a version-1 store opened read-only is
read as it is, through SQLite's own plan.

Each index keeps the mapping Elasticsearch would have built for it: the one its index template gives it when it is
created (`Templates.mapping_for`: the matching shipped or user template merged over ECS; ECS alone when none
matches), plus the fields mapped dynamically from the documents (none beyond the template where it sets `dynamic:
false`; its `dynamic_templates` deciding a new field's type). An index keeps the mapping it was created with: a
template added later applies to indices created after it, as on a cluster.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from runner.backends.base import EXECUTION_UUID, IngestResult, WriteResult
from runner.backends.errors import StorageDamaged
from runner.backends.json_text import read_json
from runner.ecs import Templates, shipped_templates
from runner.engine import MISSING, LiveMapping, SourcePath, date_range, iso_millis_nanos, merge_mapping
from runner.errors import RuleRunnerError

SCHEMA_VERSION = 2
INGEST_BATCH = 50_000  # documents per transaction of an ingest: one batch of rows is what ingest holds in memory
BUSY_TIMEOUT = 30.0  # seconds a statement waits for another connection's lock (SQLite serialises the writers)
# the connection's settings while it ingests, and after: the write-ahead log synced at checkpoints only (not at every
# commit), checkpoints every 10,000 pages instead of 1,000, and a page cache of about 100 MB instead of 2 MB. Why the
# batch and the cache: ids are random, so a batch's rows land all over the `(idx, id)` key's b-tree; a transaction
# writes every page it touched to the log, and a page cache too small for them spills them during the transaction.
# 50,000 rows a transaction with the cache holding their pages write each page once for several rows: SQLite's own
# share of ingesting 1,000,000 events measured 16.8 s of CPU (47 s wall) against 22.5 s (99 s) with 10,000 rows and
# 2 MB; either change alone gained little (23.3 s with the cache alone, 20.6 s with the batch alone)
_INGESTING = ("synchronous=NORMAL", "wal_autocheckpoint=10000", "cache_size=-100000")
_SETTLED = ("synchronous=FULL", "wal_autocheckpoint=1000", "cache_size=-2000")
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    idx TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL, ingested INTEGER, source TEXT NOT NULL,
    PRIMARY KEY (idx, id)
);
CREATE INDEX IF NOT EXISTS events_by_index_time ON events (idx, ts);
CREATE INDEX IF NOT EXISTS events_by_index_ingested ON events (idx, ingested);
CREATE TABLE IF NOT EXISTS mappings (idx TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, idx TEXT NOT NULL, rule_id TEXT, rule_uuid TEXT, created TEXT NOT NULL,
    building_block INTEGER NOT NULL, source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule_id, created);
CREATE TABLE IF NOT EXISTS rule_state (rule_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    uuid TEXT PRIMARY KEY, rule_id TEXT NOT NULL, started TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_rule ON executions (rule_id, started);
"""
# version 1 to 2: the time indices become per index (the new ones are made above, in the same transaction)
_MIGRATION = """
DROP INDEX IF EXISTS events_by_time;
DROP INDEX IF EXISTS events_by_ingested;
"""
_WINDOW_INDICES = {"ts": "events_by_index_time", "ingested": "events_by_index_ingested"}
_TIMESTAMP = SourcePath("@timestamp")
_INGESTED = SourcePath("event.ingested")


class StoreError(RuleRunnerError):
    """The store cannot be opened or written: the path and the reason."""


class StoreBusy(StoreError):
    """Another connection holds the lock SQLite needed (`database is locked`, `database table is locked`) for
    longer than the busy timeout: nothing was written, and trying again may pass."""


class StoreDamaged(StoreError, StorageDamaged):
    """The store file is not an SQLite database or is corrupt: nothing can be trusted from it. The backends'
    `StorageDamaged` too, so that an execution or a command meeting it fails with this message (not a traceback)."""


class BadDocument(RuleRunnerError):
    """A document the store refuses (no `_source` object, no readable `@timestamp`)."""


def millis(value: Any) -> int | None:
    """Epoch milliseconds of a date value (ISO string or epoch millis), the first of several. The shape of nearly
    every event's timestamp (`yyyy-MM-ddTHH:mm:ss.SSSZ`) takes two dictionary lookups once its second was seen."""
    if type(value) is str:
        nanos = iso_millis_nanos(value)
        if nanos is not None:
            return nanos // 1_000_000
    if isinstance(value, list):
        value = next((v for v in value if v is not None), None)
    if value is None or isinstance(value, bool):
        return None
    interval = date_range(value)
    return None if interval is None else interval[0] // 1_000_000


def document_id(source: Mapping[str, Any]) -> str:
    """An id for a document that came without one: a hash of its content, so ingesting a file twice adds nothing
    (Elasticsearch would make a random id)."""
    digest = hashlib.sha256(json.dumps(source, sort_keys=True, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest[:15]).decode()


@dataclass
class _IndexMapping:
    """An index's mapping during an ingest, as the documents read so far extend it (`LiveMapping`: a document that
    adds nothing is proven so without walking it), and whether it has fields the store does not have yet."""

    live: LiveMapping
    changed: bool

    @property
    def body(self) -> dict[str, Any]:
        return self.live.body


def _source_text(source: Mapping[str, Any]) -> str:
    """A `_source` as stored: compact JSON. orjson is ten times faster than `json.dumps`; a document orjson cannot
    write as `json.loads` would read it back goes through `json`: an integer beyond 64 bits or a lone surrogate
    (orjson refuses them), or a `null` in its output, which may be a NaN or an infinity (orjson writes those as
    null; `json` keeps them, as this store always did)."""
    try:
        text = orjson.dumps(source)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(source, separators=(",", ":"))
    if b"null" in text:
        return json.dumps(source, separators=(",", ":"))
    return text.decode()


class Store:
    """One SQLite file. Thread-safe: each thread gets its own connection."""

    def __init__(self, path: str | Path, *, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT,
                 templates: Templates | None = None) -> None:
        """Open (with `read_only`: only an existing store, never changed) and check the store; `StoreDamaged` when
        it is not a sound SQLite database, `StoreError` when it cannot be opened. `busy_timeout`: how long a
        statement waits for a lock another connection holds before it fails (`StoreBusy`). `templates`: what a new
        index's mapping starts from (default: the shipped ones)."""
        self.path = Path(path)
        self.templates = shipped_templates() if templates is None else templates
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        try:
            if read_only and not self.path.is_file():
                raise StoreError(f"no embedded store at {self.path}")
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._check_header()
            db = self._connection()
            if read_only and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'alerts'").fetchone() is None:
                raise StoreError(f"{self.path} is an SQLite database but not a rule-runner store (no alerts table)")
            self._check_integrity(db)
            if not read_only:  # one transaction, every statement idempotent: made, or migrated, or left as it was
                db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + _MIGRATION + "INSERT OR REPLACE INTO meta VALUES "
                                 f"('schema_version', '{SCHEMA_VERSION}'); COMMIT;")
            self._indexed = not read_only or db.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)",
                tuple(_WINDOW_INDICES.values())).fetchone()[0] == len(_WINDOW_INDICES)
        except StoreError:
            self.close()
            raise
        except (OSError, sqlite3.Error) as err:
            self.close()
            raise self._error(err, f"cannot open the embedded store at {self.path}", opening=True) from None

    # -- integrity ---------------------------------------------------------------------------------------------------

    def _check_header(self) -> None:
        """A file that exists must start as an SQLite database does (an empty file is a new database)."""
        if not self.path.is_file():
            return
        with self.path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:
            raise StoreDamaged(
                f"{self.path} is not an SQLite database (it starts with {head[:8]!r}), so it is not an embedded store: "
                f"check embedded.path, or move the file away (mv {self.path} {self.path}.damaged) to start an empty "
                "store; if it was a store, restore it from a backup"
            )

    def _check_integrity(self, db: sqlite3.Connection) -> None:
        """SQLite's `quick_check` (every b-tree page, record and index entry; not index-to-table agreement): of the
        whole file, or read-only, of every table but `events`, the bulk of the file, which no read-only use reads."""
        if self.read_only:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                                   "name != 'events' ORDER BY name")]
            problems = [row[0] for table in tables for row in db.execute(f'PRAGMA quick_check("{table}")')]
            problems = [problem for problem in problems if problem != "ok"][:5]
        else:
            problems = [row[0] for row in db.execute("PRAGMA quick_check(5)") if row[0] != "ok"]
        if problems:
            raise self._damaged("SQLite's integrity check (quick_check) found: " + "; ".join(problems), opening=True)

    def _damaged(self, problem: str, *, opening: bool = False) -> StoreDamaged:
        refused = " It was not opened: nothing was read from it or written to it." if opening else ""
        return StoreDamaged(
            f"the embedded store {self.path} is damaged: {problem}.{refused} Restore it from a backup, or move it away "
            f"(mv {self.path} {self.path}.damaged) to start an empty store; `sqlite3 {self.path}.damaged .recover` "
            "may save part of its alerts and rule state"
        )

    def _error(self, err: BaseException, doing: str, *, opening: bool = False) -> StoreError:
        """`StoreDamaged` for SQLite's corruption errors, `StoreBusy` for a lock held too long, else a `StoreError`
        saying what failed."""
        name = getattr(err, "sqlite_errorname", None)
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            return self._damaged(str(err), opening=opening)
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            return StoreBusy(f"{doing}: {err}")
        return StoreError(f"{doing}: {err}")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads: a corruption met here is `StoreDamaged`; other SQLite errors stay what they are (busy is busy).
        SQLite keeps no checksums, so bytes overwritten inside a stored document pass its checks: they show as text
        that is not UTF-8 or not JSON when read."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            failure = self._error(err, "")
            if isinstance(failure, StoreDamaged):
                raise failure from None
            if str(err).startswith("Could not decode to UTF-8"):
                raise self._damaged(f"a stored value is not UTF-8 text ({str(err)[:120]}...)") from None
            if str(err) == "malformed JSON":  # json_extract of a document we stored
                raise self._damaged("a stored document is not readable JSON") from None
            raise
        except ValueError as err:  # json.loads of a document we stored: only damage makes it fail
            raise self._damaged(f"a stored document is not readable JSON ({err})") from None

    # -- connections -------------------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        # mode=ro: SQLite never writes the file (and cannot create it). Reading a WAL database still needs its -shm
        # index beside it, which SQLite cannot create in a read-only directory (SQLITE_READONLY_DIRECTORY, or
        # SQLITE_CANTOPEN when the directory is immutable). With no -wal file either, every committed transaction is
        # in the main file (the last writer checkpointed it, and nobody is writing: a writer keeps a -wal), so the
        # main file alone is read (`immutable=1`).
        uri = self.path.resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as err:
            db.close()
            if err.sqlite_errorname not in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN") or \
                    Path(f"{self.path}-wal").exists():
                raise
            db = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=self.busy_timeout, isolation_level=None)
        return db

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            if not self.read_only:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- events ------------------------------------------------------------------------------------------------------

    def ingest(
        self,
        documents: Iterable[Mapping[str, Any]],
        *,
        batch: int = INGEST_BATCH,
        on_bad: Callable[[Mapping[str, Any], str], None] | None = None,
    ) -> IngestResult:
        """Store `{"_index", "_id"?, "_source"}` documents, `batch` per transaction; an `_id` already present in its
        index is a duplicate and left as it was. A bad document raises `BadDocument` (what was committed before
        stays), or with `on_bad` is reported to it and skipped.

        It streams: memory holds one batch of serialised rows (about 80 MB for 50,000 Elastic Defend events), SQLite's
        page cache (up to about 100 MB while ingesting) and one mapping per index, whatever the input's size.
        Each document extends its index's mapping as it is read (a field already mapped costs one lookup); a batch
        writes the mappings it changed in its own transaction, so events and the fields they brought commit together.
        While ingesting, the connection runs with `synchronous=NORMAL` (the write-ahead log is synced at checkpoints,
        not at every commit), rarer checkpoints and a larger page cache (`_INGESTING`): a crash or power loss may lose
        the last committed batches, never the store's consistency, and ingesting the same input again restores them,
        because every document's id comes from the input (its `_id`, or a hash of its content) and a stored id is
        never added twice."""
        added = duplicates = 0
        pending: list[tuple[str, str, int, int | None, str]] = []
        mappings: dict[str, _IndexMapping] = {}
        db = self._connection()
        for setting in _INGESTING:
            db.execute(f"PRAGMA {setting}")
        try:
            for doc in documents:
                try:
                    row = self._row(doc)
                except BadDocument as err:
                    if on_bad is None:
                        raise
                    on_bad(doc, str(err))
                    continue
                pending.append(row)
                mapping = mappings.get(row[0])
                if mapping is None:
                    mapping = mappings[row[0]] = self._index_mapping(db, row[0])
                if mapping.live.extend(doc["_source"]):
                    mapping.changed = True
                if len(pending) >= batch:
                    a, d = self._insert(pending, mappings)
                    added, duplicates, pending = added + a, duplicates + d, []
            if pending:
                a, d = self._insert(pending, mappings)
                added, duplicates = added + a, duplicates + d
        finally:
            for setting in _SETTLED:
                db.execute(f"PRAGMA {setting}")
        return IngestResult(added, duplicates, str(self.path))

    @staticmethod
    def _row(doc: Mapping[str, Any]) -> tuple[str, str, int, int | None, str]:
        index, source = doc.get("_index"), doc.get("_source")
        if not isinstance(index, str) or not index:
            raise BadDocument("the document has no index name")
        if not isinstance(source, dict):
            raise BadDocument("_source must be a JSON object")
        ts = millis(_value(source, _TIMESTAMP))
        if ts is None:
            raise BadDocument("no readable @timestamp (an ISO 8601 date or epoch milliseconds)")
        doc_id = doc.get("_id")
        doc_id = str(doc_id) if doc_id not in (None, "") else document_id(source)
        ingested = millis(_value(source, _INGESTED))
        return index, doc_id, ts, ingested, _source_text(source)

    def _index_mapping(self, db: sqlite3.Connection, index: str) -> _IndexMapping:
        """The index's stored mapping, or the mapping its template gives a new index (to be written with its first
        batch even if its documents add nothing to it)."""
        try:
            with self._reading():
                stored = self._stored_mapping(db, index)
        except sqlite3.Error as err:
            raise self._error(err, f"cannot write events to {self.path}") from None
        return _IndexMapping(LiveMapping(self.templates.mapping_for(index) if stored is None else stored),
                             changed=stored is None)

    def _insert(self, rows: list[tuple[str, str, int, int | None, str]],
                mappings: dict[str, _IndexMapping]) -> tuple[int, int]:
        """One transaction: the rows, and the fields the documents read since the last one added to the mappings,
        merged into the stored mappings as they are now (another connection may have added fields meanwhile: its
        were there first and keep their types)."""
        try:
            with self._transaction() as db:
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)", rows)
                added = db.total_changes - before
                written = False
                for index, mapping in mappings.items():
                    if not mapping.changed:
                        continue
                    body = self._stored_mapping(db, index)
                    if body is None or merge_mapping(body, mapping.body):
                        db.execute("INSERT OR REPLACE INTO mappings VALUES (?, ?)",
                                   (index, json.dumps(mapping.body if body is None else body)))
                        written = True
                if written:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('mappings_version', ?)", (_token(),))
        except sqlite3.Error as err:
            raise self._error(err, f"cannot write events to {self.path}") from None
        for mapping in mappings.values():  # committed
            mapping.changed = False
        return added, len(rows) - added

    @staticmethod
    def _stored_mapping(db: sqlite3.Connection, index: str) -> dict[str, Any] | None:
        row = db.execute("SELECT body FROM mappings WHERE idx = ?", (index,)).fetchone()
        return json.loads(row[0]) if row else None

    def _mapping(self, db: sqlite3.Connection, index: str) -> dict[str, Any]:
        stored = self._stored_mapping(db, index)
        return self.templates.mapping_for(index) if stored is None else stored

    def mappings_version(self) -> str:
        """Changes whenever an index's mapping changes (in this process or another): a cache key."""
        with self._reading():
            row = self._connection().execute("SELECT value FROM meta WHERE key = 'mappings_version'").fetchone()
        return row[0] if row else ""

    def indices(self) -> list[str]:
        with self._reading():
            return [row[0] for row in self._connection().execute("SELECT idx FROM mappings ORDER BY idx")]

    def mappings(self, indices: Sequence[str]) -> dict[str, Any]:
        with self._reading():
            db = self._connection()
            return {index: self._mapping(db, index) for index in indices}

    def count(self, indices: Sequence[str] | None = None) -> int:
        with self._reading():
            db = self._connection()
            if indices is None:
                return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            marks = ",".join("?" * len(indices))
            return int(db.execute(f"SELECT COUNT(*) FROM events WHERE idx IN ({marks})", list(indices)).fetchone()[0])

    def events(
        self, indices: Sequence[str], *, ranges: Sequence[tuple[str, int | None, int | None]] = ()
    ) -> Generator[dict[str, Any]]:
        """The documents of `indices` in timestamp order (`ts`, then insertion). `ranges` narrows the read to
        documents whose `ts` or `ingested` column (epoch millis) lies in one of the given inclusive ranges; the caller
        applies the exact filter afterwards, so this only has to be a superset.

        One stream per index and range, each read through that index's time index in `(ts, rowid)` order, the `ts`
        ranges first: a `ts` range needs no sort at all. A range's stream leaves out the rows an earlier range gave,
        so every document comes once, and an `ingested` range (Kibana's timestamp override) sorts only the rows no
        `ts` range gave: events ingested in the window but stamped outside it, usually few. The streams are merged
        lazily."""
        if not indices:
            return
        for column, _, _ in ranges:
            if column not in _WINDOW_INDICES:
                raise ValueError(column)
        # a connection of its own: the caller may write (alerts) while it still reads events
        with self._reading():
            db = self._connect()
            try:
                streams = [db.execute(sql, args) for sql, args in self._window_queries(indices, ranges)]
                rows = streams[0] if len(streams) == 1 else heapq.merge(*streams)  # (ts, rowid) is unique
                for _, _, index, doc_id, source in rows:
                    yield {"_index": index, "_id": doc_id, "_source": read_json(source)}
            finally:
                db.close()

    def _window_queries(
        self, indices: Sequence[str], ranges: Sequence[tuple[str, int | None, int | None]]
    ) -> Iterator[tuple[str, list[Any]]]:
        """The SQL of `events`: for each index, one query per range (one for the whole index without ranges)."""
        for index in dict.fromkeys(indices):
            if not ranges:
                yield self._window_query("ts", ""), [index]
                continue
            earlier: list[tuple[str, list[Any]]] = []
            for column, low, high in sorted(ranges, key=lambda r: r[0] != "ts"):
                condition, args = _range_condition(column, low, high)
                excluded = "".join(f" AND NOT {sql}" for sql, _ in earlier)
                yield (self._window_query(column, f" AND {condition}{excluded}"),
                       [index, *args, *(arg for _, more in earlier for arg in more)])
                earlier.append((condition, args))

    def _window_query(self, column: str, where: str) -> str:
        using = f" INDEXED BY {_WINDOW_INDICES[column]}" if self._indexed else ""
        return f"SELECT ts, rowid, idx, id, source FROM events{using} WHERE idx = ?{where} ORDER BY ts, rowid"

    # -- alerts ------------------------------------------------------------------------------------------------------

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteResult:
        """Write alerts `(id, document)` in one transaction; an id already stored is a duplicate, not rewritten.
        When this returns, the created ones are committed; when it raises, none of them is."""
        created: list[str] = []
        duplicates: list[str] = []
        now = datetime.now(UTC).isoformat()
        try:
            with self._transaction() as db:
                for alert_id, source in alerts:
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            alert_id, index, source.get("kibana.alert.rule.rule_id"), source.get("kibana.alert.rule.uuid"),
                            now, int("kibana.alert.group.index" in source),  # sequence building blocks
                            json.dumps(source, separators=(",", ":")),
                        ),
                    )
                    (created if cursor.rowcount == 1 else duplicates).append(alert_id)
        except sqlite3.Error as err:
            raise self._error(err, f"cannot write alerts to {self.path}") from None
        return WriteResult(tuple(created), tuple(duplicates))

    def existing_alerts(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The stored ones among `ids`, each with the uuid of the execution that wrote it."""
        db = self._connection()
        found: dict[str, str | None] = {}
        with self._reading():
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                sql = (f"SELECT id, json_extract(source, '$.\"{EXECUTION_UUID}\"') FROM alerts "
                       f"WHERE id IN ({marks})")
                found.update((row[0], row[1]) for row in db.execute(sql, chunk))
        return found

    def alerts(self, *, rule_id: str | None = None, include_building_blocks: bool = True) -> Iterator[dict[str, Any]]:
        sql = "SELECT id, idx, source FROM alerts"
        clauses, args = [], []
        if rule_id is not None:
            clauses.append("rule_id = ?")
            args.append(rule_id)
        if not include_building_blocks:
            clauses.append("building_block = 0")
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY rowid"
        with self._reading():
            for alert_id, index, source in self._connection().execute(sql, args):
                yield {"_index": index, "_id": alert_id, "_source": json.loads(source)}

    # -- rule state and executions -----------------------------------------------------------------------------------

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        with self._reading():
            row = self._connection().execute("SELECT state FROM rule_state WHERE rule_id = ?", (rule_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        now = datetime.now(UTC).isoformat()
        try:
            with self._transaction() as db:
                db.execute("INSERT OR REPLACE INTO rule_state VALUES (?, ?, ?)", (rule_id, json.dumps(state), now))
        except sqlite3.Error as err:
            raise self._error(err, f"cannot write the state of rule {rule_id} to {self.path}") from None

    def save_group(self, states: Sequence[tuple[str, Mapping[str, Any]]], records: Sequence[Mapping[str, Any]]) -> None:
        """Rules' states, then execution records, in ONE transaction: all of them committed, or (raising) none.
        Rules run together write their pending states and their completions this way: one commit (one fsync with
        `synchronous=FULL`) for the group instead of one or two per rule."""
        now = datetime.now(UTC).isoformat()
        try:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO rule_state VALUES (?, ?, ?)",
                               [(rule_id, json.dumps(state), now) for rule_id, state in states])
                db.executemany("INSERT OR REPLACE INTO executions VALUES (?, ?, ?, ?, ?)",
                               [(r["uuid"], r["rule_id"], r["started_at"], r["status"], json.dumps(r)) for r in records])
        except sqlite3.Error as err:
            raise self._error(err, f"cannot write the state of {len(states)} rules and {len(records)} execution "
                                   f"records to {self.path}") from None

    def record_execution(self, record: Mapping[str, Any]) -> None:
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT OR REPLACE INTO executions VALUES (?, ?, ?, ?, ?)",
                    (record["uuid"], record["rule_id"], record["started_at"], record["status"], json.dumps(record)),
                )
        except sqlite3.Error as err:
            raise self._error(err, f"cannot record an execution in {self.path}") from None

    def executions(self, rule_id: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "SELECT record FROM executions", list[Any]()
        if rule_id is not None:
            sql += " WHERE rule_id = ?"
            args.append(rule_id)
        sql += " ORDER BY started DESC LIMIT ?"
        args.append(limit)
        with self._reading():
            return [json.loads(row[0]) for row in self._connection().execute(sql, args)]


def _range_condition(column: str, low: int | None, high: int | None) -> tuple[str, list[Any]]:
    """`column` (`ts` or `ingested`) in `[low, high]` as SQL that is never NULL (so `NOT` of it is exact)."""
    bounds, args = [f"{column} IS NOT NULL"], list[Any]()
    if low is not None:
        bounds.append(f"{column} >= ?")
        args.append(low)
    if high is not None:
        bounds.append(f"{column} <= ?")
        args.append(high)
    return "(" + " AND ".join(bounds) + ")", args


def _token() -> str:
    return base64.urlsafe_b64encode(os.urandom(12)).decode()


def _value(source: Mapping[str, Any], path: SourcePath) -> Any:
    raw = path.get(source)
    return None if raw is MISSING else raw


__all__ = ["BadDocument", "Store", "StoreBusy", "StoreDamaged", "StoreError", "document_id", "millis"]
