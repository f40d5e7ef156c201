"""`runner.engine.search`: the request it accepts, the response shape it answers with, and its errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from runner.engine import DocumentError, SearchRequestError, dynamic_mapping, search
from runner.eql import EqlSyntaxError, EqlVerificationError, parse

DOCS = [
    {"_index": "logs-1", "_id": f"d{i}", "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z", "event": {"category": ["process"]}, "n": i}}
    for i in range(1, 8)
]


def test_event_response_shape() -> None:
    response = search(iter(DOCS), "process where n > 5", size=10)
    assert set(response) == {"is_partial", "is_running", "took", "timed_out", "hits"}
    assert response["is_partial"] is False and response["timed_out"] is False
    assert response["hits"]["total"] == {"value": 2, "relation": "eq"}
    assert response["hits"]["events"] == [
        {"_index": "logs-1", "_id": "d6", "_source": DOCS[5]["_source"]},
        {"_index": "logs-1", "_id": "d7", "_source": DOCS[6]["_source"]},
    ]


def test_size_and_result_position() -> None:
    def hit_ids(**kwargs: Any) -> list[str]:
        return [h["_id"] for h in search(DOCS, "process where true", **kwargs)["hits"]["events"]]

    assert hit_ids(size=2) == ["d6", "d7"]  # tail by default: the latest, in ascending order
    assert hit_ids(size=2, result_position="head") == ["d1", "d2"]
    assert hit_ids(size=0) == []
    assert [h["_id"] for h in search(DOCS, "process where true | head 3 | tail 1", size=50)["hits"]["events"]] == ["d3"]
    assert [h["_id"] for h in search(list(reversed(DOCS)), "process where true | tail 2", size=50)["hits"]["events"]] == ["d6", "d7"]


def test_a_parsed_query_is_accepted() -> None:
    assert search(DOCS, parse("process where n == 1"))["hits"]["total"]["value"] == 1


def test_sequence_and_sample_responses_use_sequences() -> None:
    sequences = search(DOCS, "sequence [process where n == 1] [process where n == 2]")["hits"]
    assert list(sequences) == ["total", "sequences"] and sequences["total"]["value"] == 1
    samples = search(DOCS, "sample by n [process where n == 1] [process where n == 2]")["hits"]
    assert samples == {"total": {"value": 0, "relation": "eq"}, "sequences": []}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": -1}, "size must be greater than or equal to 0"),
        ({"result_position": "middle"}, "result_position must be [head] or [tail]"),
        ({"timestamp_field": ""}, "timestamp field is null or empty"),
        ({"event_category_field": ""}, "event category field is null or empty"),
        ({"max_samples_per_key": 0}, "max_samples_per_key must be greater than 0"),
    ],
)
def test_bad_requests(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SearchRequestError, match=re.escape(message)):
        search(DOCS, "process where true", **kwargs)


def test_bad_query_and_empty_query() -> None:
    with pytest.raises(SearchRequestError, match="query is null or empty"):
        search(DOCS, "  ")
    with pytest.raises(EqlSyntaxError):
        search(DOCS, "process where")


def test_mappings_verify_the_query() -> None:
    mappings = {"logs-1": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "n": {"type": "long"}}}}
    assert search(DOCS, "process where n == 3", mappings=mappings)["hits"]["total"]["value"] == 1
    with pytest.raises(EqlVerificationError, match=r"line 1:15: Unknown column \[nn\], did you mean \[n\]\?"):
        search(DOCS, "process where nn == 3", mappings=mappings)


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ([{"_id": "x", "_source": {}}], "document #0 must be a mapping with '_index', '_id' and '_source'"),
        (["not a document"], "document #0 must be a mapping"),
        ([{"_index": "i", "_id": "x", "_source": "text"}], "'_source' must be an object"),
    ],
)
def test_bad_documents(documents: list[Any], message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        search(documents, "any where true")


def test_dynamic_mapping_follows_elasticsearch_defaults() -> None:
    mapping = dynamic_mapping(
        [
            {"s": "text", "n": 1, "f": 1.5, "b": True, "d": "2026-01-01T00:00:00Z", "o": {"x": 1}, "arr": [None, 5], "process.pid": 3, "nil": None},
            {"s": 5, "later": "x"},
        ],
        {"properties": {"explicit": {"type": "ip"}}},
    )
    properties = mapping["properties"]
    assert properties["explicit"] == {"type": "ip"}
    assert properties["s"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert properties["n"] == {"type": "long"} and properties["f"] == {"type": "float"}
    assert properties["b"] == {"type": "boolean"} and properties["d"] == {"type": "date"}
    assert properties["o"] == {"properties": {"x": {"type": "long"}}}
    assert properties["arr"] == {"type": "long"}
    assert properties["process"] == {"properties": {"pid": {"type": "long"}}}
    assert "nil" not in properties and "later" in properties


def test_dynamic_mapping_of_fields_seen_again_in_other_shapes() -> None:
    # later documents meet fields already mapped (the fast path) as leaves, objects, dotted keys and arrays
    mapping = dynamic_mapping([
        {"leaf": "x", "obj": {"a": 1}, "dotted.a": 1, "arr": [{"a": 1}], "nil": None},
        {"leaf": {"inner": 1}, "obj": {"b": "y"}, "obj.c": True, "dotted": {"b": "z"}, "arr": {"b": 2.5},
         "nil": ["v"]},
        {"leaf": ["x"], "obj": {"a": {"deeper": 1}, "b": 3}, "dotted.a": "now a string"},
    ])["properties"]
    keyword = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert mapping["leaf"] == keyword  # an object where a leaf is mapped changes nothing (Elasticsearch refuses it)
    assert mapping["obj"] == {"properties": {"a": {"type": "long"}, "b": keyword, "c": {"type": "boolean"}}}
    assert mapping["dotted"] == {"properties": {"a": {"type": "long"}, "b": keyword}}
    assert mapping["arr"] == {"properties": {"a": {"type": "long"}, "b": {"type": "float"}}}
    assert mapping["nil"] == keyword


def test_documents_are_streamed() -> None:
    seen = []

    def generate() -> Iterator[dict[str, Any]]:
        for doc in DOCS:
            seen.append(doc["_id"])
            yield doc

    assert search(generate(), "process where n == 1")["hits"]["total"]["value"] == 1
    assert len(seen) == len(DOCS)
