"""Malformed queries: every one ends in an `EqlError` naming `line L:C`, in Elasticsearch's words, never a traceback."""

from __future__ import annotations

import pytest

from runner.eql import EqlError, EqlSyntaxError, EqlVerificationError, parse

BAD_QUERIES = [
    # (query, error class, line, column, message fragment)
    ("process where (a == 1", EqlSyntaxError, 1, 22, "mismatched input '<EOF>' expecting ')'"),
    ("sequence [process where true] [file where true", EqlSyntaxError, 1, 47, "mismatched input '<EOF>'"),
    ("process where a == 1)", EqlSyntaxError, 1, 21, "mismatched input ')'"),
    ("process where frobnicate(a)", EqlVerificationError, 1, 15, "Unknown function [frobnicate]"),
    ("process where cidrmatc(a, \"10.0.0.0/8\")", EqlVerificationError, 1, 15, "did you mean [cidrmatch]?"),
    ('process where startsWith(a)', EqlSyntaxError, 1, 15, "error building [startswith]: expects exactly two arguments"),
    ('process where between(a, "x")', EqlSyntaxError, 1, 15, "expects three or four arguments"),
    ('process where cidrMatch(a)', EqlSyntaxError, 1, 15, "expects at least two arguments"),
    ("sequence with maxspan=5 [a where true] [b where true]", EqlSyntaxError, 1, 23,
     "No time unit specified, did you mean [s] as in [5s]?"),
    ("sequence with maxspan=5sec [a where true] [b where true]", EqlSyntaxError, 1, 24,
     "Unrecognized time unit [sec] in [5sec], please specify one of [ms, s, m, h, d]"),
    ('process where a regex "[a-"', EqlVerificationError, 1, 23, "Invalid regular expression [[a-]"),
    # errors about a string literal are one column past its start, as Elasticsearch reports them (test_verifier_es.py)
    ("process where a == 'x'", EqlSyntaxError, 1, 21,
     "Use double quotes [\"] to define string literals, not single quotes [']"),
    ("process where a = 1", EqlSyntaxError, 1, 17, "mismatched input '='"),
    ("sequence [a where true] with runs=0 [b where true]", EqlSyntaxError, 1, 35,
     "A positive runs value is required; found [0]"),
    ("sequence [a where true] with runs=101 [b where true]", EqlSyntaxError, 1, 35,
     "A query cannot be repeated more than 100 times; found [101]"),
    ("sequence [a where true] ![b where true] [c where true]", EqlSyntaxError, 1, 1, "requires [with maxspan]"),
    ("process where process.name == process.parent.name", EqlVerificationError, 1, 15,
     "Comparisons against fields are not (currently) supported; offender [process.parent.name] in [==]"),
    ('process where a in (b, "x")', EqlVerificationError, 1, 15, "offender [b]"),
    ("process where a[0] == 1", EqlSyntaxError, 1, 17, "Array indexes are not supported"),
    ('process where a == "\\q"', EqlSyntaxError, 1, 20, "token recognition error at: '\"\\q'"),
    ('process where a == "\\u{D800}"', EqlSyntaxError, 1, 21, "is a surrogate code"),
    ("any where true | count", EqlSyntaxError, 1, 18, "Pipe [count] is not supported"),
    ("any where true | haed 2", EqlSyntaxError, 1, 18, "Unrecognized pipe [haed], did you mean [head]?"),
    ("any where true | head -1", EqlSyntaxError, 1, 23, "Pipe [head] expects a positive integer but found [-1]"),
    ("sequence with maxspan=1s by a [x where true] [y where true]", EqlSyntaxError, 1, 10,
     "Please specify sequence [by] before [with] not after"),
    ("sequence [a where true] by x [b where true] by x, y", EqlSyntaxError, 1, 48,
     "Inconsistent number of join keys specified; expected [1] but found [2]"),
    ("sequence [a where true]", EqlSyntaxError, 1, 1, "A sequence requires a minimum of 2 queries, found [1]"),
    ("join [a where true] [b where true]", EqlVerificationError, 1, 1, "JOIN command is not supported"),
    ("process where child of [file where true]", EqlSyntaxError, 1, 15, "Process relationships are not supported"),
    ('process where length~(a) > 1', EqlSyntaxError, 1, 15, "does not support case-insensitive matching"),
    ('process where 1 + "a" == 2', EqlVerificationError, 1, 15, "must be [numeric]"),
    ('process where cidrmatch(a, "10.0.0.0/33")', EqlVerificationError, 1, 28, "illegal prefixLength '33'"),
    ("PROCESS WHERE true", EqlSyntaxError, 1, 9, "mismatched input 'WHERE' expecting 'where'"),
    ("", EqlSyntaxError, 1, 1, "mismatched input '<EOF>'"),
    ("process where\n  a == 1 and\n  b == 'x'", EqlSyntaxError, 3, 9, "Use double quotes"),
]


@pytest.mark.parametrize(("query", "kind", "line", "column", "fragment"), BAD_QUERIES, ids=[q[0][:40] for q in BAD_QUERIES])
def test_bad_query(query: str, kind: type[EqlError], line: int, column: int, fragment: str) -> None:
    with pytest.raises(EqlError) as caught:
        parse(query)
    err = caught.value
    assert type(err) is kind
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in str(err)
    assert f"line {line}:{column}: " in str(err)


def test_verification_message_lists_every_problem() -> None:
    with pytest.raises(EqlVerificationError) as caught:
        parse("process where foo(a) and bar(b)")
    assert str(caught.value) == (
        "Found 2 problems\nline 1:15: Unknown function [foo]\nline 1:26: Unknown function [bar]"
    )
    assert caught.value.es_type == "verification_exception"


def test_syntax_message_reads_like_elasticsearch() -> None:
    with pytest.raises(EqlSyntaxError) as caught:
        parse("any")
    assert str(caught.value) == "line 1:4: mismatched input '<EOF>' expecting 'where'"
    assert caught.value.es_type == "parsing_exception"


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]
