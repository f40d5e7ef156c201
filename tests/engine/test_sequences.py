"""Sequences: the state machine, maxspan, until, runs, missing events, join keys, input order and memory."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from runner.engine import OrderingError, search
from runner.engine.search import REORDER_WINDOW


def event(i: int, category: str, ms: int | None = None, **fields: Any) -> dict[str, Any]:
    millis = ms if ms is not None else i * 1000
    source = {"@timestamp": millis, "event": {"category": category}, "seq": i, **fields}
    return {"_index": "logs", "_id": str(i), "_source": source}


def run(documents: Any, query: str, **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("size", 100)
    sequences: list[dict[str, Any]] = search(documents, query, tiebreaker_field="seq", **kwargs)["hits"]["sequences"]
    return sequences


def ids(sequences: list[dict[str, Any]]) -> list[list[str]]:
    return [[e["_id"] for e in s["events"]] for s in sequences]


def test_newer_partial_sequence_replaces_older() -> None:
    documents = [event(1, "a", k="x"), event(2, "a", k="x"), event(3, "b", k="x"), event(4, "b", k="x")]
    assert ids(run(documents, "sequence by k [a where true] [b where true]")) == [["2", "3"]]


def test_an_event_can_end_one_sequence_and_start_the_next() -> None:
    documents = [event(i, "p") for i in range(1, 5)]
    found = run(documents, "sequence [p where seq < 5] [p where seq < 5]")
    assert ids(found) == [["1", "2"], ["2", "3"], ["3", "4"]]
    assert all("join_keys" not in s for s in found)


def test_maxspan_is_inclusive_and_measured_from_the_first_event() -> None:
    documents = [event(1, "a", ms=0), event(2, "b", ms=500), event(3, "c", ms=1000), event(4, "a", ms=5000), event(5, "b", ms=5001), event(6, "c", ms=6002)]
    assert ids(run(documents, "sequence with maxspan=1s [a where true] [b where true] [c where true]")) == [["1", "2", "3"]]
    assert ids(run(documents, "sequence with maxspan=999ms [a where true] [b where true] [c where true]")) == []


def test_until_ends_open_sequences_of_its_key() -> None:
    documents = [event(1, "a", k=1), event(2, "a", k=2), event(3, "stop", k=1), event(4, "b", k=1), event(5, "b", k=2)]
    query = "sequence [a where true] by k [b where true] by k until [stop where true] by k"
    found = run(documents, query)
    assert ids(found) == [["2", "5"]]
    assert found[0]["join_keys"] == [2]


def test_runs_repeat_a_stage() -> None:
    documents = [event(i, "fail", user="root") for i in range(1, 4)] + [event(4, "ok", user="root")]
    query = "sequence by user [fail where true] with runs=3 [ok where true]"
    assert ids(run(documents, query)) == [["1", "2", "3", "4"]]
    assert run(documents, "sequence by user [fail where true] with runs=4 [ok where true]") == []


def test_missing_events() -> None:
    documents = [event(1, "login", ms=0, u="a"), event(2, "login", ms=100, u="b"), event(3, "logout", ms=200, u="b"), event(4, "login", ms=5000, u="c")]
    query = "sequence by u with maxspan=1s [login where true] ![logout where true]"
    found = run(documents, query)
    assert ids(found)[0][0] == "1"
    assert [s["join_keys"] for s in found] == [["a"], ["c"]]
    assert found[0]["events"][1] == {"_index": "", "_id": "", "_source": {}, "missing": True}


def test_join_keys_keep_their_json_types() -> None:
    documents = [event(1, "a", n=7, b=True, s="x", ts="2026-01-01T00:00:00Z"), event(2, "b", n=7, b=True, s="x", ts="2026-01-01T00:00:00Z")]
    found = run(documents, "sequence by n, b, s, ts [a where true] [b where true]")
    assert found[0]["join_keys"] == [7, True, "x", "2026-01-01T00:00:00.000Z"]


def test_multi_valued_join_keys_expand() -> None:
    documents = [event(1, "a", tags=["t1", "t2"]), event(2, "b", tags=["t2", "t1", "t3"])]
    found = run(documents, "sequence by tags [a where true] [b where true]")
    assert [s["join_keys"] for s in found] == [["t1"], ["t2"]]


def test_required_null_key_never_joins_but_optional_does() -> None:
    documents = [event(1, "a"), event(2, "b")]
    assert run(documents, "sequence by k [a where true] [b where true]") == []
    assert [s["join_keys"] for s in run(documents, "sequence by ?k [a where true] [b where true]")] == [[None]]


def test_results_are_ordered_by_last_event_and_limited() -> None:
    documents = [event(1, "a", k=1), event(2, "a", k=2), event(3, "b", k=2), event(4, "b", k=1), event(5, "a", k=3), event(6, "b", k=3)]
    query = "sequence [a where true] by k [b where true] by k"
    assert ids(run(documents, query)) == [["2", "3"], ["1", "4"], ["5", "6"]]
    assert ids(run(documents, query, size=2, result_position="head")) == [["2", "3"], ["1", "4"]]
    assert ids(run(documents, query, size=2, result_position="tail")) == [["1", "4"], ["5", "6"]]
    assert ids(run(documents, query + " | head 2 | tail 1")) == [["1", "4"]]
    assert ids(run(documents, query + " | tail 2 | head 1", result_position="head")) == [["1", "4"]]


def _shuffled(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    copy = list(documents)
    random.Random(7).shuffle(copy)
    return copy


class _Reiterable:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.passes = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.passes += 1
        return iter(self.documents)


QUERY = "sequence by k with maxspan=20s [a where true] [b where true] ![c where true] [a where true]"


def _random_events(count: int) -> list[dict[str, Any]]:
    rng = random.Random(1)
    return [event(i, rng.choice("abc"), k=rng.randrange(5)) for i in range(1, count)]


def test_disorder_within_the_reorder_window_is_absorbed() -> None:
    documents = _random_events(400)
    expected = run(documents, QUERY)
    assert expected
    assert run(_shuffled(documents), QUERY) == expected
    assert run(iter(_shuffled(documents)), QUERY) == expected
    source = _Reiterable(_shuffled(documents))
    assert run(source, QUERY) == expected
    assert source.passes == 1


def test_wider_disorder_sorts_a_collection_and_refuses_a_one_shot_iterator() -> None:
    documents = _random_events(REORDER_WINDOW * 3)
    expected = run(documents, QUERY)
    assert expected
    assert run(_shuffled(documents), QUERY) == expected
    source = _Reiterable(_shuffled(documents))
    assert run(source, QUERY) == expected
    assert source.passes == 2
    with pytest.raises(OrderingError, match="sequences need documents sorted by timestamp"):
        run(iter(_shuffled(documents)), QUERY)


def test_sequence_event_without_timestamp_is_an_error() -> None:
    documents = [event(1, "a"), {"_index": "logs", "_id": "x", "_source": {"event": {"category": "b"}}}]
    with pytest.raises(OrderingError, match=r"Expected timestamp field \[@timestamp\]"):
        run(documents, "sequence [a where true] [b where true]")


def _stream(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {
            "_index": "logs",
            "_id": str(i),
            "_source": {
                "@timestamp": i * 10,
                "event": {"category": "process" if i % 3 else "network"},
                "host": {"id": f"h{((i + 1) // 3) % 50}"},
                "process": {"entity_id": f"p{i}", "parent": {"entity_id": f"p{i - 1}"}},
            },
        }


def _peak(count: int) -> int:
    query = (
        "sequence by host.id with maxspan=1s [process where true] by process.entity_id "
        "[network where true] by process.parent.entity_id"
    )
    tracemalloc.start()
    try:
        found = search(_stream(count), query, size=10)["hits"]["sequences"]  # a one-shot generator
        assert len(found) == 10
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_open_sequences_not_by_events() -> None:
    small, large = _peak(20_000), _peak(80_000)
    assert large < small * 1.3, (small, large)


def test_a_matcher_fed_rarely_holds_only_the_sequences_open_within_its_maxspan() -> None:
    """Pending sequences older than maxspan are swept when the pending ones double, not only every 4,096 events
    fed: a stage that opens a sequence per new key (a process per event, say) stays near what is open within
    maxspan, whatever the length of the stream."""
    from runner.engine.limits import Limit
    from runner.engine.ordering import Ordinal
    from runner.engine.sequences import SequenceMatcher

    matcher = SequenceMatcher([False, False], 1_000_000_000, [Limit("tail", 10)])  # maxspan=1s
    largest = 0
    for number in range(20_000):  # a new key every 10 ms, never completed: 100 open within any second
        key = (f"process-{number}",)
        matcher.feed({"n": number}, Ordinal(number * 10_000_000, (), number), [[key], None], None)
        largest = max(largest, len(matcher.pending))
    assert largest <= 512
    assert len(matcher.finish()) == 0
