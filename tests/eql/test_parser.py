"""The EQL parser: the tree it builds, the distinctions it keeps, and the printer's round trip."""

from __future__ import annotations

import pytest

from runner.eql import EqlSyntaxError, parse, to_eql
from runner.eql import nodes as n


def condition(text: str) -> n.Expr:
    query = parse(f"any where {text}")
    assert isinstance(query, n.EventQuery)
    return query.filter.condition


def test_event_query_and_any() -> None:
    query = parse('process where process.name == "bash"')
    assert isinstance(query, n.EventQuery)
    assert query.filter.category == "process"
    assert query.filter.condition == n.Comparison("==", n.Field(("process", "name")), n.Constant("bash"))
    assert parse("any where true").filter.category is None  # type: ignore[attr-defined]
    assert parse('"my category" where true').filter.category == "my category"  # type: ignore[attr-defined]


def test_case_sensitivity_distinctions_are_kept() -> None:
    like = condition('a like "x*"')
    like_ci = condition('a like~ "x*"')
    assert isinstance(like, n.PatternMatch) and isinstance(like_ci, n.PatternMatch)
    assert (like.kind, like.case_insensitive) == ("like", False)
    assert (like_ci.kind, like_ci.case_insensitive) == ("like", True)
    assert like != like_ci
    seq = condition('a : "x*"')
    assert isinstance(seq, n.PatternMatch) and (seq.kind, seq.case_insensitive) == (":", True)
    regex, regex_ci = condition('a regex ".*"'), condition('a regex~ ".*"')
    assert regex != regex_ci
    in_cs, in_ci = condition('a in ("x")'), condition('a in~ ("x")')
    assert isinstance(in_cs, n.In) and isinstance(in_ci, n.In)
    assert (in_cs.case_insensitive, in_ci.case_insensitive) == (False, True)
    not_in_ci = condition('a not in~ ("x")')
    assert isinstance(not_in_ci, n.In) and not_in_ci.negated and not_in_ci.case_insensitive
    fn, fn_ci = condition('startsWith(a, "x")'), condition('startsWith~(a, "x")')
    assert isinstance(fn, n.FunctionCall) and isinstance(fn_ci, n.FunctionCall)
    assert (fn.case_insensitive, fn_ci.case_insensitive) == (False, True)
    assert condition("?a == 1") != condition("a == 1")


def test_function_names_are_case_insensitive_and_canonical() -> None:
    for spelling in ("cidrmatch", "CIDRMATCH", "cidrMatch"):
        call = condition(f'{spelling}(destination.ip, "10.0.0.0/8")')
        assert isinstance(call, n.FunctionCall)
        assert call.name == "cidrMatch"
        assert call.spelling == spelling
    assert condition('startswith~(a, "x")') == condition('startsWith~(a, "x")')


def test_cidrmatch_takes_ipv4_and_ipv6_ranges_mixed() -> None:
    call = condition('cidrmatch(destination.ip, "10.0.0.0/8", "::1", "FE80::/10", "FF00::/8", "127.0.0.1")')
    assert isinstance(call, n.FunctionCall)
    assert [a.value for a in call.args[1:]] == ["10.0.0.0/8", "::1", "FE80::/10", "FF00::/8", "127.0.0.1"]  # type: ignore[attr-defined]


def test_fields() -> None:
    assert condition("@timestamp == 1") == n.Comparison("==", n.Field(("@timestamp",)), n.Constant(1))
    assert condition("`a b`.c == 1") == n.Comparison("==", n.Field(("a b", "c")), n.Constant(1))
    assert condition("`with``tick` == 1") == n.Comparison("==", n.Field(("with`tick",)), n.Constant(1))
    optional = condition("?process.parent.name == null")
    assert isinstance(optional, n.Comparison)
    assert optional.left == n.Field(("process", "parent", "name"), optional=True)
    assert condition("`sequence` == 1") == n.Comparison("==", n.Field(("sequence",)), n.Constant(1))


def test_literals() -> None:
    assert condition('a == "tab\\there \\"q\\" \\\\ \\u{1F600}"').right == n.Constant('tab\there "q" \\ \U0001F600')  # type: ignore[attr-defined]
    raw = condition('a == """C:\\Windows\\"""')
    assert isinstance(raw, n.Comparison) and raw.right == n.Constant("C:\\Windows\\")
    assert isinstance(raw.right, n.Constant) and raw.right.raw
    assert condition("a == 1.5").right == n.Constant(1.5)  # type: ignore[attr-defined]
    assert condition("a == 5e3").right == n.Constant(5000.0)  # type: ignore[attr-defined]
    assert condition("a == -7").right == n.Constant(-7)  # type: ignore[attr-defined]
    assert condition("a == true").right == n.Constant(True)  # type: ignore[attr-defined]
    assert condition("a == null").right == n.Constant(None)  # type: ignore[attr-defined]


