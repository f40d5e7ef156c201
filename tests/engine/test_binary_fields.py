"""`binary` fields: EQL's verifier accepts them in comparisons (x-pack/plugin/eql VerifierTests.testBinary), but a
cluster cannot search them: a term or range query on one fails the search with "Binary fields do not support
searching" (BinaryFieldMapper.BinaryFieldType.termQuery), while an exists query (`x != null`) works. The engine
answers the same, rather than matching nothing."""

from __future__ import annotations

from typing import Any

import pytest

from runner.backends.errors import QueryError
from runner.backends.local_search import search_error
from runner.engine import UnsearchableField, search

MAPPINGS = {
    "logs": {
        "properties": {
            "@timestamp": {"type": "date"},
            "event": {"properties": {"category": {"type": "keyword"}}},
            "blob": {"type": "binary"},
        }
    }
}
DOCS = [
    {"_index": "logs", "_id": "1", "_source": {"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": "file"},
                                               "blob": "U29tZSBiaW5hcnkgYmxvYg=="}},
    {"_index": "logs", "_id": "2", "_source": {"@timestamp": "2026-01-01T00:00:01Z", "event": {"category": "file"}}},
]


def ids(query: str) -> list[str]:
    body: dict[str, Any] = search(DOCS, query, mappings=MAPPINGS)
    return [event["_id"] for event in body["hits"]["events"]]


def test_presence_of_a_binary_field_is_searchable() -> None:
    assert ids("file where blob != null") == ["1"]
    assert ids("file where blob == null") == ["2"]


@pytest.mark.parametrize("query", ['file where blob == "U29tZSBiaW5hcnkgYmxvYg=="', "file where blob == 0",
                                   "file where blob > 1", "file where blob != \"x\""])
def test_a_query_on_a_binary_value_fails_the_search(query: str) -> None:
    with pytest.raises(UnsearchableField) as caught:
        search(DOCS, query, mappings=MAPPINGS)
    error = search_error(caught.value)  # what the embedded backends answer: Elasticsearch's 400
    assert isinstance(error, QueryError)
    assert (error.es_type, error.reason) == (
        "query_shard_exception", "failed to create query: Binary fields do not support searching"
    )
