"""Verification against mappings: Elasticsearch's rules and messages."""

from __future__ import annotations

import pytest

from runner.eql import EqlVerificationError, Schema, parse, verify

MAPPINGS = {
    "logs-a": {
        "properties": {
            "@timestamp": {"type": "date"},
            "event": {"properties": {"category": {"type": "keyword"}}},
            "process": {
                "properties": {
                    "name": {"type": "keyword"},
                    "pid": {"type": "long"},
                    "command_line": {"type": "wildcard"},
                    "title": {"type": "text"},
                    "executable": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                }
            },
            "destination": {"properties": {"ip": {"type": "ip"}}},
            "host": {"properties": {"id": {"type": "keyword"}}},
            "alias_of_name": {"type": "alias", "path": "process.name"},
        }
    }
}
SCHEMA = Schema.from_mappings(MAPPINGS)


def problems(query: str) -> str:
    with pytest.raises(EqlVerificationError) as caught:
        verify(parse(query), SCHEMA)
    return str(caught.value)


def test_valid_queries_pass() -> None:
    for text in [
        'process where process.name == "bash" and process.pid > 1',
        'process where process.executable : "*bin*" and alias_of_name == "x"',
        'network where cidrmatch(destination.ip, "10.0.0.0/8", "::1")',
        "process where ?process.unknown == null and ?other.field != 1",
        "sequence by host.id [process where true] by process.pid [process where true] by process.pid",
        'process where process.command_line like~ "*curl*"',
    ]:
        verify(parse(text), SCHEMA)


def test_unknown_column_with_suggestions() -> None:
    # Elasticsearch suggests every mapped name at least half similar (Levenshtein), the most similar first
    assert problems('process where process.nam == "x"') == (
        "Found 1 problem\nline 1:15: Unknown column [process.nam], did you mean any of "
        "[process.name, process.pid, process.title, process.executable]?"
    )
    assert problems("process where host.di == 1").endswith("Unknown column [host.di], did you mean [host.id]?")
    assert problems("process where nothing_like_it == 1").endswith("Unknown column [nothing_like_it]")


def test_unknown_category_field() -> None:
    schema = Schema.from_mappings({"i": {"properties": {"a": {"type": "keyword"}}}})
    with pytest.raises(EqlVerificationError) as caught:
        verify(parse('process where a == "x"'), schema)
    assert "Unknown column [event.category]" in str(caught.value)
    verify(parse('any where a == "x"'), schema)


def test_text_field_without_exact_subfield() -> None:
    # the field is named by its own name in the mapping, its leaf (see test_verifier_es.py)
    assert (
        "[process.title == \"x\"] cannot operate on first argument field of data type [text]: No keyword/multi-field "
        "defined exact matches for [title]; define one or use MATCH/QUERY instead"
    ) in problems('process where process.title == "x"')


def test_type_checks() -> None:
    assert "first argument of [:] must be [string], found value [process.pid] type [long]; consider using [==] instead" in (
        problems('process where process.pid : "1*"')
    )
    assert "first argument of [cidrMatch(process.name, \"10.0.0.0/8\")] must be [ip], found value [process.name] type [keyword]" in (
        problems('process where cidrMatch(process.name, "10.0.0.0/8")')
    )
    assert "second argument of [between(process.name, 1, \"b\")] must be [string], found value [1] type [integer]" in (
        problems('process where between(process.name, 1, "b") == "x"')
    )
    assert "must be a constant, received [process.name]" in problems(
        "network where cidrMatch(destination.ip, process.name)"
    )
    assert "2nd argument of [process.pid in (1, \"two\")] must be [long], found value [\"two\"] type [keyword]" in (
        problems('process where process.pid in (1, "two")')
    )


def test_condition_must_be_boolean() -> None:
    assert problems("any where process.pid") == (
        "Found 1 problem\nline 1:11: Condition expression needs to be boolean, found [LONG]"
    )


def test_join_key_types_must_match() -> None:
    assert "Sequence key [process.name] type [keyword] is incompatible with key [process.pid] type [long]" in problems(
        "sequence [process where true] by process.pid [process where true] by process.name"
    )


def test_optional_fields_compared_to_each_other_only_when_unmapped() -> None:
    verify(parse("any where ?x == ?y"), SCHEMA)
    assert "Comparisons against fields are not (currently) supported" in problems(
        "any where ?process.name == ?process.executable"
    )


def test_several_problems_are_reported_together() -> None:
    text = problems("process where aaa == 1 and bbb == 2")
    assert text.startswith("Found 2 problems\n")
    assert "line 1:15: Unknown column [aaa]" in text and "line 1:28: Unknown column [bbb]" in text


def test_levenshtein_matches_the_textbook_definition() -> None:
    import random

    from runner.eql.suggest import levenshtein

    def reference(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            current = [i]
            for j, cb in enumerate(b, 1):
                current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
            previous = current
        return previous[-1]

    chance = random.Random(3)
    for _ in range(3000):
        a = "".join(chance.choice("ab.c_") for _ in range(chance.randint(0, 70)))
        b = "".join(chance.choice("ab.c_") for _ in range(chance.randint(0, 70)))
        assert levenshtein(a, b) == reference(a, b)
