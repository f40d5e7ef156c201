"""Elasticsearch's verification rules for EQL, with its messages.

`check(query)` runs the rules that need no mapping (functions, literal types, constants, field-to-field
comparisons, regular expressions, CIDR literals); `parse` calls it. `verify(query, schema)` adds the rules that need
the indices' mappings (unknown fields unless `?optional`, `text` without an exact sub-field, argument and key types).
Both collect every problem and raise one `EqlVerificationError` ("Found N problems"), as Elasticsearch does.

Every walk over the tree dispatches on the node's type (`functools.singledispatch`, or `runner.dispatch.dispatchmethod` for methods) with a default that raises
`TypeError`: a node type added to `runner.eql.nodes` and not taught to a walk fails loudly instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import singledispatch

from runner.dispatch import dispatchmethod
from runner.eql import nodes as n
from runner.eql.errors import EqlVerificationError, Problem
from runner.eql.printer import expression as print_expression
from runner.eql.regex_check import cidr_problem, regex_problem
from runner.eql.schema import KEYWORD_FAMILY, NUMERIC_TYPES, TEXT_FAMILY, Schema, type_family
from runner.eql.signatures import SIGNATURES, ArgKind, signature
from runner.eql.suggest import did_you_mean

_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
_FUNCTION_NAMES = tuple(sorted(name.lower() for name in SIGNATURES))
_SUPPORTED_TYPES = (
    KEYWORD_FAMILY
    | TEXT_FAMILY
    | NUMERIC_TYPES
    | {"date", "date_nanos", "ip", "boolean", "version", "binary", "null"}
)
# Elasticsearch's data type of a mapping type, where the two differ (x-pack/plugin/ql DataTypes: DATETIME is "date"
# and "date_nanos"; constant_keyword and wildcard fields are KEYWORD). Its messages print the data type: its name
# ("found [DATETIME]"), its type name ("type [datetime]") or, for sequence keys, its Elasticsearch type ("[date]").
_DATA_TYPES = {
    "date": ("datetime", "date"),
    "date_nanos": ("datetime", "date"),
    "constant_keyword": ("keyword", "keyword"),
    "wildcard": ("keyword", "keyword"),
}
# the functions whose only (or every) argument Elasticsearch checks without an ordinal (ParamOrdinal.DEFAULT):
# "argument of [length(x)] ...", "[string(x)] cannot operate on field of data type [text]"
_UNORDERED_ARGUMENTS = frozenset({"length", "string", "concat"})


def _type_name(es_type: str) -> str:
    """How Elasticsearch names a type in "type [...]" and "must be [...]": its data type's name (`datetime`)."""
    return _DATA_TYPES.get(es_type, (es_type, es_type))[0]


def _es_type_name(es_type: str) -> str:
    """How Elasticsearch names a type where it prints the data type's Elasticsearch type (sequence keys): `date`."""
    return _DATA_TYPES.get(es_type, (es_type, es_type))[1]


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


