"""EQL conditions → Python predicates over `_source`, for one index, the way Elasticsearch runs them.

Elasticsearch does not evaluate a condition as one three-valued expression. Its query translator turns `and`, `or`
and `not` into a `bool` query and every leaf into either:

* a **query** — a comparison of a field with constants becomes a term, range, wildcard, regexp, terms, prefix or
  exists query. It matches when *any* value of the field matches, and a missing field does not match; `not` is
  `must_not`, so `x != "a"` matches documents without `x` and rejects those where any value is "a";
* a **script** — anything else (functions of fields, arithmetic, comparisons of computed values). The script runs
  with three-valued logic over every combination of the doc values of the fields it reads (a field without values
  contributes one null) and matches when one combination answers `true`.

`Compiler.filter` builds that structure; `Compiler.value` builds the three-valued evaluators used inside scripts and
for constant folding.

A function that raises (`FunctionError`: `number("abc")`, `/ by zero`) makes its script leaf false for that
combination of values, and a constant that raises is no constant. Elasticsearch fails the shard instead:
`runner.engine.functions.FunctionError` says how, and why the engine differs (tests/engine/test_function_errors.py).

Every walk over the tree dispatches on the node's type (`runner.dispatch.dispatchmethod`, a cheaper
`functools.singledispatchmethod`) with a default that raises `TypeError`, so a node type the compiler was not taught
fails loudly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import MethodWrapperType
from typing import Any

from runner.dispatch import dispatchmethod
from runner.engine import semantics as sem
from runner.engine.field_types import FieldType, to_text
from runner.engine.fields import MISSING, FieldReader, IndexContext
from runner.engine.filters import (
    Const,
    KeywordTest,
    Node,
    all_of,
    any_of,
    generate,
    keyword_leaf,
    leaf,
    negation,
)
from runner.engine.functions import FUNCTIONS, FunctionError, arithmetic, negate
from runner.eql import fields_of
from runner.eql import nodes as n

Predicate = Callable[[dict[str, Any]], bool]
Env = tuple[Any, ...]
Evaluator = Callable[[Env], Any]

_NOTHING = object()
_BOOLEAN_NODES = (n.And, n.Or, n.Not, n.Comparison, n.PatternMatch, n.In, n.FunctionCall)


class Compiler:
    """Compiles the conditions of one query for one index."""

    def __init__(self, ctx: IndexContext, null_fields: frozenset[str] = frozenset()) -> None:
        self.ctx = ctx
        # optional fields no searched index maps: Elasticsearch replaces them with `null`
        self.null_fields = null_fields

    # ---- helpers ---------------------------------------------------------------------------------------------------

    def _is_null_field(self, expr: n.Expr) -> bool:
        return isinstance(expr, n.Field) and expr.optional and expr.name in self.null_fields

    def _reads_document(self, expr: n.Expr) -> bool:
        return any(not self._is_null_field(f) for f in fields_of(expr))

    def constant(self, expr: n.Expr) -> Any:
        """The value of an expression that reads no document, or `_NOTHING`."""
        if self._reads_document(expr):
            return _NOTHING
        try:
            return self.value(expr, {})(())
        except FunctionError:
            return _NOTHING  # no constant: Elasticsearch would fail while planning (see FunctionError)

    def _field(self, expr: n.Expr) -> n.Field | None:
        if isinstance(expr, n.Field) and not self._is_null_field(expr):
            return expr
        return None

    # ---- query form ------------------------------------------------------------------------------------------------

    def filter(self, expr: n.Expr) -> Predicate:
        """The condition as one predicate over `_source`."""
        return generate(self.plan(expr))

    @dispatchmethod
    def plan(self, expr: n.Expr) -> Node:
        """The condition as Elasticsearch's query translator shapes it: bool clauses over query or script leaves."""
        raise TypeError(f"cannot compile {type(expr).__name__}")

    @plan.register
    def _(self, expr: n.And) -> Node:
        return all_of(self.plan(expr.left), self.plan(expr.right))

    @plan.register
    def _(self, expr: n.Or) -> Node:
        return any_of(self.plan(expr.left), self.plan(expr.right))

    @plan.register
    def _(self, expr: n.Not) -> Node:
        return negation(self.plan(expr.operand))

    @plan.register
    def _(
        self, expr: n.Constant | n.Field | n.Comparison | n.Arithmetic | n.Negate | n.PatternMatch | n.In | n.FunctionCall
    ) -> Node:
        if not self._reads_document(expr):
            return Const(self.constant(expr) is True)
        query = self._query(expr)
        return query if query is not None else leaf(self.script(expr))

    @dispatchmethod
    def _query(self, expr: n.Expr) -> Node | None:
        """A leaf that reads a document as a query (term, range, wildcard...), or None: it runs as a script."""
        raise TypeError(f"cannot compile {type(expr).__name__}")

    @_query.register
    def _(self, expr: n.Constant | n.Arithmetic | n.Negate) -> Node | None:
        return None

    @_query.register
    def _(self, expr: n.Field) -> Node | None:
        reader = self.ctx.reader(expr.name)
        return leaf(lambda s: True in reader.values(s))  # a boolean field: `field == true`

    @_query.register
    def _(self, expr: n.Comparison) -> Node | None:
        return self._comparison(expr)

    @_query.register
    def _(self, expr: n.PatternMatch) -> Node | None:
        return self._pattern_query(expr)

    @_query.register
    def _(self, expr: n.In) -> Node | None:
        return self._in_query(expr)

    @_query.register
    def _(self, expr: n.FunctionCall) -> Node | None:
        return self._function_query(expr)

    def _comparison(self, expr: n.Comparison) -> Node:
        op, left, right = expr.op, expr.left, expr.right
        left_value, right_value = self.constant(left), self.constant(right)
        # `x == null` is IS NULL, `x != null` IS NOT NULL
        if left_value is None or right_value is None:
            if left_value is None and right_value is None:
                return Const(op == "==")
            if op not in ("==", "!="):
                return Const(False)
            present = self._presence(right if left_value is None else left)
            return negation(present) if op == "==" else present
        # `b == true` is `b`, `b == false` and `b != true` are `not b`, `b != false` is `b`
        for expr_side, constant in ((left, right_value), (right, left_value)):
            if isinstance(constant, bool) and op in ("==", "!=") and isinstance(expr_side, _BOOLEAN_NODES):
                positive = self.plan(expr_side)
                return positive if (op == "==") == constant else negation(positive)
        if op == "!=":
            return negation(self._comparison(n.Comparison("==", left, right, span=expr.span)))
        field = self._field(left)
        if field is not None and right_value is not _NOTHING:
            return self._field_comparison(field, op, right_value)
        field = self._field(right)
        if field is not None and left_value is not _NOTHING:
            return self._field_comparison(field, sem.FLIPPED[op], left_value)
        return leaf(self.script(expr))

    def _presence(self, expr: n.Expr) -> Node:
        field = self._field(expr)
        if field is not None:
            reader = self.ctx.reader(field.name)
            return leaf(lambda s: bool(reader.values(s)))
        return leaf(self.script_test(expr, lambda value: value is not None))

    def _field_comparison(self, field: n.Field, op: str, value: Any) -> Node:
        reader = self.ctx.reader(field.name)
        return _typed(reader, lambda ftype: _comparison_matcher(ftype, op, value))

    def _pattern_query(self, expr: n.PatternMatch) -> Node | None:
        field = self._field(expr.subject)
        if field is None:
            return None
        patterns = [p.value for p in expr.patterns]
        reader = self.ctx.reader(field.name)
        if expr.kind == "regex":
            texts = [to_text(p) for p in patterns if p is not None]
            ci = expr.case_insensitive
            # a regexp query's pattern goes through the field's search analyzer too (indexedValueForSearch)
            return _typed(reader, lambda ftype: _any_text(
                ftype, sem.lucene_regex_any([ftype.search_text(t) for t in texts], ci)))
        return _typed(reader, lambda ftype: _wildcard_matcher(ftype, patterns, expr.case_insensitive))

    def _in_query(self, expr: n.In) -> Node | None:
        field = self._field(expr.subject)
        if field is None:
            return None
        options = [self.constant(o) for o in expr.options]
        if any(o is _NOTHING for o in options):
            return None
        reader = self.ctx.reader(field.name)
        present = [o for o in options if o is not None]
        matcher = _typed(reader, lambda ftype: _in_matcher(ftype, present, expr.case_insensitive))
        return negation(matcher) if expr.negated else matcher

    def _function_query(self, expr: n.FunctionCall) -> Node | None:
        """Functions Elasticsearch turns into queries when applied to a field and constants."""
        if expr.name not in ("cidrMatch", "startsWith", "endsWith", "stringContains") or not expr.args:
            return None
        field = self._field(expr.args[0])
        if field is None:
            return None
        constants = [self.constant(a) for a in expr.args[1:]]
        if any(c is _NOTHING for c in constants):
            return None
        reader = self.ctx.reader(field.name)
        if expr.name == "cidrMatch":
            cidrs = [to_text(c) for c in constants if c is not None]
            try:
                in_ranges = sem.cidr_matcher(cidrs)
            except sem.CidrError:
                return None
            return leaf(lambda s: any((ip := sem.ip_of(v)) is not None and in_ranges(ip) for v in reader.values(s)))
        if constants[0] is None:
            return Const(False)
        written = to_text(constants[0])
        ci = expr.case_insensitive
        name = expr.name

        def matcher(ftype: FieldType) -> tuple[ValuesTest, TextTest | None]:
            # the prefix or wildcard query's text goes through the field's search analyzer (a normalizer)
            needle = ftype.search_text(written)
            if name == "startsWith":
                prefix = sem.fold(needle) if ci else needle
                test: Callable[[str], bool] = (
                    (lambda v: sem.fold(v).startswith(prefix)) if ci else (lambda v: v.startswith(prefix))
                )
            elif name == "endsWith":
                # a wildcard query "*" + suffix: Lucene reads `*`, `?` and `\` in the suffix as wildcard syntax
                test = sem.lucene_wildcard_matcher("*" + needle, ci)
            else:
                test = sem.lucene_wildcard_matcher("*" + needle + "*", ci)
            return _any_text(ftype, test)

        return _typed(reader, matcher)

    # ---- script form -----------------------------------------------------------------------------------------------

    def script(self, expr: n.Expr) -> Predicate:
        """A leaf Elasticsearch runs as a script: true if some combination of the fields' doc values gives true."""
        return self.script_test(expr, lambda value: value is True)

    def script_test(self, expr: n.Expr, accept: Callable[[Any], bool]) -> Predicate:
        names = sorted({f.name for f in fields_of(expr) if not self._is_null_field(f)})
        slots = {name: i for i, name in enumerate(names)}
        evaluate = self.value(expr, slots)
        readers = [self.ctx.reader(name) for name in names]

        def run(env: Env) -> bool:
            try:
                return accept(evaluate(env))
            except FunctionError:
                return False  # the leaf is false: Elasticsearch would fail the shard (see FunctionError)

        if len(readers) == 1:
            (reader,) = readers

            def single(source: dict[str, Any]) -> bool:
                values = _script_values(reader, source)
                return any(run((v,)) for v in values)

            return single

        def many(source: dict[str, Any]) -> bool:
            columns = [_script_values(r, source) for r in readers]
            return any(run(env) for env in itertools.product(*columns))

        return many

    @dispatchmethod
    def value(self, expr: n.Expr, slots: dict[str, int]) -> Evaluator:
        """A three-valued evaluator; fields read their value from `env[slots[name]]`."""
        raise TypeError(f"cannot evaluate {type(expr).__name__}")

    @value.register
    def _(self, expr: n.Constant, slots: dict[str, int]) -> Evaluator:
        constant = expr.value
        return lambda _e: constant

    @value.register
    def _(self, expr: n.Field, slots: dict[str, int]) -> Evaluator:
        if self._is_null_field(expr):
            return lambda _e: None
        slot = slots[expr.name]
        return lambda e: e[slot]

    @value.register
    def _(self, expr: n.And, slots: dict[str, int]) -> Evaluator:
        left, right = self.value(expr.left, slots), self.value(expr.right, slots)
        return lambda e: sem.and3(left(e), right(e))

    @value.register
    def _(self, expr: n.Or, slots: dict[str, int]) -> Evaluator:
        left, right = self.value(expr.left, slots), self.value(expr.right, slots)
        return lambda e: sem.or3(left(e), right(e))

    @value.register
    def _(self, expr: n.Not, slots: dict[str, int]) -> Evaluator:
        inner = self.value(expr.operand, slots)
        return lambda e: sem.not3(inner(e))

    @value.register
    def _(self, expr: n.Comparison, slots: dict[str, int]) -> Evaluator:
        return self._value_comparison(expr, slots)

    @value.register
    def _(self, expr: n.Arithmetic, slots: dict[str, int]) -> Evaluator:
        left, right, op = self.value(expr.left, slots), self.value(expr.right, slots), expr.op
        return lambda e: arithmetic(op, left(e), right(e))

    @value.register
    def _(self, expr: n.Negate, slots: dict[str, int]) -> Evaluator:
        inner = self.value(expr.operand, slots)
        return lambda e: negate(inner(e))

    @value.register
    def _(self, expr: n.PatternMatch, slots: dict[str, int]) -> Evaluator:
        return self._value_pattern(expr, slots)

    @value.register
    def _(self, expr: n.In, slots: dict[str, int]) -> Evaluator:
        return self._value_in(expr, slots)

    @value.register
    def _(self, expr: n.FunctionCall, slots: dict[str, int]) -> Evaluator:
        impl = FUNCTIONS[expr.name]
        args = [self.value(a, slots) for a in expr.args]
        ci = expr.case_insensitive
        return lambda e: impl([a(e) for a in args], ci)

    def _value_comparison(self, expr: n.Comparison, slots: dict[str, int]) -> Evaluator:
        op = expr.op
        left, right = self.value(expr.left, slots), self.value(expr.right, slots)
        left_null = not self._reads_document(expr.left) and self.constant(expr.left) is None
        right_null = not self._reads_document(expr.right) and self.constant(expr.right) is None
        if op in ("==", "!=") and (left_null or right_null):
            other = right if left_null else left
            if op == "==":
                return lambda e: other(e) is None
            return lambda e: other(e) is not None
        return lambda e: sem.compare3(op, left(e), right(e))

    def _value_pattern(self, expr: n.PatternMatch, slots: dict[str, int]) -> Evaluator:
        subject = self.value(expr.subject, slots)
        patterns = [to_text(p.value) for p in expr.patterns if p.value is not None]
        if expr.kind == "regex":
            test = sem.java_regex_any(patterns, expr.case_insensitive)
        else:
            test = sem.wildcard_any(patterns, expr.case_insensitive)

        def evaluate(env: Env) -> Any:
            value = subject(env)
            if value is None:
                return None
            return test(to_text(value))

        return evaluate

    def _value_in(self, expr: n.In, slots: dict[str, int]) -> Evaluator:
        subject = self.value(expr.subject, slots)
        options = [self.value(o, slots) for o in expr.options]
        ci, negated = expr.case_insensitive, expr.negated

        def evaluate(env: Env) -> Any:
            value = subject(env)
            if value is None:
                return None
            saw_null = False
            found = False
            for option in options:
                candidate = option(env)
                if candidate is None:
                    saw_null = True
                elif ci and isinstance(value, str) and isinstance(candidate, str):
                    found = sem.fold(value) == sem.fold(candidate)
                else:
                    found = sem.compare3("==", value, candidate) is True
                if found:
                    break
            if not found and saw_null:
                return None
            return (not found) if negated else found

        return evaluate


