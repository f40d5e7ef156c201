"""`dsl_search`: one `_search` request (the body Kibana's query rules send) answered over documents, as
Elasticsearch answers it: the body of its `_search` response.

The body's `query` runs through `compile_dsl`'s compiler, per index with that index's mapping; the matches are
ordered by `sort`, cut by `search_after` and kept to `from + size`. Only the best `from + size` matches are ever held
(a bounded heap), whatever the number of matches, so a query rule's page costs memory for one page.

Request keys and the rules followed (Elasticsearch 8.x):
- `size` (default 10, 0 allowed), `from` (default 0); `from + size` above 10,000 fails as `index.max_result_window`
  makes it fail.
- `sort`: a list (or one item) of `"field"` or `{field: "asc"|"desc"}` or `{field: {order, unmapped_type, missing}}`.
  Values as Elasticsearch's doc values give them: a `date` sorts by epoch milliseconds (`date_nanos` by nanoseconds)
  and prints that long, integers print as longs, `float`/`double` as doubles, keywords as strings compared in UTF-8
  byte order. A multi-valued field sorts ascending by its smallest value, descending by its largest (the default
  `mode`). A document without a value sorts last (`missing: _last`, the default; `_first` is accepted) and prints
  the value Elasticsearch substitutes, `IndexFieldData.XFieldComparatorSource.missingObject`
  (elastic/elasticsearch server/src/main/java/org/elasticsearch/index/fielddata/IndexFieldData.java @ 416613a3):
  `final boolean min = sortMissingFirst(missingValue) ^ reversed;` then `LONG: min ? Long.MIN_VALUE :
  Long.MAX_VALUE`, `DOUBLE: min ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY`, `STRING: null` (and `0` /
  `DateUtils.MAX_NANOSECOND` for `date_nanos`). An index that does not map the field fails the search ("No mapping
  found for [f] in order to sort on") unless `unmapped_type` names a type for it: its documents then have no value.
  A `text` field fails (fielddata is disabled). Ties keep the documents' order (Elasticsearch: shard, then Lucene
  doc id). Without `sort`, hits come in the documents' order (relevance scores are not computed: `_score` is null).
- `search_after`: as many values as sort keys; a hit is kept only when its sort values come strictly after them —
  equal values are skipped, as `SearchAfterBuilder.buildFieldDoc` makes them
  (elastic/elasticsearch server/src/main/java/org/elasticsearch/search/searchafter/SearchAfterBuilder.java @ 073430e5):
  "We set the doc id to Integer.MAX_VALUE in order to make sure that the search starts "after" the first document
  that is equal to the field values." A number is read as the key's type (`((Number) value).longValue()` for a long
  key), a string on a date key through the field's date format.
- `track_total_hits`: `false` (or -1): no `total`; `true`: every match counted, relation `eq`; a number N (default
  10,000, `SearchContext.DEFAULT_TRACK_TOTAL_HITS_UP_TO`): the count when it is at most N, else `{"value": N,
  "relation": "gte"}` (SearchPhaseController's TopDocsStats). The total counts every match, search_after or not (a
  paging collector counts a hit before comparing it with the `after` values).
- `_source` true (the default) or false (hits without it); `fields` is accepted and the hits carry no `fields`
  section, as our EQL hits do not (alerts are built from `_source`); `timeout` accepted.
- `runtime_mappings`: fields defined for this search, taking precedence over mapped ones as in Elasticsearch; one
  without a script reads `_source`, one with a script (painless, which rule-runner cannot run) reads as missing in
  every document, with the same warning the EQL path logs (`runner.engine.plan.warn_scripted`).
Anything else in the body (aggregations, highlight, collapse, scripts in sort, ...) is an `UnsupportedQuery`
naming the key; a malformed value a `QueryDslError`, as the query's own errors.

Known differences: a document without a value compares as "after every value" rather than as the substituted
extreme value, which differs only for a document holding that extreme value itself; a search in which some indices
fail (a value the field's type rejects in one index) fails whole, where Elasticsearch answers the other shards with
`_shards.failed` set.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from runner.engine.dynamic import LiveMapping
from runner.engine.fields import IndexContext
from runner.engine.plan import warn_scripted
from runner.engine.query_dsl.compile import Compiler, Predicate, compile_with
from runner.engine.query_dsl.datemath import DateMathError, bound
from runner.engine.query_dsl.errors import QueryDslError, UnsupportedQuery
from runner.engine.query_dsl.fields import DslField, copy_mapping
from runner.eql import FieldMapping, IndexMapping, MappingError, Runtime, Schema, runtime_fields, type_family

LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
MAX_RESULT_WINDOW = 10_000  # index.max_result_window's default
DEFAULT_TRACK_TOTAL_HITS = 10_000  # SearchContext.DEFAULT_TRACK_TOTAL_HITS_UP_TO
ACCURATE = LONG_MAX

_BODY_KEYS = frozenset({"query", "size", "from", "sort", "search_after", "track_total_hits", "_source", "fields",
                        "runtime_mappings", "timeout"})
_ORDERS = ("asc", "desc")
# the sort kinds of the type families a sort reads: how values compare and print
_KINDS = {"keyword": "string", "integer": "long", "rational": "double", "date": "long"}


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of a `sort`."""

    field: str
    descending: bool = False
    missing_first: bool = False
    unmapped_type: str | None = None


