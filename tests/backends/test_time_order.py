"""`in_time_order` gives exactly a stable sort by timestamp of the concatenated sources, in bounded memory: a reorder
buffer for local disorder, `Disordered` beyond it, an external sort (runs on disk, merged) when asked; its temporary
files never outlive the iteration."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.backends.embedded.time_order import Disordered, document_time, in_time_order

BASE = 1_764_374_400_000  # 2025-11-29T00:00:00Z in epoch milliseconds


def doc(number: int, millis: int, **extra: Any) -> dict[str, Any]:
    return {"_index": "i", "_id": str(number), "_source": {"@timestamp": BASE + millis, "n": number, **extra}}


def source(docs: list[dict[str, Any]]) -> Callable[[], Iterator[Mapping[str, Any]]]:
    return lambda: iter(docs)


def stable_sorted(*files: list[dict[str, Any]]) -> list[str]:
    """The reference: a stable sort by timestamp of the files one after the other."""
    return [d["_id"] for d in sorted((d for file in files for d in file), key=document_time)]


def ids(documents: Iterator[Mapping[str, Any]]) -> list[str]:
    return [d["_id"] for d in documents]


def shuffled_locally(count: int, reach: int, seed: int) -> list[dict[str, Any]]:
    """Documents in time order, each moved by fewer than `reach` places; some timestamps shared."""
    docs = [doc(i, i // 3) for i in range(count)]
    rng = random.Random(seed)
    for start in range(0, count, reach):
        block = docs[start:start + reach]
        rng.shuffle(block)
        docs[start:start + reach] = block
    return docs


def test_an_ordered_source_passes_through() -> None:
    docs = [doc(i, i // 2) for i in range(1000)]
    assert ids(in_time_order([source(docs)], buffer=10)) == [d["_id"] for d in docs]


def test_local_disorder_within_the_buffer_is_sorted() -> None:
    docs = shuffled_locally(5000, reach=50, seed=1)
    assert ids(in_time_order([source(docs)], buffer=100)) == stable_sorted(docs)


def test_documents_without_a_timestamp_come_first_as_in_a_sort() -> None:
    docs = [doc(0, 5), {"_index": "i", "_id": "none", "_source": {"n": 1}}, doc(2, 1),
            {"_index": "i", "_id": "two", "_source": {"@timestamp": ["a", "b"]}}]
    assert ids(in_time_order([source(docs)], buffer=10)) == stable_sorted(docs) == ["none", "two", "2", "0"]


def test_disorder_beyond_the_buffer_is_disordered_then_sorted_on_disk(tmp_path: Path) -> None:
    rng = random.Random(7)
    docs = [doc(i, i // 4) for i in range(3000)]
    rng.shuffle(docs)
    with pytest.raises(Disordered) as raised:
        list(in_time_order([source(docs)], buffer=100, spill_dir=tmp_path))
    assert raised.value.source == 0
    told: list[int] = []
    assert ids(in_time_order([source(docs)], buffer=100, spill_dir=tmp_path, external={0},
                             on_sorting=told.append)) == stable_sorted(docs)
    assert told == [0]
    assert list(tmp_path.iterdir()) == []


def test_several_sources_merge_by_time_and_ties_keep_file_order(tmp_path: Path) -> None:
    first = [doc(i, i // 5) for i in range(600)]
    second = shuffled_locally(400, reach=20, seed=3)
    for d in second:
        d["_id"] = "b" + d["_id"]
    third = [doc(i, 1000 - i) for i in range(300)]  # reversed: needs the external sort
    for d in third:
        d["_id"] = "c" + d["_id"]
    expected = stable_sorted(first, second, third)
    with pytest.raises(Disordered) as raised:
        list(in_time_order([source(first), source(second), source(third)], buffer=50))
    assert raised.value.source == 2
    merged = ids(in_time_order([source(first), source(second), source(third)], buffer=50, external={2},
                               spill_dir=tmp_path))
    assert merged == expected
    # the same timestamps in two files: the first file's documents first, each file in its order
    a = [doc(i, 0) for i in range(3)]
    b = [{**doc(i, 0), "_id": f"b{i}"} for i in range(3)]
    assert ids(in_time_order([source(b), source(a)], buffer=2)) == ["b0", "b1", "b2", "0", "1", "2"]


def test_the_spill_is_an_exact_round_trip(tmp_path: Path) -> None:
    big = 2**80 + 1
    docs = [doc(i, 100 - i, big=big, nan=math.nan, nested={"x": [1, None, "é"]}) for i in range(100)]
    out = list(in_time_order([source(docs)], buffer=7, external={0}, spill_dir=tmp_path))
    assert [d["_id"] for d in out] == stable_sorted(docs)
    assert all(d["_source"]["big"] == big and math.isnan(d["_source"]["nan"]) for d in out)
    assert out[0]["_source"]["nested"] == {"x": [1, None, "é"]}


def test_temporary_files_go_after_a_normal_end_a_close_and_an_exception(tmp_path: Path) -> None:
    docs = [doc(i, 1000 - i) for i in range(500)]
    iterator = in_time_order([source(docs)], buffer=50, external={0}, spill_dir=tmp_path)
    next(iterator)
    # 10 runs of 50, merged two at a time (50 documents make no more than two records of the merge) into longer
    # runs on disk, each merged run's file removed: two files remain for the last merge
    assert len(list(next(tmp_path.iterdir()).iterdir())) == 2
    assert [d["_id"] for d in iterator] == stable_sorted(docs)[1:]
    assert list(tmp_path.iterdir()) == []
    iterator = in_time_order([source(docs)], buffer=50, external={0}, spill_dir=tmp_path)
    next(iterator)
    iterator.close()
    assert list(tmp_path.iterdir()) == []

    def failing() -> Iterator[Mapping[str, Any]]:
        yield from docs
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="went away"):
        list(in_time_order([failing], buffer=50, external={0}, spill_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []

    iterator = in_time_order([source(docs)], buffer=50, external={0}, spill_dir=tmp_path)
    with pytest.raises(RuntimeError):
        for _ in iterator:
            raise RuntimeError("the consumer failed")
    del iterator  # dropped: the generator is closed
    assert list(tmp_path.iterdir()) == []


def test_a_source_that_fits_in_the_buffer_is_sorted_without_files(tmp_path: Path) -> None:
    docs = [doc(i, 100 - i) for i in range(40)]
    assert ids(in_time_order([source(docs)], buffer=50, external={0}, spill_dir=tmp_path)) == stable_sorted(docs)
    assert list(tmp_path.iterdir()) == []


def test_the_usual_timestamp_shape_reads_as_the_general_date_parser_reads_it() -> None:
    from runner.engine import date_range

    values = ["2026-01-01T00:00:00.000Z", "2026-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z", "2026-01-01T00:00:00Z",
              "2026-01-01T00:00:00.123456789Z", "2026-01-01T01:00:00.000+01:00", "2026-01-01", "2026-02-30T00:00:00.000Z",
              "not a date", 1767225600000, "1767225600000", ["2026-01-01T00:00:00.000Z"], [], True, None]
    for value in values:
        interval = date_range(value) if value is not None and not isinstance(value, (bool, list)) else None
        if isinstance(value, list) and len(value) == 1:
            interval = date_range(value[0])
        expected = interval[0] if interval is not None else -1
        assert document_time({"_source": {"@timestamp": value}}) == expected, value


def test_memory_is_one_buffer_whatever_the_number_of_files() -> None:
    """Sources are merged as they come and reordered by one buffer: the documents read but not yet let out stay
    within the buffer plus one per source, for 1 file or 40."""
    def counted(number: int, held: list[int]) -> Callable[[], Iterator[Mapping[str, Any]]]:
        def read() -> Iterator[Mapping[str, Any]]:
            for i in range(300):
                held[0] += 1  # read, not yet let out
                held[1] = max(held[1], held[0])
                yield doc(number * 1000 + i, i * 40 + number)
        return read

    for files in (1, 40):
        held = [0, 0]  # now, largest
        count = 0
        for _doc in in_time_order([counted(n, held) for n in range(files)], buffer=50):
            held[0] -= 1
            count += 1
        assert count == 300 * files
        assert held[1] <= 50 + files + 1, (files, held[1])


def test_a_disk_that_refuses_the_runs_is_a_clear_error(tmp_path: Path) -> None:
    from runner.backends.embedded.time_order import SortFailed

    missing = tmp_path / "no such directory"
    files = [[doc(i, 100 - i) for i in range(10)]]
    with pytest.raises(SortFailed, match=r"cannot sort a file on disk in .*no such directory.*TMPDIR"):
        list(in_time_order([source(files[0])], buffer=2, spill_dir=missing, external={0}))