# ---- typed matchers ---------------------------------------------------------------------------------------------------


ValuesTest = Callable[[list[Any]], bool]
TextTest = Callable[[str], bool]


def _typed(reader: FieldReader, factory: Callable[[FieldType], tuple[ValuesTest, TextTest | None]]) -> Node:
    """A query on one field, specialised to the field's type as soon as it is known: at once for mapped fields, at
    the first value seen for dynamically mapped ones.

    `factory(ftype)` gives a test over the field's indexed values and, for keyword-family fields, a test for one
    plain string, which the generated filter code applies inline to a document holding a single string.
    """
    if reader.ftype is not None:
        return _specialised(reader, *factory(reader.ftype))

    state: list[Predicate] = []

    def resolving(source: dict[str, Any]) -> bool:
        if state:
            return state[0](source)
        reader.values(source)  # may fix the field's dynamic type
        if reader.ftype is None:
            return False
        state.append(generate(_specialised(reader, *factory(reader.ftype))))
        return state[0](source)

    return leaf(resolving)


def _specialised(reader: FieldReader, test: ValuesTest, text_test: TextTest | None) -> Node:
    # the generated keyword code reads `_source` and compares its plain strings as they are: not for a scripted field
    # (its values come from `get`), a normalized keyword (lowercased) or a constant one (the mapping's value)
    if text_test is None or not reader.verbatim:
        get, normalize = reader.get, reader.normalize

        def general(source: dict[str, Any]) -> bool:
            raw = get(source)
            return raw is not MISSING and test(normalize(raw))

        return leaf(general)
    # a bound `str.__eq__` (a method-wrapper, whose `__self__` is the string) is plain equality
    owner = text_test.__self__ if isinstance(text_test, MethodWrapperType) else None
    equals = owner if isinstance(owner, str) else None
    return keyword_leaf(KeywordTest(reader, test, text_test, equals))


