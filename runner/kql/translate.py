"""`nodes.Node` → Elasticsearch query DSL, as Kibana's `toElasticsearchQuery` builds it (kuery/functions/*.ts).

The contract is Kibana's output, byte for byte once parsed as JSON (../shared/kql-spec/FORMAT.md): the same bool
nesting (`{"bool": {"should": [...], "minimum_should_match": 1}}` around every `field:value`, even with one field),
the same value types (numbers stay strings), the same escaping of wildcard patterns. With field information
(`FieldList`) a field whose `esTypes` are exactly `["keyword"]` gets `term` / `wildcard`, a date field a `range`
with the time zone (not for epoch values), a scripted field a script; a wildcard field name is expanded against the
list (each nested match wrapped in `nested`); without it every name is used as written.

The tree is walked with an explicit stack, so a deeply nested query (`a and (b and (c and ...))`) translates without
Python recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from runner.kql.errors import KqlTranslationError
from runner.kql.fields import FieldList, FieldSpec
from runner.kql.nodes import And, Is, Nested, Node, Not, Or, Range, Scalar, Value, Wildcard, children
from runner.kql.scripts import phrase_script, range_script

Query = dict[str, Any]

_EPOCH = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Options:
    """Kibana's `KueryQueryOptions`, with the detection engine's values as defaults."""

    #: `dateFormatTZ`: the time zone date values are read in ("Zulu" in the detection engine; None = not set)
    date_format_tz: str | None = "Zulu"
    #: `caseInsensitive`: adds `case_insensitive` to keyword `term` / `wildcard` queries when set
    case_insensitive: bool | None = None
    #: `nestedIgnoreUnmapped`: adds `ignore_unmapped` to `nested` queries when set
    nested_ignore_unmapped: bool | None = None
    #: `filtersInMustClause`: `and` puts its operands in `must` instead of `filter`
    filters_in_must_clause: bool = False


def js_string(value: str | bool | None) -> str:
    """A value as JavaScript's template strings write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _es_value(value: Value) -> str | bool | None:
    """Kibana's `ast.toElasticsearchQuery` of a literal or wildcard node: its value, `*` for each wildcard."""
    return value.text() if isinstance(value, Wildcard) else value.value


def _full_name(name: Value, path: str | None) -> Value:
    """The field name inside a nested group (`path.name`), as Kibana's `getFullFieldNameNode` builds it."""
    if path is None:
        return name
    if isinstance(name, Wildcard):
        return Wildcard((f"{path}.{name.parts[0]}", *name.parts[1:]))
    return Scalar(f"{path}.{js_string(name.value)}", name.quoted)


def _check_nesting(name: Value, fields: FieldList, path: str | None) -> None:
    """Kibana refuses a nested field outside its `{ }` group, a plain field inside one, and a wrong group."""
    if not fields.present or (isinstance(name, Wildcard) and path is None):
        return
    errors = []
    for field in fields.matching(name):
        nested_path = field.nested_path
        if path and not nested_path:
            errors.append(f'{field.name} is not a nested field but is in nested group "{path}" in the KQL expression.')
        elif nested_path and not path:
            errors.append(f"{field.name} is a nested field, but is not in a nested group in the KQL expression.")
        elif nested_path != path:
            errors.append(f"Nested field {field.name} is being queried with the incorrect nested path. "
                          f"The correct path is {nested_path}.")
    if errors:
        raise KqlTranslationError("\n".join(errors))


def _fields_for(name: Value, fields: FieldList) -> list[tuple[FieldSpec, str | bool | None]]:
    """The fields a name designates, each with the name to send: no field known by that name gives the name as
    written, which keeps its type where it is a value (`"fields": [true]` for `true:x*`) and is text as a key."""
    matched = fields.matching(name) if fields.present else []
    if matched:
        return [(field, field.name) for field in matched]
    written = _es_value(name)
    return [(FieldSpec(name=js_string(written)), written)]


def _nested_wrapper(name: Value, field: FieldSpec, path: str | None, options: Options, query: Query) -> Query:
    """A wildcard field name can cover nested and plain fields alike: Kibana wraps each nested match itself."""
    if not isinstance(name, Wildcard) or field.nested_path is None or path is not None:
        return query
    nested: Query = {"path": field.nested_path, "query": query, "score_mode": "none"}
    if options.nested_ignore_unmapped is not None:
        nested["ignore_unmapped"] = options.nested_ignore_unmapped
    return {"nested": nested}