@dataclass(frozen=True)
class SearchBody:
    """A `_search` body, read and checked (`parse_body`)."""

    query: Mapping[str, Any]
    size: int = 10
    offset: int = 0
    sort: tuple[SortKey, ...] = ()
    search_after: tuple[Any, ...] | None = None
    track_total_hits: int = DEFAULT_TRACK_TOTAL_HITS  # -1: not tracked
    source: bool = True
    runtime: dict[str, FieldMapping] = field(default_factory=dict)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _count(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryDslError(key, f"[{key}] must be an integer, got {_short(value)}")
    if value < 0:
        raise QueryDslError(key, f"[{key}] parameter cannot be negative, found [{value}]")
    return value


def _sort_keys(spec: Any) -> tuple[SortKey, ...]:
    items = spec if isinstance(spec, list) else [spec]
    keys: list[SortKey] = []
    for number, item in enumerate(items):
        where = f"sort[{number}]"
        if isinstance(item, str):
            name, options = item, cast("Mapping[str, Any]", {})
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, options),) = item.items()
            if isinstance(options, str):
                options = {"order": options}
            if not isinstance(options, Mapping):
                raise QueryDslError(where, f"[sort] options of [{name}] must be an object, got {_short(options)}")
        else:
            raise QueryDslError(where, f"[sort] items must be a field name or an object with one field, got "
                                       f"{_short(item)}")
        if name in ("_score", "_doc", "_shard_doc", "_script", "_geo_distance") or name.startswith("_"):
            raise UnsupportedQuery(where, f"sorting on [{name}] is not supported (field sorts only)")
        unknown = set(options) - {"order", "unmapped_type", "missing", "format"}
        if unknown:
            raise UnsupportedQuery(where, f"[sort] options {sorted(unknown)} of [{name}] are not supported "
                                          f"(order, unmapped_type, missing)")
        order = str(options.get("order", "asc")).lower()
        if order not in _ORDERS:
            raise QueryDslError(where, f"[sort] order [{options.get('order')}] of [{name}] must be asc or desc")
        missing = options.get("missing", "_last")
        if missing not in ("_last", "_first"):
            raise UnsupportedQuery(where, f"[sort] missing [{missing}] of [{name}] is not supported (_last, _first)")
        unmapped = options.get("unmapped_type")
        if unmapped is not None and not isinstance(unmapped, str):
            raise QueryDslError(where, f"[sort] unmapped_type of [{name}] must be a type name")
        if unmapped is not None and _KINDS.get(type_family(unmapped)) is None:
            raise UnsupportedQuery(where, f"[sort] unmapped_type [{unmapped}] is not supported (keyword, numbers, "
                                          f"dates)")
        keys.append(SortKey(name, order == "desc", missing == "_first", unmapped))
    return tuple(keys)


def _total_hits(value: Any) -> int:
    if value is True:
        return ACCURATE
    if value is False:
        return -1
    if isinstance(value, int) and value >= -1:
        return value
    raise QueryDslError("track_total_hits", f"[track_total_hits] parameter must be a boolean or an integer of at "
                                            f"least -1, got {_short(value)}")


