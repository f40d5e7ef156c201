"""`runner.eql.nodes` → canonical EQL text. `parse(to_eql(q)) == q` for every query `parse` returns.

Every walk dispatches on the node's type (`functools.singledispatch`) with a default that raises `TypeError`, so a
node type the printer was not taught fails loudly.
"""

from __future__ import annotations

import math
import re
from functools import singledispatch

from runner.eql import nodes as n

KEYWORDS = frozenset(
    ["and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of", "or", "regex", "sample", "sequence", "true", "until", "where", "with"]
)
_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*\Z")

# Binding strength, loosest first; a child printed where a stronger one is required gets parentheses.
_OR, _AND, _NOT, _COMPARISON, _ADDITIVE, _MULTIPLICATIVE, _UNARY, _PREDICATE, _PRIMARY = range(1, 10)
_ARITHMETIC_LEVEL = {"+": _ADDITIVE, "-": _ADDITIVE, "*": _MULTIPLICATIVE, "/": _MULTIPLICATIVE, "%": _MULTIPLICATIVE}

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def identifier(name: str) -> str:
    if _PLAIN_IDENTIFIER.match(name) and name not in KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def string_literal(value: str, raw: bool = False) -> str:
    if raw and '"""' not in value and not value.endswith('"'):
        return '"""' + value + '"""'
    out = []
    for ch in value:
        if ch in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{{{ord(ch):04x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"EQL has no literal for {value}")
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


@singledispatch
def _precedence(expr: n.Expr) -> int:
    raise TypeError(f"no precedence known for {type(expr).__name__}")


@_precedence.register
def _(expr: n.Or) -> int:
    return _OR


@_precedence.register
def _(expr: n.And) -> int:
    return _AND


@_precedence.register
def _(expr: n.Not) -> int:
    return _NOT


@_precedence.register
def _(expr: n.Comparison) -> int:
    return _COMPARISON


@_precedence.register
def _(expr: n.Arithmetic) -> int:
    return _ARITHMETIC_LEVEL[expr.op]


@_precedence.register
def _(expr: n.Negate) -> int:
    return _UNARY


@_precedence.register
def _(expr: n.Constant) -> int:
    if isinstance(expr.value, int | float) and not isinstance(expr.value, bool):
        # "-5" reads back as unary minus applied to 5
        return _UNARY if expr.value < 0 else _PRIMARY
    return _PRIMARY


@_precedence.register
def _(expr: n.PatternMatch | n.In) -> int:
    return _PREDICATE


@_precedence.register
def _(expr: n.Field | n.FunctionCall) -> int:
    return _PRIMARY


def _at(expr: n.Expr, level: int) -> str:
    text = expression(expr)
    return f"({text})" if _precedence(expr) < level else text


def expression(expr: n.Expr) -> str:
    """Print one expression."""
    return _expression(expr)


@singledispatch
def _expression(expr: n.Expr) -> str:
    raise TypeError(f"cannot print {type(expr).__name__}")


@_expression.register
def _(expr: n.Constant) -> str:
    value = expr.value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return string_literal(value, expr.raw)
    return _number(value)


@_expression.register
def _(expr: n.Field) -> str:
    return ("?" if expr.optional else "") + ".".join(identifier(part) for part in expr.path)


@_expression.register
def _(expr: n.Or) -> str:
    return f"{_at(expr.left, _OR)} or {_at(expr.right, _AND)}"


@_expression.register
def _(expr: n.And) -> str:
    return f"{_at(expr.left, _AND)} and {_at(expr.right, _NOT)}"


@_expression.register
def _(expr: n.Not) -> str:
    return f"not {_at(expr.operand, _NOT)}"


@_expression.register
def _(expr: n.Comparison) -> str:
    return f"{_at(expr.left, _COMPARISON)} {expr.op} {_at(expr.right, _ADDITIVE)}"


@_expression.register
def _(expr: n.Arithmetic) -> str:
    level = _ARITHMETIC_LEVEL[expr.op]
    return f"{_at(expr.left, level)} {expr.op} {_at(expr.right, level + 1)}"


@_expression.register
def _(expr: n.Negate) -> str:
    return f"-{_at(expr.operand, _UNARY)}"


@_expression.register
def _(expr: n.PatternMatch) -> str:
    patterns = [expression(p) for p in expr.patterns]
    rhs = f"({', '.join(patterns)})" if expr.grouped or len(patterns) != 1 else patterns[0]
    return f"{_at(expr.subject, _PRIMARY)} {expr.operator} {rhs}"


@_expression.register
def _(expr: n.In) -> str:
    options = ", ".join(expression(o) for o in expr.options)
    return f"{_at(expr.subject, _PRIMARY)} {expr.operator} ({options})"


@_expression.register
def _(expr: n.FunctionCall) -> str:
    name = expr.spelling or expr.name
    args = ", ".join(expression(a) for a in expr.args)
    return f"{name}{'~' if expr.case_insensitive else ''}({args})"


def _event_filter(event_filter: n.EventFilter) -> str:
    if event_filter.category is None:
        category = "any"
    elif _PLAIN_IDENTIFIER.match(event_filter.category) and event_filter.category not in KEYWORDS:
        category = event_filter.category
    else:
        category = string_literal(event_filter.category)
    return f"{category} where {expression(event_filter.condition)}"


def _keys(keys: tuple[n.Expr, ...]) -> str:
    return " by " + ", ".join(expression(k) for k in keys) if keys else ""


def _stage(stage: n.Stage) -> str:
    text = ("![" if stage.missing else "[") + _event_filter(stage.filter) + "]" + _keys(stage.keys)
    if stage.runs is not None:
        text += f" with runs={stage.runs}"
    return text


def _timespan(span: n.TimeSpan) -> str:
    return f"{_number(span.value)}{span.unit}"


def _pipes(query: n.Query) -> list[str]:
    return [f"| {p.kind} {p.count}" for p in query.pipes]


def to_eql(node: n.Query | n.Expr) -> str:
    """Print a query (one clause per line) or an expression."""
    if isinstance(node, n.Expr):
        return expression(node)
    return "\n".join(_clauses(node) + _pipes(node))


@singledispatch
def _clauses(query: n.Query) -> list[str]:
    raise TypeError(f"cannot print {type(query).__name__}")


@_clauses.register
def _(query: n.EventQuery) -> list[str]:
    return [_event_filter(query.filter)]


@_clauses.register
def _(query: n.SequenceQuery) -> list[str]:
    head = "sequence" + _keys(query.keys)
    if query.maxspan is not None:
        head += f" with maxspan={_timespan(query.maxspan)}"
    lines = [head, *("  " + _stage(s) for s in query.stages)]
    if query.until is not None:
        lines.append("until " + _stage(query.until))
    return lines


@_clauses.register
def _(query: n.SampleQuery) -> list[str]:
    return ["sample" + _keys(query.keys), *("  " + _stage(s) for s in query.stages)]


__all__ = ["KEYWORDS", "expression", "identifier", "string_literal", "to_eql"]