def _time_zone(value: Any, options: Options) -> dict[str, str]:
    epoch = (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _EPOCH.fullmatch(value) is not None)
    if not options.date_format_tz or epoch:
        return {}
    return {"time_zone": options.date_format_tz}


def _with_case(query: Query, options: Options) -> Query:
    if options.case_insensitive is not None:
        query["case_insensitive"] = options.case_insensitive
    return query


def _is(node: Is, fields: FieldList, path: str | None, options: Options) -> Query:
    exists = isinstance(node.value, Wildcard) and node.value.is_lone
    if exists and isinstance(node.field, Wildcard) and node.field.is_lone:
        return {"match_all": {}}
    name = _full_name(node.field, path)
    _check_nesting(name, fields, path)
    value = _es_value(node.value)
    if isinstance(name, Scalar) and name.value is None:  # free text
        if isinstance(node.value, Wildcard):
            return {"query_string": {"query": node.value.query_string()}}
        phrase = isinstance(node.value, Scalar) and node.value.quoted
        return {"multi_match": {"type": "phrase" if phrase else "best_fields", "query": value, "lenient": True}}
    queries: list[Query] = []
    for field, written in _fields_for(name, fields):
        query: Query
        if field.scripted:
            if not exists:  # exists queries make no sense for scripted fields
                queries.append({"script": phrase_script(field, value)})
            continue
        if exists:
            query = {"exists": {"field": written}}
        elif isinstance(node.value, Wildcard):
            pattern = node.value.query_string()
            if field.is_keyword:
                query = {"wildcard": {field.name: _with_case({"value": pattern}, options)}}
            else:
                query = {"query_string": {"fields": [written], "query": pattern}}
        elif field.type == "date":
            query = {"range": {field.name: {"gte": value, "lte": value, **_time_zone(value, options)}}}
        elif field.is_keyword:
            query = {"term": {field.name: _with_case({"value": value}, options)}}
        else:
            quoted = isinstance(node.value, Scalar) and node.value.quoted
            query = {"match_phrase" if quoted else "match": {field.name: value}}
        queries.append(_nested_wrapper(name, field, path, options, query))
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _range(node: Range, fields: FieldList, path: str | None, options: Options) -> Query:
    name = _full_name(node.field, path)
    _check_nesting(name, fields, path)
    value = _es_value(node.value)
    queries: list[Query] = []
    for field, _written in _fields_for(name, fields):
        params: dict[str, Any] = {node.operator: value}
        if field.scripted:
            queries.append({"script": range_script(field, params)})
            continue
        if field.type == "date":
            params.update(_time_zone(value, options))
        queries.append(_nested_wrapper(name, field, path, options, {"range": {field.name: params}}))
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _nested_path(node: Nested, path: str | None) -> str:
    own = js_string(_es_value(node.path))
    return f"{path}.{own}" if path else own


def to_dsl(root: Node, fields: FieldList, options: Options) -> Query:
    """The DSL of a parsed query (Kibana's `toElasticsearchQuery(node, indexPattern, config)`)."""
    results: list[Query] = []
    # (node, nested path of its context, children already translated)
    stack: list[tuple[Node, str | None, bool]] = [(root, None, False)]
    while stack:
        node, path, done = stack.pop()
        if isinstance(node, Is):
            results.append(_is(node, fields, path, options))
            continue
        if isinstance(node, Range):
            results.append(_range(node, fields, path, options))
            continue
        if not done:
            stack.append((node, path, True))
            inner = _nested_path(node, path) if isinstance(node, Nested) else path
            stack.extend((child, inner, False) for child in reversed(children(node)))
            continue
        count = len(children(node))
        operands = results[-count:]
        del results[-count:]
        if isinstance(node, And):
            results.append({"bool": {"must" if options.filters_in_must_clause else "filter": operands}})
        elif isinstance(node, Or):
            results.append({"bool": {"should": operands, "minimum_should_match": 1}})
        elif isinstance(node, Not):
            results.append({"bool": {"must_not": operands[0]}})
        else:
            nested: Query = {"path": _nested_path(node, path), "query": operands[0], "score_mode": "none"}
            if options.nested_ignore_unmapped is not None:
                nested["ignore_unmapped"] = options.nested_ignore_unmapped
            results.append({"nested": nested})
    return results[0]
