"""The Query DSL evaluator (runner.engine.query_dsl): each clause on each field family, with Elasticsearch's meaning.

Mappings and documents are written by hand; each case names what Elasticsearch does (and why, where it surprises:
a `term` on a text field is not analyzed, a wildcard with `/` on a text field matches no single term, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runner.engine import LiveMapping, QueryDslError, UnsupportedQuery, compile_dsl, dynamic_mapping
from runner.engine.query_dsl import analyze
from runner.eql import IndexMapping

NOW = datetime(2026, 3, 15, 12, 30, 0, tzinfo=UTC)

MAPPING: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"category": {"type": "keyword"}, "code": {"type": "keyword"}}},
        "process": {
            "properties": {
                "name": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}},
                "command_line": {"type": "wildcard"},
                "pid": {"type": "long"},
                "args": {"type": "keyword", "ignore_above": 10},
            }
        },
        "message": {"type": "match_only_text"},
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "score": {"type": "double"},
        "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}}},
        "flag": {"type": "boolean"},
        "tier": {"type": "constant_keyword", "value": "gold"},
        "day": {"type": "date", "format": "dd/MM/yyyy"},
        "threat": {
            "properties": {
                "enrichments": {
                    "type": "nested",
                    "properties": {
                        "indicator": {"properties": {"type": {"type": "keyword"}, "ip": {"type": "ip"}}},
                        "matched": {"properties": {"field": {"type": "keyword"}}},
                    },
                }
            }
        },
    }
}


def matches(query: dict[str, Any], docs: list[dict[str, Any]], mapping: Any = MAPPING) -> list[bool]:
    predicate = compile_dsl(query, mapping, now=NOW)
    return [predicate(doc) for doc in docs]


# ---- the standard analyzer -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Hello, World!", ("hello", "world")),
        ("foo_bar baz", ("foo_bar", "baz")),  # _ joins (ExtendNumLet)
        ("example.com e.g. o'neil", ("example.com", "e.g", "o'neil")),  # MidNumLet between letters
        ("foo:bar", ("foo:bar",)),  # MidLetter
        ("1,000.50 10.0.0.1", ("1,000.50", "10.0.0.1")),  # MidNum / MidNumLet between digits
        ("abc123 123abc", ("abc123", "123abc")),
        ("C:\\Windows\\System32\\cmd.exe", ("c", "windows", "system32", "cmd.exe")),
        ("/home/user/.aws/credentials", ("home", "user", "aws", "credentials")),
        ("a-b a/b a+b", ("a", "b", "a", "b", "a", "b")),
        ("___ _id end.", ("_id", "end")),
        ("中文テキスト", ("中", "文", "テキスト")),  # each ideograph alone, Katakana as a run
        ("ÉCOLE İstanbul ΣΟΦΟΣ", ("école", "istanbul", "σοφοσ")),  # Java's per-code-point lowercase
        ("", ()),
    ],
)
def test_standard_analyzer(text: str, terms: tuple[str, ...]) -> None:
    assert analyze(text) == terms


def test_long_words_are_split_at_255_characters() -> None:
    assert analyze("x" * 600) == ("x" * 255, "x" * 255, "x" * 90)


# ---- bool ------------------------------------------------------------------------------------------------------------


def test_bool_should_defaults_to_one_without_must_and_to_zero_with_it() -> None:
    a = {"term": {"event.category": "process"}}
    b = {"term": {"event.code": "1"}}
    docs = [{"event": {"category": "process"}}, {"event": {"category": "file"}}, {"event": {"code": "1"}}]
    assert matches({"bool": {"should": [a, b]}}, docs) == [True, False, True]
    # with a filter, should clauses are optional
    assert matches({"bool": {"filter": [a], "should": [b]}}, docs) == [True, False, False]
    assert matches({"bool": {"filter": a, "should": [b], "minimum_should_match": 1}}, docs) == [False, False, False]
    assert matches({"bool": {"should": [a, b], "minimum_should_match": "100%"}}, docs) == [False, False, False]
    assert matches({"bool": {"should": [a, b], "minimum_should_match": -1}}, docs) == [True, False, True]
    assert matches({"bool": {"must_not": [a]}}, docs) == [False, True, True]
    assert matches({"bool": {}}, docs) == [True, True, True]
    assert matches({"match_all": {}}, docs) == [True, True, True]
    assert matches({"match_none": {}}, docs) == [False, False, False]


# ---- exists ----------------------------------------------------------------------------------------------------------


def test_exists() -> None:
    query = {"exists": {"field": "process.args"}}
    docs = [{"process": {"args": "a"}}, {"process": {"args": None}}, {"process": {"args": []}},
            {"process": {"args": "x" * 11}}, {"process.args": ["x" * 11, "b"]}, {}]
    # null, [] and a keyword over ignore_above are not indexed
    assert matches(query, docs) == [True, False, False, False, True, False]
    # an object exists when a field below it does
    assert matches({"exists": {"field": "process"}}, [{"process": {"pid": 1}}, {"process": {"pid": None}}, {}]) == [
        True, False, False]
    # a number that does not parse is not indexed (ignore_malformed aside, Elasticsearch would reject the document)
    assert matches({"exists": {"field": "process.pid"}}, [{"process": {"pid": "12"}}, {"process": {"pid": "x"}}]) == [
        True, False]
    # unmapped: mapped at its first value, as a dynamic index does
    assert matches({"exists": {"field": "custom.thing"}}, [{"custom": {"thing": "v"}}, {"custom": {}}], None) == [
        True, False]


# ---- term / terms ----------------------------------------------------------------------------------------------------


def test_term_on_keyword_family_is_exact_and_case_insensitive_on_request() -> None:
    docs = [{"process": {"name": "cmd.exe"}}, {"process": {"name": "CMD.EXE"}}, {"process": {"name": ["a", "cmd.exe"]}},
            {}]
    assert matches({"term": {"process.name": {"value": "cmd.exe"}}}, docs) == [True, False, True, False]
    assert matches({"term": {"process.name": {"value": "cmd.exe", "case_insensitive": True}}}, docs) == [
        True, True, True, False]
    assert matches({"term": {"process.command_line": "a b"}}, [{"process": {"command_line": "a b"}}]) == [True]
    # a constant_keyword with a `value`: every document of the index holds it (Elasticsearch refuses a document with
    # another value), with or without the field in its `_source`
    assert matches({"term": {"tier": "gold"}}, [{"tier": "gold"}, {}]) == [True, True]
    assert matches({"term": {"tier": "Gold"}}, [{"tier": "gold"}]) == [False]
    # a number written in _source is indexed as its text by a keyword field
    assert matches({"term": {"event.code": "4624"}}, [{"event": {"code": 4624}}]) == [True]
    assert matches({"terms": {"event.code": ["1", "2"]}}, [{"event": {"code": "2"}}, {"event": {"code": "3"}}]) == [
        True, False]


def test_term_on_text_is_not_analyzed() -> None:
    docs = [{"message": "Failed Login"}]
    assert matches({"term": {"message": "failed"}}, docs) == [True]
    assert matches({"term": {"message": "Failed"}}, docs) == [False]
    assert matches({"term": {"message": "failed login"}}, docs) == [False]


def test_term_on_numbers_dates_ips_booleans() -> None:
    assert matches({"term": {"process.pid": "42"}}, [{"process": {"pid": 42}}, {"process": {"pid": "42"}}]) == [
        True, True]
    # a decimal on an integer field matches nothing (NumberFieldMapper), on a double it is a value
    assert matches({"term": {"process.pid": 42.5}}, [{"process": {"pid": 42}}]) == [False]
    assert matches({"term": {"score": "1.5"}}, [{"score": 1.5}, {"score": 2}]) == [True, False]
    # a date term is the interval the value names: a day written without a time covers that day
    day = [{"@timestamp": "2026-03-01T00:00:00Z"}, {"@timestamp": "2026-03-01T23:59:59.999Z"},
           {"@timestamp": "2026-03-02T00:00:00Z"}]
    assert matches({"term": {"@timestamp": "2026-03-01"}}, day) == [True, True, False]
    assert matches({"term": {"source.ip": "10.0.0.0/8"}}, [{"source": {"ip": "10.1.2.3"}},
                                                            {"source": {"ip": "11.0.0.1"}}]) == [True, False]
    assert matches({"term": {"source.ip": "::ffff:10.1.2.3"}}, [{"source": {"ip": "10.1.2.3"}}]) == [True]
    assert matches({"term": {"flag": "true"}}, [{"flag": True}, {"flag": "false"}]) == [True, False]


def test_values_a_mapped_type_rejects_fail_the_query() -> None:
    with pytest.raises(QueryDslError, match=r"term: failed to create query: For input string: \"abc\""):
        compile_dsl({"term": {"process.pid": "abc"}}, MAPPING)
    with pytest.raises(QueryDslError, match="not an IP string literal"):
        compile_dsl({"bool": {"filter": [{"match": {"source.ip": "nope"}}]}}, MAPPING)
    with pytest.raises(QueryDslError, match=r"Can only use wildcard queries on keyword and text fields"):
        compile_dsl({"wildcard": {"process.pid": "4*"}}, MAPPING)
    # lenient turns the refusal into no match
    assert matches({"match": {"process.pid": {"query": "abc", "lenient": True}}}, [{"process": {"pid": 1}}]) == [False]


# ---- wildcard --------------------------------------------------------------------------------------------------------


def test_wildcard_on_keyword_and_wildcard_fields() -> None:
    docs = [{"process": {"command_line": "C:\\Windows\\cmd.exe /c whoami"}},
            {"process": {"command_line": "c:\\windows\\CMD.exe"}}]
    pattern = "?:\\\\Windows\\\\cmd.exe*"  # \\ escapes a backslash, as Kibana writes it
    assert matches({"wildcard": {"process.command_line": {"value": pattern}}}, docs) == [True, False]
    assert matches({"wildcard": {"process.command_line": {"value": pattern, "case_insensitive": True}}}, docs) == [
        True, True]
    assert matches({"wildcard": {"process.name": "a\\*"}}, [{"process": {"name": "a*"}},
                                                            {"process": {"name": "ab"}}]) == [True, False]


def test_wildcard_on_text_applies_to_each_term_lowercased() -> None:
    docs = [{"message": "User /home/Alice/.aws/credentials read"}]
    assert matches({"wildcard": {"message": "cred*"}}, docs) == [True]
    assert matches({"wildcard": {"message": "CRED*"}}, docs) == [True]  # the pattern is normalized
    # no single term holds a slash: Elasticsearch finds nothing
    assert matches({"wildcard": {"message": "*/.aws/credentials"}}, docs) == [False]


# ---- range -----------------------------------------------------------------------------------------------------------


def test_range_on_numbers_keywords_ips() -> None:
    docs = [{"process": {"pid": 5}}, {"process": {"pid": 10}}, {"process": {"pid": [1, 20]}}]
    assert matches({"range": {"process.pid": {"gt": 5, "lte": "10"}}}, docs) == [False, True, False]
    assert matches({"range": {"process.pid": {"gte": 4.5}}}, docs) == [True, True, True]
    assert matches({"range": {"process.pid": {"from": 5, "to": 10, "include_lower": False}}}, docs) == [
        False, True, False]
    # keywords compare as strings: "9" > "10"
    assert matches({"range": {"event.code": {"gt": "10"}}}, [{"event": {"code": "9"}}, {"event": {"code": "100"}}]) == [
        True, True]
    assert matches({"range": {"event.code": {"gt": "10"}}}, [{"event": {"code": "1"}}]) == [False]
    ips = [{"source": {"ip": "10.0.0.5"}}, {"source": {"ip": "10.0.1.0"}}]
    assert matches({"range": {"source.ip": {"gte": "10.0.0.0", "lt": "10.0.1.0"}}}, ips) == [True, False]


def test_range_on_dates_with_date_math_rounding_format_and_time_zone() -> None:
    def doc(ts: str) -> dict[str, Any]:
        return {"@timestamp": ts}

    # now is 2026-03-15T12:30:00Z
    recent = [doc("2026-03-15T12:26:00Z"), doc("2026-03-15T12:24:59Z")]
    assert matches({"range": {"@timestamp": {"gte": "now-5m"}}}, recent) == [True, False]
    # lte now/d rounds up to the end of the day; lt now/d down to its start
    today = [doc("2026-03-15T23:59:59.999Z"), doc("2026-03-16T00:00:00Z"), doc("2026-03-14T23:00:00Z")]
    assert matches({"range": {"@timestamp": {"lte": "now/d"}}}, today) == [True, False, True]
    assert matches({"range": {"@timestamp": {"lt": "now/d"}}}, today) == [False, False, True]
    assert matches({"range": {"@timestamp": {"gt": "now/d"}}}, today) == [False, True, False]
    # a date without a time: lte includes the day, gt excludes it
    days = [doc("2026-01-01T18:00:00Z"), doc("2026-01-02T00:00:00Z")]
    assert matches({"range": {"@timestamp": {"lte": "2026-01-01"}}}, days) == [True, False]
    assert matches({"range": {"@timestamp": {"gt": "2026-01-01"}}}, days) == [False, True]
    # time_zone: the bound is local time in that zone
    assert matches({"range": {"@timestamp": {"gte": "2026-01-01T20:00:00", "time_zone": "+02:00"}}}, days) == [
        True, True]
    assert matches({"range": {"@timestamp": {"gte": "2026-01-01T20:00:00", "time_zone": "Zulu"}}}, days) == [
        False, True]
    assert matches({"range": {"@timestamp": {"gte": "2026-01-01||+1d/d"}}}, days) == [False, True]
    # format: the query's own, else the field's
    assert matches({"range": {"@timestamp": {"gte": "02/01/2026", "format": "dd/MM/yyyy"}}}, days) == [False, True]
    assert matches({"range": {"day": {"lt": "02/01/2026"}}}, [{"day": "01/01/2026"}, {"day": "03/01/2026"}]) == [
        True, False]
    with pytest.raises(QueryDslError, match="time_zone can not be applied to non date field"):
        compile_dsl({"range": {"process.pid": {"gte": 1, "time_zone": "Zulu"}}}, MAPPING)


# ---- match / match_phrase --------------------------------------------------------------------------------------------


def test_match_on_text_is_analyzed_or_by_default() -> None:
    docs = [{"message": "Failed password for root"}, {"message": "accepted"}, {}]
    assert matches({"match": {"message": "FAILED login"}}, docs) == [True, False, False]
    assert matches({"match": {"message": {"query": "failed login", "operator": "and"}}}, docs) == [False, False, False]
    assert matches({"match": {"message": {"query": "root failed", "operator": "AND"}}}, docs) == [True, False, False]
    assert matches({"match": {"message": "!!!"}}, docs) == [False, False, False]  # no terms: nothing


def test_match_on_keyword_is_the_whole_value_and_on_numbers_a_number() -> None:
    docs = [{"process": {"name": "cmd.exe"}}, {"process": {"name": "Cmd.exe"}}]
    assert matches({"match": {"process.name": "cmd.exe"}}, docs) == [True, False]
    # a text multi-field reads the parent's value; "cmd.exe" is one word (MidNumLet between letters)
    assert matches({"match": {"process.name.text": "CMD.EXE"}}, docs) == [True, True]
    assert matches({"match": {"process.name.text": "CMD"}}, docs) == [False, False]
    assert matches({"match": {"source.port": "53"}}, [{"source": {"port": 53}}, {"source": {"port": 54}}]) == [
        True, False]
    assert matches({"match_phrase": {"source.ip": "10.0.0.0/8"}}, [{"source": {"ip": "10.9.9.9"}}]) == [True]


def test_match_phrase_needs_consecutive_positions_in_one_value() -> None:
    docs = [{"message": "an Invoke-WebRequest call"}, {"message": "webrequest invoke"},
            {"message": ["see invoke", "webrequest"]}]
    assert matches({"match_phrase": {"message": "invoke-webrequest"}}, docs) == [True, False, False]
    assert matches({"match_phrase": {"title": "Quick Fox"}}, [{"title": "the quick fox"},
                                                              {"title": "the quick brown fox"}]) == [True, False]
    with pytest.raises(UnsupportedQuery, match="slop"):
        compile_dsl({"match_phrase": {"message": {"query": "a b", "slop": 2}}}, MAPPING)


# ---- dynamic fields (the unmapped profile) ---------------------------------------------------------------------------


def test_unmapped_strings_are_text_with_a_keyword_sub_field() -> None:
    docs = [{"user": {"name": "Alice Smith"}}, {"user": {"name": "x" * 300}}]
    assert matches({"match_phrase": {"user.name": "alice smith"}}, docs, None) == [True, False]
    assert matches({"term": {"user.name.keyword": "Alice Smith"}}, docs, None) == [True, False]
    # the keyword sub-field has ignore_above 256; the text field indexes every string
    assert matches({"exists": {"field": "user.name.keyword"}}, docs, None) == [True, False]
    assert matches({"exists": {"field": "user.name"}}, docs, None) == [True, True]
    # the first value decides the type and the decision sticks
    predicate = compile_dsl({"range": {"n": {"gte": 10}}}, None)
    assert [predicate({"n": 12}), predicate({"n": "12"}), predicate({"n": "abc"})] == [True, True, False]


def test_the_caller_mapping_is_not_changed() -> None:
    mapping = IndexMapping.from_body(MAPPING)
    before = set(mapping.fields)
    compile_dsl({"match": {"brand.new": "x"}}, mapping)({"brand": {"new": "x"}})
    assert set(mapping.fields) == before


# ---- query_string / multi_match --------------------------------------------------------------------------------------


def test_query_string_as_kibana_emits_it() -> None:
    keyword = [{"process": {"name": "python3.11"}}, {"process": {"name": "Python"}}]
    assert matches({"query_string": {"fields": ["process.name"], "query": "python*"}}, keyword) == [True, False]
    # escapes as Kibana writes them; on a keyword field the pattern spans the whole value
    paths = [{"file": {"path": "/home/a/.aws/credentials"}}]
    mapping = {"properties": {"file": {"properties": {"path": {"type": "keyword"}}}}}
    assert matches({"query_string": {"fields": ["file.path"], "query": "*\\/.aws\\/credentials"}}, paths, mapping) == [
        True]
    # dynamically mapped text: no single term has a slash, as in Elasticsearch
    assert matches({"query_string": {"fields": ["file.path"], "query": "*\\/.aws\\/credentials"}}, paths, None) == [
        False]
    assert matches({"query_string": {"fields": ["file.path"], "query": "CRED*"}}, paths, None) == [True]
    # an unquoted KQL value of several words: several terms, OR
    agents = [{"ua": "S3 Browser 9"}, {"ua": "curl"}, {"ua": "Browser"}]
    assert matches({"query_string": {"fields": ["ua"], "query": "*S3 Browser*"}}, agents, None) == [True, False, True]
    # no fields: every field of the document; `*` alone is exists
    assert matches({"query_string": {"query": "jpg*"}}, [{"a": {"b": "JPG"}}, {"c": 1}], None) == [True, False]
    assert matches({"query_string": {"fields": ["a.*"], "query": "jp?"}}, [{"a": {"b": "jpg"}}, {"x": "jpg"}], None) == [
        True, False]
    assert matches({"query_string": {"fields": ["ua"], "query": "*"}}, [*agents, {}], None) == [True, True, True, False]
    with pytest.raises(UnsupportedQuery, match=r"\[:\] at offset 3"):
        compile_dsl({"query_string": {"query": "foo:bar"}}, None)
    with pytest.raises(UnsupportedQuery, match="operator"):
        compile_dsl({"query_string": {"query": "a AND b"}}, None)


def test_multi_match_over_every_field_is_lenient() -> None:
    docs = [{"bytes": 200, "name": "x"}, {"name": "the 200 club"}, {"name": "a"}, {"ip": "10.0.0.1"}]
    assert matches({"multi_match": {"type": "best_fields", "query": "200", "lenient": True}}, docs, None) == [
        True, True, False, False]
    assert matches({"multi_match": {"type": "best_fields", "query": "foo bar", "lenient": True}},
                   [{"m": "bar"}, {"m": "foo-bar"}, {"m": "baz"}], None) == [True, True, False]


# ---- nested ----------------------------------------------------------------------------------------------------------


def test_nested_matches_when_one_object_satisfies_every_clause() -> None:
    query = {"nested": {"path": "threat.enrichments", "score_mode": "none", "query": {"bool": {"filter": [
        {"term": {"threat.enrichments.indicator.type": "ipv4-addr"}},
        {"term": {"threat.enrichments.matched.field": "source.ip"}},
    ]}}}}
    one = {"threat": {"enrichments": [
        {"indicator": {"type": "ipv4-addr"}, "matched": {"field": "source.ip"}},
        {"indicator": {"type": "file"}, "matched": {"field": "file.hash"}},
    ]}}
    split = {"threat": {"enrichments": [
        {"indicator": {"type": "ipv4-addr"}, "matched": {"field": "file.hash"}},
        {"indicator": {"type": "file"}, "matched": {"field": "source.ip"}},
    ]}}
    single = {"threat": {"enrichments": {"indicator": {"type": "ipv4-addr"}, "matched": {"field": "source.ip"}}}}
    assert matches(query, [one, split, single, {}]) == [True, False, True, False]
    # outside a nested query, the nested objects' fields are not visible (hidden documents)
    assert matches({"term": {"threat.enrichments.indicator.type": "ipv4-addr"}}, [one]) == [False]
    with pytest.raises(QueryDslError, match=r"failed to find nested object under path \[gcp.deltas\]"):
        compile_dsl({"nested": {"path": "gcp.deltas", "query": {"match_all": {}}}}, MAPPING)
    assert matches({"nested": {"path": "gcp.deltas", "query": {"match_all": {}}, "ignore_unmapped": True}},
                   [{"gcp": {"deltas": [{}]}}]) == [False]


# ---- refusals --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"prefix": {"a": "b"}}, r"\[prefix\] queries are not evaluated"),
        ({"bool": {"filter": [{"script": {"script": "x"}}]}}, r"bool.filter\[0\].script"),
        ({"terms": {"a": {"index": "i", "id": "1", "path": "p"}}}, "terms.*lookup"),
        ({"match": {"a": {"query": "x", "zero_terms_query": "all"}}}, "zero_terms_query"),
        ({"multi_match": {"query": "x", "type": "cross_fields"}}, "cross_fields"),
        ({"bool": {"should": [{"match_all": {}}], "minimum_should_match": "2<75%"}}, "conditional"),
        ({"term": {"a": {"value": "x", "fuzziness": 2}}}, r"parameter \[fuzziness\]"),
    ],
)
def test_unsupported_queries_are_refused_with_where_and_what(query: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedQuery, match=message):
        compile_dsl(query, MAPPING)


def test_malformed_queries_are_errors() -> None:
    with pytest.raises(QueryDslError, match="exactly one key"):
        compile_dsl({"term": {"a": "b"}, "match": {"a": "b"}}, None)
    with pytest.raises(QueryDslError, match="failed to parse date field"):
        compile_dsl({"range": {"@timestamp": {"gte": "yesterday"}}}, MAPPING)


# ---- after the second review -----------------------------------------------------------------------------------------

CASELESS: dict[str, Any] = {
    "properties": {
        "p": {"type": "keyword", "normalizer": "lowercase", "fields": {"raw": {"type": "keyword"}}},
        "q": {"type": "keyword", "normalizer": "my_custom"},
    }
}


@pytest.mark.parametrize(
    "query",
    [
        {"term": {"p": "CMD.EXE"}},
        {"term": {"p": {"value": "Cmd.Exe"}}},
        {"terms": {"p": ["x", "CMD.EXE"]}},
        {"wildcard": {"p": {"value": "CMD*"}}},
        {"wildcard": {"p": "C?D.E*"}},
        {"match": {"p": "CMD.EXE"}},
        {"query_string": {"query": "CMD.EXE", "fields": ["p"]}},
        {"query_string": {"query": "CM*", "fields": ["p"]}},
        {"range": {"p": {"gte": "CMD.EXE", "lte": "CMD.EXE"}}},
        {"range": {"p": {"gt": "BBB", "lt": "DDD"}}},  # "cmd.exe" is outside ["BBB", "DDD"] as written
    ],
)
def test_a_keyword_normalizer_applies_to_the_query_constants(query: dict[str, Any]) -> None:
    # Elasticsearch normalises every constant a query compares with a normalized keyword the way it normalised the
    # indexed values (KeywordFieldType.indexedValueForSearch; the wildcard pattern through the normalizer too)
    assert matches(query, [{"p": "CMD.EXE"}, {"p": "other"}], CASELESS) == [True, False]


def test_a_keyword_without_normalizer_keeps_constants_as_written() -> None:
    assert matches({"term": {"p.raw": "cmd.exe"}}, [{"p": "CMD.EXE"}], CASELESS) == [False]
    assert matches({"term": {"p.raw": "CMD.EXE"}}, [{"p": "CMD.EXE"}], CASELESS) == [True]


def test_an_unknown_normalizer_fails_the_query() -> None:
    with pytest.raises(QueryDslError, match=r"normalizer \[my_custom\] not found"):
        matches({"term": {"q": "x"}}, [{"q": "x"}], CASELESS)


@pytest.mark.parametrize(
    "msm",
    [0, "0", "0%", -1, "-100%"],
)
def test_bool_without_required_clause_needs_one_should_whatever_minimum_should_match(msm: Any) -> None:
    # Lucene's BooleanQuery: with no MUST/FILTER clause a document matches through one SHOULD clause at least
    docs = [{"event": {"category": "x"}}, {"event": {"category": "y"}}]
    should = [{"term": {"event.category": "x"}}]
    assert matches({"bool": {"should": should, "minimum_should_match": msm}}, docs) == [True, False]
    with_not = {"bool": {"should": should, "must_not": [{"term": {"event.code": "z"}}], "minimum_should_match": msm}}
    assert matches(with_not, docs) == [True, False]
    # with a required clause, minimum_should_match 0 leaves the should clauses optional
    required = {"bool": {"should": should, "filter": [{"exists": {"field": "event.category"}}],
                         "minimum_should_match": msm}}
    assert matches(required, docs) == [True, True]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": {"event.code": {"gt": "a", "relation": 5}}}, r"\[5\] is not a valid relation"),
        ({"range": {"event.code": {"gt": "a", "relation": "over"}}}, r"\[over\] is not a valid relation"),
        ({"range": {"@timestamp": {"gt": "now", "relation": "disjoint"}}},
         r"\[range\] query does not support relation \[disjoint\]"),
        # a number where a string is expected is read as its text (parser.text()), then fails as that text does
        ({"range": {"@timestamp": {"gte": "2026-01-01", "time_zone": 5}}}, r"time_zone \[5\]"),
        ({"range": {"@timestamp": {"gte": "2026-01-01", "time_zone": {"a": 1}}}}, r"\[time_zone\] must be a string"),
        ({"range": {"@timestamp": {"gte": "2026-01-01", "format": ["x"]}}}, r"\[format\] must be a string"),
        ({"term": {"event.code": {"value": "a", "case_insensitive": "yes"}}}, r"\[case_insensitive\] must be a boolean"),
        ({"wildcard": {"event.code": {"value": "a*", "case_insensitive": 1}}}, r"\[case_insensitive\] must be a boolean"),
    ],
)
def test_malformed_parameters_are_query_errors_not_tracebacks(query: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryDslError, match=message):
        compile_dsl(query, MAPPING, now=NOW)


def test_range_relation_within_and_contains_select_what_intersects_does_on_non_range_fields() -> None:
    # RangeQueryBuilder accepts any ShapeRelation but disjoint; a date, number or keyword field's rangeQuery ignores it
    docs = [{"process": {"pid": 5}}, {"process": {"pid": 50}}]
    for relation in ("within", "CONTAINS", "intersects"):
        assert matches({"range": {"process.pid": {"gte": 1, "lte": 10, "relation": relation}}}, docs) == [True, False]


def test_case_insensitive_reads_string_booleans_as_elasticsearch_does() -> None:
    docs = [{"event": {"code": "ABC"}}]
    assert matches({"term": {"event.code": {"value": "abc", "case_insensitive": "true"}}}, docs) == [True]
    assert matches({"term": {"event.code": {"value": "abc", "case_insensitive": "false"}}}, docs) == [False]
    assert matches({"wildcard": {"event.code": {"value": "ab*", "case_insensitive": "true"}}}, docs) == [True]


# ---- fields the mapping lacks: Elasticsearch's dynamic mapping of the body (runner.engine.dynamic) -------------------

EVENT_DATA: dict[str, Any] = {
    "dynamic_templates": [
        {"ev": {"path_match": "winlog.event_data.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}}
    ],
    # an object written without properties (as the Beats templates write `winlog.event_data`) is an empty object
    "properties": {"winlog": {"properties": {"event_data": {"type": "object"}}}},
}


def test_a_body_dynamic_templates_map_the_fields_it_lacks() -> None:
    docs = [{"winlog": {"event_data": {"Foo": "Bar Baz"}}}, {"winlog": {"event_data": {"Foo": "bar"}}}]
    # keyword by the template: exact, not analyzed (the default dynamic mapping would make it text)
    assert matches({"term": {"winlog.event_data.Foo": "Bar Baz"}}, docs, EVENT_DATA) == [True, False]
    assert matches({"match": {"winlog.event_data.Foo": "bar"}}, docs, EVENT_DATA) == [False, True]
    assert matches({"term": {"winlog.event_data.Foo.keyword": "bar"}}, docs, EVENT_DATA) == [False, False]
    assert "dynamic_templates" in EVENT_DATA and "properties" not in EVENT_DATA["properties"]["winlog"]["properties"][
        "event_data"]  # the caller's body is not changed


def test_a_body_dynamic_per_object_runtime_and_date_detection_apply() -> None:
    closed = {"properties": {"o": {"type": "object", "dynamic": False, "properties": {}}}}
    assert matches({"match": {"o.b": "x"}}, [{"o": {"b": "x"}}], closed) == [False]
    assert matches({"match": {"p.b": "x"}}, [{"p": {"b": "x"}}], closed) == [True]
    runtime = {"dynamic": "runtime", "properties": {}}  # a new string is a keyword runtime field
    assert matches({"term": {"b": "x"}}, [{"b": "x"}], runtime) == [True]
    assert matches({"match": {"b": "X"}}, [{"b": "x"}], runtime) == [False]
    day = [{"d": "2026-01-01"}]
    assert matches({"term": {"d": "2026-01-01"}}, day, {"properties": {}}) == [True]  # a date
    # date_detection false: a text field, whose terms are 2026, 01, 01
    assert matches({"term": {"d": "2026-01-01"}}, day, {"date_detection": False, "properties": {}}) == [False]
    assert matches({"match": {"d": "2026"}}, day, {"date_detection": False, "properties": {}}) == [True]


def test_a_live_mapping_is_read_as_it_grows() -> None:
    live = LiveMapping(EVENT_DATA)
    predicate = compile_dsl({"term": {"winlog.event_data.Custom": "Admin"}}, live, now=NOW)
    doc = {"winlog": {"event_data": {"Custom": "Admin"}}}
    assert predicate(doc) is False  # not mapped yet: the caller has not extended its mapping with the document
    live.extend(doc)
    assert live.mapping.fields["winlog.event_data.Custom"].type == "keyword"
    assert predicate(doc) is True
    assert predicate({"winlog": {"event_data": {"Custom": "admin"}}}) is False


def test_an_object_written_without_properties_is_an_empty_object_for_the_dynamic_walk() -> None:
    body = dynamic_mapping([{"winlog": {"event_data": {"Foo": "x"}}}], EVENT_DATA)
    assert body["properties"]["winlog"]["properties"]["event_data"]["properties"]["Foo"] == {"type": "keyword"}
    mapping = IndexMapping.from_body(body)
    assert "winlog.event_data" in mapping.objects and "winlog.event_data" not in mapping.fields
    closed = dynamic_mapping([{"o": {"a": "x"}}], {"properties": {"o": {"type": "object", "enabled": False}}})
    assert closed["properties"]["o"] == {"type": "object", "enabled": False}  # not parsed: nothing maps below it


def test_a_flattened_field_indexes_its_leaves_as_keywords() -> None:
    # Elasticsearch's FlattenedFieldMapper: the root field type (RootFlattenedFieldType, a StringFieldType) indexes
    # every leaf value as a keyword, so term, match (keyword analysis: the whole value), wildcard and query_string
    # queries match any leaf; a key below it (KeyedFlattenedFieldType, `labels.team`) matches the leaves at that key.
    # Numbers and booleans are indexed as their JSON text. (Two corpus rules query flattened fields this way:
    # o365.audit.Members, azure.signinlogs.properties.authentication_processing_details.)
    mapping = {"properties": {"labels": {"type": "flattened"}}}
    doc = {"labels": {"team": ["red", {"lead": "alice"}], "size": 3, "on": True, "gone": None}}

    def matches(query: dict[str, Any]) -> bool:
        return compile_dsl(query, mapping)(doc)

    assert matches({"term": {"labels": "red"}}) and matches({"term": {"labels": "3"}})
    assert matches({"term": {"labels": "true"}}) and not matches({"term": {"labels": "Red"}})
    assert matches({"match_phrase": {"labels": "alice"}}) and matches({"match": {"labels": "alice"}})
    assert matches({"wildcard": {"labels": {"value": "al*"}}})
    assert matches({"query_string": {"fields": ["labels"], "query": "al*"}})
    assert matches({"term": {"labels.team.lead": "alice"}}) and not matches({"term": {"labels.team": "alice"}})
    assert matches({"term": {"labels.team": "red"}}) and matches({"exists": {"field": "labels"}})
    assert not compile_dsl({"exists": {"field": "labels"}}, mapping)({"other": 1})
    # a key's leaves only: `labels.team` exists in `{"team": "red"}`, not in `{"team": {"lead": ...}}` (another key)
    exists = compile_dsl({"exists": {"field": "labels.team"}}, mapping)
    assert exists({"labels": {"team": "red"}}) and not exists({"labels": {"team": {"lead": "alice"}}})
