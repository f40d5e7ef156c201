"""Every walk over the EQL tree knows every node type, and fails loudly on one it does not know.

A node type added to `runner.eql.nodes` and not taught to a walk must raise `TypeError` there, never be skipped
(an analyzer that skipped it would accept a query it never checked; a compiler would match what it never read).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from runner.backends.embedded.memory import MemoryEvents
from runner.backends.request import EqlRequest
from runner.engine import plan, search
from runner.engine.compile import Compiler
from runner.engine.fields import IndexContext
from runner.engine.plan import QueryPlan, expand_stages
from runner.eql import analyzer, check, nodes, parse, to_eql
from runner.eql.analyzer import children, fields_of, query_keys, query_stages


@dataclass(frozen=True)
class Mystery(nodes.Expr):
    """An expression type no walk was taught."""

    span: nodes.Span = nodes.NO_SPAN


@dataclass(frozen=True)
class MysteryQuery(nodes.Query):
    """A statement type no walk was taught."""

    pipes: tuple[nodes.Pipe, ...] = ()
    span: nodes.Span = nodes.NO_SPAN


def _in_condition(expr: nodes.Expr) -> nodes.EventQuery:
    return nodes.EventQuery(nodes.EventFilter("process", nodes.And(nodes.Constant(True), expr)))


EXPRESSION_WALKS: dict[str, Callable[[nodes.Expr], Any]] = {
    "children": children,
    "fields_of": fields_of,
    "to_eql": to_eql,
    "check": lambda expr: check(_in_condition(expr)),
    "search": lambda expr: search([], _in_condition(expr)),
    "Compiler.plan": lambda expr: Compiler(IndexContext("logs", None)).plan(expr),
    "Compiler.filter": lambda expr: Compiler(IndexContext("logs", None)).filter(nodes.Not(expr)),
    "Compiler.value": lambda expr: Compiler(IndexContext("logs", None)).value(expr, {}),
}
QUERY_WALKS: dict[str, Callable[[nodes.Query], Any]] = {
    "query_stages": query_stages,
    "query_keys": query_keys,
    "to_eql": to_eql,
    "check": check,
    "expand_stages": expand_stages,
}


@pytest.mark.parametrize("walk", sorted(EXPRESSION_WALKS))
def test_an_unknown_expression_fails_loudly(walk: str) -> None:
    with pytest.raises(TypeError, match="Mystery"):
        EXPRESSION_WALKS[walk](Mystery())


@pytest.mark.parametrize("walk", sorted(QUERY_WALKS))
def test_an_unknown_query_fails_loudly(walk: str) -> None:
    with pytest.raises(TypeError, match="MysteryQuery"):
        QUERY_WALKS[walk](MysteryQuery())


# Past the walks above (which fail first on an unknown query), the places that choose between the query kinds: each
# is reached here with the walks before it taught to pass, and must refuse the unknown kind rather than take the
# sequence (or another) path.


def test_the_analyzer_refuses_the_keys_of_an_unknown_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer, "query_stages", lambda _query: [])
    with pytest.raises(TypeError, match="MysteryQuery"):
        check(MysteryQuery())


def test_a_query_plan_refuses_the_join_keys_of_an_unknown_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "expand_stages", lambda _query: ([], None))
    monkeypatch.setattr(plan, "null_fields", lambda _query, _schema: frozenset())
    with pytest.raises(TypeError, match="MysteryQuery"):
        QueryPlan(MysteryQuery(), None, "@timestamp", None, "event.category")


def test_a_query_plan_refuses_to_compile_an_unknown_query() -> None:
    query_plan = QueryPlan(parse("sequence [process where true] [file where true]"), None, "@timestamp", None,
                           "event.category")
    query_plan.query = MysteryQuery()
    with pytest.raises(TypeError, match="MysteryQuery"):
        query_plan.for_index(IndexContext("logs", None))


def test_the_embedded_store_refuses_to_tell_whether_an_unknown_query_batches() -> None:
    events = MemoryEvents([])
    request = EqlRequest(("logs",), {"query": "any where true"})
    assert events.batchable(request, parse("any where true"))
    assert not events.batchable(request, parse("sample by host.id [process where true] [file where true]"))
    with pytest.raises(TypeError, match="MysteryQuery"):
        events.batchable(request, MysteryQuery())


def test_every_expression_type_has_its_children() -> None:
    expression_types = [
        cls for name in nodes.__all__
        if inspect.isclass(cls := getattr(nodes, name)) and issubclass(cls, nodes.Expr) and cls is not nodes.Expr
    ]
    assert len(expression_types) == 11
    default = children.dispatch(nodes.Expr)
    assert [cls.__name__ for cls in expression_types if children.dispatch(cls) is default] == []


def test_the_walks_know_every_node_of_a_real_query() -> None:
    query = parse(
        'sequence by user.name with maxspan=1m [process where not (a == 1 or -b > 2 * 3 or length(c) > 1) and d : "x*" and '
        'e in ("a", "b") and startsWith(f, "g") and h like~ "i" and ?j != null] by k '
        '[file where true] by k2 until [network where l regex "m.*"] by k3'
    )
    check(query)
    assert parse(to_eql(query)) == query
    assert [f.name for stage in query_stages(query) for f in fields_of(stage.filter.condition)] == [
        "a", "b", "c", "d", "e", "f", "h", "j", "l"
    ]
    assert [s.filter.category for s in query_stages(query)] == ["process", "file", "network"]
    assert [k.name for k in query_keys(query) if isinstance(k, nodes.Field)] == ["user.name"]