def parse_body(body: Mapping[str, Any]) -> SearchBody:
    """The body of a `_search` request, read as Elasticsearch reads it; `QueryDslError` / `UnsupportedQuery`."""
    if not isinstance(body, Mapping):
        raise QueryDslError("", f"the request body must be an object, got {_short(body)}")
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise UnsupportedQuery(unknown[0], f"the _search body key(s) {unknown} are not evaluated (supported: "
                                           f"{', '.join(sorted(_BODY_KEYS))})")
    size = _count(body, "size", 10)
    offset = _count(body, "from", 0)
    if size + offset > MAX_RESULT_WINDOW:
        raise QueryDslError("size", f"Result window is too large, from + size must be less than or equal to: "
                                    f"[{MAX_RESULT_WINDOW}] but was [{size + offset}]. See the scroll api for a more "
                                    f"efficient way to request large data sets. This limit can be set by changing "
                                    f"the [index.max_result_window] index level setting.")
    sort = _sort_keys(body["sort"]) if body.get("sort") is not None else ()
    after = body.get("search_after")
    search_after: tuple[Any, ...] | None = None
    if after is not None:
        if not isinstance(after, list) or any(isinstance(v, (dict, list)) for v in after):
            raise QueryDslError("search_after", "[search_after] must be an array of values")
        if not sort:
            raise QueryDslError("search_after", "Sort must contain at least one field.")
        if len(after) != len(sort):
            raise QueryDslError("search_after", f"search_after has {len(after)} value(s) but sort has {len(sort)}.")
        search_after = tuple(after)
    source = body.get("_source", True)
    if not isinstance(source, bool):
        raise UnsupportedQuery("_source", "[_source] filtering is not supported (true or false)")
    fields = body.get("fields")
    if fields is not None and not isinstance(fields, list):
        raise QueryDslError("fields", "[fields] must be an array")
    runtime: dict[str, FieldMapping] = {}
    if body.get("runtime_mappings"):
        try:
            runtime = runtime_fields({"runtime": body["runtime_mappings"]})
        except MappingError as error:
            raise QueryDslError("runtime_mappings", str(error)) from None
    query = body.get("query", {"match_all": {}})
    runtime = _read_runtime(runtime, query, [key.field for key in sort])
    return SearchBody(query, size, offset, sort, search_after, _total_hits(body.get("track_total_hits",
                      DEFAULT_TRACK_TOTAL_HITS)), source, runtime)


def _read_runtime(runtime: dict[str, FieldMapping], query: Any, sorted_on: list[str]) -> dict[str, FieldMapping]:
    """The runtime fields the query or the sort can read: the hits carry no `fields`, so a runtime field neither
    names changes no answer (Kibana's query rules send `kibana.combined_timestamp` that way: the query and the sort
    name the real timestamps). A field name with `*` in the query, or a clause on every field (`multi_match` or
    `query_string` without `fields`), may reach any field: then all of them."""
    if not runtime:
        return runtime
    names: set[str] = set(sorted_on)
    stack: list[Any] = [query]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key in ("multi_match", "query_string") and isinstance(value, dict) and not value.get("fields"):
                    return runtime
                if key in ("field", "path") and isinstance(value, str):
                    names.add(value)
                elif key == "fields" and isinstance(value, list):
                    names.update(str(name).split("^", 1)[0] for name in value)  # `field^2`: a boosted field
                else:
                    names.add(str(key))
                    stack.append(value)
    if any("*" in name for name in names):
        return runtime
    # a field named, or one below an object named (`exists` or `nested` on `obj` reach `obj.r`)
    return {name: mapped for name, mapped in runtime.items()
            if name in names or any(name.startswith(prefix + ".") for prefix in names)}


# ---- ordering ------------------------------------------------------------------------------------------------------


class _Reversed:
    """A string in descending order."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Reversed) -> bool:
        return other.text < self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


_ABSENT = object()  # a document's value for a key: none


def _component(value: Any, key: SortKey) -> tuple[Any, ...]:
    """What a sort value compares as: every value before (or, with `_first`, after) the absent one."""
    if value is _ABSENT or value is None:
        return (-1,) if key.missing_first else (1,)
    if type(value) is str:
        return (0, _Reversed(value)) if key.descending else (0, value)
    return (0, -value) if key.descending else (0, value)


class _Kept:
    """A match in the heap of the best ones: the heap's top is the worst kept."""

    __slots__ = ("doc", "key", "values")

    def __init__(self, key: tuple[Any, ...], values: tuple[Any, ...], doc: Mapping[str, Any]) -> None:
        self.key = key
        self.values = values
        self.doc = doc

    def __lt__(self, other: _Kept) -> bool:
        return other.key < self.key


