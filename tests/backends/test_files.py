"""`FileEvents` searches documents streamed from files as the embedded store searches the same files ingested: the
mapping is what bulk-indexing the files in order would make, plain documents get ingest's ids, and a file out of
order beyond the reorder buffer gives the same answers (sorted on disk)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from runner.backends import EqlRequest, FileEvents, MemoryEvents
from runner.backends.embedded.store import document_id

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
SEED_QUERY = ('sequence by host.id with maxspan=5s [process where event.type == "start" and process.parent.name == "apt"'
              ' and process.args == "-c"] by process.entity_id [network where true] by process.parent.entity_id')


def source(docs: list[dict[str, Any]]) -> Callable[[], Iterator[Mapping[str, Any]]]:
    return lambda: iter([dict(d) for d in docs])


def samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


def test_the_mapping_is_decided_in_file_order_not_time_order() -> None:
    later_string = {"_index": "i", "_id": "a", "_source": {"@timestamp": "2026-01-01T00:00:02Z", "x": "seven"}}
    earlier_number = {"_index": "i", "_id": "b", "_source": {"@timestamp": "2026-01-01T00:00:01Z", "x": 7}}
    events = FileEvents([source([later_string, earlier_number])])
    response = events.eql_search(EqlRequest(("i",), {"query": 'any where x == "7"'}))
    assert events.mapping("i").fields["x"].type == "text"  # a string first READ decides (time order: a long)
    assert [hit["_id"] for hit in response["hits"]["events"]] == ["b"]
    assert events.count == 2


def test_plain_documents_get_the_ids_ingest_gives_and_sequences_alert() -> None:
    hits = samples()
    plain = [{"_index": hit["_index"], "_id": None, "_source": hit["_source"]} for hit in hits]
    events = FileEvents([source(plain)])
    request = EqlRequest(("*",), {"query": SEED_QUERY, "size": 100})
    [answer] = events.search_many([request])
    assert isinstance(answer, dict)
    sequences = answer["hits"]["sequences"]
    assert sequences
    for sequence in sequences:
        for event in sequence["events"]:
            assert event["_id"] == document_id(event["_source"])
    with_ids = FileEvents([source(hits)]).eql_search(request)
    assert len(with_ids["hits"]["sequences"]) == len(sequences)


def test_out_of_order_beyond_the_buffer_gives_the_same_answers(tmp_path: Path) -> None:
    hits = samples()
    shuffled = list(hits)
    random.Random(5).shuffle(shuffled)
    request = EqlRequest(("*",), {"query": SEED_QUERY, "size": 100})
    reference = MemoryEvents(hits).eql_search(request)
    events = FileEvents([source(shuffled[:7]), source(shuffled[7:])], buffer=2, spill_dir=tmp_path)
    [batched] = events.search_many([request])
    single = events.eql_search(request)
    for answer in (batched, single):
        assert isinstance(answer, dict)
        assert answer["hits"] == reference["hits"]
    assert events.count == len(hits)
    assert list(tmp_path.iterdir()) == []


def test_each_search_is_a_new_pass_and_nothing_is_kept() -> None:
    opened = []
    hits = samples()

    def counted() -> Iterator[Mapping[str, Any]]:
        opened.append(1)
        yield from (dict(d) for d in hits)

    events = FileEvents([counted])
    request = EqlRequest(("*",), {"query": "network where true"})
    first = events.eql_search(request)
    second = events.eql_search(request)
    assert first["hits"] == second["hits"]
    assert len(opened) == 3  # the mapping pass, then one pass per search


def _reference(docs: list[dict[str, Any]], request: EqlRequest) -> dict[str, Any]:
    """What the same documents give held in memory, mapped as a whole before the search (the old way)."""
    return MemoryEvents(docs).eql_search(request)


def test_a_batch_is_answered_from_one_pass_over_mappings_growing_as_it_reads() -> None:
    opened = []
    hits = samples()

    def counted() -> Iterator[Mapping[str, Any]]:
        opened.append(1)
        yield from (dict(d) for d in hits)

    queries = [SEED_QUERY, "network where true", 'process where process.name == "apt"',
               "sample by host.id [process where true] [network where true]"]
    requests = [EqlRequest(("*",), {"query": q, "size": 100}) for q in queries]
    events = FileEvents([counted])
    answers = events.search_many(requests)
    assert len(opened) == 1  # no pass that only maps: one pass for the whole batch
    for request, answer in zip(requests, answers, strict=True):
        assert isinstance(answer, dict)
        assert answer["hits"] == _reference(hits, request)["hits"]


def test_indices_first_seen_late_are_resolved_against_each_requests_patterns() -> None:
    def doc(index: str, number: int, **fields: Any) -> dict[str, Any]:
        return {"_index": index, "_id": f"{index}-{number}",
                "_source": {"@timestamp": f"2026-01-01T00:{number // 60000:02d}:{number // 1000 % 60:02d}.{number % 1000:03d}Z",
                            "event": {"category": "process"}, **fields}}

    early = 5000  # more than the engine's lookahead: logs-b and its field appear after the searches were planned
    docs = [doc("logs-a", s) for s in range(early)] + [doc("logs-b", s, late={"field": "x"}) for s in range(early, early + 4)]
    items = [
        (EqlRequest(("logs-b",), {"query": 'process where late.field == "x"'}), 'process where late.field == "x"'),
        (EqlRequest(("logs-*",), {"query": "process where true", "size": 100}), "process where true"),
        (EqlRequest(("logs-a",), {"query": 'process where late.field == "x"'}), 'process where late.field == "x"'),
        (EqlRequest(("other-*",), {"query": "process where true"}), "process where true"),
        (EqlRequest(("logs-*",), {"query": "process where ?late.field == null", "size": 100}),
         "process where ?late.field == null"),
    ]
    events = FileEvents([source(docs)], buffer=2)  # read ahead of the search by 2 documents only
    answers = events.search_many([request for request, _query in items])
    assert events.passes == 2  # the batch, then the search answered Remapped alone (its optional field mapped late)
    by_lookahead = FileEvents([source(docs)])  # the same with the mappings final before the batch
    by_lookahead.indices()
    final = by_lookahead.search_many([request for request, _query in items])
    first, everything, unknown, no_index, optional = answers
    assert isinstance(first, dict) and [h["_id"] for h in first["hits"]["events"]] == [f"logs-b-{s}" for s in range(early, early + 4)]
    assert isinstance(everything, dict) and len(everything["hits"]["events"]) == 100
    assert not isinstance(unknown, dict) and "Unknown column [late.field]" in str(unknown)  # logs-a never maps it
    assert not isinstance(no_index, dict) and "no such index [other-*]" in str(no_index)
    assert isinstance(optional, dict) and [h["_id"] for h in optional["hits"]["events"]] == [f"logs-a-{s}" for s in range(early - 100, early)]
    for streamed, mapped_first in zip(answers, final, strict=True):
        if isinstance(streamed, dict):
            assert isinstance(mapped_first, dict) and streamed["hits"] == mapped_first["hits"]
        else:
            assert str(streamed) == str(mapped_first)


def test_several_files_are_mapped_file_after_file_whatever_the_buffer() -> None:
    """The mapping of several files is what indexing them one after the other makes (file 1's first document with
    a field decides), not what their interleaving by time would: the same answer for any reorder buffer."""
    def doc(second: int, **fields: Any) -> dict[str, Any]:
        return {"_index": "i", "_id": str(second),
                "_source": {"@timestamp": f"2026-01-01T00:00:0{second}Z", "event": {"category": "process"}, **fields}}

    first = [doc(2), doc(3), doc(4, x=10)]
    second = [doc(1, x="9")]
    request = EqlRequest(("i",), {"query": "process where x > 9"})
    for buffer in (1, 10_000):
        events = FileEvents([source(first), source(second)], buffer=buffer)
        [answer] = events.search_many([request])
        assert events.mapping("i").fields["x"].type == "long", buffer
        assert isinstance(answer, dict) and [h["_id"] for h in answer["hits"]["events"]] == ["4"], buffer
