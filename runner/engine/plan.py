"""A query prepared for execution: stages with `runs` expanded, and per-index compiled filters and key readers.

Making a `QueryPlan` is where a search learns which fields it reads; a runtime field among them whose values come
from a script (painless, which rule-runner cannot run) reads as missing in every document, and the plan says so once
per search with a warning on the `runner.engine` logger (which `hunt`, `query` and `run` print on stderr): a rule
that cannot match for that reason never passes silently for one that found nothing.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

from runner.engine.compile import Compiler, Predicate
from runner.engine.field_types import KeywordType
from runner.engine.fields import FieldReader, IndexContext
from runner.engine.ordering import OrdinalReader
from runner.eql import Runtime, Schema, fields_of
from runner.eql import nodes as n

log = logging.getLogger("runner.engine")


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One stage after `runs` expansion: its filter, its full key list (query keys + stage keys), missing or not."""

    filter: n.EventFilter
    keys: tuple[n.Expr, ...]
    missing: bool = False


@singledispatch
def expand_stages(query: n.Query) -> tuple[list[StageSpec], StageSpec | None]:
    """The stages of a query with `runs` expanded and the query's keys prepended to each stage's; and its `until`."""
    raise TypeError(f"no stages known for {type(query).__name__}")


@expand_stages.register
def _(query: n.EventQuery) -> tuple[list[StageSpec], StageSpec | None]:
    return [StageSpec(query.filter, ())], None


@expand_stages.register
def _(query: n.SequenceQuery) -> tuple[list[StageSpec], StageSpec | None]:
    until = query.until
    until_spec = StageSpec(until.filter, tuple(query.keys) + tuple(until.keys)) if until is not None else None
    return _expanded(query.stages, query.keys), until_spec


@expand_stages.register
def _(query: n.SampleQuery) -> tuple[list[StageSpec], StageSpec | None]:
    return _expanded(query.stages, query.keys), None


def _expanded(stages: tuple[n.Stage, ...], keys: tuple[n.Expr, ...]) -> list[StageSpec]:
    specs = []
    for stage in stages:
        spec = StageSpec(stage.filter, tuple(keys) + tuple(stage.keys), stage.missing)
        specs.extend([spec] * (stage.runs or 1))
    return specs


def null_fields(query: n.Query, schema: Schema | None) -> frozenset[str]:
    """Optional fields that no searched index maps: Elasticsearch reads them as `null`."""
    if not schema:
        return frozenset()
    stages, until = expand_stages(query)
    names: set[str] = set()
    for spec in stages + ([until] if until else []):
        for expr in (spec.filter.condition, *spec.keys):
            for f in fields_of(expr):
                if f.optional and not schema.lookup(f.name):
                    names.add(f.name)
    return frozenset(names)


def scripted_fields(schema: Schema | None, names: list[str]) -> dict[str, list[str]]:
    """Of the fields `names`, those some index of `schema` defines as a runtime field with a script, each with those
    indices (sorted): fields that read as missing in every document of those indices."""
    found: dict[str, list[str]] = {}
    if not schema:
        return found
    for name in names:
        indices = sorted(index for index, mapping in schema.lookup(name) if mapping.runtime is Runtime.SCRIPT)
        if indices:
            found[name] = indices
    return found


def warn_scripted(scripted: dict[str, list[str]]) -> None:
    """The warning for the scripted runtime fields a search reads (see the module docstring)."""
    for name, indices in scripted.items():
        shown = ", ".join(indices[:3]) + (f" and {len(indices) - 3} more" if len(indices) > 3 else "")
        log.warning(
            "runtime field [%s] of index [%s] is computed by a script, which rule-runner cannot run: it reads as "
            "missing (null) in every document of this search", name, shown,
        )


KeyExtractor = Callable[[dict[str, Any]], "list[tuple[Any, ...]] | None"]