# ---- one index ---------------------------------------------------------------------------------------------------


class SortReader:
    """The sort value of one key in the documents of one index."""

    __slots__ = ("dsl_field", "index", "key", "kind", "nanos", "search")

    def __init__(self, search: DslRun, index: str, dsl_field: DslField, key: SortKey, where: str) -> None:
        self.search = search
        self.index = index
        self.dsl_field = dsl_field
        self.key = key
        self.kind: str | None = None
        self.nanos = False
        family = dsl_field.family
        if family is not None:
            self._bind(family, where)

    def _bind(self, family: str, where: str) -> None:
        bound_type = self.dsl_field.reader.bound
        if family == "text":
            raise QueryDslError(where, f"Fielddata is disabled on [{self.key.field}] in [{self.index}]. Text fields "
                                       f"are not optimised for operations that require per-document field data like "
                                       f"aggregations and sorting, so these operations are disabled by default. "
                                       f"Please use a keyword field instead.")
        kind = _KINDS.get(family)
        if kind is None:
            es_type = bound_type.type if bound_type is not None else family
            raise UnsupportedQuery(where, f"sorting on [{self.key.field}] of type [{es_type}] is not supported "
                                          f"(keyword, numbers, dates)")
        self.kind = kind
        self.nanos = bound_type is not None and bound_type.type == "date_nanos"
        self.search.bind_kind(self.key, kind, self.nanos, where)

    def value(self, source: Mapping[str, Any]) -> Any:
        family, values = self.dsl_field.read(source)
        if not values or family is None:
            return _ABSENT
        if self.kind is None:
            self._bind(family, "sort")
        chosen = max(values) if self.key.descending else min(values)
        if family == "date":
            return chosen if self.nanos else chosen // 1_000_000
        if family == "rational":
            return float(chosen)
        return chosen


class IndexRun:
    """The search compiled for one index: its predicate, its sort readers and the compiler that reads its fields
    (shared with the batch's term index, so that every field is read once per document the same way)."""

    __slots__ = ("compiler", "extend", "index", "predicate", "sorts")

    def __init__(self, search: DslRun, index: str, mapping: IndexMapping | None, live: bool,
                 shared: dict[Any, Any] | None = None) -> None:
        self.index = index
        body = search.body
        self.extend: Any = None
        # the mapping the searches of a batch share clauses through: the very same object, held by the caller's
        # schema for the whole batch (another mapping of the index, or runtime fields of its own: nothing shared)
        source = id(mapping) if mapping is not None and not body.runtime else None
        if mapping is None:  # an index without a mapping: Elasticsearch's dynamic mapping of its documents
            own = LiveMapping(None)
            mapping, live, self.extend = own.mapping, True, own.extend
        elif body.runtime:
            mapping = copy_mapping(mapping)
            mapping.fields.update(body.runtime)
            live = False
        context = IndexContext(index, mapping if live else copy_mapping(mapping), grow=not live)
        self.compiler = Compiler(context, search.now, live, shared if self.extend is None else None,
                                 share_clauses=source)
        self.predicate: Predicate = compile_with(self.compiler, body.query)
        self.sorts = [SortReader(search, index, self.compiler.field(key.field, None), key, f"sort[{number}]")
                      for number, key in enumerate(body.sort)]

    def mapped(self, name: str) -> bool:
        return self.compiler.context.mapping.resolve(name) is not None


# ---- the search ----------------------------------------------------------------------------------------------------


