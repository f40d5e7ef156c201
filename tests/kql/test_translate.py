"""The translation by hand, for what the conformance files show only in passing: field types, options, filters."""

from __future__ import annotations

import pytest

from runner.kql import FieldSpec, KqlError, KqlTranslationError, build_es_query, kql_to_dsl

FIELDS = [
    {"name": "process.name", "type": "string", "esTypes": ["keyword"]},
    {"name": "message", "type": "string", "esTypes": ["text"]},
    {"name": "both", "type": "string", "esTypes": ["keyword", "text"]},
    {"name": "@timestamp", "type": "date", "esTypes": ["date"]},
    {"name": "items.name", "type": "string", "esTypes": ["keyword"], "subType": {"nested": {"path": "items"}}},
]


def _should(*queries: object) -> dict[str, object]:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def test_keyword_fields_get_term_and_wildcard_others_match_and_query_string() -> None:
    assert kql_to_dsl("process.name:cmd.exe", FIELDS) == _should({"term": {"process.name": {"value": "cmd.exe"}}})
    assert kql_to_dsl("process.name:c-m*", FIELDS) == _should({"wildcard": {"process.name": {"value": "c\\-m*"}}})
    assert kql_to_dsl('message:"a b"', FIELDS) == _should({"match_phrase": {"message": "a b"}})
    assert kql_to_dsl("message:c-m*", FIELDS) == _should({"query_string": {"fields": ["message"], "query": "c\\-m*"}})
    # a field whose types differ across indices is not a keyword field
    assert kql_to_dsl("both:x", FIELDS) == _should({"match": {"both": "x"}})
    # the same names with no field information
    assert kql_to_dsl("process.name:cmd.exe") == _should({"match": {"process.name": "cmd.exe"}})
    assert kql_to_dsl("process.name:cmd.exe", []) == kql_to_dsl("process.name:cmd.exe", None)


def test_dates_get_a_range_in_the_time_zone_except_epochs() -> None:
    assert kql_to_dsl("@timestamp:2024-01-01", FIELDS) == _should(
        {"range": {"@timestamp": {"gte": "2024-01-01", "lte": "2024-01-01", "time_zone": "Zulu"}}})
    assert kql_to_dsl("@timestamp >= 1700000000000", FIELDS) == _should(
        {"range": {"@timestamp": {"gte": "1700000000000"}}})
    assert kql_to_dsl("@timestamp < now-1d", FIELDS, dateFormatTZ=None) == _should(
        {"range": {"@timestamp": {"lt": "now-1d"}}})


def test_nested_fields() -> None:
    assert kql_to_dsl("items:{ name:x }", FIELDS) == {"nested": {
        "path": "items", "query": _should({"term": {"items.name": {"value": "x"}}}), "score_mode": "none"}}
    with pytest.raises(KqlTranslationError, match=r"items\.name is a nested field, but is not in a nested group"):
        kql_to_dsl("items.name:x", FIELDS)
    # a wildcard name covering a nested field wraps that match itself
    assert kql_to_dsl("item*:x", FIELDS) == _should(
        {"nested": {"path": "items", "query": {"term": {"items.name": {"value": "x"}}}, "score_mode": "none"}})


def test_field_specs_and_options() -> None:
    spec = FieldSpec.from_mapping(FIELDS[4])
    assert (spec.is_keyword, spec.nested_path) == (True, "items")
    assert kql_to_dsl("process.name:x", [spec, *FIELDS[:1]], caseInsensitive=True) == _should(
        {"term": {"process.name": {"value": "x", "case_insensitive": True}}})
    with pytest.raises(TypeError, match="unknown KQL option"):
        kql_to_dsl("a:1", dateformat="Zulu")
    with pytest.raises(TypeError):
        kql_to_dsl("a:1", [{"type": "string"}])


def test_whole_query_with_filters() -> None:
    filters = [
        {"meta": {"negate": True}, "query": {"wildcard": {"file.path": {"value": "C:\\\\x*"}}}},
        {"meta": {"negate": False, "disabled": True}, "query": {"match_phrase": {"a": "b"}}},
        {"meta": {"negate": False}, "exists": {"field": "items.name"}},
        {"meta": {}, "match": {"a": {"query": "b", "type": "phrase"}}},
    ]
    assert build_es_query("process.name:x", filters, FIELDS) == {"bool": {
        "must": [],
        "filter": [
            _should({"term": {"process.name": {"value": "x"}}}),
            {"nested": {"path": "items", "query": {"exists": {"field": "items.name"}}}},
            {"match_phrase": {"a": {"query": "b"}}},
        ],
        "should": [],
        "must_not": [{"wildcard": {"file.path": {"value": "C:\\\\x*"}}}],
    }}
    # an empty query adds nothing (match_all is left out)
    assert build_es_query("  ", []) == {"bool": {"must": [], "filter": [], "should": [], "must_not": []}}
    with pytest.raises(KqlError, match="combined filters"):
        build_es_query("a:1", [{"meta": {"type": "combined", "params": []}}])


def test_a_field_named_true_keeps_its_type_where_kibana_sends_it_as_a_value() -> None:
    # Kibana parses the unquoted field name `true` as the boolean; as an object key JavaScript writes it as text
    assert kql_to_dsl("true:x*") == _should({"query_string": {"fields": [True], "query": "x*"}})
    assert kql_to_dsl("true:*") == _should({"exists": {"field": True}})
    assert kql_to_dsl("true:x") == _should({"match": {"true": "x"}})


def test_scripted_number_fields_convert_values_as_kibana_does() -> None:
    # equality goes through JavaScript's Number (the whole text or NaN, sent as null), a range through parseFloat
    script = [{"name": "n", "type": "number", "scripted": True, "script": "doc.x", "lang": "expression"}]

    def value(kql: str) -> object:
        return kql_to_dsl(kql, script)["bool"]["should"][0]["script"]["script"]["params"]

    assert value('n:"2020-01-01"') == {"value": None}
    assert value("n:0x10") == {"value": 16}
    assert value('n:" 12 "') == {"value": 12}
    assert value("n:1.5e1") == {"value": 15}
    assert value("n:true") == {"value": 1}
    assert value("n >= 2020-01-01") == {"gte": 2020}
