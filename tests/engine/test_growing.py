"""`search_many(..., growing=True)` over mappings the caller grows document by document (streaming files) answers
exactly as `search()` over the same documents with the final mappings, or says `Remapped` (run it alone)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from runner.catalog import load_rules
from runner.ecs import ecs_mapping
from runner.engine import LiveMapping, QuerySearch, Remapped, dynamic_mapping, search, search_many
from runner.eql import EqlVerificationError, IndexMapping, Schema
from runner.eql import nodes as n
from tests.conftest import shared_path
from tests.engine.growing import Growing
from tests.engine.test_multi import generated


def _hits(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "took"}


def _one(documents: list[dict[str, Any]], query: str | n.Query, mappings: dict[str, Any], size: int,
         samples: int = 1) -> dict[str, Any] | Exception:
    try:
        return _hits(search(documents, query, mappings=mappings, size=size, max_samples_per_key=samples))
    except Exception as error:
        return error


def _same(many: dict[str, Any] | Exception, one: dict[str, Any] | Exception) -> bool:
    if isinstance(one, Exception):
        return type(many) is type(one) and str(many) == str(one)
    return isinstance(many, dict) and _hits(many) == one


def test_live_mapping_grows_as_dynamic_mapping_and_index_mapping_from_body() -> None:
    sources: list[dict[str, Any]] = [
        {"@timestamp": "2026-01-01T00:00:00Z", "a": {"b": "x"}, "n": 1},
        {"a.c": 2.5, "d": [None, {"e": True}], "when": "2026-01-01", "n": "late string"},
        {"a": [{"f": "y"}], "g": None, "h": [], "x.y.z": "deep", "x": {"y": {"w": 1}}},
        {"a": "a leaf where an object is", "n.m": 1},
    ]
    live = LiveMapping(ecs_mapping())
    fields_before = len(live.mapping.fields)
    changes = [live.extend(source) for source in sources]
    assert changes == [True, True, True, False]
    assert live.body == dynamic_mapping(sources, base=ecs_mapping())
    assert live.mapping == IndexMapping.from_body(live.body)
    assert len(live.mapping.fields) > fields_before
    assert live.mapping.fields["n"].type == "long"  # the first document decided
    assert live.mapping.fields["x.y.z"].type == "text" and live.mapping.fields["x.y.z.keyword"].source == "x.y.z"
    assert live.extend(sources[0]) is False  # everything mapped: nothing to add
    frozen = LiveMapping({"dynamic": "strict", "properties": {"a": {"type": "keyword"}}})
    assert frozen.extend({"b": 1}) is False and "b" not in frozen.mapping.fields


def test_every_corpus_rule_over_a_growing_schema_equals_search_with_the_final_one() -> None:
    catalog = load_rules([shared_path("detection-rules")])
    documents = generated(4000)
    indices = frozenset(doc["_index"] for doc in documents)
    queries = [rule.query for rule in catalog.rules
               if isinstance(rule.query, (n.EventQuery, n.SequenceQuery, n.SampleQuery))]
    assert len(queries) > 1000 and any(isinstance(q, n.SampleQuery) for q in queries)
    caller = Growing(ecs_mapping())
    searches = [QuerySearch(q, indices, caller.schema, 1000) for q in queries]
    # planned at the first document (lookahead=1): the mappings grow the most while the batch runs
    results = search_many(caller.stream(documents), searches, growing=True, lookahead=1)
    final = caller.final()
    remapped = compared = with_hits = 0
    for query, many in zip(queries, results, strict=True):
        if isinstance(many, Remapped):
            remapped += 1
            continue
        one = _one(documents, query, final, 1000)
        assert _same(many, one), (query, many, one)
        compared += 1
        if isinstance(one, dict):
            with_hits += bool(one["hits"].get("events") or one["hits"].get("sequences"))
    assert remapped == 0 and compared == len(queries) and with_hits >= 2


def _docs(sources: list[dict[str, Any]], index: str = "logs") -> list[dict[str, Any]]:
    return [{"_index": index, "_id": str(i), "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z", **source}}
            for i, source in enumerate(sources)]


BASE = {"properties": {"@timestamp": {"type": "date"},
                       "event": {"properties": {"category": {"type": "keyword"}}},
                       "process": {"properties": {"name": {"type": "keyword"}}}}}

OUTSIDE_ECS = _docs([
    {"event": {"category": "process"}, "process": {"name": "sh"}, "custom": {"tag": "a"}},
    {"event": {"category": "process"}, "process.name": "curl", "custom.tag": "b", "mixed": "text"},
    {"event": {"category": "process"}, "process": {"name": "sh"}, "mixed": 7, "custom": {"tag": ["a", "c"]}},
    {"event": {"category": "process"}, "process": {"name": "bash"}, "late": {"field": 3}, "opt": "y"},
    {"event": {"category": "process"}, "process": {"name": "sh"}, "late.field": 4, "custom": {"tag": "a"}},
    {"event": {"category": "process"}, "process": {"name": "curl"}, "late": {"word": "Hello"}},
])


@pytest.mark.parametrize("query", [
    'process where custom.tag == "a"',                               # mapped by the first document
    'process where process.name == "curl" and custom.tag : "B"',     # a dotted key
    'process where mixed == "text"',                                  # first a string (text + keyword)...
    'process where mixed.keyword == "text"',                         # ...its multi-field, mapped after planning
    'process where late.field >= 3',                                 # a field present only late
    'process where late.field == null',
    'sequence [process where process.name == "sh"] [process where late.field == 4]',
    'sequence by custom.tag [process where true] [process where process.name == "sh"]',
    'sample by custom.tag [process where process.name == "sh"] [process where true]',
    'process where ?late.word == "Hello"',                           # an optional field mapped only late
    'process where ?never == "x"',                                   # an optional field never mapped
    'process where late.word.keyword == "Hello"',                    # a multi-field mapped late
    'process where nowhere == 1',                                    # an unknown field: the final error
    'process where late.field == "x" and startsWith(late.field, "3")',  # a type error known only at the end
])
def test_fields_outside_ecs_over_a_growing_schema(query: str) -> None:
    caller = Growing(BASE)
    search_ = QuerySearch(query, frozenset({"logs"}), caller.schema, 100, max_samples_per_key=2)
    (many,) = search_many(caller.stream(OUTSIDE_ECS), [search_], growing=True, lookahead=1)
    one = _one(OUTSIDE_ECS, query, caller.final(), 100, samples=2)
    assert isinstance(many, Remapped) or _same(many, one), (many, one)
    live = caller.live["logs"]
    assert live.mapping == IndexMapping.from_body(live.body)  # the engine read the live mapping, never added to it
    if "?late.word" in query or ".keyword" in query:
        assert isinstance(many, Remapped)  # read as null / another path when planned: run alone
    elif "nowhere" in query or "startsWith" in query:
        assert isinstance(many, EqlVerificationError) and _same(many, one)
    else:
        assert not isinstance(many, Exception), many  # the common cases are answered in the batch
        if "?never" not in query and "null" not in query:
            assert many["hits"].get("events") or many["hits"].get("sequences"), query


def test_fields_mapped_within_the_lookahead_count_as_mapped_when_planned() -> None:
    queries = ['process where ?late.word == "Hello"', 'process where late.word.keyword == "Hello"',
               'process where mixed.keyword == "text"']
    caller = Growing(BASE)
    searches = [QuerySearch(q, frozenset({"logs"}), caller.schema, 100) for q in queries]
    results = search_many(caller.stream(OUTSIDE_ECS), searches, growing=True)  # the default lookahead: all six
    for query, many in zip(queries, results, strict=True):
        one = _one(OUTSIDE_ECS, query, caller.final(), 100)
        assert _same(many, one) and isinstance(one, dict) and one["hits"]["events"], (query, many)


def test_a_query_refused_at_first_and_valid_at_the_end_is_answered() -> None:
    # `late.field` is unknown when the batch is planned (the first document lacks it): verification waits
    caller = Growing(BASE)
    searches = [QuerySearch("process where late.field == 4", frozenset({"logs"}), caller.schema, 100)]
    (many,) = search_many(caller.stream(OUTSIDE_ECS), searches, growing=True, lookahead=1)
    assert isinstance(many, dict) and [h["_id"] for h in many["hits"]["events"]] == ["4"]
    # without growing, the same schema (now final) verifies it at once
    assert search_many(OUTSIDE_ECS, searches)[0]["hits"]["events"]  # type: ignore[index]


def test_an_index_first_seen_without_a_mapping_is_remapped_if_mapped_later() -> None:
    schema = Schema()
    docs = _docs([{"event": {"category": "process"}, "process": {"name": "sh"}}])
    other = [{**doc, "_index": "other"} for doc in docs]

    def stream() -> Iterator[dict[str, Any]]:
        yield docs[0]
        yield other[0]
        schema.indices["other"] = IndexMapping.from_body(BASE)  # mapped after the search saw its document
        schema.indices["logs"] = IndexMapping.from_body(BASE)

    found = search_many(stream(), [QuerySearch("process where true", frozenset({"logs", "other"}), schema, 10)],
                        growing=True, lookahead=1)
    assert isinstance(found[0], Remapped)


def test_accept_filters_documents_before_the_query() -> None:
    docs = _docs([{"event": {"category": "process"}, "process": {"name": name}, "n": i}
                  for i, name in enumerate(["sh", "curl", "sh", "bash", "curl", "sh"])])
    queries = ['process where process.name == "sh"',
               'sequence [process where process.name == "sh"] [process where process.name == "curl"]',
               'sample by process.name [process where true] [process where true]']

    def accept(source: dict[str, Any]) -> bool:
        return bool(source["n"] % 2 == 0 or source["process"]["name"] == "curl")

    kept = [doc for doc in docs if accept(doc["_source"])]
    searches = [QuerySearch(q, frozenset({"logs"}), {"logs": BASE}, 100, accept=accept) for q in queries]
    for query, many in zip(queries, search_many(docs, searches), strict=True):
        one = search(kept, query, mappings={"logs": BASE}, size=100)
        assert _same(many, _hits(one)), query
        assert _same(many, _hits(search(docs, query, mappings={"logs": BASE}, size=100))) is (query.startswith("s"))


def test_samples_in_a_batch_equal_search() -> None:
    docs = _docs([{"event": {"category": "process"}, "process": {"name": name}, "host": {"id": host}}
                  for name, host in [("a", "1"), ("b", "1"), ("a", "2"), ("b", "2"), ("a", "1"), ("c", "3")]])
    docs += [{**doc, "_index": "other", "_id": "o" + doc["_id"]} for doc in docs[:3]]
    body = dynamic_mapping((doc["_source"] for doc in docs), base=BASE)
    mappings = {"logs": body, "other": body}
    queries = ['sample by host.id [process where process.name == "a"] [process where process.name == "b"]',
               'sample by host.id [any where true] [any where true] | head 1',
               'sample [process where process.name == "a"] by host.id [process where true] by host.id']
    for samples in (1, 3):
        searches = [QuerySearch(q, frozenset({"logs", "other"}), mappings, 10, max_samples_per_key=samples)
                    for q in queries]
        for query, many in zip(queries, search_many(docs, searches), strict=True):
            one = search(docs, query, mappings=mappings, size=10, max_samples_per_key=samples)
            assert _same(many, _hits(one)), (query, samples)
            assert one["hits"]["sequences"]


def test_the_fast_proof_that_a_document_adds_nothing_agrees_with_the_walk() -> None:
    """`LiveMapping.extend` skips the walk when its mirror of the body proves a document adds nothing: over random
    documents (nested objects, arrays of objects and scalars, nulls, dotted keys, a scalar where an object is mapped
    and the reverse), each call answers as `extend_mapping` on a copy of the body, and the body stays what the walk
    makes."""
    import random

    from runner.engine import extend_mapping

    rng = random.Random(11)
    names = ["a", "b", "c", "a.b", "b.c", "process", "pid"]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth < 3 and roll < 0.35:
            return {rng.choice(names): value(depth + 1) for _ in range(rng.randint(0, 3))}
        if roll < 0.5:
            return [value(depth + 1) if rng.random() < 0.5 else None for _ in range(rng.randint(0, 3))]
        return rng.choice([None, 1, 2.5, True, "x", "2026-01-01", {"pid": 1}])

    for _round in range(20):
        live = LiveMapping({"properties": {"process": {"properties": {"pid": {"type": "long"}}}}})
        reference = copy.deepcopy(live.body)
        documents = [{rng.choice(names): value(0) for _ in range(rng.randint(1, 4))} for _ in range(300)]
        for document in documents:
            expected = extend_mapping(reference, document)
            assert live.extend(document) is expected
            assert live.body == reference
        assert live.mapping == IndexMapping.from_body(live.body)