class DslRun:
    """One `_search` over a stream: `plan(index, mapping)` compiles it for an index, `offer` hands it a document of
    that index; `response(took)` is the `_search` body. Shared by `dsl_search` and the batch (`search_many`)."""

    def __init__(self, body: SearchBody, now: datetime | None = None) -> None:
        self.body = body
        self.now = now if now is not None else datetime.now(UTC)
        self.runs: dict[str, IndexRun] = {}
        self.kinds: list[tuple[str, bool] | None] = [None] * len(body.sort)
        self.total = 0
        self.limit = body.offset + body.size
        self.heap: list[_Kept] = []
        self._after: tuple[Any, ...] | None = None
        self._after_kinds: list[tuple[str, bool] | None] | None = None
        self.formats: list[str | None] = [None] * len(body.sort)

    def bind_kind(self, key: SortKey, kind: str, nanos: bool, where: str) -> None:
        number = self.body.sort.index(key)
        known = self.kinds[number]
        if known is None:
            self.kinds[number] = (kind, nanos)
        elif known[0] != kind:
            raise QueryDslError(where, f"Can't sort on field [{key.field}]; the field has incompatible sort types "
                                       f"[{known[0]}] and [{kind}] across indices")

    def plan(self, index: str, mapping: IndexMapping | None, live: bool = False,
             shared: dict[Any, Any] | None = None) -> IndexRun:
        """The search compiled for `index` (`shared`: the field readers of the batch's searches over it)."""
        run = self.runs[index] = IndexRun(self, index, mapping, live, shared)
        for number, reader in enumerate(run.sorts):
            bound_field = reader.dsl_field.reader.bound
            if bound_field is not None and bound_field.format and self.formats[number] is None:
                self.formats[number] = bound_field.format
        return run

    def check_unmapped(self) -> None:
        """Elasticsearch fails a search sorted on a field some index does not map, without `unmapped_type`."""
        for run in self.runs.values():
            for number, key in enumerate(self.body.sort):
                if key.unmapped_type is None and not run.mapped(key.field):
                    raise QueryDslError(f"sort[{number}]", f"No mapping found for [{key.field}] in order to sort on")

    def offer(self, run: IndexRun, doc: Mapping[str, Any], source: Mapping[str, Any], position: int) -> None:
        if run.extend is not None:
            run.extend(source)
        if not run.predicate(source):
            return
        self.total += 1
        if self.limit == 0:
            return
        values = tuple(reader.value(source) for reader in run.sorts)
        key = tuple(_component(value, sort) for value, sort in zip(values, self.body.sort, strict=True))
        if self.body.search_after is not None and not key > self._after_key():
            return
        kept = _Kept((*key, position), values, doc)
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, kept)
        elif kept.key < self.heap[0].key:
            heapq.heapreplace(self.heap, kept)

    def _after_key(self) -> tuple[Any, ...]:
        """The search_after values as sort components (made again when a key's kind becomes known)."""
        if self._after is None or self._after_kinds != self.kinds:
            assert self.body.search_after is not None
            self._after_kinds = list(self.kinds)
            self._after = tuple(self._after_component(number, value)
                                for number, value in enumerate(self.body.search_after))
        return self._after

    def _kind(self, number: int) -> tuple[str, bool] | None:
        known = self.kinds[number]
        if known is None:
            unmapped = self.body.sort[number].unmapped_type
            if unmapped is not None:
                return _KINDS[type_family(unmapped)], unmapped == "date_nanos"
        return known

    def _after_component(self, number: int, value: Any) -> tuple[Any, ...]:
        key = self.body.sort[number]
        if value is None:
            return _component(_ABSENT, key)
        kind = self._kind(number)
        where = "search_after"
        failed = f"Failed to parse search_after value for field [{key.field}]."
        name = kind[0] if kind is not None else ("string" if isinstance(value, str) else "double"
                                                 if isinstance(value, float) else "long")
        try:
            if name == "long":
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    converted: Any = int(value)  # ((Number) value).longValue(): truncated
                elif self._is_date(number, kind):
                    nanos = bound(value, round_up=False, formats=self.formats[number], time_zone=None, now_nanos=0)
                    converted = nanos if kind is not None and kind[1] else nanos // 1_000_000
                else:
                    converted = int(str(value))
                if converted == _missing_value(kind or ("long", False), key):
                    return _component(_ABSENT, key)
            elif name == "double":
                converted = float(value)
                if converted == _missing_value(("double", False), key):
                    return _component(_ABSENT, key)
            else:
                converted = str(value).lower() if isinstance(value, bool) else str(value)
        except (ValueError, DateMathError):
            raise QueryDslError(where, failed) from None
        return _component(converted, key)

    def _is_date(self, number: int, kind: tuple[str, bool] | None) -> bool:
        unmapped = self.body.sort[number].unmapped_type
        if unmapped is not None and type_family(unmapped) == "date":
            return True
        for run in self.runs.values():
            bound_field = run.sorts[number].dsl_field.reader.bound
            if bound_field is not None and type_family(bound_field.type) == "date":
                return True
        return False

    def response(self, took: int, shards: int) -> dict[str, Any]:
        kept = sorted(self.heap, key=lambda item: item.key)[self.body.offset:]
        hits: list[dict[str, Any]] = []
        for item in kept:
            doc = item.doc
            hit: dict[str, Any] = {"_index": doc["_index"], "_id": doc.get("_id"), "_score": None}
            if self.body.source:
                hit["_source"] = doc["_source"]
            if self.body.sort:
                hit["sort"] = [self._printed(number, value) for number, value in enumerate(item.values)]
            hits.append(hit)
        section: dict[str, Any] = {}
        tracked = self.body.track_total_hits
        if tracked >= 0:
            section["total"] = ({"value": self.total, "relation": "eq"} if self.total <= tracked
                                else {"value": tracked, "relation": "gte"})
        section["max_score"] = None
        section["hits"] = hits
        return {"took": took, "timed_out": False,
                "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0}, "hits": section}

    def _printed(self, number: int, value: Any) -> Any:
        if value is not _ABSENT:
            return value
        return _missing_value(self._kind(number), self.body.sort[number])


def _missing_value(kind: tuple[str, bool] | None, key: SortKey) -> Any:
    """What Elasticsearch prints for a document without a value (IndexFieldData's missingObject)."""
    if kind is None or kind[0] == "string":
        return None
    low = key.missing_first ^ key.descending
    if kind[0] == "double":
        return float("-inf") if low else float("inf")
    if kind[1]:  # date_nanos
        return 0 if low else LONG_MAX
    return LONG_MIN if low else LONG_MAX


def scripted(body: SearchBody, indices: Iterable[str]) -> dict[str, list[str]]:
    """The runtime fields of the request computed by a script that its query or sort names (they read as missing
    in every document), with the indices searched: what `warn_scripted` warns of."""
    named = json.dumps(body.query) + json.dumps([key.field for key in body.sort])
    shown = sorted(indices)
    return {name: shown for name, mapped in body.runtime.items()
            if mapped.runtime is Runtime.SCRIPT and json.dumps(name) in named}


def _schema(mappings: Mapping[str, Any] | Schema | None) -> Schema | None:
    if mappings is None or isinstance(mappings, Schema):
        return mappings
    try:
        return Schema.from_mappings(mappings)
    except MappingError as error:
        raise QueryDslError("", f"invalid mapping: {error}") from None


def dsl_search(
    documents: Iterable[Mapping[str, Any]],
    body: Mapping[str, Any],
    mappings: Mapping[str, Any] | Schema | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The body of Elasticsearch's `_search` response for `body` over `documents` (`{"_index", "_id", "_source"}`,
    streamed; see the module docstring). `mappings`: mapping bodies by index, or a `Schema`; an index without one
    is mapped dynamically from its documents. `now` is what date math's `now` stands for (default: the call).
    Raises `QueryDslError` (Elasticsearch would answer 400) or `UnsupportedQuery` (valid, not evaluated)."""
    started = time.monotonic()
    parsed = parse_body(body)
    schema = _schema(mappings)
    search = DslRun(parsed, now)
    indices = schema.indices if schema is not None else {}
    for index, mapping in indices.items():
        search.plan(index, mapping)
    runs = search.runs
    for position, doc in enumerate(documents):
        index = doc["_index"]
        run = runs.get(index)
        if run is None:
            run = search.plan(index, indices.get(index))
        search.offer(run, doc, doc["_source"], position)
    search.check_unmapped()
    warn_scripted(scripted(parsed, runs))
    return search.response(int((time.monotonic() - started) * 1000), len(runs))


__all__ = ["DslRun", "IndexRun", "SearchBody", "SortKey", "SortReader", "dsl_search", "parse_body", "scripted"]
