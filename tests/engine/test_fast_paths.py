"""The engine's inlined per-document loop against the reference loop, on many random streams, through `search()`.

An event query runs the loop over documents inlined (`search._run_events`); sequences and samples read through the
reference loop (`search._documents`). Both must see the same documents with the same checks: on random streams,
some with a malformed document somewhere, an event query, a sequence and a sample fail with the same error at the
same document or all answer; and the events an event query answers are the documents the other two read.
"""

from __future__ import annotations

import random
from typing import Any

from runner.engine import DocumentError, search

EVENT = 'process where host.name == "web-1"'
SEQUENCE = 'sequence [process where host.name == "web-1"] [process where host.name == "web-1"]'
SAMPLE = 'sample by host.name [process where host.name == "web-1"] [process where host.name == "web-1"]'


def _malformed(rng: random.Random) -> Any:
    return rng.choice([
        None, "text", 3, [], {"_id": "x", "_source": {}}, {"_index": "logs", "_id": "x"},
        {"_index": "logs", "_id": "x", "_source": "not an object"}, {"_index": "logs", "_id": "x", "_source": [1]},
    ])


def _stream(rng: random.Random) -> list[Any]:
    documents: list[Any] = []
    for i in range(rng.randint(0, 30)):
        source: dict[str, Any] = {"@timestamp": f"2026-01-01T00:00:{i:02d}Z",
                                  "event": {"category": rng.choice(["process", "network"])},
                                  "host": {"name": rng.choice(["web-1", "web-2", ["web-1", "web-2"]])}}
        documents.append({"_index": rng.choice(["logs-a", "logs-b"]), "_id": f"d{i}", "_source": source})
    if documents and rng.random() < 0.4:
        documents[rng.randrange(len(documents))] = _malformed(rng)
    return documents


def _outcome(documents: list[Any], query: str) -> tuple[str, Any]:
    try:
        return "answer", search(documents, query, size=1000)["hits"]
    except DocumentError as error:
        return "error", str(error)


def test_the_inlined_document_loop_is_the_reference_loop() -> None:
    errors = 0
    for seed in range(400):
        documents = _stream(random.Random(seed))
        event, sequence, sample = (_outcome(documents, q) for q in (EVENT, SEQUENCE, SAMPLE))
        assert event[0] == sequence[0] == sample[0], seed
        if event[0] == "error":
            errors += 1
            assert event[1] == sequence[1] == sample[1], seed
            continue
        matching = {hit["_id"] for hit in event[1]["events"]}
        in_sequences = {e["_id"] for s in sequence[1]["sequences"] for e in s["events"]}
        in_samples = {e["_id"] for s in sample[1]["sequences"] for e in s["events"]}
        assert in_sequences <= matching and in_samples <= matching, seed
        if len(matching) >= 2:
            assert in_sequences, seed  # two matching events always make a sequence of these two stages
    assert 50 < errors < 350  # both kinds of stream were tried
