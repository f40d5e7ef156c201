"""Parse tree → `runner.eql.nodes`, raising Elasticsearch's parser-level errors (`EqlSyntaxError`).

The grammar accepts a few constructs only so that they can be rejected here with Elasticsearch's wording
(single-quoted strings, `=`, `join`, process relationships, unknown pipes, bad `maxspan` units or `runs` values).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn, get_args

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from runner.eql import nodes as n
from runner.eql.errors import EqlSyntaxError, EqlVerificationError, Problem
from runner.eql.signatures import signature
from runner.eql.suggest import did_you_mean

_TIME_UNITS = {"ms", "s", "m", "h", "d"}
_MAX_RUNS = 100


def _span_of(item: object) -> n.Span:
    if isinstance(item, n.Span):
        return item
    if isinstance(item, Token):
        return n.Span(item.line or 0, item.column or 0)
    meta = getattr(item, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return n.Span(meta.line, meta.column)
    span = getattr(item, "span", None)
    if isinstance(span, n.Span):
        return span
    return n.NO_SPAN


def _error(at: object, message: str) -> EqlSyntaxError:
    span = _span_of(at)
    return EqlSyntaxError(span.line, span.column, message)


def _string_error(token: Token, message: str) -> EqlSyntaxError:
    """An error about a string literal, one column past the literal's start, where Elasticsearch reports it: its
    AstBuilder raises `ParsingException(source, ...)`, whose `getColumnNumber()` adds one to the source's column,
    itself already 1-based (x-pack/plugin/eql parser ParsingException.java; ExpressionTests expects
    `line 1:2: Use double quotes [\"] ...` for `'hello world'` and `line 1:2: Unicode sequence ...` for `"\\u{D}"`)."""
    return EqlSyntaxError(token.line or 0, (token.column or 0) + 1, message)


# ---- strings ---------------------------------------------------------------------------------------------------------

_ESCAPES = {"t": "\t", "b": "\b", "f": "\f", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_UNICODE = re.compile(r"\{([0-9a-fA-F]+)\}")


def unquote_string(token: Token) -> tuple[str, bool]:
    """Return the value of a STRING token and whether it was a raw (triple-quoted) string."""
    text = str(token)
    if text.startswith("?"):
        raise _string_error(token, f'Use triple double quotes ["""] to define unescaped string literals, not [?{text[1]}]')
    if text.startswith('"""'):
        return text[3:-3], True
    if text.startswith("'"):
        raise _string_error(token, "Use double quotes [\"] to define string literals, not single quotes [']")
    body = text[1:-1]
    if "\\" not in body:
        return body, False
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u":
            match = _UNICODE.match(body, i + 2)
            assert match is not None  # the lexer only accepts \\u{hex}
            digits = match.group(1)
            if not 2 <= len(digits) <= 8:
                raise _string_error(
                    token, f"Unicode sequence should use [2-8] hex digits, [\\u{{{digits}}}] has [{len(digits)}]"
                )
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise _string_error(token, f"Invalid unicode character code [{digits}]")
            if 0xD800 <= code <= 0xDFFF:
                raise _string_error(token, f"Invalid unicode character code, [{digits}] is a surrogate code")
            out.append(chr(code))
            i = match.end()
        else:
            raise _string_error(token, f"Unexpected character escape sequence [\\{nxt}]")
    return "".join(out), False


def _number(token: Token) -> int | float:
    text = str(token)
    if token.type == "INTEGER":
        return int(text)
    return float(text)


def _identifier(token: Token) -> str:
    text = str(token)
    if token.type == "QUOTED_IDENTIFIER":
        return text[1:-1].replace("``", "`")
    if text.endswith("~"):
        raise _error(token, f"mismatched input '{text}' expecting IDENTIFIER")
    return text


# ---- the transformer -------------------------------------------------------------------------------------------------

_KNOWN_PIPES = ("count", "filter", "head", "sort", "tail", "unique", "unique_count")
# the supported pipes, and the grammar's operator tokens, as the node types spell them (an operator outside its table
# is a grammar change the node types have not followed: a KeyError, not a node holding an operator nothing knows)
_SUPPORTED_PIPES: dict[str, n.PipeKind] = {kind: kind for kind in get_args(n.PipeKind)}
_COMPARISON_OPS: dict[str, n.ComparisonOp] = {op: op for op in get_args(n.ComparisonOp)}
_ARITHMETIC_OPS: dict[str, n.ArithmeticOp] = {op: op for op in get_args(n.ArithmeticOp)}


