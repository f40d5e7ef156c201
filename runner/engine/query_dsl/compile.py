"""The compiler: a Query DSL object → one predicate over `_source` documents (see the package docstring).

`compile_dsl` is the entry point; `Compiler` holds what one compilation shares (the index context, `now`, the field
readers).

Field clauses prepare their test once per type family (clauses.py): a mapped field's when the query is compiled, so
that a value its type cannot parse fails the compile as it fails the search in Elasticsearch (`QueryDslError`); a
field mapped dynamically, when its first value is seen — there, such a value makes the clause match nothing (the
search cannot be failed halfway through a pass; `lenient` behaviour).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from runner.engine.dynamic import LiveMapping
from runner.engine.field_types import UnknownNormalizer, lowercase, to_text
from runner.engine.fields import IndexContext
from runner.engine.query_dsl.analysis import analyze
from runner.engine.query_dsl.clauses import (
    ANY,
    NEVER,
    Env,
    Refused,
    ValuesTest,
    match_test,
    parse_query_string,
    phrase_test,
    query_string_test,
    range_test,
    term_test,
    wildcard_test,
)
from runner.engine.query_dsl.datemath import DateMathError
from runner.engine.query_dsl.errors import QueryDslError, UnsupportedQuery
from runner.engine.query_dsl.fields import DslField, copy_mapping, leaves, objects_at
from runner.eql import FieldMapping, IndexMapping, MappingError

Predicate = Callable[[Mapping[str, Any]], bool]
Prepare = Callable[[str, FieldMapping | None, str], ValuesTest]


def _never(doc: Mapping[str, Any]) -> bool:
    return False


def _always(doc: Mapping[str, Any]) -> bool:
    return True


def _field_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z")


class FieldClause:
    """One field clause on one field: its test per type family, prepared once."""

    __slots__ = ("_lenient", "_prepare", "_tests", "field")

    def __init__(self, field: DslField, prepare: Prepare, lenient: bool, where: str) -> None:
        self.field = field
        self._prepare = prepare
        self._lenient = lenient
        self._tests: dict[str, ValuesTest] = {}
        family = field.family
        if family is not None and not field.hidden:
            try:
                self._tests[family] = prepare(family, field.reader.bound, field.name)
            except Refused as error:
                if not lenient:
                    raise QueryDslError(where, str(error)) from None
                self._tests[family] = NEVER

    def __call__(self, doc: Mapping[str, Any]) -> bool:
        family, values = self.field.read(doc)
        if not values or family is None:
            return False
        test = self._tests.get(family)
        if test is None:
            try:
                test = self._prepare(family, self.field.reader.bound, self.field.name)
            except Refused:
                test = NEVER
            self._tests[family] = test
        return test(values)


# the clauses worth sharing between the searches of a batch: those a window puts in every query rule's request
_SHARED_KINDS = frozenset({"range", "bool"})


class JudgedOnce:
    """A predicate shared by several searches that judges each document once: they ask in turn about the same
    document (a batch offers it to each), and all but the first get the answer kept."""

    __slots__ = ("answer", "last", "predicate")

    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate
        self.last: Any = None
        self.answer = False

    def __call__(self, doc: Mapping[str, Any]) -> bool:
        if doc is not self.last:
            self.answer = self.predicate(doc)
            self.last = doc  # held: its identity cannot be reused while it is the last one
        return self.answer


class Compiler:
    """Compiles the clauses of one query against one index's mapping (grown dynamically as documents are read)."""

    def __init__(self, context: IndexContext, now: datetime, live: bool = False,
                 shared: dict[Any, Any] | None = None, share_clauses: object = None) -> None:
        self.context = context
        self.live = live  # the mapping is a LiveMapping's, grown before each document is read
        self.env = Env(_epoch_nanos(now))
        self._fields: dict[tuple[str, str | None], DslField] = {}
        # the readers of mapped fields shared by the searches of a batch over one index (see `field`)
        self._shared = shared
        # identical clauses compiled once for the batch's searches over the index that read it through the very same
        # mapping (`share_clauses`: that mapping's identity; None: never shared, e.g. runtime fields of its own)
        self._share_clauses = share_clauses if shared is not None and not live else None
        self._subfields: dict[str, list[str]] = {}
        self._subfields_size = -1

    # ---- fields ------------------------------------------------------------------------------------------------------

    def field(self, name: str, scope: str | None) -> DslField:
        key = (name, scope)
        found = self._fields.get(key)
        if found is None:
            found = DslField(self.context, name, scope, self.live)
            bound = found.reader.bound
            if self._shared is not None and bound is not None:
                # a field mapped when the query is compiled reads the same in every search that maps it the same
                # way (the mapping's entry, the keyword sub-field a text reads through, the nested scope): one
                # reader, so that a document's field is read once for all the searches of a batch
                exact = self.context.mapping.fields.get(bound.exact) if bound.exact else None
                found = self._shared.setdefault((name, scope, found.hidden, bound, exact), found)
            self._fields[key] = found
        return found

    def _names_in(self, doc: Mapping[str, Any]) -> list[str]:
        """Every field a document holds, with the multi-fields of each (what `*` expands to for it)."""
        fields = self.context.mapping.fields
        if len(fields) != self._subfields_size:
            self._subfields = {}
            for mapped in fields.values():
                if mapped.source is not None:
                    self._subfields.setdefault(mapped.source, []).append(mapped.name)
            self._subfields_size = len(fields)
        names: list[str] = []
        for path, _raw in leaves(doc):
            names.append(path)
            subs = self._subfields.get(path)
            if subs is None:
                resolved = self.context.mapping.resolve(path)
                if resolved is None and not self.live:
                    names.append(f"{path}.keyword")  # a string mapped dynamically gets one
                continue
            names.extend(subs)
        return names

    def clause(self, name: str, scope: str | None, prepare: Prepare, where: str, lenient: bool = False) -> Predicate:
        """A field clause on `name`; a name with `*` is expanded against each document's fields."""
        if "*" not in name:
            return FieldClause(self.field(name, scope), prepare, lenient, where)
        return self.expanded([name], scope, prepare, where, lenient)

    def expanded(self, patterns: list[str], scope: str | None, prepare: Prepare, where: str,
                 lenient: bool) -> Predicate:
        """Field patterns (`*` = every field) expanded per document; any matching field satisfies the clause."""
        compiled = [_field_pattern(p) for p in patterns]
        clauses: dict[str, FieldClause] = {}

        def test(doc: Mapping[str, Any]) -> bool:
            for name in self._names_in(doc):
                if not any(p.match(name) for p in compiled):
                    continue
                clause = clauses.get(name)
                if clause is None:
                    clause = clauses[name] = FieldClause(self.field(name, scope), prepare, True, where)
                if clause(doc):
                    return True
            return False

        return test

    # ---- queries -----------------------------------------------------------------------------------------------------

    def query(self, query: Any, where: str, scope: str | None = None) -> Predicate:
        if not isinstance(query, Mapping) or len(query) != 1:
            raise QueryDslError(where, f"a query must be an object with exactly one key, got {_short(query)}")
        ((kind, spec),) = query.items()
        builder = _BUILDERS.get(kind)
        here = f"{where}.{kind}" if where else kind
        if builder is None:
            raise UnsupportedQuery(
                here, f"[{kind}] queries are not evaluated (supported: {', '.join(sorted(_BUILDERS))})"
            )
        if self._share_clauses is None or kind not in _SHARED_KINDS:
            return builder(self, spec, here, scope)
        assert self._shared is not None
        # the same clause in several searches of a batch over one index (a window's time range, with its timestamp
        # override and fallback, in every query rule due): compiled once, each document judged once by it
        key = ("query", json.dumps(query, sort_keys=True, default=str), scope, self.env.now_nanos, self._share_clauses)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = JudgedOnce(builder(self, spec, here, scope))
        return cast(Predicate, shared)


