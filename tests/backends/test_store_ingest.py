"""The embedded store's ingest streams: batches commit as they fill, the connection runs with `synchronous=NORMAL`
only while ingesting, every index's mapping is extended document by document (first come, first kept, as
Elasticsearch's dynamic mapping) and merged with what another connection added meanwhile, and documents are stored
as `json` would read them back, whichever serialiser wrote them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.backends.embedded import Store
from runner.backends.embedded.store import millis
from runner.engine import date_range, dynamic_mapping

INDEX = "logs-test"


def doc(i: int, **source: Any) -> dict[str, Any]:
    return {"_index": INDEX, "_id": f"d{i}", "_source": {"@timestamp": f"2026-01-15T10:00:{i % 60:02d}.000Z", **source}}


def synchronous(store: Store) -> int:
    """The `synchronous` level of the store's connection in this thread: 1 NORMAL, 2 FULL."""
    return int(store._connection().execute("PRAGMA synchronous").fetchone()[0])


def cache_kib(store: Store) -> int:
    """The page cache of the store's connection in this thread, in KiB (SQLite's negative `cache_size`)."""
    return -int(store._connection().execute("PRAGMA cache_size").fetchone()[0])


def test_batches_commit_as_they_fill_and_sync_is_normal_only_while_ingesting(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    seen: list[tuple[int, int, int]] = []

    def documents() -> Iterator[dict[str, Any]]:
        for i in range(7):
            # what another connection sees committed, and this connection's sync level and page cache, as document i
            # is asked for
            seen.append((Store(tmp_path / "store.db").count(), synchronous(store), cache_kib(store)))
            yield doc(i, n=i)

    result = store.ingest(documents(), batch=3)
    assert (result.added, result.duplicates) == (7, 0)
    assert [count for count, _, _ in seen] == [0, 0, 0, 3, 3, 3, 6]  # each full batch committed before the next is read
    assert {level for _, level, _ in seen} == {1}  # NORMAL while ingesting
    assert {cache for _, _, cache in seen} == {100_000}  # a page cache that holds the pages of a batch
    assert synchronous(store) == 2  # FULL again after, with SQLite's default checkpoints and page cache
    assert store._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert cache_kib(store) == 2000


def test_sync_is_full_again_after_a_failed_ingest(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")

    def documents() -> Iterator[dict[str, Any]]:
        yield doc(1)
        raise RuntimeError("the input failed")

    with pytest.raises(RuntimeError):
        store.ingest(documents())
    assert synchronous(store) == 2
    assert cache_kib(store) == 2000


def test_the_mapping_across_batches_is_the_mapping_of_the_whole_stream(tmp_path: Path) -> None:
    docs = [doc(0, a=1), doc(1, b="x"), doc(2, a="text", c={"d": 1.5}), doc(3, c={"d": "x", "e": True}),
            doc(4, **{"f.g": 7}), doc(5, f={"g": "x", "h": [None, "y"]})]
    store = Store(tmp_path / "store.db")
    store.ingest(docs, batch=2)
    expected = dynamic_mapping((d["_source"] for d in docs), base=Store(tmp_path / "fresh.db").mappings([INDEX])[INDEX])
    assert store.mappings([INDEX])[INDEX] == expected
    props = expected["properties"]
    assert props["a"]["type"] == "long" and props["c"]["properties"]["d"]["type"] == "float"  # the first wins


def test_a_new_index_is_listed_even_when_its_documents_add_no_field(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    store.ingest([doc(1)])
    assert store.indices() == [INDEX]


def test_fields_another_connection_mapped_meanwhile_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store, other = Store(path), Store(path)

    def documents() -> Iterator[dict[str, Any]]:
        yield doc(1, mine={"first": 1})
        yield doc(2, mine={"second": "x"})
        # between this ingest's batches, another process maps `theirs.n` as a long and `both` as a keyword
        other.ingest([doc(50, theirs={"n": 5}, both="a string first")])
        yield doc(3, both=12, mine={"third": True})

    store.ingest(documents(), batch=2)
    props = Store(path).mappings([INDEX])[INDEX]["properties"]
    assert props["theirs"]["properties"]["n"]["type"] == "long"
    assert props["both"]["type"] == "text"  # a string maps as text (+ keyword): it was there first
    assert set(props["mine"]["properties"]) == {"first", "second", "third"}


def test_documents_are_stored_as_json_reads_them_back(tmp_path: Path) -> None:
    sources = [
        {"@timestamp": "2026-01-15T10:00:00Z", "text": "naïve — 日本 \u2028", "f": 0.1, "e": 1e16, "small": 1e-7},
        {"@timestamp": "2026-01-15T10:00:01Z", "big": 2**70, "neg": -(2**64)},  # beyond what orjson writes
        {"@timestamp": "2026-01-15T10:00:02Z", "nan": math.nan, "inf": math.inf, "none": None},  # orjson: null
        {"@timestamp": "2026-01-15T10:00:03Z", "surrogate": "\ud800"},  # orjson refuses a lone surrogate
    ]
    store = Store(tmp_path / "store.db")
    store.ingest([{"_index": INDEX, "_id": str(i), "_source": s} for i, s in enumerate(sources)])
    stored = {d["_id"]: d["_source"] for d in store.events([INDEX])}
    for i, source in enumerate(sources):
        assert json.dumps(stored[str(i)], sort_keys=True) == json.dumps(source, sort_keys=True)
    assert math.isnan(stored["2"]["nan"]) and stored["2"]["inf"] == math.inf and stored["1"]["big"] == 2**70


@pytest.mark.parametrize("value", [
    "2026-01-15T10:00:01.123Z", "2026-01-15T10:00:01.123Z", "1969-12-31T23:59:59.999Z", "2026-01-15T10:00:01Z",
    "2026-01-15T10:00:01.123456789Z", "2026-01-15T10:00:01.1Z", "2026-01-15T10:00:01.123+02:00",
    "2026-01-15T10:00:01.12aZ", "2026-02-30T10:00:01.123Z", "2026-01-15 10:00:01.123Z", "2026-01-15",
    "2026-01-15T10:00", "1768471201123", 1768471201123, 1768471201123.5, -5, True, None, "", "now",
    ["2026-01-15T10:00:01.123Z", "2026-01-16T10:00:01.123Z"], [None, "2026-01-15T10:00:01.999Z"], [], {"a": 1},
])
def test_timestamp_columns_are_the_start_of_the_dates_range(value: Any) -> None:
    """The `ts`/`ingested` columns' fast path for the usual timestamp shape agrees with the general date parser
    (the first of several values; the start of the range a date names, in epoch millis)."""
    first = next((v for v in value if v is not None), None) if isinstance(value, list) else value
    interval = None if first is None or isinstance(first, bool) else date_range(first)
    assert millis(value) == (None if interval is None else interval[0] // 1_000_000)
    assert millis(value) == millis(value)  # the second time (its second remembered) the same