def _short_ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the analyzer knows about a field: its Elasticsearch type and whether it has exact values."""

    es_type: str
    exact: bool = True


def _source(expr: n.Expr) -> str:
    return print_expression(expr)


def _literal_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    return "keyword"


def _family_matches(kind: ArgKind, es_type: str) -> bool:
    if es_type == "null":
        return True
    family = type_family(es_type)
    if kind is ArgKind.STRING:
        return family in ("keyword", "text")
    if kind is ArgKind.NUMERIC:
        return family in ("integer", "rational")
    if kind is ArgKind.INTEGER:
        return family == "integer"
    if kind is ArgKind.IP:
        return family == "ip"
    if kind is ArgKind.BOOLEAN:
        return family == "boolean"
    return True


@singledispatch
def children(expr: n.Expr) -> tuple[n.Expr, ...]:
    """The sub-expressions of an expression, left to right."""
    raise TypeError(f"no children known for {type(expr).__name__}")


@children.register
def _(expr: n.Constant | n.Field) -> tuple[n.Expr, ...]:
    return ()


@children.register
def _(expr: n.And | n.Or | n.Comparison | n.Arithmetic) -> tuple[n.Expr, ...]:
    return (expr.left, expr.right)


@children.register
def _(expr: n.Not | n.Negate) -> tuple[n.Expr, ...]:
    return (expr.operand,)


@children.register
def _(expr: n.PatternMatch) -> tuple[n.Expr, ...]:
    # the patterns are literals, not part of what the expression reads
    return (expr.subject,)


@children.register
def _(expr: n.In) -> tuple[n.Expr, ...]:
    return (expr.subject, *expr.options)


@children.register
def _(expr: n.FunctionCall) -> tuple[n.Expr, ...]:
    return expr.args


def _walk(expr: n.Expr) -> Iterator[n.Expr]:
    yield expr
    for child in children(expr):
        yield from _walk(child)


def fields_of(expr: n.Expr) -> list[n.Field]:
    return [e for e in _walk(expr) if isinstance(e, n.Field)]


@singledispatch
def query_stages(query: n.Query) -> list[n.Stage]:
    """The stages of a query, its `until` last; an event query is one stage without keys."""
    raise TypeError(f"no stages known for {type(query).__name__}")


@query_stages.register
def _(query: n.EventQuery) -> list[n.Stage]:
    return [n.Stage(filter=query.filter)]


@query_stages.register
def _(query: n.SequenceQuery) -> list[n.Stage]:
    return [*query.stages, query.until] if query.until is not None else list(query.stages)


@query_stages.register
def _(query: n.SampleQuery) -> list[n.Stage]:
    return list(query.stages)


@singledispatch
def query_keys(query: n.Query) -> tuple[n.Expr, ...]:
    """The keys a sequence or sample joins every stage by (`sequence by ...`); none for an event query."""
    raise TypeError(f"no keys known for {type(query).__name__}")


@query_keys.register
def _(query: n.EventQuery) -> tuple[n.Expr, ...]:
    return ()


@query_keys.register
def _(query: n.SequenceQuery | n.SampleQuery) -> tuple[n.Expr, ...]:
    return query.keys


class _Analyzer:
    def __init__(self, schema: Schema | None, event_category_field: str) -> None:
        self.schema = schema if schema else None
        self.category_field = event_category_field
        self.problems: list[Problem] = []
        self._seen: set[tuple[int, int, str]] = set()

    # ---- reporting -------------------------------------------------------------------------------------------------

    def fail(self, at: n.Expr | n.Stage | n.EventFilter | n.Span, message: str) -> None:
        span = at if isinstance(at, n.Span) else at.span
        key = (span.line, span.column, message)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(Problem(span.line, span.column, message))

    # ---- types -----------------------------------------------------------------------------------------------------

    def field_info(self, field: n.Field) -> FieldInfo | None:
        """The field's type, `null` for an unmapped `?field`, None when unknown (no mapping, or an unknown field)."""
        if self.schema is None:
            return None
        found = self.schema.lookup(field.name)
        if not found:
            if field.optional and not self.schema.is_object(field.name):
                return FieldInfo("null")
            return None
        if self.schema.nested_parent(field.name) is not None:
            return None  # unresolved in Elasticsearch (field_reference says why): nothing is checked against it
        types = {m.type for _, m in found}
        families = {type_family(t) for t in types}
        if len(families) > 1 and not families <= {"keyword", "text"}:
            return FieldInfo("conflict")
        mapping = found[0][1]
        if type_family(mapping.type) == "text":
            exact = all(m.exact is not None for _, m in found)
            return FieldInfo(mapping.type, exact)
        return FieldInfo(mapping.type)

    @dispatchmethod
    def type_of(self, expr: n.Expr) -> str | None:
        """The Elasticsearch type of an expression, None when it cannot be known without a mapping."""
        raise TypeError(f"no type known for {type(expr).__name__}")

    @type_of.register
    def _(self, expr: n.Constant) -> str | None:
        return _literal_type(expr.value)

    @type_of.register
    def _(self, expr: n.Field) -> str | None:
        info = self.field_info(expr)
        return info.es_type if info is not None else None

    @type_of.register
    def _(self, expr: n.And | n.Or | n.Not | n.Comparison | n.PatternMatch | n.In) -> str | None:
        return "boolean"

    @type_of.register
    def _(self, expr: n.Negate) -> str | None:
        return self.type_of(expr.operand)

    @type_of.register
    def _(self, expr: n.Arithmetic) -> str | None:
        left, right = self.type_of(expr.left), self.type_of(expr.right)
        if left is None or right is None:
            return None
        if "double" in (left, right) or "float" in (left, right) or type_family(left) == "rational":
            return "double"
        if type_family(right) == "rational":
            return "double"
        return "long" if "long" in (left, right) else left

    @type_of.register
    def _(self, expr: n.FunctionCall) -> str | None:
        sig = signature(expr.name)
        if sig is None:
            return None
        if sig.returns == "number":
            types = [self.type_of(a) for a in expr.args]
            if any(t is None for t in types):
                return None
            if any(type_family(t) == "rational" for t in types if t):
                return "double"
            return "long"
        if sig.name == "number":
            return "double"
        return sig.returns

    # ---- entry -----------------------------------------------------------------------------------------------------

    def query(self, query: n.Query) -> None:
        stages = query_stages(query)
        for stage in stages:
            self.event_filter(stage.filter)
        if isinstance(query, n.EventQuery):
            return
        if isinstance(query, n.SequenceQuery):
            label = "Sequence"
        elif isinstance(query, n.SampleQuery):
            label = "Sample"
        else:
            raise TypeError(f"no join keys known for {type(query).__name__}")
        keys_per_stage = [list(query_keys(query)) + list(stage.keys) for stage in stages]
        for keys in keys_per_stage:
            for key in keys:
                self.key(key)
        self.key_types(label, keys_per_stage, stages)

    def key(self, key: n.Expr) -> None:
        if isinstance(key, n.Field):
            self.field_reference(key)

    def key_types(self, label: str, keys_per_stage: list[list[n.Expr]], stages: list[n.Stage]) -> None:
        """`label`: the statement the keys join ("Sequence", "Sample"), as the errors name it."""
        if self.schema is None or not keys_per_stage:
            return
        first = keys_per_stage[0]
        for keys in keys_per_stage[1:]:
            for position, key in enumerate(keys):
                if position >= len(first):
                    continue
                expected, found = self.type_of(first[position]), self.type_of(key)
                if expected in (None, "null", "conflict") or found in (None, "null", "conflict"):
                    continue
                if not _compatible(expected, found):
                    self.fail(
                        key,
                        f"{label} key [{_source(key)}] type [{_es_type_name(found)}] is incompatible with key "
                        f"[{_source(first[position])}] type [{_es_type_name(expected)}]",
                    )

    def event_filter(self, event_filter: n.EventFilter) -> None:
        if (event_filter.category is not None and self.schema is not None
                and not self.schema.lookup(self.category_field)):
            self.fail(event_filter, f"Unknown column [{self.category_field}]")
        before = len(self.problems)
        self.expression(event_filter.condition)
        if len(self.problems) > before:
            return  # type errors first; the condition check only runs on a well-typed tree (as in Elasticsearch)
        condition_type = self.type_of(event_filter.condition)
        if condition_type is not None and condition_type not in ("boolean", "null"):
            if event_filter.category is None:
                self.fail(
                    event_filter.condition,
                    f"Condition expression needs to be boolean, found [{_type_name(condition_type).upper()}]",
                )
            else:
                self.fail(
                    event_filter.condition,
                    f"second argument of [{_filter_source(event_filter)}] must be [boolean], found value "
                    f"[{_source(event_filter.condition)}] type [{_type_name(condition_type)}]",
                )

    # ---- expressions -----------------------------------------------------------------------------------------------

    @dispatchmethod
    def expression(self, expr: n.Expr) -> None:
        """Check an expression and everything under it."""
        raise TypeError(f"cannot check {type(expr).__name__}")

    @expression.register
    def _(self, expr: n.Constant) -> None:
        pass

    @expression.register
    def _(self, expr: n.Field) -> None:
        self.field_reference(expr)

    @expression.register
    def _(self, expr: n.And | n.Or | n.Not) -> None:
        for child in children(expr):
            self.expression(child)

    @expression.register
    def _(self, expr: n.Comparison) -> None:
        self.expression(expr.left)
        self.expression(expr.right)
        self.comparison(expr)

    @expression.register
    def _(self, expr: n.Arithmetic) -> None:
        self.expression(expr.left)
        self.expression(expr.right)
        for index, side in enumerate((expr.left, expr.right)):
            self.require(expr, index, side, ArgKind.NUMERIC, _source(expr))

    @expression.register
    def _(self, expr: n.Negate) -> None:
        self.expression(expr.operand)
        operand_type = self.type_of(expr.operand)
        if operand_type is not None and not _family_matches(ArgKind.NUMERIC, operand_type):
            self.fail(
                expr,
                f"argument of [{_source(expr)}] must be [numeric], found value [{_source(expr.operand)}] "
                f"type [{_type_name(operand_type)}]",
            )

    @expression.register
    def _(self, expr: n.PatternMatch) -> None:
        self.expression(expr.subject)
        self.pattern(expr)

    @expression.register
    def _(self, expr: n.In) -> None:
        self.expression(expr.subject)
        for option in expr.options:
            self.expression(option)
        self.in_list(expr)

    @expression.register
    def _(self, expr: n.FunctionCall) -> None:
        for arg in expr.args:
            self.expression(arg)
        self.function(expr)

    def field_reference(self, field: n.Field) -> None:
        """Elasticsearch's checks of a field it resolved (x-pack/plugin/eql AnalysisUtils.handleSpecialFields, in its
        order: ambiguous mappings, unsupported types, objects, `nested` objects, fields under a `nested` object), or
        "Unknown column" when no index maps it and it is not `?optional`."""
        if self.schema is None:
            return
        found = self.schema.lookup(field.name)
        if not found:
            if self.schema.is_object(field.name):
                if self.schema.is_nested(field.name):
                    self.fail(
                        field,
                        f"Cannot use field [{field.name}] type [nested] due to nested fields not being supported yet",
                    )
                else:
                    self.fail(field, f"Cannot use field [{field.name}] type [object] only its subfields")
                return
            if field.optional:
                return
            suggestion = did_you_mean(field.name, sorted(self.schema.names()))
            self.fail(field, f"Unknown column [{field.name}]{suggestion}")
            return
        types = {type_family(m.type) for _, m in found}
        if len(types) > 1 and not types <= {"keyword", "text"}:
            described = ", ".join(f"[{m.type}] in [{index}]" for index, m in found)
            self.fail(
                field,
                f"Cannot use field [{field.name}] due to ambiguities being mapped as [{len(found)}] incompatible "
                f"types: {described}",
            )
            return
        es_type = found[0][1].type
        if es_type not in _SUPPORTED_TYPES:
            self.fail(field, f"Cannot use field [{field.name}] with unsupported type [{es_type}]")
            return
        parent = self.schema.nested_parent(field.name)
        if parent is not None:
            self.fail(
                field,
                f"Cannot use field [{field.name}] type [{_type_name(es_type)}] with unsupported nested type in "
                f"hierarchy (field [{parent}])",
            )

    def require_exact(self, owner: n.Expr, index: int | None, expr: n.Expr, owner_text: str) -> bool:
        """`index`: the argument's position, None where Elasticsearch names no ordinal (ParamOrdinal.DEFAULT)."""
        if isinstance(expr, n.Field):
            info = self.field_info(expr)
            if info is not None and type_family(info.es_type) == "text" and not info.exact:
                where = f"{_ordinal(index)} argument " if index is not None else ""
                # Elasticsearch names the field by its own name in the mapping (TextEsField.getName()): the leaf
                leaf = expr.name.rsplit(".", 1)[-1]
                self.fail(
                    owner,
                    f"[{owner_text}] cannot operate on {where}field of data type [text]: No keyword/multi-field "
                    f"defined exact matches for [{leaf}]; define one or use MATCH/QUERY instead",
                )
                return False
        return True

    def require(self, owner: n.Expr, index: int | None, expr: n.Expr, kind: ArgKind, owner_text: str) -> None:
        if kind in (ArgKind.STRING, ArgKind.EXACT) and not self.require_exact(owner, index, expr, owner_text):
            return
        found = self.type_of(expr)
        if found is None or kind in (ArgKind.EXACT, ArgKind.ANY) or found == "conflict":
            return
        if not _family_matches(kind, found):
            where = f"{_ordinal(index)} argument" if index is not None else "argument"
            self.fail(
                owner,
                f"{where} of [{owner_text}] must be [{kind.value}], found value [{_source(expr)}] type "
                f"[{_type_name(found)}]",
            )

    def comparison(self, expr: n.Comparison) -> None:
        left_fields = [f for f in fields_of(expr.left) if not self._null_field(f)]
        right_fields = [f for f in fields_of(expr.right) if not self._null_field(f)]
        if left_fields and right_fields:
            if self._unknown_optional_pair(left_fields, right_fields):
                return
            offender = right_fields[0].name if isinstance(expr.right, n.Field) else _source(expr.right)
            self.fail(
                expr,
                f"Comparisons against fields are not (currently) supported; offender [{offender}] in [{expr.op}]",
            )
            return
        for index, side in enumerate((expr.left, expr.right)):
            self.require_exact(expr, index, side, _source(expr))

    def _null_field(self, field: n.Field) -> bool:
        return field.optional and self.schema is not None and not self.schema.lookup(field.name)

    def _unknown_optional_pair(self, left: list[n.Field], right: list[n.Field]) -> bool:
        # without a mapping `?x == ?y` may compare two unmapped (null) fields, which Elasticsearch accepts
        return self.schema is None and all(f.optional for f in left + right)

    def pattern(self, expr: n.PatternMatch) -> None:
        """`:`, `like`, `regex`: Elasticsearch resolves the first argument, then (only if it resolved) the patterns.

        With no mapping a field's type is unknown, and so is which of the two Elasticsearch reports (`pid : 123` is
        "first argument ... consider using [==]" on a long, "second argument" on a keyword): the patterns are then
        left to `verify`."""
        subject_type = self.type_of(expr.subject)
        symbol = expr.operator
        if expr.kind == ":":
            if subject_type is not None and subject_type not in ("null", "conflict") and type_family(
                subject_type
            ) not in ("keyword", "text"):
                self.fail(
                    expr,
                    f"first argument of [{symbol}] must be [string], found value [{_source(expr.subject)}] "
                    f"type [{_type_name(subject_type)}]; consider using [==] instead",
                )
                return
            if not self.require_exact(expr, 0, expr.subject, symbol):
                return
        else:
            if subject_type is not None and subject_type not in ("null", "conflict") and type_family(
                subject_type
            ) not in ("keyword", "text"):
                self.fail(
                    expr,
                    f"first argument of [{_source(expr)}] must be [string], found value "
                    f"[{_source(expr.subject)}] type [{_type_name(subject_type)}]",
                )
                return
            self.require_exact(expr, 0, expr.subject, _source(expr))
        unknown_subject = subject_type is None and isinstance(expr.subject, n.Field)
        for pattern in expr.patterns:
            if not isinstance(pattern.value, str):
                if unknown_subject:
                    continue
                # `:` is a comparison in Elasticsearch: its failure is reported where the comparison starts
                self.fail(
                    expr if expr.kind == ":" else pattern,
                    f"second argument of [{symbol if expr.kind == ':' else _source(expr)}] must be [string], "
                    f"found value [{_source(pattern)}] type [{_literal_type(pattern.value)}]",
                )
            elif expr.kind == "regex":
                self.regex(pattern, isinstance(expr.subject, n.Field))

    def regex(self, pattern: n.Constant, lucene: bool) -> None:
        problem = regex_problem(str(pattern.value), lucene)
        if problem is not None:
            self.fail(pattern, f"Invalid regular expression [{pattern.value}]: {problem}")

    def in_list(self, expr: n.In) -> None:
        text = _source(expr)
        for option in expr.options:
            option_fields = [f for f in fields_of(option) if not self._null_field(f)]
            if option_fields:
                offender = option_fields[0].name if isinstance(option, n.Field) else _source(option)
                self.fail(expr, f"Comparisons against fields are not (currently) supported; offender [{offender}] in [{text}]")
                return
        subject_type = self.type_of(expr.subject)
        if (expr.case_insensitive and subject_type is not None and subject_type not in ("null", "conflict")
                and type_family(subject_type) not in ("keyword", "text")):
            self.fail(
                expr,
                f"first argument of [:] must be [string], found value [{_source(expr.subject)}] type "
                f"[{_type_name(subject_type)}]; consider using [==] instead",
            )
            return
        self.require_exact(expr, None, expr.subject, text)
        if subject_type is None or subject_type in ("null", "conflict"):
            return
        for index, option in enumerate(expr.options):
            option_type = self.type_of(option)
            if option_type is None or _compatible(subject_type, option_type):
                continue
            self.fail(
                expr,
                f"{_short_ordinal(index + 1)} argument of [{text}] must be [{_type_name(subject_type)}], found value "
                f"[{_source(option)}] type [{_type_name(option_type)}]",
            )

    def function(self, expr: n.FunctionCall) -> None:
        sig = signature(expr.name)
        if sig is None:
            self.fail(expr, f"Unknown function [{expr.spelling or expr.name}]{did_you_mean(expr.name.lower(), list(_FUNCTION_NAMES))}")
            return
        text = _source(expr)
        unordered = sig.name.lower() in _UNORDERED_ARGUMENTS
        for index, arg in enumerate(expr.args):
            param = sig.param_at(index)
            if param.foldable and fields_of(arg) and not all(self._null_field(f) for f in fields_of(arg)):
                self.fail(expr, f"{_ordinal(index)} argument of [{text}] must be a constant, received [{_source(arg)}]")
                continue
            self.require(expr, None if unordered else index, arg, param.kind, text)
        if sig.name == "cidrMatch":
            for arg in expr.args[1:]:
                if isinstance(arg, n.Constant) and isinstance(arg.value, str):
                    problem = cidr_problem(arg.value)
                    if problem is not None:
                        self.fail(arg, problem)


def _compatible(left: str, right: str) -> bool:
    if "null" in (left, right):
        return True
    a, b = type_family(left), type_family(right)
    if a == b:
        return True
    string = {"keyword", "text"}
    numeric = {"integer", "rational"}
    return (a in string and b in string) or (a in numeric and b in numeric)


def _filter_source(event_filter: n.EventFilter) -> str:
    category = event_filter.category if event_filter.category is not None else "any"
    return f"{category} where {_source(event_filter.condition)}"


def check(query: n.Query, event_category_field: str = "event.category") -> None:
    """Raise `EqlVerificationError` for every problem that does not depend on a mapping."""
    analyzer = _Analyzer(None, event_category_field)
    analyzer.query(query)
    if analyzer.problems:
        raise EqlVerificationError(analyzer.problems)


def verify(query: n.Query, schema: Schema, event_category_field: str = "event.category") -> None:
    """Raise `EqlVerificationError` for every problem, checking fields and types against the indices' mappings."""
    analyzer = _Analyzer(schema, event_category_field)
    analyzer.query(query)
    if analyzer.problems:
        raise EqlVerificationError(analyzer.problems)


__all__ = ["check", "children", "fields_of", "query_keys", "query_stages", "verify"]