def _epoch_nanos(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _object(spec: Any, where: str, kind: str) -> Mapping[str, Any]:
    if not isinstance(spec, Mapping):
        raise QueryDslError(where, f"[{kind}] query malformed, expected an object, got {_short(spec)}")
    return spec


def _check_keys(spec: Mapping[str, Any], allowed: set[str], where: str, kind: str) -> None:
    for key in spec:
        if key not in allowed:
            raise UnsupportedQuery(where, f"[{kind}] parameter [{key}] is not supported "
                                          f"(supported: {', '.join(sorted(allowed))})")


def _single_field(spec: Any, where: str, kind: str) -> tuple[str, Any]:
    """`{"<field>": <value or object>}` (plus `boost`/`_name` beside it, which change no match)."""
    spec = _object(spec, where, kind)
    fields = [(k, v) for k, v in spec.items() if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise QueryDslError(where, f"[{kind}] query doesn't support multiple fields, found {sorted(spec)}")
    return fields[0]


_COMMON = {"boost", "_name"}


# ---- compound ---------------------------------------------------------------------------------------------------------


def _clauses(c: Compiler, spec: Mapping[str, Any], key: str, where: str, scope: str | None) -> list[Predicate]:
    value = spec.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        raise QueryDslError(f"{where}.{key}", f"[bool] [{key}] must be an object or an array of objects")
    return [c.query(item, f"{where}.{key}[{i}]", scope) for i, item in enumerate(items)]


_CONDITIONAL = re.compile(r"\d+<")


def minimum_should_match(spec: Any, optional: int, where: str) -> int:
    """Queries.calculateMinShouldMatch: `2`, `-1`, `"75%"`, `"-25%"` (percentages rounded down)."""
    if isinstance(spec, bool):
        raise QueryDslError(where, f"[minimum_should_match] must be a number or a percentage, got {spec!r}")
    text = str(spec).strip()
    if _CONDITIONAL.search(text):
        raise UnsupportedQuery(where, f"conditional minimum_should_match [{text}] is not supported")
    try:
        if text.endswith("%"):
            percent = int(text[:-1])
            result = optional * percent // 100 if percent >= 0 else optional - optional * -percent // 100
        else:
            number = int(text)
            result = number if number >= 0 else optional + number
    except ValueError:
        raise QueryDslError(where, f"[minimum_should_match] cannot read [{text}]") from None
    return max(result, 0)


def _bool(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    spec = _object(spec, where, "bool")
    _check_keys(spec, {"must", "filter", "should", "must_not", "minimum_should_match", "adjust_pure_negative"}
                | _COMMON, where, "bool")
    required = _clauses(c, spec, "must", where, scope) + _clauses(c, spec, "filter", where, scope)
    should = _clauses(c, spec, "should", where, scope)
    must_not = _clauses(c, spec, "must_not", where, scope)
    msm_spec = spec.get("minimum_should_match")
    if msm_spec is not None:
        needed = minimum_should_match(msm_spec, len(should), f"{where}.minimum_should_match")
    else:
        needed = 1 if should and not required else 0
    if should and not required:
        # Lucene: a query without a required clause matches a document by one SHOULD clause at least, whatever
        # minimum_should_match computes (0, "0%", -1 with one should): must_not alone never selects
        needed = max(needed, 1)
    if needed > len(should):
        return _never
    if not required and not must_not and needed == 0:
        return _always
    return _combined(required, must_not, should, needed)


def _combined(required: list[Predicate], must_not: list[Predicate], should: list[Predicate],
              needed: int) -> Predicate:
    """A bool's test. Kibana nests bools deeply (`bool.filter[bool.should[bool.should[term]]]`): the common shapes
    are their clause itself or a plain loop, sparing a call per level on every document."""
    if not must_not:
        if needed == 0:
            if len(required) == 1:
                return required[0]
            return lambda doc: all(part(doc) for part in required)
        if needed == 1 and not required:
            if len(should) == 1:
                return should[0]
            return lambda doc: any(part(doc) for part in should)

    def test(doc: Mapping[str, Any]) -> bool:
        for part in required:
            if not part(doc):
                return False
        for part in must_not:
            if part(doc):
                return False
        if needed == 0:
            return True
        if needed == 1:
            return any(part(doc) for part in should)
        count = 0
        for part in should:
            if part(doc):
                count += 1
                if count >= needed:
                    return True
        return False

    return test


def _match_all(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    _check_keys(_object(spec, where, "match_all"), _COMMON, where, "match_all")
    return _always


def _match_none(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    _check_keys(_object(spec, where, "match_none"), _COMMON, where, "match_none")
    return _never


def _nested(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    spec = _object(spec, where, "nested")
    _check_keys(spec, {"path", "query", "score_mode", "ignore_unmapped"} | _COMMON, where, "nested")
    path = spec.get("path")
    if not isinstance(path, str) or "query" not in spec:
        raise QueryDslError(where, "[nested] requires 'path' and 'query' fields")
    mapping = c.context.mapping
    if path not in mapping.nested:
        if spec.get("ignore_unmapped") is True:
            return _never
        if path in mapping.objects:
            raise QueryDslError(where, f"[nested] nested object under path [{path}] is not of nested type")
        raise QueryDslError(where, f"[nested] failed to find nested object under path [{path}]")
    inner = c.query(spec["query"], f"{where}.query", path)
    parts = path.split(".")

    def test(doc: Mapping[str, Any]) -> bool:
        for obj in objects_at(doc, path):
            view: Mapping[str, Any] = obj
            for part in reversed(parts):
                view = {part: view}
            if inner(view):
                return True
        return False

    return test


# ---- field clauses ----------------------------------------------------------------------------------------------------


def _exists(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    spec = _object(spec, where, "exists")
    _check_keys(spec, {"field"} | _COMMON, where, "exists")
    name = spec.get("field")
    if not isinstance(name, str) or not name:
        raise QueryDslError(where, "[exists] must be provided with a [field]")
    if "*" in name:
        return c.expanded([name], scope, lambda family, mapping, field: ANY, where, True)
    found = c.field(name, scope)
    leaf = FieldClause(found, lambda family, mapping, field: ANY, True, where)
    prefix = name + "."
    mapping = c.context.mapping
    if found.flattened:
        # a flattened field or a key of it: the leaves at that key (KeyedFlattenedFieldType.existsQuery is a prefix
        # query on "key\0", so deeper keys under it are other keys)
        return leaf
    if mapping.resolve(name) is not None and name not in mapping.objects:
        # a leaf field: Elasticsearch indexes no object at its path (a document holding one is rejected)
        return leaf

    def test(doc: Mapping[str, Any]) -> bool:
        if leaf(doc):
            return True
        # an object: any field below it with an indexed value
        for obj in objects_at(doc, name):
            for path, _raw in leaves(obj, prefix):
                if c.field(path, scope).read(doc)[1]:
                    return True
        return False

    return test


def _value_of(spec: Any, key: str, allowed: set[str], where: str, kind: str) -> tuple[Any, Mapping[str, Any]]:
    """The value of `{"field": value}` or `{"field": {"<key>": value, ...}}`, and the object's parameters."""
    if isinstance(spec, Mapping):
        _check_keys(spec, allowed | _COMMON, where, kind)
        if key not in spec:
            raise QueryDslError(where, f"[{kind}] query requires [{key}]")
        return spec[key], spec
    return spec, {}


def _flag(params: Mapping[str, Any], key: str, where: str) -> bool:
    """A boolean parameter as Elasticsearch's parser reads one: a JSON boolean or the string "true"/"false"
    (XContentParser.booleanValue); anything else fails the query."""
    value = params.get(key, False)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise QueryDslError(where, f"[{key}] must be a boolean (true or false), got {_short(value)}")


def _term(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, body = _single_field(spec, where, "term")
    value, params = _value_of(body, "value", {"value", "case_insensitive"}, where, "term")
    case_insensitive = _flag(params, "case_insensitive", where)
    env = c.env
    return c.clause(name, scope, lambda family, mapping, field: term_test(
        env, value, case_insensitive, family, mapping, field), where)


def _terms(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, values = _single_field(spec, where, "terms")
    if not isinstance(values, list):
        raise UnsupportedQuery(where, "[terms] lookup (an object instead of an array of values) is not supported")
    env = c.env

    def prepare(family: str, mapping: FieldMapping | None, field: str) -> ValuesTest:
        tests = [term_test(env, value, False, family, mapping, field) for value in values]
        return lambda found: any(test(found) for test in tests)

    if not values:
        return _never
    return c.clause(name, scope, prepare, where)


def _wildcard(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, body = _single_field(spec, where, "wildcard")
    key = "wildcard" if isinstance(body, Mapping) and "value" not in body and "wildcard" in body else "value"
    pattern, params = _value_of(body, key, {"value", "wildcard", "case_insensitive", "rewrite"}, where, "wildcard")
    if not isinstance(pattern, str):
        raise QueryDslError(where, f"[wildcard] value must be a string, got {_short(pattern)}")
    case_insensitive = _flag(params, "case_insensitive", where)
    return c.clause(name, scope, lambda family, mapping, field: wildcard_test(
        pattern, case_insensitive, family, mapping, field), where)


_RELATIONS = ("intersects", "within", "contains", "disjoint")


def _text_parameter(body: Mapping[str, Any], key: str, where: str) -> str | None:
    """A string parameter as Elasticsearch's parser reads one (`parser.text()`: a number or boolean is its text);
    an object or array fails the query."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise QueryDslError(where, f"[range] [{key}] must be a string, got {_short(value)}")
    return to_text(value)


def _relation(value: str, where: str) -> None:
    """RangeQueryBuilder.relation: a ShapeRelation name (any case) other than disjoint. On a field that is not a
    range field (every type the evaluator reads), the field type's rangeQuery ignores it: within and contains
    select what intersects does."""
    name = value.lower()
    if name not in _RELATIONS:
        raise QueryDslError(where, f"[{value}] is not a valid relation")
    if name == "disjoint":
        raise QueryDslError(where, f"[range] query does not support relation [{value}]")


def _range(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, body = _single_field(spec, where, "range")
    body = _object(body, where, "range")
    _check_keys(body, {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format",
                       "time_zone", "relation"} | _COMMON, where, "range")
    _relation(_text_parameter(body, "relation", where) or "intersects", where)
    bounds: list[tuple[str, Any]] = []
    for op in ("gt", "gte", "lt", "lte"):
        if body.get(op) is not None:
            bounds.append((op, body[op]))
    if body.get("from") is not None:
        bounds.append(("gte" if body.get("include_lower", True) else "gt", body["from"]))
    if body.get("to") is not None:
        bounds.append(("lte" if body.get("include_upper", True) else "lt", body["to"]))
    formats = _text_parameter(body, "format", where)
    time_zone = _text_parameter(body, "time_zone", where)
    env = c.env
    if not bounds:
        return c.clause(name, scope, lambda family, mapping, field: ANY, where)  # an open range: any value
    return c.clause(name, scope, lambda family, mapping, field: range_test(
        env, bounds, formats, time_zone, family, mapping, field), where)


_MATCH_KEYS = {"query", "operator", "lenient", "zero_terms_query", "auto_generate_synonyms_phrase_query"}


def _check_zero_terms(params: Mapping[str, Any], where: str) -> None:
    if str(params.get("zero_terms_query", "none")).lower() != "none":
        raise UnsupportedQuery(where, "zero_terms_query other than [none] is not supported")


def _operator(value: Any, where: str) -> str:
    operator = str(value if value is not None else "or").lower()
    if operator not in ("or", "and"):
        raise QueryDslError(where, f"operator [{value}] is not allowed: or, and")
    return operator


def _match(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, body = _single_field(spec, where, "match")
    query, params = _value_of(body, "query", _MATCH_KEYS, where, "match")
    _check_zero_terms(params, where)
    operator = _operator(params.get("operator"), where)
    env = c.env
    return c.clause(name, scope, lambda family, mapping, field: match_test(
        env, query, operator, family, mapping, field), where, lenient=params.get("lenient") is True)


def _match_phrase(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    name, body = _single_field(spec, where, "match_phrase")
    query, params = _value_of(body, "query", {"query", "slop", "zero_terms_query"}, where, "match_phrase")
    _check_zero_terms(params, where)
    if params.get("slop", 0) != 0:
        raise UnsupportedQuery(where, "[match_phrase] slop other than 0 is not supported")
    env = c.env
    return c.clause(name, scope, lambda family, mapping, field: phrase_test(env, query, family, mapping, field),
                    where)


def _fields_of(spec: Mapping[str, Any], key: str, where: str) -> list[str] | None:
    """A `fields` list (None = every field: `index.query.default_field` is `*`); `field^2` boosts dropped."""
    fields = spec.get(key)
    if fields is None:
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise QueryDslError(where, f"[{key}] must be an array of field names")
    names = [f.split("^", 1)[0] for f in fields]
    return None if "*" in names else names


def _any_field(c: Compiler, names: list[str] | None, scope: str | None, prepare: Prepare, where: str,
               lenient: bool) -> Predicate:
    if names is None:
        return c.expanded(["*"], scope, prepare, where, True)
    parts = [c.clause(name, scope, prepare, where, lenient) for name in names]
    if not parts:
        return _never
    if len(parts) == 1:
        return parts[0]
    return lambda doc: any(part(doc) for part in parts)


def _query_string(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    spec = _object(spec, where, "query_string")
    _check_keys(spec, {"query", "fields", "default_field", "analyze_wildcard", "default_operator", "lenient",
                       "allow_leading_wildcard"} | _COMMON, where, "query_string")
    query = spec.get("query")
    if not isinstance(query, str):
        raise QueryDslError(where, "[query_string] must be provided with a [query] string")
    if not query.strip():
        return _never
    terms = parse_query_string(query, where)
    operator = _operator(spec.get("default_operator"), where)
    names = _fields_of(spec, "fields", where)
    if names is None and isinstance(spec.get("default_field"), str) and spec["default_field"] != "*":
        names = [spec["default_field"]]
    lenient = spec.get("lenient") is True
    parts: list[Predicate] = []
    for pattern, plain, wildcard in terms:
        if wildcard and spec.get("allow_leading_wildcard") is False and pattern[0] in "*?":
            raise QueryDslError(where, f"Failed to parse query [{query}]: leading wildcard is not allowed")
        if wildcard and spec.get("analyze_wildcard") is True and not _analyzes_to_itself(pattern):
            # on a text field the pieces would be analyzed into several terms each: a query of its own shape
            raise UnsupportedQuery(where, f"analyze_wildcard with [{pattern}], whose pieces between wildcards are "
                                          f"not single words, is not supported")
        parts.append(_any_field(c, names, scope, _query_string_term(c.env, pattern, plain, wildcard, operator),
                                where, lenient))
    if not parts:
        return _never
    if len(parts) == 1:
        return parts[0]
    if operator == "and":
        return lambda doc: all(part(doc) for part in parts)
    return lambda doc: any(part(doc) for part in parts)


def _query_string_term(env: Env, pattern: str, plain: str, wildcard: bool, operator: str) -> Prepare:
    def prepare(family: str, mapping: FieldMapping | None, field: str) -> ValuesTest:
        return query_string_test(env, pattern, plain, wildcard, operator, family, mapping, field)

    return prepare


_PIECES = re.compile(r"(?:\\.|[^*?])+")


def _analyzes_to_itself(pattern: str) -> bool:
    """Whether each literal piece of a wildcard pattern is one term once analyzed (then analyze_wildcard builds the
    same query as the normalized pattern)."""
    for piece in _PIECES.findall(pattern):
        text = re.sub(r"\\(.)", r"\1", piece)
        if analyze(text) != (lowercase(text),):
            return False
    return True


def _multi_match(c: Compiler, spec: Any, where: str, scope: str | None) -> Predicate:
    spec = _object(spec, where, "multi_match")
    _check_keys(spec, {"query", "fields", "type", "lenient", "operator", "zero_terms_query",
                       "auto_generate_synonyms_phrase_query"} | _COMMON, where, "multi_match")
    if "query" not in spec:
        raise QueryDslError(where, "[multi_match] requires query value")
    query = spec["query"]
    kind = str(spec.get("type", "best_fields")).lower()
    if kind not in ("best_fields", "most_fields", "phrase"):
        raise UnsupportedQuery(where, f"[multi_match] type [{kind}] is not supported (best_fields, most_fields, "
                                      f"phrase)")
    _check_zero_terms(spec, where)
    operator = _operator(spec.get("operator"), where)
    names = _fields_of(spec, "fields", where)
    env = c.env

    def prepare(family: str, mapping: FieldMapping | None, field: str) -> ValuesTest:
        if kind == "phrase":
            return phrase_test(env, query, family, mapping, field)
        return match_test(env, query, operator, family, mapping, field)

    return _any_field(c, names, scope, prepare, where, spec.get("lenient") is True)


_BUILDERS: dict[str, Callable[[Compiler, Any, str, str | None], Predicate]] = {
    "bool": _bool,
    "exists": _exists,
    "match": _match,
    "match_all": _match_all,
    "match_none": _match_none,
    "match_phrase": _match_phrase,
    "multi_match": _multi_match,
    "nested": _nested,
    "query_string": _query_string,
    "range": _range,
    "term": _term,
    "terms": _terms,
    "wildcard": _wildcard,
}


def compile_with(compiler: Compiler, query: Mapping[str, Any]) -> Predicate:
    """`query` compiled by `compiler` (its index context, `now`, its field readers), errors as `compile_dsl`
    raises them: for a caller that reads the same fields as the query (a search's sort, its term index)."""
    try:
        return compiler.query(query, "")
    except (DateMathError, UnknownNormalizer) as error:
        # a custom normalizer fails every query on its field on a cluster without the index's settings
        raise QueryDslError("", str(error)) from None


def compile_dsl(
    query: Mapping[str, Any],
    mapping: LiveMapping | IndexMapping | Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> Predicate:
    """A predicate over `_source` documents for one Query DSL object, against one index's mapping.

    The mapping decides how fields it lacks are mapped, as the documents are read:
    - a mapping body (or None: an empty one): Elasticsearch's dynamic mapping of that body (runner.engine.dynamic:
      its `dynamic_templates`, `date_detection`, `dynamic` per object, `dynamic: runtime`); the predicate extends a
      `LiveMapping` of its own with each document before reading it;
    - a `LiveMapping`: the caller's, read as it stands; the caller extends it with each document before asking (as
      the store and `hunt` do for the index the documents belong to); the predicate never changes it;
    - an `IndexMapping` (no body, so no dynamic templates): a field it lacks is mapped at its first value by the
      default dynamic mapping (its root `dynamic` honoured), in a copy of it.
    The decision sticks for the predicate's life (as it does for an index); the caller's mapping is not modified.

    `now` is the instant date math's `now` stands for (Elasticsearch takes it once per search); default: the time
    of the call. Raises `QueryDslError` (Elasticsearch would reject the query) or `UnsupportedQuery` (valid, not
    evaluated).
    """
    own: LiveMapping | None = None
    if isinstance(mapping, LiveMapping):
        index, live = mapping.mapping, True
    elif isinstance(mapping, IndexMapping):
        index, live = copy_mapping(mapping), False
    else:
        try:
            own = LiveMapping(mapping)
        except MappingError as error:
            raise QueryDslError("", f"the mapping cannot be read: {error}") from None
        index, live = own.mapping, True
    context = IndexContext("query", index, grow=not live)
    compiler = Compiler(context, now if now is not None else datetime.now(UTC), live)
    predicate = compile_with(compiler, query)
    if own is None:
        return predicate
    extend = own.extend

    def grown(doc: Mapping[str, Any]) -> bool:
        extend(doc)
        return predicate(doc)

    return grown


__all__ = ["Compiler", "FieldClause", "JudgedOnce", "Predicate", "compile_dsl", "compile_with", "minimum_should_match"]
