"""`dsl_search`: a `_search` body answered as Elasticsearch answers it (sort, search_after, size/from,
track_total_hits, runtime_mappings), and `DslSearch` items of `search_many` answered in the same pass, term-indexed,
exactly as one by one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from runner.backends import MemoryEvents
from runner.backends.embedded.backend import resolve_indices
from runner.engine import DslSearch, QueryDslError, QuerySearch, Remapped, UnsupportedQuery, dsl_search, search_many
from runner.engine.query_dsl.search import DslRun, parse_body
from runner.eql import IndexMapping, Schema
from tests.conftest import shared_path
from tests.engine.growing import Growing
from tests.engine.test_multi import ROOT

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LONG_MAX = 9223372036854775807
LONG_MIN = -9223372036854775808
MAPPING = {"properties": {
    "@timestamp": {"type": "date"},
    "event": {"properties": {"ingested": {"type": "date"}, "category": {"type": "keyword"}}},
    "process": {"properties": {"name": {"type": "keyword"}, "pid": {"type": "long"},
                               "args": {"type": "keyword", "ignore_above": 8}}},
    "user": {"properties": {"name": {"type": "keyword", "normalizer": "lowercase"}}},
    "message": {"type": "match_only_text"},
    "score": {"type": "double"},
}}
BY_TIME = [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}]


def doc(number: int, **source: Any) -> dict[str, Any]:
    return {"_index": "logs", "_id": str(number), "_source": source}


def ids(answer: dict[str, Any]) -> list[str]:
    return [hit["_id"] for hit in answer["hits"]["hits"]]


def run(docs: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    return dsl_search(docs, {"query": {"match_all": {}}, **body}, {"logs": MAPPING}, now=NOW)


DOCS = [
    doc(0, **{"@timestamp": "2026-01-01T00:00:03.000Z", "process": {"name": "b"}}),
    doc(1, **{"@timestamp": "2026-01-01T00:00:01.000Z", "process": {"name": "a"}}),
    doc(2, process={"name": "c"}),  # no timestamp
    doc(3, **{"@timestamp": ["2026-01-01T00:00:05.000Z", "2026-01-01T00:00:00.500Z"], "process": {"name": "d"}}),
    doc(4, **{"@timestamp": "2026-01-01T00:00:01.000Z", "process": {"name": "e"}}),
]


def test_a_date_sorts_by_epoch_millis_and_a_missing_value_prints_what_elasticsearch_substitutes() -> None:
    # IndexFieldData.XFieldComparatorSource.missingObject (elastic/elasticsearch
    # server/src/main/java/org/elasticsearch/index/fielddata/IndexFieldData.java @ 416613a3):
    #   final boolean min = sortMissingFirst(missingValue) ^ reversed;  ...  case LONG: min ? Long.MIN_VALUE : Long.MAX_VALUE
    asc = run(DOCS, sort=BY_TIME)
    # a multi-valued field sorts ascending by its smallest value, descending by its largest; ties keep the
    # documents' order (1 before 4)
    assert ids(asc) == ["3", "1", "4", "0", "2"]
    assert [hit["sort"] for hit in asc["hits"]["hits"]] == [
        [1767225600500], [1767225601000], [1767225601000], [1767225603000], [LONG_MAX]]
    desc = run(DOCS, sort=[{"@timestamp": "desc"}])
    assert ids(desc) == ["3", "0", "1", "4", "2"]
    assert desc["hits"]["hits"][0]["sort"] == [1767225605000] and desc["hits"]["hits"][-1]["sort"] == [LONG_MIN]
    first = run(DOCS, sort=[{"@timestamp": {"order": "asc", "missing": "_first"}}])
    assert ids(first)[0] == "2" and first["hits"]["hits"][0]["sort"] == [LONG_MIN]
    assert all(hit["_score"] is None for hit in asc["hits"]["hits"]) and asc["hits"]["max_score"] is None


def test_keywords_sort_in_byte_order_numbers_as_numbers_and_a_missing_keyword_prints_null() -> None:
    docs = [doc(0, process={"name": "b", "pid": 10}), doc(1, process={"name": "B", "pid": 9}),
            doc(2, process={"pid": 100}), doc(3, process={"name": "é", "pid": 2}), doc(4, score=1.5)]
    by_name = run(docs, sort=["process.name"])
    assert ids(by_name) == ["1", "0", "3", "2", "4"]
    assert [hit["sort"] for hit in by_name["hits"]["hits"]] == [["B"], ["b"], ["é"], [None], [None]]
    by_pid = run(docs, sort=[{"process.pid": "desc"}])
    assert ids(by_pid) == ["2", "0", "1", "3", "4"] and by_pid["hits"]["hits"][-1]["sort"] == [LONG_MIN]
    by_score = run(docs, sort=[{"score": "asc"}])
    assert by_score["hits"]["hits"][0]["sort"] == [1.5] and by_score["hits"]["hits"][1]["sort"] == [float("inf")]


def test_a_field_an_index_does_not_map_fails_the_sort_unless_unmapped_type_names_one() -> None:
    with pytest.raises(QueryDslError, match=r"No mapping found for \[kibana.combined\] in order to sort on"):
        run(DOCS, sort=["kibana.combined"])
    answer = run(DOCS, sort=[{"kibana.combined": {"order": "asc", "unmapped_type": "date"}}, "process.name"])
    assert ids(answer) == ["1", "0", "2", "3", "4"]
    assert answer["hits"]["hits"][0]["sort"] == [LONG_MAX, "a"]
    with pytest.raises(QueryDslError, match="Fielddata is disabled on \\[message\\]"):
        run(DOCS, sort=["message"])


def test_search_after_is_strictly_after_and_skips_documents_equal_to_it() -> None:
    # SearchAfterBuilder.buildFieldDoc (elastic/elasticsearch
    # server/src/main/java/org/elasticsearch/search/searchafter/SearchAfterBuilder.java @ 073430e5):
    #   "We set the doc id to Integer.MAX_VALUE in order to make sure that the search starts "after" the first
    #   document that is equal to the field values."  return new FieldDoc(Integer.MAX_VALUE, 0, fieldValues);
    assert ids(run(DOCS, sort=BY_TIME, search_after=[1767225601000])) == ["0", "2"]  # 1 and 4 are equal: skipped
    assert ids(run(DOCS, sort=BY_TIME, search_after=[1767225600999])) == ["1", "4", "0", "2"]
    # a long key reads a number as ((Number) value).longValue() and a string through the date format
    assert ids(run(DOCS, sort=BY_TIME, search_after=["2026-01-01T00:00:01.000Z"])) == ["0", "2"]
    assert ids(run(DOCS, sort=BY_TIME, search_after=[LONG_MAX])) == []  # the missing value: after it, nothing
    desc = run(DOCS, sort=[{"@timestamp": "desc"}, {"process.name": "desc"}], search_after=[1767225601000, "e"])
    assert ids(desc) == ["1", "2"]
    with pytest.raises(QueryDslError, match=r"search_after has 1 value\(s\) but sort has 2"):
        run(DOCS, sort=[*BY_TIME, "process.name"], search_after=[1])
    with pytest.raises(QueryDslError, match="Sort must contain at least one field"):
        run(DOCS, search_after=[1])


def test_paging_through_search_after_gives_every_match_once_as_a_query_rule_pages() -> None:
    docs = [doc(i, **{"@timestamp": f"2026-01-01T00:00:{i // 3:02d}.000Z", "process": {"name": "x"}})
            for i in range(20)]
    body: dict[str, Any] = {"size": 4, "sort": BY_TIME, "track_total_hits": False}
    seen: list[str] = []
    while True:
        page = run(docs, **body)
        if not page["hits"]["hits"]:
            break
        seen += ids(page)
        body["search_after"] = page["hits"]["hits"][-1]["sort"]
    # equal timestamps cut at a page's end are skipped on the next page, as in Elasticsearch (Kibana pages this way)
    assert len(seen) == len(set(seen)) and set(seen) <= {str(i) for i in range(20)}
    assert seen[:4] == ["0", "1", "2", "3"] and "4" not in seen and "5" not in seen


def test_size_from_and_track_total_hits() -> None:
    # SearchContext.DEFAULT_TRACK_TOTAL_HITS_UP_TO = 10000; SearchPhaseController's TopDocsStats.getTotalHits:
    #   if (totalHits <= trackTotalHitsUpTo) new TotalHits(totalHits, relation)
    #   else new TotalHits(trackTotalHitsUpTo, GREATER_THAN_OR_EQUAL_TO)
    assert run(DOCS)["hits"]["total"] == {"value": 5, "relation": "eq"}
    assert run(DOCS, track_total_hits=True, size=0)["hits"] == {"total": {"value": 5, "relation": "eq"},
                                                                "max_score": None, "hits": []}
    assert run(DOCS, track_total_hits=3)["hits"]["total"] == {"value": 3, "relation": "gte"}
    assert "total" not in run(DOCS, track_total_hits=False)["hits"]
    # the total counts every match, search_after or not
    assert run(DOCS, sort=BY_TIME, search_after=[1767225601000])["hits"]["total"]["value"] == 5
    assert ids(run(DOCS, sort=BY_TIME, size=2, **{"from": 1})) == ["1", "4"]
    assert ids(run(DOCS, size=2)) == ["0", "1"]  # no sort: the documents' order
    with pytest.raises(QueryDslError, match=r"Result window is too large.*\[10001\]"):
        run(DOCS, size=10001)
    with pytest.raises(QueryDslError, match=r"\[size\] parameter cannot be negative"):
        run(DOCS, size=-1)
    answer = run(DOCS, _source=False, fields=[{"field": "*", "include_unmapped": True}])
    assert "_source" not in answer["hits"]["hits"][0] and "fields" not in answer["hits"]["hits"][0]
    assert answer["_shards"] == {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
    assert answer["timed_out"] is False


def test_only_the_best_page_is_held_whatever_the_number_of_matches() -> None:
    search = DslRun(parse_body({"size": 3, "sort": [{"process.pid": "desc"}]}), NOW)
    index = search.plan("logs", IndexMapping.from_body(MAPPING))
    for number in range(5000):
        search.offer(index, doc(number, process={"pid": number % 997}), {"process": {"pid": number % 997}}, number)
        assert len(search.heap) <= 3
    assert [hit["sort"] for hit in search.response(0, 1)["hits"]["hits"]] == [[996], [996], [996]]


def test_unknown_keys_and_bad_clauses_are_errors_naming_them() -> None:
    with pytest.raises(UnsupportedQuery, match="aggs"):
        run(DOCS, aggs={"x": {"terms": {"field": "process.name"}}})
    with pytest.raises(UnsupportedQuery, match=r"bool.filter\[0\].regexp"):
        run(DOCS, query={"bool": {"filter": [{"regexp": {"process.name": "a.*"}}]}})
    with pytest.raises(QueryDslError, match=r"bool.filter\[0\].term"):
        run(DOCS, query={"bool": {"filter": [{"term": {"process.pid": "abc"}}]}})
    with pytest.raises(UnsupportedQuery, match=r"sort\[0\]"):
        run(DOCS, sort=["_score"])


def test_runtime_mappings_without_a_script_read_source_and_with_one_read_as_missing(
        caplog: pytest.LogCaptureFixture) -> None:
    docs = [doc(0, extra="x", **{"@timestamp": "2026-01-01T00:00:00Z"}), doc(1, extra="y")]
    read = run(docs, query={"term": {"extra": "x"}}, runtime_mappings={"extra": {"type": "keyword"}})
    assert ids(read) == ["0"]
    with caplog.at_level(logging.WARNING, logger="runner.engine"):
        scripted = run(docs, query={"exists": {"field": "kibana.combined_timestamp"}}, runtime_mappings={
            "kibana.combined_timestamp": {"type": "date", "script": {"source": "emit(1)"}}})
    assert ids(scripted) == [] and "kibana.combined_timestamp" in caplog.text and "script" in caplog.text


# ---- batched: one pass, term-indexed, exactly as one by one ------------------------------------------------------


def _batched_equals_one_by_one(docs: list[dict[str, Any]], bodies: list[dict[str, Any]],
                               mappings: dict[str, Any]) -> list[dict[str, Any] | Exception]:
    schema = Schema.from_mappings(mappings)
    searches = [DslSearch(body, frozenset(mappings), schema, NOW) for body in bodies]
    batched = search_many(docs, searches)
    for body, answer in zip(bodies, batched, strict=True):
        try:
            alone: dict[str, Any] | Exception = dsl_search(docs, body, schema, now=NOW)
        except QueryDslError as error:
            alone = error
        if isinstance(alone, Exception):
            assert type(answer) is type(alone) and str(answer) == str(alone), body
        else:
            assert isinstance(answer, dict), (body, answer)
            assert answer["hits"] == alone["hits"], body
    return batched


def test_term_indexing_answers_exactly_the_unindexed_search_on_the_hard_cases() -> None:
    docs = [
        doc(0, process={"name": "CMD.exe", "args": ["-c", "averylongargument"], "pid": 53}, user={"name": "Admin"}),
        doc(1, process={"name": "cmd.exe", "args": "-c"}, user={"name": "root"}),
        doc(2, process={"name": ["bash", "sh"], "pid": "7"}, message="Started cmd.exe"),
        doc(3, process={"name": 53}, event={"category": "process"}),
        doc(4, process={"args": ["averylongargument"]}, user={"name": "ADMIN"}),
        doc(5, event={"category": ["process", "network"]}, message="Nothing here"),
        doc(6, process={"name": "cm"}),  # as long as the lead it is filed by
    ]
    bodies = [{"query": q, "size": 10} for q in [
        {"term": {"process.name": "cmd.exe"}},
        {"term": {"process.name": {"value": "cmd.exe", "case_insensitive": True}}},
        {"wildcard": {"process.name": {"value": "cm*"}}},
        {"wildcard": {"process.name": {"value": "CM?.*", "case_insensitive": "true"}}},
        {"terms": {"process.name": ["sh", 53]}},
        {"match_phrase": {"process.name": "bash"}},
        {"match": {"user.name": "ADMIN"}},  # the normalizer lowercases the query too
        {"term": {"process.args": "averylongargument"}},  # over ignore_above: not indexed
        {"query_string": {"fields": ["process.name"], "query": "cmd* bash"}},
        {"query_string": {"fields": ["process.name"], "query": "cmd.exe sh", "default_operator": "AND"}},
        {"bool": {"should": [{"term": {"process.name": "sh"}}, {"range": {"process.pid": {"gte": 50}}}]}},
        {"bool": {"filter": [{"term": {"event.category": "process"}}, {"exists": {"field": "message"}}]}},
        {"bool": {"must_not": [{"term": {"process.name": "sh"}}]}},
        {"bool": {"should": [{"term": {"process.name": "x"}}], "minimum_should_match": 2}},
        {"match_none": {}},
        {"match": {"message": "cmd.exe"}},
        {"exists": {"field": "not.mapped"}},
        {"term": {"not.mapped": "x"}},
    ]]
    batched = _batched_equals_one_by_one(docs, bodies, {"logs": MAPPING})
    assert [len(answer["hits"]["hits"]) for answer in batched if isinstance(answer, dict)] == [
        1, 2, 2, 2, 2, 1, 2, 0, 2, 0, 2, 1, 6, 0, 0, 1, 0, 0]


def test_every_corpus_query_batched_equals_one_by_one_over_generated_events() -> None:
    """Every KQL string of the corpus (Kibana's DSL with ECS fields, its rule's filters) over generated endpoint
    events: the batch (one pass, term-indexed) answers exactly as `dsl_search` one by one."""
    rows = [json.loads(line) for line in (shared_path("kql-spec") / "corpus.ndjson").open()]
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate  # type: ignore[import-not-found]  # bench/ is on sys.path for this import only
    finally:
        sys.path.remove(str(ROOT / "bench"))
    docs = list(generate.generate(3000, seed=7))  # bench/generate.py --seed 7
    events = MemoryEvents(docs)
    available = sorted(events.by_index)
    documents = events.documents(available)
    searches: list[DslSearch] = []
    for row in rows:
        if "dsl_ecs" not in row:
            continue
        query = row.get("request_ecs") or {"bool": {"must": [], "filter": [row["dsl_ecs"]], "should": [],
                                                    "must_not": []}}
        indices = resolve_indices(row["index"], available)
        body = {"size": 1000, "query": {"bool": {"filter": [query]}}, "sort": BY_TIME, "track_total_hits": False,
                "fields": [{"field": "*", "include_unmapped": True}]}
        searches.append(DslSearch(body, frozenset(indices), events.schema(indices), NOW))
    assert len(searches) == 801
    batched = search_many(documents, searches)
    compared = matched = 0
    for search, answer in zip(searches, batched, strict=True):
        alone = dsl_search([d for d in documents if d["_index"] in search.indices], search.body,
                           search.mappings, now=NOW)
        assert isinstance(answer, dict) and answer["hits"] == alone["hits"], search.body
        compared += 1
        matched += bool(alone["hits"]["hits"])
    # 138 of the queries reach one of the generated (endpoint) indices; 10 match something at this commit
    assert compared == 801 and matched >= 8


def test_mixed_with_eql_queries_in_one_pass() -> None:
    docs = [doc(i, **{"@timestamp": f"2026-01-01T00:00:{i:02d}Z", "event": {"category": "process"},
                      "process": {"name": ["sh", "bash", "curl"][i % 3]}}) for i in range(12)]
    schema = Schema.from_mappings({"logs": MAPPING})
    body = {"query": {"term": {"process.name": "bash"}}, "sort": BY_TIME, "size": 2}
    answers = search_many(docs, [QuerySearch('process where process.name == "sh"', {"logs"}, schema, 10),
                                 DslSearch(body, {"logs"}, schema, NOW)])
    first, second = answers
    assert isinstance(first, dict) and len(first["hits"]["events"]) == 4
    assert isinstance(second, dict) and second["hits"] == dsl_search(docs, body, schema, now=NOW)["hits"]
    assert ids(second) == ["1", "4"]


def test_a_growing_batch_answers_as_the_final_mappings_do_or_says_remapped() -> None:
    docs = [doc(0, **{"@timestamp": "2026-01-01T00:00:00Z", "a": "x"})] + [
        doc(i, **{"@timestamp": f"2026-01-01T00:00:{i:02d}Z", "late": {"name": "y" if i % 2 else "z"},
                  "n": i}) for i in range(1, 9)]
    bodies = [
        {"query": {"term": {"late.name": "y"}}, "sort": BY_TIME},  # a field first seen after the searches were planned
        {"query": {"range": {"n": {"gte": 3}}}, "sort": [{"n": "desc"}], "size": 3},
        {"query": {"term": {"n": "abc"}}},  # a value the final mapping's type rejects: the error
        {"query": {"exists": {"field": "r"}}, "runtime_mappings": {"r": {"type": "keyword"}}},
        # a runtime field neither the query nor the sort names changes no answer (Kibana's query rules send
        # `kibana.combined_timestamp` so): answered in the pass
        {"query": {"match_all": {}}, "runtime_mappings": {"r": {"type": "keyword"}}},
    ]
    growing = Growing(None)
    indices: set[str] = {"logs"}
    searches = [DslSearch(body, indices, growing.schema, NOW) for body in bodies]
    answers = search_many(growing.stream(docs), searches, growing=True, lookahead=1)
    final = growing.final()
    assert isinstance(answers[0], dict) and answers[0]["hits"] == dsl_search(docs, bodies[0], final, now=NOW)["hits"]
    assert ids(answers[0]) == ["1", "3", "5", "7"]
    assert isinstance(answers[1], dict) and ids(answers[1]) == ["8", "7", "6"]
    assert isinstance(answers[2], QueryDslError) and "abc" in str(answers[2])
    assert isinstance(answers[3], Remapped)
    assert isinstance(answers[4], dict) and answers[4]["hits"] == dsl_search(docs, bodies[4], final, now=NOW)["hits"]


def test_term_indexing_of_integer_fields_answers_exactly_the_unindexed_search() -> None:
    # process.pid is `long`: a term is the number (`"53"`, `53`, `"053"` alike; a value "7" in _source is coerced, a
    # 53.9 truncated as Elasticsearch's long field parses it), filed under its decimal text; constants that are not
    # plain integers (`"53.0"`, `"5e1"`, `" 53"`) file nothing and are judged by the evaluator on every document
    docs = [
        doc(0, process={"pid": 53}), doc(1, process={"pid": "7"}), doc(2, process={"pid": [7, 53]}),
        doc(3, process={"pid": 53.9}), doc(4, process={"pid": -1}), doc(5, process={"name": "x"}),
    ]
    bodies = [{"query": q, "size": 10} for q in [
        {"term": {"process.pid": "53"}}, {"term": {"process.pid": 53}}, {"term": {"process.pid": "053"}},
        {"terms": {"process.pid": [7, "-1"]}}, {"match": {"process.pid": "7"}},
        {"term": {"process.pid": "53.0"}}, {"bool": {"should": [{"term": {"process.pid": 53}},
                                                              {"term": {"process.name": "x"}}]}},
        {"bool": {"filter": [{"terms": {"process.pid": [53, 7]}}, {"range": {"process.pid": {"lt": 10}}}]}},
    ]]
    batched = _batched_equals_one_by_one(docs, bodies, {"logs": MAPPING})
    assert [len(answer["hits"]["hits"]) for answer in batched if isinstance(answer, dict)] == [
        3, 3, 3, 3, 2, 3, 4, 2]


def test_searches_share_a_clause_only_through_the_very_same_mapping() -> None:
    # a batch compiles a clause the searches over one index share (a window's time range) once: only for searches
    # reading the index through the same mapping object (here `n` is keyword for one, long for the other)
    docs = [doc(i, **{"@timestamp": f"2026-01-01T00:00:0{i}Z", "n": v}) for i, v in enumerate(["9", "10", "100"])]
    keyword = Schema.from_mappings({"logs": {"properties": {"@timestamp": {"type": "date"}, "n": {"type": "keyword"}}}})
    long = Schema.from_mappings({"logs": {"properties": {"@timestamp": {"type": "date"}, "n": {"type": "long"}}}})
    body = {"query": {"range": {"n": {"gte": "10"}}}}
    searches = [DslSearch(body, frozenset({"logs"}), keyword, NOW), DslSearch(body, frozenset({"logs"}), long, NOW),
                DslSearch(body, frozenset({"logs"}), keyword, NOW)]
    answers = search_many(docs, searches)
    assert [ids(answer) for answer in answers] == [["0", "1", "2"], ["1", "2"], ["0", "1", "2"]]  # "9" > "10" as text


def test_a_runtime_field_the_query_reaches_is_kept() -> None:
    # boosted field names (`obj.r^2`) and an object above the field (`exists` on `obj`) read it
    mapping = {"logs": {"dynamic": False, "properties": {"@timestamp": {"type": "date"}}}}
    docs = [doc(0, **{"@timestamp": "2026-01-01T00:00:00Z", "obj": {"r": "x"}})]
    runtime = {"obj.r": {"type": "keyword"}}
    for query in ({"multi_match": {"query": "x", "fields": ["obj.r^2", "a"]}},
                  {"query_string": {"query": "x", "fields": ["obj.r^3"]}},
                  {"exists": {"field": "obj"}}):
        assert ids(dsl_search(docs, {"query": query, "runtime_mappings": runtime}, mapping, now=NOW)) == ["0"], query
