"""Lucene RegExp syntax (what `regex` runs on a field), translated to Python's `re`."""

from __future__ import annotations

import pytest

from runner.eql.lucene_regex import LuceneRegexError, compile_lucene_regex


@pytest.mark.parametrize(
    ("pattern", "matches", "rejects"),
    [
        ("net1", ["net1"], ["net1 ", "xnet1"]),  # always anchored
        (".*?net1[ ]+localgroup.*?", ["net1  localgroup x"], ["net1localgroup"]),
        ("a+?", ["", "a", "aa"], ["b"]),  # no lazy quantifiers: `+?` is an optional `+`
        ('"a.b"c', ["a.bc"], ["axbc"]),  # double quotes quote
        ("a\\.b", ["a.b"], ["axb"]),
        ("[a-c]{2,3}", ["ab", "abc"], ["a", "abcd", "ad"]),
        ("[^0-9]+", ["abc"], ["a1"]),
        ("x<1-12>", ["x1", "x12", "x007"], ["x0", "x13"]),
        ("x<01-12>", ["x01", "x12"], ["x1", "x13"]),
        ("a@", ["a", "anything"], ["b"]),
        ("#|b", ["b"], [""]),
        ("~(foo)", ["bar", ""], ["foo"]),
        ("x~(foo)", ["xbar"], ["xfoo"]),
        ("a.*&.*z", ["abz", "az"], ["ab", "bz"]),
        ("\\d+\\s\\w", ["12 a"], ["12a"]),
        ("(a|bc)*", ["", "abca"], ["b"]),
    ],
)
def test_translation(pattern: str, matches: list[str], rejects: list[str]) -> None:
    regex = compile_lucene_regex(pattern)
    for text in matches:
        assert regex.fullmatch(text), (pattern, text)
    for text in rejects:
        assert not regex.fullmatch(text), (pattern, text)


def test_case_insensitive() -> None:
    assert compile_lucene_regex("NET.*", True).fullmatch("net1")


@pytest.mark.parametrize("pattern", ["[", "(a", "a{x}", "*a", "a)", "<1-x>", "(a&b)c", "~(a)b"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(LuceneRegexError, match="position"):
        compile_lucene_regex(pattern)
