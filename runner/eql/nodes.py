"""The typed EQL syntax tree.

Every construct of Elasticsearch's EQL dialect has its own frozen dataclass, and every distinction the language
makes is kept: `like` vs `like~`, `in` vs `in~`, `fn` vs `fn~`, `?field` vs `field`, raw vs escaped strings.
Positions (`span`) and purely lexical choices (a function's spelling, a pattern list in parentheses) do not take
part in equality, so `parse(print(q)) == q` is the round-trip property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line and column of the first character of a construct, as Elasticsearch reports them."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}:{self.column}"


NO_SPAN = Span(0, 0)


# --------------------------------------------------------------------------------------------------------------------
# Expressions


class Expr:
    """Base of every expression node."""

    __slots__ = ()
    span: Span


LiteralValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Constant(Expr):
    """A constant: string, integer, decimal, boolean or null.

    `raw` records that a string was written as a `\"\"\"raw\"\"\"` string; it is kept so printing preserves it.
    """

    value: LiteralValue
    raw: bool = field(default=False, compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Field(Expr):
    """A field reference: `process.name`, `?process.name`, `` `a b`.c ``, `@timestamp`.

    `path` holds the dotted parts. (Array indexes such as `args[0]` parse, and are rejected as Elasticsearch does.)
    """

    path: tuple[str, ...]
    optional: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The dotted name Elasticsearch resolves against the mapping."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Not(Expr):
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And(Expr):
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or(Expr):
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


ComparisonOp = Literal["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Comparison(Expr):
    op: ComparisonOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


ArithmeticOp = Literal["+", "-", "*", "/", "%"]


@dataclass(frozen=True, slots=True)
class Arithmetic(Expr):
    op: ArithmeticOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Negate(Expr):
    """Unary minus on a non-literal (`-serial_event_id`). `-5` is folded into `Constant(-5)` by the builder."""

    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


PatternKind = Literal[":", "like", "regex"]


@dataclass(frozen=True, slots=True)
class PatternMatch(Expr):
    """`x : "a*"`, `x like~ ("a*", "b?")`, `x regex ".*"`.

    `:` is always case-insensitive and treats `*`/`?` as wildcards; `like` is case-sensitive unless `like~`;
    `regex` takes Lucene regular expressions, case-sensitive unless `regex~`.
    """

    kind: PatternKind
    case_insensitive: bool
    subject: Expr
    patterns: tuple[Constant, ...]
    grouped: bool = field(default=False, compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def operator(self) -> str:
        if self.kind == ":":
            return ":"
        return self.kind + ("~" if self.case_insensitive else "")


@dataclass(frozen=True, slots=True)
class In(Expr):
    """`x in (a, b)`, `x in~ (...)`, `x not in (...)`, `x not in~ (...)`. `in~` never expands wildcards."""

    subject: Expr
    options: tuple[Expr, ...]
    case_insensitive: bool = False
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return ("not " if self.negated else "") + "in" + ("~" if self.case_insensitive else "")


@dataclass(frozen=True, slots=True)
class FunctionCall(Expr):
    """A call such as `cidrmatch(destination.ip, "10.0.0.0/8")` or `startsWith~(x, "a")`.

    `name` is the canonical spelling (`cidrMatch`); `spelling` is what the query wrote (names are case-insensitive).
    """

    name: str
    args: tuple[Expr, ...]
    case_insensitive: bool = False
    spelling: str = field(default="", compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


# --------------------------------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True, slots=True)
class EventFilter:
    """`<category> where <condition>`; `category` is None for `any`."""

    category: str | None
    condition: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A `maxspan`: a number and a unit (`ms`, `s`, `m`, `h`, `d`)."""

    value: int | float
    unit: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    _MILLIS: ClassVar[dict[str, int]] = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

    @property
    def millis(self) -> int:
        return int(self.value * self._MILLIS[self.unit])


@dataclass(frozen=True, slots=True)
class Stage:
    """One bracketed subquery of a sequence or sample: `[filter] by keys with runs=N`, or `![filter]` if missing."""

    filter: EventFilter
    keys: tuple[Expr, ...] = ()
    runs: int | None = None
    missing: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


PipeKind = Literal["head", "tail"]


@dataclass(frozen=True, slots=True)
class Pipe:
    kind: PipeKind
    count: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


class Query:
    """Base of the three statement forms: `EventQuery`, `SequenceQuery`, `SampleQuery`."""

    __slots__ = ()
    pipes: tuple[Pipe, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class EventQuery(Query):
    filter: EventFilter
    pipes: tuple[Pipe, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SequenceQuery(Query):
    stages: tuple[Stage, ...]
    keys: tuple[Expr, ...] = ()
    maxspan: TimeSpan | None = None
    until: Stage | None = None
    pipes: tuple[Pipe, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SampleQuery(Query):
    stages: tuple[Stage, ...]
    keys: tuple[Expr, ...] = ()
    pipes: tuple[Pipe, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


__all__ = [
    "NO_SPAN",
    "And",
    "Arithmetic",
    "Comparison",
    "Constant",
    "EventFilter",
    "EventQuery",
    "Expr",
    "Field",
    "FunctionCall",
    "In",
    "Negate",
    "Not",
    "Or",
    "PatternMatch",
    "Pipe",
    "Query",
    "SampleQuery",
    "SequenceQuery",
    "Span",
    "Stage",
    "TimeSpan",
]