def test_precedence() -> None:
    a, b, c = (n.Comparison("==", n.Field((x,)), n.Constant(1)) for x in "abc")
    assert condition("not a == 1 and b == 1") == n.And(n.Not(a), b)
    assert condition("a == 1 or b == 1 and c == 1") == n.Or(a, n.And(b, c))
    assert condition("(a == 1 or b == 1) and c == 1") == n.And(n.Or(a, b), c)
    x, y, z = (n.Field((v,)) for v in "xyz")
    assert condition("x + y * z == 1").left == n.Arithmetic("+", x, n.Arithmetic("*", y, z))  # type: ignore[attr-defined]
    assert condition("-x * y == 1").left == n.Arithmetic("*", n.Negate(x), y)  # type: ignore[attr-defined]
    assert condition("x - y - z == 1").left == n.Arithmetic("-", n.Arithmetic("-", x, y), z)  # type: ignore[attr-defined]


def test_comparisons_do_not_chain() -> None:
    with pytest.raises(EqlSyntaxError) as err:
        parse("any where a == b == c")
    assert err.value.line == 1 and err.value.column == 18


def test_comments_are_ignored() -> None:
    query = parse('process where // a comment\n  a == 1 /* another\n one */ and b == 2')
    assert to_eql(query) == "process where a == 1 and b == 2"


def test_sequence_parts() -> None:
    query = parse(
        """
        sequence by host.id with maxspan=5s
          [process where true] by process.entity_id with runs=2
          ![file where true] by process.entity_id
          [network where true] by process.parent.entity_id
        until [process where event.type == "end"] by process.entity_id
        | head 3
        """
    )
    assert isinstance(query, n.SequenceQuery)
    assert query.keys == (n.Field(("host", "id")),)
    assert query.maxspan == n.TimeSpan(5, "s") and query.maxspan.millis == 5000
    assert [s.runs for s in query.stages] == [2, None, None]
    assert [s.missing for s in query.stages] == [False, True, False]
    assert query.until is not None and query.until.keys == (n.Field(("process", "entity_id")),)
    assert query.pipes == (n.Pipe("head", 3),)


@pytest.mark.parametrize(("unit", "millis"), [("500ms", 500), ("2s", 2000), ("3m", 180_000), ("1h", 3_600_000), ("1d", 86_400_000)])
def test_maxspan_units(unit: str, millis: int) -> None:
    query = parse(f"sequence with maxspan={unit} [a where true] [b where true]")
    assert isinstance(query, n.SequenceQuery) and query.maxspan is not None
    assert query.maxspan.millis == millis


def test_sample() -> None:
    query = parse("sample by host [a where true] by os [b where true] by op_sys")
    assert isinstance(query, n.SampleQuery)
    assert query.keys == (n.Field(("host",)),)
    assert [s.keys for s in query.stages] == [(n.Field(("os",)),), (n.Field(("op_sys",)),)]


ROUND_TRIP = [
    'process where process.name : ("bash", "sh*") and not process.args : "-c"',
    'any where a like~ ("x*", "y?") or b regex~ """.*\\d+""" or c in~ ("a", "B")',
    "any where x not in (1, 2.5, -3) and ?y == null and `weird name`.z != true",
    'any where startsWith~(a, "x") and cidrmatch(ip, "10.0.0.0/8", "FE80::/10") and length(a) > 2 * (3 + 1)',
    "any where -(a + b) < -7 % 2 and (c - 1) * 2 >= 4 and modulo(d, 3) == -(2 - 1)",
    'sequence by host.id with maxspan=1m [process where true] by a with runs=3 ![file where true] by a '
    '[network where true] by b until [process where false] by a | head 5 | tail 2',
    "sample by host [any where true] by os [alert where uptime > 0] by op_sys",
    'any where a == "quote \\" backslash \\\\ newline \\n"',
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_printer_round_trips(text: str) -> None:
    query = parse(text)
    printed = to_eql(query)
    assert parse(printed) == query
    assert to_eql(parse(printed)) == printed


def test_a_text_parsed_again_is_the_same_query_and_an_error_each_time() -> None:
    """`parse` remembers its answers (a rule's query is parsed when loaded, then again by the store's searches):
    the same immutable `Query` for the same text; a text that does not parse raises every time."""
    text = 'process where process.name == "remembered.exe"'
    assert parse(text) is parse(text) == parse(text)
    for _ in range(2):
        with pytest.raises(EqlSyntaxError):
            parse("process where (")
