"""Filters with Elasticsearch's semantics: case, wildcards, regex, nulls, multi-valued fields, types, functions."""

from __future__ import annotations

from typing import Any, cast

import pytest

from runner.engine import search


def docs(*sources: dict[str, Any], index: str = "logs") -> list[dict[str, Any]]:
    out = []
    for i, source in enumerate(sources, 1):
        body = {"@timestamp": f"2026-01-01T00:00:{i:02d}Z", "event": {"category": "process"}, **source}
        out.append({"_index": index, "_id": str(i), "_source": body})
    return out


def ids(documents: list[dict[str, Any]], query: str, **kwargs: Any) -> list[str]:
    response = search(documents, query, size=100, **kwargs)
    return [hit["_id"] for hit in response["hits"]["events"]]


NAMES = docs({"name": "cmd.exe"}, {"name": "CMD.EXE"}, {"name": "cmd*.exe"}, {"other": 1}, {"name": "xcmd.exe"})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('name == "cmd.exe"', ["1"]),  # case-sensitive, no wildcards
        ('name == "cmd*.exe"', ["3"]),
        ('name : "cmd.exe"', ["1", "2"]),  # case-insensitive
        ('name : "CMD*"', ["1", "2", "3"]),
        ('name : "?md.exe"', ["1", "2"]),
        ('name like "cmd*"', ["1", "3"]),
        ('name like~ "cmd*"', ["1", "2", "3"]),
        ('name in ("cmd.exe", "nope")', ["1"]),
        ('name in~ ("CMD.exe")', ["1", "2"]),
        ('name in~ ("cmd*.exe")', ["3"]),  # in~ never expands wildcards
        ('name : ("x*", "cmd.EXE")', ["1", "2", "5"]),
        ('name regex "cmd\\\\..*"', ["1"]),  # Lucene syntax, anchored
        ('name regex "md.*"', []),
        ('name regex~ "CMD\\\\.EXE"', ["1", "2"]),
        ('name != "cmd.exe"', ["2", "3", "4", "5"]),  # must_not: a missing field matches
        ('not name : "cmd*"', ["4", "5"]),
        ("name == null", ["4"]),
        ("name != null", ["1", "2", "3", "5"]),
        ('name : "*"', ["1", "2", "3", "5"]),
        ('name not in ("cmd.exe", "CMD.EXE")', ["3", "4", "5"]),
    ],
)
def test_string_operators(condition: str, expected: list[str]) -> None:
    assert ids(NAMES, f"process where {condition}") == expected


def test_category_is_a_case_sensitive_term() -> None:
    documents = docs({"event": {"category": ["process", "network"]}}, {"event": {"category": "Process"}})
    assert ids(documents, "process where true") == ["1"]
    assert ids(documents, "network where true") == ["1"]
    assert ids(documents, "any where true") == ["1", "2"]


MULTI = docs({"tags": ["a", "b"]}, {"tags": ["b", "c"]}, {"tags": []}, {"tags": "a"}, {"tags": [None, "z"]})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('tags == "a"', ["1", "4"]),  # any value matches
        ('tags != "a"', ["2", "3", "5"]),  # excluded when any value is "a"
        ('tags == "a" and tags == "b"', ["1"]),  # each comparison on its own
        ('tags in ("c", "z")', ["2", "5"]),
        ("tags == null", ["3"]),
        ('length(tags) == 1', ["1", "2", "4", "5"]),  # a script leaf iterates every value
        ('startsWith(tags, "b")', ["1", "2"]),
        ('stringContains(tags, "")', ["1", "2", "4", "5"]),  # a wildcard query "**": any value at all
        ('concat(tags, "!") == "c!"', ["2"]),
    ],
)
def test_multi_valued_fields(condition: str, expected: list[str]) -> None:
    assert ids(MULTI, f"process where {condition}") == expected


def test_null_value_in_mapping_changes_what_null_means() -> None:
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "f": {"type": "keyword", "null_value": "NULL"}}}}
    documents = docs({"f": None}, {}, {"f": "x"})
    assert ids(documents, "process where f == null", mappings=mappings) == ["2"]
    assert ids(documents, 'process where f == "NULL"', mappings=mappings) == ["1"]


