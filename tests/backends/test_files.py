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
from runner.eql import parse

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
    [answer] = events.eql_search_many([(request, parse(SEED_QUERY))])
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
    [batched] = events.eql_search_many([(request, parse(SEED_QUERY))])
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