def _comparison_matcher(ftype: FieldType, op: str, value: Any) -> tuple[ValuesTest, TextTest | None]:
    bounds = ftype.literal_range(value)
    if bounds is None:
        return (lambda _vs: False), None
    low, high = bounds
    keyword = ftype.family == "keyword"
    if op == "==":
        if low == high:
            target = low
            return (lambda vs: target in vs), (target.__eq__ if keyword else None)
        return (lambda vs: any(low <= v <= high for v in vs)), None
    # ranges round a partial literal (a date's unspecified precision) the way Elasticsearch's date math does
    if op == "<":
        return (lambda vs: any(v < low for v in vs)), ((lambda v: v < low) if keyword else None)
    if op == "<=":
        return (lambda vs: any(v <= high for v in vs)), ((lambda v: v <= high) if keyword else None)
    if op == ">":
        return (lambda vs: any(v > high for v in vs)), ((lambda v: v > high) if keyword else None)
    return (lambda vs: any(v >= low for v in vs)), ((lambda v: v >= low) if keyword else None)


def _text_of(ftype: FieldType) -> Callable[[Any], str]:
    if ftype.family == "keyword":
        return lambda v: v
    return lambda v: to_text(ftype.render(v))


def _any_text(ftype: FieldType, test: TextTest) -> tuple[ValuesTest, TextTest | None]:
    if ftype.family == "keyword":
        return (lambda vs: any(test(v) for v in vs)), test
    as_text = _text_of(ftype)
    return (lambda vs: any(test(as_text(v)) for v in vs)), None