def test_numbers() -> None:
    documents = docs({"n": 5}, {"n": "7"}, {"n": 2.5}, {"n": [1, 10]}, {})
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "n": {"type": "long"}}}}
    assert ids(documents, "process where n > 4", mappings=mappings) == ["1", "2", "4"]
    assert ids(documents, "process where n == 2", mappings=mappings) == ["3"]  # a long field truncates 2.5
    # two range queries: different values of [1, 10] may satisfy each
    assert ids(documents, "process where n < 4.5 and n >= 2", mappings=mappings) == ["3", "4"]
    assert ids(documents, "process where n + 1 == 8", mappings=mappings) == ["2"]
    assert ids(documents, "process where n / 2 == 3", mappings=mappings) == ["2"]  # Java integer division
    assert ids(documents, "process where n % 3 == 1", mappings=mappings) == ["2", "4"]
    assert ids(documents, "process where -n < -6", mappings=mappings) == ["2", "4"]


def test_keyword_ignore_above_hides_long_values() -> None:
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "k": {"type": "keyword", "ignore_above": 3}}}}
    documents = docs({"k": "abc"}, {"k": "abcd"})
    assert ids(documents, 'process where k : "ab*"', mappings=mappings) == ["1"]
    assert ids(documents, "process where k == null", mappings=mappings) == ["2"]


def test_ip_fields_and_cidrmatch() -> None:
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "ip": {"type": "ip"}}}}
    documents = docs({"ip": "10.1.2.3"}, {"ip": "::1"}, {"ip": "fe80::1"}, {"ip": "8.8.8.8"}, {"ip": "::ffff:10.0.0.1"})
    query = 'process where cidrmatch(ip, "10.0.0.0/8", "::1", "FE80::/10")'
    assert ids(documents, query, mappings=mappings) == ["1", "2", "3", "5"]
    assert ids(documents, 'process where ip == "10.0.0.0/8"', mappings=mappings) == ["1", "5"]  # term on ip: CIDR
    assert ids(documents, 'process where not cidrMatch(ip, "0.0.0.0/0")', mappings=mappings) == ["2", "3"]
    # without a mapping the addresses are keywords; cidrMatch still reads them as addresses
    assert ids(documents, query) == ["1", "2", "3", "5"]


def test_dates_round_a_partial_literal() -> None:
    documents = [
        {"_index": "logs", "_id": str(i), "_source": {"@timestamp": ts, "event": {"category": "process"}}}
        for i, ts in enumerate(["2020-01-01T10:00:00.000Z", "2020-01-01T10:00:00.999Z", "2020-01-01T10:00:01.000Z", 1577872800500])
    ]
    assert ids(documents, 'process where @timestamp == "2020-01-01T10:00:00Z"') == ["0", "3", "1"]
    assert ids(documents, 'process where @timestamp > "2020-01-01T10:00:00Z"') == ["2"]
    assert ids(documents, 'process where @timestamp <= "2020-01-01T10:00:00Z"') == ["0", "3", "1"]
    assert ids(documents, "process where @timestamp == 1577872800500") == ["3"]
    assert ids(documents, 'process where @timestamp < "2020-01-01"') == []
    assert ids(documents, 'process where @timestamp == "2020-01"') == ["0", "3", "1", "2"]


def test_version_fields_compare_semantically() -> None:
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "v": {"type": "version"}}}}
    documents = docs({"v": "1.2.4"}, {"v": "1.11.3"}, {"v": "1.2.4-SNAPSHOT"}, {"v": "bad"})
    assert ids(documents, 'process where v > "1.5.0"', mappings=mappings) == ["2", "4"]  # invalid versions sort last
    assert ids(documents, 'process where v < "1.2.4"', mappings=mappings) == ["3"]
    assert ids(documents, 'process where v == "bad"', mappings=mappings) == ["4"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('between(s, "a", "c") == "b"', ["1"]),
        ('between(s, "x", "c") == ""', ["1"]),
        ('between~(s, "A", "C") == "b"', ["1"]),
        ('between(s, "a", "c", true) == "bcab"', ["1"]),
        ('substring(s, -2) == "bc"', ["1"]),
        ('substring(s, 1, -1) == "bcab"', ["1"]),
        ('indexOf(s, "b") == 1', ["1"]),
        ('indexOf(s, "b", 2) == 4', ["1"]),
        ('indexOf(s, "zz") == null', ["1", "2"]),
        ('indexOf~(s, "B") == 1', ["1"]),
        ('length(s) == 6', ["1"]),
        ('number(n) == 26', ["2"]),
        ('number(n, 16) == 38', ["2"]),
        ('number("0x1A", 16) == 26 and n == "26"', ["2"]),
        ('concat(s, n) == null', ["1", "2"]),
        ('concat(s, "-", 1) == "abcabc-1"', ["1"]),
        ('string(length(s)) == "6"', ["1"]),
        ('endsWith~(s, "ABC")', ["1"]),
        ('endsWith(s, "ABC")', []),
        ('stringContains~(s, "CA")', ["1"]),
        ("add(1, 2) == 3 and divide(7, 2) == 3 and divide(7.0, 2) == 3.5 and modulo(-7, 3) == -1", ["1", "2"]),
        ('multiply(length(s), 2) == 12 and subtract(length(s), 1) == 5', ["1"]),
    ],
)
def test_functions(condition: str, expected: list[str]) -> None:
    documents = docs({"s": "abcabc"}, {"n": "26"})
    assert ids(documents, f"process where {condition}") == expected