def key_extractor(readers: list[tuple[FieldReader | None, bool]], bucket: bool) -> KeyExtractor:
    """Join keys of a document: the cartesian product of each key field's values (nulls dropped, duplicates once).

    A document lacking a value for a required key takes no part; an optional key without a value is null.
    `bucket` renders values as a composite aggregation does (samples), otherwise as the fields API does.
    """

    def column(reader: FieldReader | None, source: dict[str, Any]) -> list[Any]:
        rendered: list[Any] = []
        if reader is not None:
            values = reader.values(source)
            if values:
                ftype = reader.ftype
                assert ftype is not None
                render = ftype.bucket_key if bucket else ftype.render
                for value in values:
                    shown = render(value)
                    if shown not in rendered:
                        rendered.append(shown)
        return rendered

    def general(source: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        columns: list[list[Any]] = []
        for reader, optional in readers:
            rendered = column(reader, source)
            if not rendered:
                if not optional:
                    return None
                rendered = [None]
            columns.append(rendered)
        return [tuple(combination) for combination in itertools.product(*columns)]

    def extract(source: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        # the common case first: each key a single plain string in a keyword field, taken as it is
        key = []
        for reader, _optional in readers:
            if reader is not None:
                raw = reader.get(source)
                if type(raw) is str and type(reader.ftype) is KeywordType:
                    limit = reader.ignore_above
                    if limit is None or len(raw) <= limit:
                        key.append(raw)
                        continue
            return general(source)
        return [tuple(key)]

    return extract


@dataclass(slots=True)
class IndexPlan:
    """A query compiled for one index.

    An event query has one filter. Sequences and samples read the event category once: `dispatch(source)` names the
    stages (the until clause is the last one) whose category the event has, and `conditions[i]` is the rest of stage
    i's filter. (When the category field is not a keyword, `dispatch` names every stage and the conditions test the
    category too.)
    """

    filters: list[Predicate]
    dispatch: Callable[[dict[str, Any]], tuple[int, ...]]
    conditions: list[Predicate]
    keys: list[KeyExtractor]  # per stage, the until clause last
    ordinal: OrdinalReader

    def sequence_keys(
        self, source: dict[str, Any], count: int
    ) -> tuple[list[list[tuple[Any, ...]] | None], list[tuple[Any, ...]] | None] | None:
        """What a sequence's matcher needs of an event: per stage (`count` of them) the join keys of each stage it
        matches (None for the others), and its join keys as the until clause (stage `count`; None if it does not
        match it); None when it is no candidate (a stage matched without a key counts as not matched). The one
        implementation, for `search()` and for `search_many()`."""
        stage_keys: list[list[tuple[Any, ...]] | None] | None = None
        until_keys = None
        for stage in self.dispatch(source):
            if self.conditions[stage](source):
                found = self.keys[stage](source)
                if not found:
                    continue
                if stage == count:
                    until_keys = found
                    continue
                if stage_keys is None:
                    stage_keys = [None] * count
                stage_keys[stage] = found
        if stage_keys is None:
            if not until_keys:
                return None
            stage_keys = [None] * count
        return stage_keys, until_keys


def category_dispatcher(reader: FieldReader, categories: list[str | None]) -> Callable[[dict[str, Any]], tuple[int, ...]]:
    """The stages whose category (None for `any`) a keyword category field's values name, from one lookup."""
    anywhere = tuple(i for i, c in enumerate(categories) if c is None)
    table: dict[str, tuple[int, ...]] = {}
    for category in {c for c in categories if c is not None}:
        table[category] = tuple(sorted(anywhere + tuple(i for i, c in enumerate(categories) if c == category)))
    get, normalize, limit = reader.get, reader.normalize, reader.ignore_above

    def dispatch(source: dict[str, Any]) -> tuple[int, ...]:
        raw = get(source)
        kind = type(raw)
        if kind is list and len(raw) == 1:
            raw = raw[0]
            kind = type(raw)
        if kind is str:
            if limit is not None and len(raw) > limit:
                return anywhere
            return table.get(raw, anywhere)
        found = set(anywhere)
        for value in normalize(raw):
            found.update(table.get(value, ()))
        return tuple(sorted(found))

    return dispatch


class QueryPlan:
    def __init__(
        self,
        query: n.Query,
        schema: Schema | None,
        timestamp_field: str,
        tiebreaker_field: str | None,
        event_category_field: str,
    ) -> None:
        self.query = query
        self.stages, self.until = expand_stages(query)
        self.null_fields = null_fields(query, schema)
        self.timestamp_field = timestamp_field
        self.tiebreaker_field = tiebreaker_field
        self.category_field = event_category_field
        self.bucket_keys = _bucket_keys(query)
        specs = self.stages + ([self.until] if self.until is not None else [])
        names = {event_category_field, timestamp_field, *([tiebreaker_field] if tiebreaker_field else [])}
        for spec in specs:
            for expr in (spec.filter.condition, *spec.keys):
                names.update(f.name for f in fields_of(expr) if f.name not in self.null_fields)
        self.field_names = sorted(names)
        self.scripted = scripted_fields(schema, self.field_names)
        warn_scripted(self.scripted)

    def condition(self, spec: StageSpec) -> n.Expr:
        if spec.filter.category is None:
            return spec.filter.condition
        category = n.Comparison("==", n.Field(tuple(self.category_field.split("."))), n.Constant(spec.filter.category))
        return n.And(category, spec.filter.condition)

    def for_index(self, ctx: IndexContext, first_source: dict[str, Any] | None = None) -> IndexPlan:
        """The query compiled for an index; fields the index maps dynamically take their type from the first
        document that has them, starting with `first_source`, so most predicates are specialised at once."""
        plan: IndexPlan | None = ctx.compiled
        if plan is None:
            if first_source is not None:
                for name in self.field_names:
                    ctx.reader(name).values(first_source)
            plan = ctx.compiled = self._compile(ctx)
        return plan

    def _keys(self, ctx: IndexContext, spec: StageSpec) -> KeyExtractor:
        readers: list[tuple[FieldReader | None, bool]] = []
        for key in spec.keys:
            assert isinstance(key, n.Field)
            reader = None if key.name in self.null_fields and key.optional else ctx.reader(key.name)
            readers.append((reader, key.optional))
        return key_extractor(readers, self.bucket_keys)

    def _compile(self, ctx: IndexContext) -> IndexPlan:
        compiler = Compiler(ctx, self.null_fields)
        tiebreaker = ctx.reader(self.tiebreaker_field) if self.tiebreaker_field else None
        ordinal = OrdinalReader(ctx.reader(self.timestamp_field), tiebreaker, self.timestamp_field, self.tiebreaker_field)
        if isinstance(self.query, n.EventQuery):
            (spec,) = self.stages
            return IndexPlan([compiler.filter(self.condition(spec))], _every(1), [], [], ordinal)
        if not isinstance(self.query, (n.SequenceQuery, n.SampleQuery)):
            raise TypeError(f"cannot compile {type(self.query).__name__}")
        specs = self.stages + ([self.until] if self.until is not None else [])
        keys = [self._keys(ctx, spec) for spec in specs]
        category = ctx.reader(self.category_field)
        if category.family == "keyword" and category.verbatim:  # the dispatcher looks its plain strings up as they are
            conditions = [compiler.filter(spec.filter.condition) for spec in specs]
            dispatch = category_dispatcher(category, [spec.filter.category for spec in specs])
        else:
            conditions = [compiler.filter(self.condition(spec)) for spec in specs]
            dispatch = _every(len(specs))
        return IndexPlan([], dispatch, conditions, keys, ordinal)


def _bucket_keys(query: n.Query) -> bool:
    """Whether join keys read as a sample's composite aggregation buckets (True) or as a sequence's fields."""
    if isinstance(query, (n.EventQuery, n.SequenceQuery)):
        return False
    if isinstance(query, n.SampleQuery):
        return True
    raise TypeError(f"no join keys known for {type(query).__name__}")


def _every(count: int) -> Callable[[dict[str, Any]], tuple[int, ...]]:
    stages = tuple(range(count))
    return lambda _source: stages


__all__ = [
    "IndexPlan",
    "QueryPlan",
    "StageSpec",
    "category_dispatcher",
    "expand_stages",
    "key_extractor",
    "null_fields",
    "scripted_fields",
    "warn_scripted",
]