def _wildcard_matcher(
    ftype: FieldType, patterns: list[Any], case_insensitive: bool
) -> tuple[ValuesTest, TextTest | None]:
    texts = [ftype.search_text(to_text(p)) for p in patterns if p is not None]  # a normalizer's work on the pattern
    if any(p == "*" for p in texts):
        return (lambda vs: bool(vs)), None  # `x : "*"` is `x != null`
    if ftype.family != "keyword":
        exact = [p for p in patterns if not (isinstance(p, str) and sem.has_wildcard(p))]
        targets = [t for t in (ftype.literal_range(p) for p in exact) if t is not None]
        wild = [p for p in texts if sem.has_wildcard(p)]
        text_test = sem.wildcard_any(wild, case_insensitive) if wild else None
        as_text = _text_of(ftype)

        def test(values: list[Any]) -> bool:
            for v in values:
                if any(low <= v <= high for low, high in targets):
                    return True
                if text_test is not None and text_test(as_text(v)):
                    return True
            return False

        return test, None
    match = sem.wildcard_any(texts, case_insensitive)
    return (lambda vs: any(match(v) for v in vs)), match


def _in_matcher(ftype: FieldType, options: list[Any], case_insensitive: bool) -> tuple[ValuesTest, TextTest | None]:
    ranges = [r for r in (ftype.literal_range(o) for o in options) if r is not None]
    points = [low for low, high in ranges if low == high]
    spans = [(low, high) for low, high in ranges if low != high]
    if case_insensitive and ftype.family == "keyword":
        folded = frozenset(sem.fold(p) for p in points)
        return (lambda vs: any(sem.fold(v) in folded for v in vs)), sem.folded_terms(folded)
    point_set = set(points)
    if not spans:
        if ftype.family == "keyword":
            return (lambda vs: not point_set.isdisjoint(vs)), point_set.__contains__
        return (lambda vs: any(v in point_set for v in vs)), None
    return (lambda vs: any(v in point_set or any(low <= v <= high for low, high in spans) for v in vs)), None


def _script_values(reader: FieldReader, source: dict[str, Any]) -> list[Any]:
    """The doc values a script iterates: sorted, de-duplicated, as script values; one null if there are none."""
    values = reader.sorted_unique(source)
    if not values:
        return [None]
    ftype = reader.ftype
    assert ftype is not None
    return [ftype.script_value(v) for v in values]


__all__ = ["Compiler", "Evaluator", "Predicate"]