def test_optional_fields() -> None:
    mappings = {"logs": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}, "a": {"type": "keyword"}}}}
    documents = docs({"a": "x"}, {})
    assert ids(documents, "process where ?missing == null", mappings=mappings) == ["1", "2"]
    assert ids(documents, "process where ?missing", mappings=mappings) == []
    assert ids(documents, "process where ?a == null", mappings=mappings) == ["2"]
    assert ids(documents, "process where ?x == ?y", mappings=mappings) == ["1", "2"]


def test_dotted_keys_and_arrays_of_objects_in_source() -> None:
    documents = [
        {"_index": "i", "_id": "1", "_source": {"@timestamp": 1, "event.category": "process", "process.pid": 10}},
        {"_index": "i", "_id": "2", "_source": {"@timestamp": 2, "event": [{"category": "process"}], "process": [{"pid": 11}, {"pid": 12}]}},
        {"_index": "i", "_id": "3", "_source": {"@timestamp": 3, "event": {"category": "process"}, "process": {"pid": 13, "parent.pid": 10}}},
    ]
    assert ids(documents, "process where process.pid > 10") == ["2", "3"]
    assert ids(documents, "process where process.pid == 12") == ["2"]
    assert ids(documents, "process where process.parent.pid == 10") == ["3"]


def test_unselective_tests_move_last_but_never_past_a_script() -> None:
    """`and` runs keyword tests on ECS categorization fields after the selective ones; a script leaf (which can
    fail) keeps its place, so a false keyword test before it still keeps it from running."""
    from runner.engine.filters import KeywordTest, Leaf, _selective_first

    def keyword(name: str) -> Leaf:
        class Source:
            parts = tuple(name.split("."))

        class Reader:
            pass

        reader = Reader()
        reader.name = name  # type: ignore[attr-defined]
        reader.source = Source()  # type: ignore[attr-defined]
        test = KeywordTest(reader, lambda _vs: True, lambda _v: True, "x")  # type: ignore[arg-type]
        return Leaf(lambda _s: True, keyword=test)

    os_type, event_type, action, name, script = (
        keyword("host.os.type"), keyword("event.type"), keyword("event.action"), keyword("process.name"),
        Leaf(lambda _s: True),
    )
    assert _selective_first((os_type, event_type, action, name)) == [name, action, os_type, event_type]
    assert _selective_first((os_type, name, script, event_type, action)) == [name, os_type, script, action, event_type]
    docs_ = docs({"event": {"category": "process", "type": "x"}, "n": 1})
    assert ids(docs_, 'process where event.type == "start" and divide(n, 0) == 1') == []


def test_patterns_are_tested_after_exact_tests() -> None:
    from runner.engine.compile import Compiler
    from runner.engine.fields import IndexContext
    from runner.engine.filters import AllOf, KeywordTest, Leaf, _selective_first
    from runner.eql import EventQuery, parse
    from runner.eql.schema import IndexMapping

    mapping = IndexMapping.from_body({"properties": {
        "host": {"properties": {"os": {"properties": {"type": {"type": "keyword"}}}}},
        "process": {"properties": {"command_line": {"type": "wildcard"}, "name": {"type": "keyword"}}}}})
    query = parse('process where host.os.type == "linux" and process.command_line : "*curl*" and process.name == "sh"')
    node = Compiler(IndexContext("i", mapping), frozenset()).plan(cast(EventQuery, query).filter.condition)
    assert isinstance(node, AllOf)
    names = [cast(KeywordTest, cast(Leaf, part).keyword).reader.name for part in _selective_first(node.parts)]
    assert names == ["process.name", "host.os.type", "process.command_line"]