@v_args(meta=True)
class _Builder(Transformer[Token, n.Query]):
    """Bottom-up conversion; every method receives the lark meta (positions) and the converted children.

    `text` is the query's text, for the errors that quote an argument as written (Elasticsearch's `sourceText()`).
    A function called with the wrong number of arguments is an error Elasticsearch raises when it resolves the
    function, after its AstBuilder has gone over the whole query: the builder keeps the first in `misbuilt` and
    `build` raises it once the rest of the tree has been built (so a string or pipe error anywhere comes first)."""

    def __init__(self, text: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.misbuilt: list[EqlSyntaxError] = []

    # -- statements --

    def start(self, meta: Meta, children: list[Any]) -> n.Query:
        query, *pipes = children
        return _with_pipes(query, tuple(pipes))

    def event_query(self, meta: Meta, children: list[Any]) -> n.EventQuery:
        (event_filter,) = children
        return n.EventQuery(filter=event_filter, span=event_filter.span)

    def event_filter(self, meta: Meta, children: list[Any]) -> n.EventFilter:
        category_item, _where, condition = children
        category = None if isinstance(category_item, Token) and category_item.type == "ANY" else category_item
        return n.EventFilter(category=category, condition=condition, span=n.Span(meta.line, meta.column))

    def event_value(self, meta: Meta, children: list[Any]) -> str:
        (token,) = children
        if token.type == "STRING":
            value, _raw = unquote_string(token)
            return value
        return _identifier(token)

    def sequence(self, meta: Meta, children: list[Any]) -> n.SequenceQuery:
        span = n.Span(meta.line, meta.column)
        keys: tuple[n.Expr, ...] = ()
        maxspan = None
        stages: list[n.Stage] = []
        until = None
        for child in children[1:]:
            if isinstance(child, _Header):
                keys, maxspan = child.keys, child.maxspan
            elif isinstance(child, _Until):
                until = child.stage
            else:
                stages.append(child)
        _check_key_counts(stages + ([until] if until is not None else []))
        if until is not None and until.missing:
            raise _error(until, "A missing event cannot be used in an [until] clause")
        count = sum(stage.runs or 1 for stage in stages)
        if count < 2:
            raise _error(span, f"A sequence requires a minimum of 2 queries, found [{count}]")
        if all(stage.missing for stage in stages):
            raise _error(span, "A sequence requires at least one positive event query; found none")
        if maxspan is None and any(stage.missing for stage in stages):
            raise _error(span, "A sequence with missing events ([![...]]) requires [with maxspan]")
        return n.SequenceQuery(stages=tuple(stages), keys=keys, maxspan=maxspan, until=until, span=span)

    def sequence_header(self, meta: Meta, children: list[Any]) -> _Header:
        keys: tuple[n.Expr, ...] = ()
        maxspan = None
        for child in children:
            if isinstance(child, n.TimeSpan):
                maxspan = child
            else:
                if maxspan is not None:
                    raise _error(n.Span(meta.line, meta.column), "Please specify sequence [by] before [with] not after")
                keys = child
        return _Header(keys, maxspan)

    def sequence_params(self, meta: Meta, children: list[Any]) -> Any:
        return children[-1]

    def time_unit(self, meta: Meta, children: list[Any]) -> n.TimeSpan:
        number = children[0]
        value = number.value
        text = _print_literal(number)
        unit_token = children[1] if len(children) > 1 else None
        if isinstance(value, float):
            unit_text = str(unit_token) if unit_token is not None else ""
            raise _error(number, f"Decimal time interval [{text}{unit_text}] not supported; please use a positive integer")
        if value <= 0:
            raise _error(number, f"A positive maxspan value is required; found [{text}]")
        if unit_token is None:
            raise _error(number, f"No time unit specified, did you mean [s] as in [{text}s]?")
        unit = str(unit_token)
        if unit not in _TIME_UNITS:
            raise _error(
                unit_token,
                f"Unrecognized time unit [{unit}] in [{text}{unit}], please specify one of [ms, s, m, h, d]",
            )
        return n.TimeSpan(value=value, unit=unit, span=number.span)

    def until(self, meta: Meta, children: list[Any]) -> _Until:
        return _Until(children[-1])

    def sample(self, meta: Meta, children: list[Any]) -> n.SampleQuery:
        span = n.Span(meta.line, meta.column)
        keys: tuple[n.Expr, ...] = ()
        stages: list[n.Stage] = []
        for child in children[1:]:
            if isinstance(child, tuple):
                keys = child
            else:
                stages.append(child)
        for stage in stages:
            if stage.missing:
                raise _error(stage, "Missing events are not supported in samples")
        if len(stages) < 2:
            raise _error(span, f"A sample requires a minimum of 2 queries, found [{len(stages)}]")
        _check_key_counts(stages)
        if not keys and not stages[0].keys:
            raise _error(span, "A sample requires join keys: use [sample by ...] or [by ...] after each query")
        return n.SampleQuery(stages=tuple(stages), keys=keys, span=span)

    def join(self, meta: Meta, children: list[Any]) -> NoReturn:
        raise EqlVerificationError([Problem(meta.line, meta.column, "JOIN command is not supported")])

    def join_keys(self, meta: Meta, children: list[Any]) -> tuple[n.Expr, ...]:
        keys = tuple(children[1:])
        for key in keys:
            if not isinstance(key, n.Field):
                raise _error(key, f"Unsupported join key [{_print_literal(key)}]")
        return keys

    def join_term(self, meta: Meta, children: list[Any]) -> n.Stage:
        subquery = children[0]
        keys = children[1] if len(children) > 1 else ()
        return n.Stage(filter=subquery.filter, keys=keys, missing=subquery.missing, span=subquery.span)

    def sequence_term(self, meta: Meta, children: list[Any]) -> n.Stage:
        subquery = children[0]
        keys: tuple[n.Expr, ...] = ()
        runs = None
        rest = children[1:]
        if rest and isinstance(rest[0], tuple):
            keys = rest[0]
            rest = rest[1:]
        if rest:
            _with, key_token, _asgn, value = rest
            if str(key_token) != "runs":
                raise _error(key_token, f"Unrecognized option [{key_token}], expecting [runs]")
            if not isinstance(value.value, int):
                raise _error(value, f"A positive runs value is required; found [{_print_literal(value)}]")
            runs = value.value
            if runs <= 0:
                raise _error(value, f"A positive runs value is required; found [{runs}]")
            if runs > _MAX_RUNS:
                raise _error(value, f"A query cannot be repeated more than {_MAX_RUNS} times; found [{runs}]")
        return n.Stage(filter=subquery.filter, keys=keys, runs=runs, missing=subquery.missing, span=subquery.span)

    def subquery(self, meta: Meta, children: list[Any]) -> _Subquery:
        opener, event_filter = children
        return _Subquery(event_filter, opener.type == "MISSING_OPEN", n.Span(meta.line, meta.column))

    def pipe(self, meta: Meta, children: list[Any]) -> n.Pipe:
        bar, kind_token, *args = children
        kind = str(kind_token)
        if kind not in _KNOWN_PIPES:
            raise _error(kind_token, f"Unrecognized pipe [{kind}]{did_you_mean(kind, _KNOWN_PIPES)}")
        if kind not in _SUPPORTED_PIPES:
            raise _error(kind_token, f"Pipe [{kind}] is not supported")
        if len(args) != 1:
            raise _error(bar, f"Pipe [{kind}] expects exactly one argument but found [{len(args)}]")
        (arg,) = args
        # Elasticsearch folds a constant integer expression (LogicalPlanTests.testFoldedHeadTailValidValue:
        # `head 2147483648-1` is a limit of Integer.MAX_VALUE) and quotes the argument as written otherwise
        count = _fold_integer(arg)
        if count is None or count < 0:
            written = _written(self.text, arg, meta.end_pos) if self.text is not None else _print_literal(arg)
            raise _error(arg, f"Pipe [{kind}] expects a positive integer but found [{written}]")
        return n.Pipe(kind=_SUPPORTED_PIPES[kind], count=count, span=_span_of(bar))

    # -- boolean expressions --

    def logical_or(self, meta: Meta, children: list[Any]) -> n.Or:
        left, _op, right = children
        return n.Or(left, right, span=n.Span(meta.line, meta.column))

    def logical_and(self, meta: Meta, children: list[Any]) -> n.And:
        left, _op, right = children
        return n.And(left, right, span=n.Span(meta.line, meta.column))

    def logical_not(self, meta: Meta, children: list[Any]) -> n.Not:
        _op, operand = children
        return n.Not(operand, span=n.Span(meta.line, meta.column))

    def process_check(self, meta: Meta, children: list[Any]) -> NoReturn:
        raise _error(children[0], "Process relationships are not supported")

    # -- value expressions --

    def comparison(self, meta: Meta, children: list[Any]) -> n.Comparison:
        left, op, right = children
        return n.Comparison(_COMPARISON_OPS[str(op)], left, right, span=n.Span(meta.line, meta.column))

    def arithmetic(self, meta: Meta, children: list[Any]) -> n.Arithmetic:
        left, op, right = children
        return n.Arithmetic(_ARITHMETIC_OPS[str(op)], left, right, span=n.Span(meta.line, meta.column))

    def negate(self, meta: Meta, children: list[Any]) -> n.Expr:
        _op, operand = children
        span = n.Span(meta.line, meta.column)
        if isinstance(operand, n.Constant) and isinstance(operand.value, (int, float)) and not isinstance(
            operand.value, bool
        ):
            return n.Constant(-operand.value, span=span)
        return n.Negate(operand, span=span)

    def plus(self, meta: Meta, children: list[Any]) -> n.Expr:
        operand: n.Expr = children[1]
        return operand

    def predicated(self, meta: Meta, children: list[Any]) -> n.Expr:
        subject, predicate = children
        span = n.Span(meta.line, meta.column)
        if predicate[0] == "in":
            _, negated, insensitive, options = predicate
            return n.In(subject, tuple(options), case_insensitive=insensitive, negated=negated, span=span)
        _, kind, insensitive, patterns, grouped = predicate
        return n.PatternMatch(kind, insensitive, subject, tuple(patterns), grouped=grouped, span=span)

    def in_predicate(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        negated = False
        if isinstance(children[0], Token) and children[0].type == "NOT":
            negated = True
            children = children[1:]
        op, *options = children
        return ("in", negated, op.type == "IN_INSENSITIVE", options)

    def pattern_op(self, meta: Meta, children: list[Any]) -> Token:
        op: Token = children[0]
        return op

    def pattern_predicate(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        op, constant = children
        return self._pattern(op, [constant], grouped=False)

    def pattern_group_predicate(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        op, *constants = children
        return self._pattern(op, constants, grouped=True)

    @staticmethod
    def _pattern(op: Token, constants: list[n.Constant], grouped: bool) -> tuple[Any, ...]:
        text = str(op)
        if text == ":":
            return ("pattern", ":", True, constants, grouped)
        kind = text.rstrip("~")
        return ("pattern", kind, text.endswith("~"), constants, grouped)

    def function_call(self, meta: Meta, children: list[Any]) -> n.FunctionCall:
        name_token, *args = children
        spelling = str(name_token)
        insensitive = spelling.endswith("~")
        bare = spelling[:-1] if insensitive else spelling
        span = n.Span(meta.line, meta.column)
        sig = signature(bare)
        if sig is not None:
            arity = sig.arity_error(len(args))
            if arity is not None and not self.misbuilt:
                self.misbuilt.append(_error(span, f"error building [{sig.name.lower()}]: {arity}"))
            if insensitive and not sig.case_insensitive:
                raise _error(span, f"Function [{sig.name}] does not support case-insensitive matching: remove the [~]")
        return n.FunctionCall(
            name=sig.name if sig is not None else bare,
            args=tuple(args),
            case_insensitive=insensitive,
            spelling=bare,
            span=span,
        )

    def qualified_name(self, meta: Meta, children: list[Any]) -> n.Field:
        optional = False
        if isinstance(children[0], Token) and children[0].type == "OPTIONAL":
            optional = True
            children = children[1:]
        path: list[str] = []
        for child in children:
            if isinstance(child, Token):
                if child.type == "DOT":
                    continue
                if child.type == "INDEX":
                    offset = len(str(child)) - len(str(child).lstrip("[ \t"))
                    raise EqlSyntaxError(child.line or 0, (child.column or 0) + offset, "Array indexes are not supported")
            path.append(child)
        return n.Field(tuple(path), optional=optional, span=n.Span(meta.line, meta.column))

    def identifier(self, meta: Meta, children: list[Any]) -> str:
        return _identifier(children[0])

    # -- constants --

    def constant(self, meta: Meta, children: list[Any]) -> n.Constant:
        literal: n.Constant = children[0]
        return literal

    def null(self, meta: Meta, children: list[Any]) -> n.Constant:
        return n.Constant(None, span=n.Span(meta.line, meta.column))

    def true(self, meta: Meta, children: list[Any]) -> n.Constant:
        return n.Constant(True, span=n.Span(meta.line, meta.column))

    def false(self, meta: Meta, children: list[Any]) -> n.Constant:
        return n.Constant(False, span=n.Span(meta.line, meta.column))

    def number(self, meta: Meta, children: list[Any]) -> n.Constant:
        return n.Constant(_number(children[0]), span=n.Span(meta.line, meta.column))

    def string(self, meta: Meta, children: list[Any]) -> n.Constant:
        values = []
        raw = False
        for token in children:
            value, raw = unquote_string(token)
            values.append(value)
        return n.Constant("".join(values), raw=raw and len(values) == 1, span=n.Span(meta.line, meta.column))


def _check_key_counts(stages: list[n.Stage]) -> None:
    expected = len(stages[0].keys)
    for stage in stages[1:]:
        if len(stage.keys) != expected:
            at = stage.keys[0] if stage.keys else stage
            raise _error(
                at, f"Inconsistent number of join keys specified; expected [{expected}] but found [{len(stage.keys)}]"
            )


class _Header:
    __slots__ = ("keys", "maxspan")

    def __init__(self, keys: tuple[n.Expr, ...], maxspan: n.TimeSpan | None) -> None:
        self.keys = keys
        self.maxspan = maxspan


class _Until:
    __slots__ = ("stage",)


    def __init__(self, stage: n.Stage) -> None:
        self.stage = stage


class _Subquery:
    __slots__ = ("filter", "missing", "span")

    def __init__(self, event_filter: n.EventFilter, missing: bool, span: n.Span) -> None:
        self.filter = event_filter
        self.missing = missing
        self.span = span


def _print_literal(literal: n.Expr) -> str:
    from runner.eql.printer import to_eql

    return to_eql(literal)


def _with_pipes(query: n.Query, pipes: tuple[n.Pipe, ...]) -> n.Query:
    if not pipes:
        return query
    from dataclasses import replace

    if isinstance(query, (n.EventQuery, n.SequenceQuery, n.SampleQuery)):
        return replace(query, pipes=pipes)
    raise TypeError(f"no pipes for a {type(query).__name__}")


def _fold_integer(expr: n.Expr) -> int | None:
    """The value of a constant integer expression (`2147483648-1`, `-(2*3)`), None when it is not one.

    Integer division and remainder truncate toward zero, as Java's do; a division by zero does not fold."""
    if isinstance(expr, n.Constant):
        value = expr.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(expr, n.Negate):
        operand = _fold_integer(expr.operand)
        return -operand if operand is not None else None
    if isinstance(expr, n.Arithmetic):
        left, right = _fold_integer(expr.left), _fold_integer(expr.right)
        if left is None or right is None:
            return None
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        if right == 0:
            return None
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        return quotient if expr.op == "/" else left - right * quotient
    return None


def _written(text: str, expr: n.Expr, end: int) -> str:
    """The text of `expr` as written, from its start to `end` (a parenthesized expression quoted without its
    parentheses, as Elasticsearch's source text of the inner expression)."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: expr.span.line - 1]) + expr.span.column - 1
    written = text[start:end]
    while written.endswith(")") and written.count(")") > written.count("("):
        written = written[:-1].rstrip()
    return written


def build(tree: Tree[Token], text: str | None = None) -> n.Query:
    """Convert a parse tree from `runner.eql.parser.parse_tree` into a `Query`; `text`, the text parsed, lets the
    errors quote an argument as written."""
    builder = _Builder(text)
    try:
        query = builder.transform(tree)
    except VisitError as err:
        raise err.orig_exc from None
    if builder.misbuilt:
        raise builder.misbuilt[0]
    return query


__all__ = ["build", "unquote_string"]
