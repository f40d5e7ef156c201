"""Many queries (events and sequences) over the same documents in one pass, each answering as `search()` would.

Hunting runs hundreds of rules over the same events. One pass per rule costs a filter call per event per rule; here
each event goes only to the rules that could match it. Every query's filter is a tree of `and`/`or` whose leaves
Elasticsearch evaluates as term queries, and its exact tests on keyword fields (`process.name == "curl"`,
`process.name in ("sh", "bash")`, `host.os.type == "linux"`) are necessary conditions: a query can only match a
document holding one of the terms of each exact test of its top-level `and`; an `or` matches through one of its
branches, so a query has a few ways in, each such a set of required terms (`_required`). Per index and event
category, the ways in are filed in a discrimination tree (`_grow`): each node splits the ways on the field most of
them test, a child per term, and the ways that do not test that field further on. An event walks the tree, reading
one field per node and following the children its values name, and only the queries it reaches run their full
filters. Queries without any exact test run on every document of their indices; a stage that can match nothing in
an index (a test of an optional field the index does not map, which reads as null) is not filed there at all. A
sequence is filed under the ways in of each of its stages (and of its `until`), and its matcher gets the same
candidates, with the same join keys and ordinals, as
in `search()`. Results are kept per query with the same ordering keys and limits, so the answers are identical. The
documents come sorted by timestamp; a sequence that sees an event out of order (a timestamp finer than the sort) is
reported so that the caller runs it alone, where the reorder window handles it. Sample queries are offered their
candidates the same way; their collector orders by index and position, so the documents' order does not matter.
A search's `accept` (a request's filter on `_source`) is applied to its candidates before its query.

`DslSearch` items (`_search` requests of query rules) ride the same pass: each document is handed to
`runner.engine.query_dsl.batch.DslBatch` too, which offers it to the Query DSL searches its term index says can match
it (query_dsl/terms.py), and each answers with the `_search` body `dsl_search` would give.

Growing mappings (`growing=True`): streaming a file, the caller maps each document (`LiveMapping.extend`) just
before handing it over, so a `Schema` of live `IndexMapping`s grows during the pass. The engine reads it without
copying it: a field's reader binds to the mapping's entry at its first value, the entry the first document having
the field decided — the type the final mapping gives it. Searches are planned once the first documents (`lookahead`
of them, held in memory meanwhile) were read and mapped, so their fields count as mapped (tree, category
dispatch, types known at once: the speed of a static batch); a verification failure then is deferred to the end of the pass, where each search
is checked against the final schema: a verification failure is its answer (as `search()` would raise with the
final schema), and an answer whose plan took a decision that the final schema would take differently — an
optional field read as null because nothing mapped it (`null_fields`), a reader made before its field was mapped
that reads another path (a multi-field) or bound to a type of its own, an index that had no mapping when first
seen — is replaced by `Remapped`: the caller runs that search alone, with the final schema. Other decisions made
while a field is unknown (not filed in the tree, no category dispatch, a test specialised at the field's first value) only
change the speed, not the answer.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from runner.engine.compile import Compiler
from runner.engine.fields import MISSING
from runner.engine.filters import AllOf, AnyOf, Const, Leaf, Node, Token, selectivity_rank
from runner.engine.limits import Window, limit_chain
from runner.engine.ordering import OrderingError
from runner.engine.plan import IndexPlan, QueryPlan, null_fields
from runner.engine.query_dsl.batch import DslBatch, DslSearch, Remap
from runner.engine.response import event_hit, response_body, sequence_hit
from runner.engine.samples import SampleCollector
from runner.engine.search import SearchRequestError, _Contexts, _parse, _schema
from runner.engine.semantics import fold
from runner.engine.sequences import SequenceMatcher
from runner.eql import EqlVerificationError, Schema, verify
from runner.eql import nodes as n
from runner.errors import RuleRunnerError


@dataclass
class QuerySearch:
    """One query of a batch: the query, the indices whose documents it sees, its mapping and its size; `accept`,
    a filter on `_source` its documents must pass (a request's `filter`), and, for samples, `max_samples_per_key`."""

    query: str | n.Query
    indices: AbstractSet[str]  # growing batches: a set the caller adds an index to before its first document
    mappings: Mapping[str, Any] | Schema | None = None
    size: int = 10
    accept: Callable[[dict[str, Any]], bool] | None = None
    max_samples_per_key: int = 1


class OutOfOrder(SearchRequestError):
    """A sequence query saw documents out of timestamp order in a batch: run it on its own."""


class Remapped(SearchRequestError):
    """A search of a growing batch was planned with a mapping that the rest of the stream changed in a way that can
    change its answer: run it on its own, with the final mapping."""


@dataclass
class _Entry:
    number: int
    plan: QueryPlan
    contexts: _Contexts
    window: Window[Mapping[str, Any]] | None  # event queries
    matcher: SequenceMatcher | None = None  # sequence queries
    collector: SampleCollector | None = None  # sample queries
    accept: Callable[[dict[str, Any]], bool] | None = None
    last: Any = None  # the last ordinal fed to the matcher
    broken: bool = False
    # growing batches: the schema (live), what it said of the query's fields when planned, a deferred verification
    # failure, a failure compiling the query for an index
    schema: Schema | None = None
    status: Any = None
    deferred: Exception | None = None
    failed: Exception | None = None


class _Compiled:
    """One query compiled for one index: `offer(position, doc, source)` runs it on a document."""

    __slots__ = ("accept", "collector", "compiled", "count", "entry", "matcher", "ordinal", "predicate", "window")

    # the entry's window (an event query) or matcher (a sequence), narrowed once here rather than per document;
    # `offer` reads the window only with a predicate (an event query), the matcher only without
    window: Window[Mapping[str, Any]]
    matcher: SequenceMatcher

    def __init__(self, entry: _Entry, compiled: IndexPlan) -> None:
        self.entry = entry
        self.compiled = compiled
        self.ordinal = compiled.ordinal
        self.predicate = compiled.filters[0] if compiled.filters else None
        self.count = len(entry.plan.stages)
        self.accept = entry.accept
        self.collector = entry.collector
        if entry.window is not None:
            self.window = entry.window
        if entry.matcher is not None:
            self.matcher = entry.matcher

    def offer(self, position: int, doc: Mapping[str, Any], source: dict[str, Any]) -> None:
        if self.accept is not None and not self.accept(source):
            return
        if self.predicate is not None:
            try:
                matched = self.predicate(source)
            except RuleRunnerError as error:
                self._failed(error)
                return
            if matched:
                self.window.add(self.ordinal.event_key(source, position), doc)
            return
        collector = self.collector
        if collector is not None:
            try:
                self._sample(collector, position, doc, source)
            except RuleRunnerError as error:
                self._failed(error)
            return
        entry = self.entry
        if entry.broken or entry.failed is not None:
            return
        try:
            found = self.compiled.sequence_keys(source, self.count)
        except RuleRunnerError as error:
            self._failed(error)
            return
        if found is None:
            return
        stage_keys, until_keys = found
        try:
            ordinal = self.ordinal.ordinal(doc, position, strict=True)
        except OrderingError as error:  # what `search()` raises for this query; the batch's other searches go on
            entry.failed = error
            return
        assert ordinal is not None  # strict: an error rather than None
        if entry.last is not None and ordinal < entry.last:
            entry.broken = True
            return
        entry.last = ordinal
        self.matcher.feed(doc, ordinal, stage_keys, until_keys)

    def _failed(self, error: RuleRunnerError) -> None:
        """What `search()` raises for this query on this document (a test specialised at a field's first value, when
        a growing mapping gives it a type that cannot be searched): the query's answer; it is offered nothing more."""
        if self.entry.failed is None:
            self.entry.failed = error
        self.predicate = _never
        self.collector = None  # a sample query then takes the sequence path, which skips a failed entry

    def _sample(self, collector: SampleCollector, position: int, doc: Mapping[str, Any], source: dict[str, Any]) -> None:
        """As `search()`'s `_run_samples` feeds its collector."""
        compiled = self.compiled
        stage_keys: list[list[tuple[Any, ...]] | None] = [None] * self.count
        for stage in compiled.dispatch(source):
            if compiled.conditions[stage](source):
                stage_keys[stage] = compiled.keys[stage](source)
        if any(stage_keys):
            collector.feed(doc, str(doc["_index"]), position, stage_keys)


def _never(_source: dict[str, Any]) -> bool:
    return False


Key = tuple[str, bool]  # an exact test's field and whether its terms are folded
Tokens = frozenset[Token]
Item = tuple["_Compiled", dict[Key, Tokens]]  # a stage of a query and what it requires


class _Node:
    """A node of a group's discrimination tree: the queries it offers every event that reaches it (`always`), and
    one field it splits the others on: per term of that field (`children`), the queries requiring that term; per
    first (`starts`) and last (`ends`) characters of a value, the queries requiring a wildcard pattern with that
    literal lead or tail (a fixed length per node: the shortest lead, the shortest tail); and (`other`) the queries
    requiring nothing of that field. An event walks down every child its value names and into `other`; a query is
    reached only when every test it was filed under can hold."""

    __slots__ = ("always", "children", "ends", "ends_at", "folded", "get", "normalize", "other", "starts", "starts_at")

    def __init__(self) -> None:
        self.always: list[_Compiled] = []
        self.get: Any = None  # the split field's reader (None: a leaf)
        self.normalize: Any = None
        self.folded = False
        self.children: dict[str, _Node] = {}
        self.starts: dict[str, _Node] = {}
        self.starts_at = 0
        self.ends: dict[str, _Node] = {}
        self.ends_at = 0  # negative: the tail's length from the end
        self.other: _Node | None = None

    def __bool__(self) -> bool:
        return bool(self.always or self.get is not None)

    def collect(self, source: dict[str, Any], hits: list[list[_Compiled]]) -> None:
        """Appends to `hits` the lists of queries the event reaches from here."""
        node: _Node | None = self
        while node is not None:
            if node.always:
                hits.append(node.always)
            get = node.get
            if get is None:
                return
            raw = get(source)
            if raw is not MISSING:
                # the plain shape straight from _source (a keyword value is indexed as the string itself); anything
                # else through the field's normalisation. Reading too much is harmless: each candidate's own
                # filter decides.
                if type(raw) is str:
                    node.follow(raw.lower() if node.folded else raw, source, hits)
                else:
                    values = raw if type(raw) is list and all(type(v) is str for v in raw) else node.normalize(raw)
                    folded = node.folded
                    for value in dict.fromkeys(fold(v) if folded and type(v) is str else v for v in values):
                        node.follow(value, source, hits)
            node = node.other

    def follow(self, value: Any, source: dict[str, Any], hits: list[list[_Compiled]]) -> None:
        child = self.children.get(value)
        if child is not None:
            child.collect(source, hits)
        if type(value) is not str:
            return
        if self.starts:
            child = self.starts.get(value[: self.starts_at])
            if child is not None:
                child.collect(source, hits)
        if self.ends:
            child = self.ends.get(value[self.ends_at :])
            if child is not None:
                child.collect(source, hits)


SMALL = 0  # a node with this many queries or fewer offers them all rather than splitting further


def _grow(items: list[Item], readers: dict[Key, Any]) -> _Node:
    """The discrimination tree of some stages: split on the field the most of them test exactly (the least
    telling field last on a tie), recursively; a query sits in the bucket of each term it accepts."""
    root = node = _Node()
    while True:
        rest = [item for item in items if item[1]]
        if len(rest) <= SMALL:
            rest = []
        # a query's stages are items of their own: offered once all the same
        node.always = list(dict.fromkeys(compiled for compiled, tests in items if not tests or not rest))
        if not rest:
            return root
        counts: dict[Key, int] = {}
        for _compiled, tests in rest:
            for key in tests:
                counts[key] = counts.get(key, 0) + 1
        key = min(counts, key=lambda k: (-counts[k], selectivity_rank(k[0]), k))
        reader = readers[key]
        node.get, node.normalize, node.folded = reader.get, reader.normalize, key[1]
        buckets: dict[str, list[Item]] = {}
        leads: dict[str, list[Item]] = {}
        tails: dict[str, list[Item]] = {}
        others: list[Item] = []
        for compiled, tests in rest:
            tokens = tests.get(key)
            if tokens is None:
                others.append((compiled, tests))
                continue
            remaining = {k: v for k, v in tests.items() if k != key}
            for token in tokens:
                if type(token) is str:
                    buckets.setdefault(token, []).append((compiled, remaining))
                else:
                    (leads if token[0] == "<" else tails).setdefault(token[1], []).append((compiled, remaining))
        node.children = {term: _grow(bucket, readers) for term, bucket in buckets.items()}
        if leads:
            node.starts_at = min(map(len, leads))
            node.starts = _cut(leads, node.starts_at, readers)
        if tails:
            node.ends_at = -min(map(len, tails))
            node.ends = _cut(tails, node.ends_at, readers)
        if not others:
            return root
        node.other = _Node()
        node, items = node.other, others


ALTERNATIVES = 16  # at most this many ways into the tree per stage (`_required`)


def _cut(by_text: dict[str, list[Item]], at: int, readers: dict[Key, Any]) -> dict[str, _Node]:
    """The subtrees of the items filed by a lead (`at` > 0: its first `at` characters) or a tail (`at` < 0: its
    last `-at` characters)."""
    grouped: dict[str, list[Item]] = {}
    for text, items in by_text.items():
        grouped.setdefault(text[:at] if at > 0 else text[at:], []).extend(items)
    return {part: _grow(items, readers) for part, items in grouped.items()}


def _required(node: Node, readers: dict[Key, Any]) -> list[dict[Key, Tokens]]:
    """Ways a filter plan can match, each as the exact keyword tests it cannot match without: per field, the
    terms one of which the field must hold. An `and` requires what each of its parts requires (their ways
    combined); an `or` matches by one of its branches (each branch's ways; past `ALTERNATIVES`, the fields every
    branch requires, their terms united). Anything else requires nothing ([{}]). Each way is a necessary
    condition of the branch it comes from, so an event reaches a query through some way whenever it matches."""
    if isinstance(node, Leaf):
        test = node.keyword
        found = test.tokens() if test is not None else None
        if found is None:
            return [{}]
        assert test is not None
        tokens, folded = found
        key = (test.reader.name, folded)
        readers.setdefault(key, test.reader)
        return [{key: tokens}]
    if isinstance(node, AllOf):
        ways: list[dict[Key, Tokens]] = [{}]
        for part in node.parts:
            alternatives = _required(part, readers)
            if alternatives == [{}] or len(ways) * len(alternatives) > ALTERNATIVES:
                continue  # requiring less is always sound
            ways = [_both(way, alternative) for way in ways for alternative in alternatives]
        return ways
    if isinstance(node, AnyOf):
        branches = [_required(part, readers) for part in node.parts]
        ways = [way for branch in branches for way in branch]
        if {} in ways:
            return [{}]
        if len(ways) <= ALTERNATIVES:
            return ways
        common = set(ways[0]).intersection(*ways[1:])
        return [{key: frozenset().union(*(way[key] for way in ways)) for key in common}]
    return [{}]


def _both(one: dict[Key, Tokens], other: dict[Key, Tokens]) -> dict[Key, Tokens]:
    """What two parts of an `and` require. Two tests of one field are not one test of their common terms: an
    array holds a term of each (`process.args in ("get", "describe") and process.args in ("pods", "nodes")`), so
    either alone is required, and the one with fewer terms is kept."""
    both = dict(one)
    for key, terms in other.items():
        if key not in both or len(terms) < len(both[key]):
            both[key] = terms
    return both


@dataclass
class _IndexTable:
    """For one index: the queries by event category (the category a stage names), then a tree of their ways in.

    A stage `process where ...` can only match documents whose category is `process`, so an event only consults the
    trees of the stages of its own categories (and of `any` stages): one lookup of the category field spares the
    walks of every other category's tree. When the index does not map the category as a keyword, every stage is in
    `anywhere`, filed by its whole condition, category test included."""

    category: Any = None  # the category field's reader (None: no dispatch)
    by_category: dict[str, _Node] = field(default_factory=dict)
    anywhere: _Node = field(default_factory=_Node)

    def groups(self, source: dict[str, Any]) -> list[_Node]:
        """The trees an event walks."""
        found: list[_Node] = [self.anywhere] if self.anywhere else []
        reader = self.category
        if reader is None:
            return found
        raw = reader.get(source)
        if raw is MISSING:
            return found
        kind = type(raw)
        if kind is list and len(raw) == 1:
            raw = raw[0]
            kind = type(raw)
        if kind is str:
            limit = reader.ignore_above
            group = self.by_category.get(raw) if limit is None or len(raw) <= limit else None
            if group is not None:
                found.append(group)
            return found
        for value in dict.fromkeys(reader.normalize(raw)):
            group = self.by_category.get(value)
            if group is not None:
                found.append(group)
        return found


LOOKAHEAD = 4096  # growing batches: documents read (and so mapped) before the searches are planned


def search_many(
    documents: Iterable[Mapping[str, Any]],
    searches: Sequence[QuerySearch | DslSearch],
    *,
    growing: bool = False,
    lookahead: int = LOOKAHEAD,
) -> list[dict[str, Any] | Exception]:
    """For each search, the `_eql/search` response body (a `DslSearch`: the `_search` body `dsl_search` gives), or
    the exception `search()` (`dsl_search`) would have raised (`OutOfOrder`, `Remapped`: run that one alone).
    The `DslSearch` items are answered in the same pass (runner.engine.query_dsl.batch: term-indexed).

    `documents` must be in the order `search()` would see them (by timestamp); each search sees the documents of
    its `indices` that its `accept` takes. Event, sequence and sample queries with the default timestamp, category
    and result position. `growing`: the searches' `Schema`s are extended by the caller, in place, with each document
    before it is handed over (see the module's docstring), and so are their `indices` (sets) with each index before
    its first document; the searches are planned once the first `lookahead`
    documents (at least one) have been read and mapped, so that the fields they hold count as mapped.
    """
    started = time.monotonic()
    stream = iter(documents)
    if growing:
        ahead = list(itertools.islice(stream, max(1, lookahead)))
        stream = itertools.chain(ahead, stream)
    results: list[dict[str, Any] | Exception | None] = [None] * len(searches)
    entries: list[_Entry | None] = []
    queries = [(number, spec) for number, spec in enumerate(searches) if isinstance(spec, DslSearch)]
    dsl = DslBatch(queries, growing) if queries else None
    for number, spec in enumerate(searches):
        if isinstance(spec, DslSearch):
            entries.append(None)
            continue
        try:
            entries.append(_prepare(number, spec, growing))
        except Exception as error:
            results[number] = error
            entries.append(None)
    tables: dict[str, _IndexTable] = {}
    by_index: dict[str, list[_Entry]] = {}
    for entry, spec in zip(entries, searches, strict=True):
        if entry is not None:
            assert isinstance(spec, QuerySearch)
            for index in spec.indices:
                by_index.setdefault(index, []).append(entry)
    for position, doc in enumerate(stream):
        index = doc["_index"]
        source = doc["_source"]
        if dsl is not None:
            dsl.offer(position, doc, index, source)
        table = tables.get(index)
        if table is None:
            found_entries = by_index.get(index)
            if found_entries is None:
                if not growing:
                    continue
                # growing: a search's `indices` grow with the stream too (the caller resolves an index's name
                # against each search's patterns when the index first appears, before its first document is handed
                # over); an index no search names gets an empty table
                found_entries = [entry for entry, spec in zip(entries, searches, strict=True)
                                 if entry is not None and index in spec.indices]
            table = tables[index] = _table(index, source, found_entries, growing)
        hits: list[list[_Compiled]] = []
        for tree in table.groups(source):
            tree.collect(source, hits)
        if not hits:
            continue
        if len(hits) == 1:
            candidates = hits[0]
        else:
            candidates = []
            seen: set[int] = set()
            for found in hits:
                for compiled in found:
                    if id(compiled) not in seen:
                        seen.add(id(compiled))
                        candidates.append(compiled)
        for compiled in candidates:
            compiled.offer(position, doc, source)
    took = int((time.monotonic() - started) * 1000)
    if dsl is not None:
        for number, answer in dsl.finish(took).items():
            results[number] = Remapped(str(answer)) if isinstance(answer, Remap) else answer
    for entry in entries:
        if entry is None:
            continue
        problem = _settle(entry) if growing else entry.failed
        if problem is not None:
            results[entry.number] = problem
        elif entry.window is not None:
            results[entry.number] = response_body({"events": [event_hit(d) for d in entry.window.results()]}, took)
        elif entry.collector is not None:
            samples = [sequence_hit(key, events) for key, events in entry.collector.results()]
            results[entry.number] = response_body({"sequences": samples}, took)
        elif entry.broken:
            results[entry.number] = OutOfOrder("documents out of timestamp order for a batched sequence")
        else:
            assert entry.matcher is not None
            has_keys = bool(entry.plan.stages[0].keys)
            sequences = [sequence_hit(q.key if has_keys else None, q.events) for q in entry.matcher.finish()]
            results[entry.number] = response_body({"sequences": sequences}, took)
    return [r if r is not None else SearchRequestError("no result") for r in results]


def _prepare(number: int, spec: QuerySearch, growing: bool) -> _Entry:
    if isinstance(spec.size, bool) or not isinstance(spec.size, int) or spec.size < 0:
        raise SearchRequestError("size must be greater than or equal to 0")
    samples = spec.max_samples_per_key
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SearchRequestError("max_samples_per_key must be greater than 0")
    parsed = _parse(spec.query)
    if not isinstance(parsed, (n.EventQuery, n.SequenceQuery, n.SampleQuery)):
        raise SearchRequestError("search_many takes event, sequence and sample queries")
    schema = _schema(spec.mappings)
    deferred = None
    if schema:
        try:
            verify(parsed, schema, "event.category")
        except EqlVerificationError as error:
            if not growing:
                raise
            deferred = error  # fields mapped later may answer it: decided at the end, with the final schema
    plan = QueryPlan(parsed, schema, "@timestamp", None, "event.category")
    contexts = _Contexts(schema, frozenset({"@timestamp"}), live=growing)
    live: dict[str, Any] = {}
    if growing:
        live = {"schema": schema, "status": _status(schema, plan), "deferred": deferred}
    if isinstance(parsed, n.SampleQuery):
        chain = limit_chain(parsed, spec.size, "head", samples=True)
        collector = SampleCollector(len(plan.stages), samples, chain)
        return _Entry(number, plan, contexts, None, collector=collector, accept=spec.accept, **live)
    chain = limit_chain(parsed, spec.size, "tail")
    if isinstance(parsed, n.EventQuery):
        return _Entry(number, plan, contexts, Window(chain), accept=spec.accept, **live)
    maxspan = parsed.maxspan.millis * 1_000_000 if parsed.maxspan is not None else None
    matcher = SequenceMatcher([stage.missing for stage in plan.stages], maxspan, chain)
    return _Entry(number, plan, contexts, None, matcher, accept=spec.accept, **live)


def _status(schema: Schema | None, plan: QueryPlan) -> Any:
    """What a schema says of the fields a query reads: what its verification and plan were decided on."""
    if not schema:
        return None
    names = sorted({*plan.field_names, *plan.null_fields})
    return [(name, schema.lookup(name), schema.is_object(name)) for name in names]


def _settle(entry: _Entry) -> Exception | None:
    """At the end of a growing batch: None when the search's answer stands, else the exception that replaces it
    (the verification failure the final schema gives, or `Remapped`)."""
    schema = entry.schema
    query = entry.plan.query
    changed = schema is not None and _status(schema, entry.plan) != entry.status
    if schema and (changed or entry.deferred is not None or entry.failed is not None):
        try:
            verify(query, schema, "event.category")
        except EqlVerificationError as error:
            return error
    if entry.failed is not None:
        return entry.failed
    if changed and null_fields(query, schema) != entry.plan.null_fields:
        return Remapped("an optional field read as null was mapped later in the stream")
    indices = schema.indices if schema is not None else {}
    for index, ctx in entry.contexts.contexts().items():
        if ctx.grow:  # the index had no mapping when first seen: a mapping of the search's own
            if index in indices:
                return Remapped(f"index [{index}] was mapped after the search first saw it")
        elif not ctx.current():
            return Remapped(f"a field of index [{index}] was mapped after the search read it")
    return None


def _table(index: str, first: dict[str, Any], entries: list[_Entry], growing: bool = False) -> _IndexTable:
    table = _IndexTable()
    readers: dict[Key, Any] = {}
    items: dict[str | None, list[Item]] = {}
    for entry in entries:
        if entry.failed is not None:
            continue
        try:
            compiled, category, planned = _compile(entry, index, first)
        except Exception as error:
            # what `search()` would raise for this query on this index (a term query on a binary field, a field
            # Elasticsearch cannot search: any RuleRunnerError), and anything a query that failed its verification
            # raises (it may not compile), is that query's own answer, not the batch's; anything else is a bug
            if not (isinstance(error, RuleRunnerError) or (growing and entry.deferred is not None)):
                raise
            entry.failed = error
            continue
        if category is not None:
            table.category = category
        filed: dict[str | None, list[dict[Key, Tokens]]] = {}
        for group, node in planned:
            if isinstance(node, Const) and not node.value:
                continue  # the stage matches nothing in this index (an optional field it does not map, say)
            for required in _required(node, readers):
                if required not in filed.setdefault(group, []):  # two ways alike are one way in
                    filed[group].append(required)
                    items.setdefault(group, []).append((compiled, required))
    for group, grouped in items.items():
        tree = _grow(grouped, readers)
        if group is None:
            table.anywhere = tree
        else:
            table.by_category[group] = tree
    return table


def _compile(entry: _Entry, index: str, first: dict[str, Any]) -> tuple[_Compiled, Any, list[tuple[str | None, Node]]]:
    """The query compiled for an index, its category reader when it dispatches on it, and each stage's (and the
    until clause's) category (None: any) and filter plan."""
    ctx = entry.contexts.get(index)
    compiled = _Compiled(entry, entry.plan.for_index(ctx, first))
    compiler = Compiler(ctx, entry.plan.null_fields)
    category = ctx.reader(entry.plan.category_field)
    dispatch = category.family == "keyword" and category.verbatim  # its plain strings looked up as they are
    specs = entry.plan.stages + ([entry.plan.until] if entry.plan.until is not None else [])
    planned: list[tuple[str | None, Node]] = []
    for spec in specs:
        group = spec.filter.category if dispatch else None
        condition = spec.filter.condition if dispatch else entry.plan.condition(spec)
        planned.append((group, compiler.plan(condition)))
    return compiled, category if dispatch else None, planned


__all__ = ["DslSearch", "OutOfOrder", "QuerySearch", "Remapped", "search_many"]
