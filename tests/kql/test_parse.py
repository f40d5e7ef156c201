"""The KQL parser by hand: the tree Kibana's grammar builds, errors with `line L:C`, and linear time on deep input."""

from __future__ import annotations

import sys

import pytest

from runner.kql import KqlSyntaxError, kql_to_dsl, parse
from runner.kql.nodes import And, Is, Nested, Not, Or, Range, Scalar, Wildcard

FREE = Scalar(None)
STAR = Wildcard(("", ""))


def _is(field: str, value: str, quoted: bool = False) -> Is:
    return Is(Scalar(field), Scalar(value, quoted))


def test_precedence_is_or_then_and_then_not_with_flat_chains() -> None:
    assert parse("a:1 or b:2 and c:3 or d:4") == Or((
        _is("a", "1"), And((_is("b", "2"), _is("c", "3"))), _is("d", "4")))
    assert parse("a:1 and b:2 and c:3") == And((_is("a", "1"), _is("b", "2"), _is("c", "3")))
    assert parse("not a:1 and b:2") == And((Not(_is("a", "1")), _is("b", "2")))
    assert parse("(a:1 or b:2) and c:3") == And((Or((_is("a", "1"), _is("b", "2"))), _is("c", "3")))


def test_keywords_are_case_insensitive_and_need_whitespace() -> None:
    assert parse("a:1 AND b:2 Or c:3") == Or((And((_is("a", "1"), _is("b", "2"))), _is("c", "3")))
    assert parse("NOT a:1") == Not(_is("a", "1"))
    # no whitespace after `and`: it is part of the value
    assert parse("a:x and") == _is("a", "x and")
    # `not ` ends an unquoted literal wherever it is (as in Kibana): the rest is then a syntax error
    with pytest.raises(KqlSyntaxError):
        parse("a:cannot be")
    # non-breaking space is whitespace
    assert parse("a:1 and\u00a0b:2") == And((_is("a", "1"), _is("b", "2")))


def test_value_lists_distribute_the_field() -> None:
    assert parse("f:(a or b and not c)") == Or((_is("f", "a"), And((_is("f", "b"), Not(_is("f", "c"))))))
    assert parse("f:((a or b))") == Or((_is("f", "a"), _is("f", "b")))


def test_literals() -> None:
    assert parse("pid: 4") == _is("pid", "4")  # numbers stay strings
    assert parse("a:true") == Is(Scalar("a"), Scalar(True))
    assert parse("a:null") == Is(Scalar("a"), Scalar(None))
    assert parse('a:"true"') == _is("a", "true", quoted=True)
    assert parse("a: bar baz  ") == _is("a", "bar baz")  # trimmed, inner spaces kept
    assert parse("bar") == Is(FREE, Scalar("bar"))
    assert parse("  ") == Is(STAR, STAR)  # empty query: *:*


def test_escapes() -> None:
    assert parse(r"a:\(x\)\:\*\\") == _is("a", "(x):*\\")
    assert parse(r"a:\and \or \NOT") == _is("a", "and or NOT")
    assert parse(r"a:x\ty\u0041") == _is("a", "x\tyA")
    assert parse(r'a:"x\"y\\z\*\u0041"') == _is("a", 'x"y\\z\\*A', quoted=True)  # other backslashes are kept
    with pytest.raises(KqlSyntaxError):
        parse(r"a:\q")


def test_wildcards() -> None:
    assert parse("a:*") == Is(Scalar("a"), STAR)
    assert parse(r"a:x*y\*z*") == Is(Scalar("a"), Wildcard(("x", "y*z", "")))
    assert parse("proc*.name:x") == Is(Wildcard(("proc", ".name")), Scalar("x"))
    assert parse('a:"x*"') == _is("a", "x*", quoted=True)  # a quoted star is a star


def test_ranges_and_nested_groups() -> None:
    assert parse("bytes >= 10") == Range(Scalar("bytes"), "gte", Scalar("10"))
    assert parse('t < "2020-01-01"') == Range(Scalar("t"), "lt", Scalar("2020-01-01", True))
    assert parse("n:{ a:1 and m:{ b:2 } }") == Nested(Scalar("n"), And((_is("a", "1"), Nested(Scalar("m"), _is("b", "2")))))


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("response:", 1, 10, 'Expected "(", "{", value, whitespace but end of input found.'),
    ("response:200 or ", 1, 17, 'Expected "(", NOT, field name, value but end of input found.'),
    ("foo:ba:r", 1, 7, 'Expected AND, OR, end of input but ":" found.'),
    ("foo > ", 1, 7, "Expected literal, whitespace but end of input found."),
    ("a:1 and\n  (b:2 or c:3", 2, 14, 'Expected ")", AND, OR but end of input found.'),
    ("a:1 and\nb:x\\y", 2, 4, None),
])
def test_syntax_errors_have_line_and_column(text: str, line: int, column: int, message: str | None) -> None:
    with pytest.raises(KqlSyntaxError) as raised:
        parse(text)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert str(raised.value).startswith(f"line {line}:{column}: Expected ")
    if message is not None:
        assert raised.value.message == message


def test_leading_wildcards_can_be_refused() -> None:
    assert kql_to_dsl("a:*x", allowLeadingWildcards=True)
    with pytest.raises(KqlSyntaxError, match="line 1:3: Leading wildcards are disabled"):
        kql_to_dsl("a:*x", allowLeadingWildcards=False)
    assert kql_to_dsl("a:*", allowLeadingWildcards=False)  # a lone wildcard is an exists query, not a leading one


def test_deep_parentheses_parse_linearly_without_recursion() -> None:
    # Kibana's 8.9 parser backtracks exponentially here (depth 10 takes seconds); ours is LALR, with no recursion
    depth = 5000
    assert depth > sys.getrecursionlimit()
    text = "(" * depth + "a:1" + ")" * depth
    assert parse(text) == _is("a", "1")
    assert kql_to_dsl(text) == {"bool": {"should": [{"match": {"a": "1"}}], "minimum_should_match": 1}}


def test_deep_trees_translate_without_recursion() -> None:
    depth = 5000
    text = "".join(f"a{i}:1 and (" for i in range(depth)) + "z:1" + ")" * depth
    dsl = kql_to_dsl(text)
    levels = 0
    while "filter" in dsl["bool"]:
        dsl = dsl["bool"]["filter"][1]
        levels += 1
    assert levels == depth
    negated = kql_to_dsl("not (" * depth + "a:1" + ")" * depth)
    for _ in range(depth):
        negated = negated["bool"]["must_not"]
    assert negated == {"bool": {"should": [{"match": {"a": "1"}}], "minimum_should_match": 1}}
