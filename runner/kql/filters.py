"""The whole query the detection engine sends for one KQL string and the rule's Kibana filters (Kibana's
`buildEsQuery` with the KQL and `buildQueryFromFilters`, es_query/*.ts):

    {"bool": {"must": [], "filter": [<kql>, <filters>...], "should": [], "must_not": [<negated filters>...]}}

- the KQL goes in as one `and` of one query, i.e. into `filter` (`must` with `filtersInMustClause`);
- a filter with `meta.disabled` is dropped; `meta.negate: true` sends it to `must_not`, `false` or no `negate` to
  `filter` (any other `negate` value matches neither, as in Kibana);
- each filter is migrated: a legacy `match` with `type: phrase` becomes `match_phrase`; a filter without `query` gets
  its other top-level keys (`exists`, `range`, `match_all`, ...) moved under `query`; with `query`, other top-level
  keys are dropped;
- a filter on a nested field of the field list is wrapped in `nested`; `meta` and `$state` never reach the query;
- `{"match_all": {}}` is removed from `must`, `filter` and `should` (so an empty query adds nothing).

Combined filters (`meta.type: "combined"`, filters of filters) are not supported: they raise `KqlError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.kql.errors import KqlError
from runner.kql.fields import FieldList
from runner.kql.scripts import converted_value

Query = dict[str, Any]
_MATCH_ALL: Query = {"match_all": {}}


def _is_legacy_phrase(filter_: Mapping[str, Any]) -> str | None:
    query = filter_.get("query")
    match = filter_.get("match") or (query.get("match") if isinstance(query, Mapping) else None)
    if not isinstance(match, Mapping) or not match:
        return None
    name = next(iter(match))
    for holder in (query.get("match") if isinstance(query, Mapping) else None, filter_.get("match")):
        if isinstance(holder, Mapping) and isinstance(holder.get(name), Mapping) and holder[name].get("type") == "phrase":
            return str(name)
    return None


def _converted(fields: FieldList, name: str, value: Any) -> Any:
    field = fields.find(name) if fields.present else None
    return value if field is None else converted_value(field, value)


def _migrate(filter_: Mapping[str, Any], fields: FieldList) -> dict[str, Any]:
    name = _is_legacy_phrase(filter_)
    if name is not None:
        match: Mapping[str, Any] = filter_.get("match") or filter_["query"]["match"]
        phrase: Mapping[str, Any] = match[name]
        params = {key: value for key, value in phrase.items() if key != "type"}
        params["query"] = _converted(fields, name, phrase.get("query"))
        return {"meta": filter_.get("meta"), "$state": filter_.get("$state"), "query": {"match_phrase": {name: params}}}
    if "query" in filter_:
        return {key: filter_[key] for key in ("meta", "query", "$state") if key in filter_}
    query: Query = {}
    migrated: dict[str, Any] = {"query": query}
    for key, value in filter_.items():
        if key in ("meta", "$state"):
            migrated[key] = value
        elif key != "query":
            query[key] = value
    return migrated


def _filter_field(filter_: Mapping[str, Any]) -> str | None:
    """Kibana's `getFilterField`: the field an exists / phrase / phrases / range filter is about."""
    query = filter_.get("query")
    raw_meta = filter_.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    if not isinstance(query, Mapping):
        return None
    exists = query.get("exists")
    if isinstance(exists, Mapping) and isinstance(exists.get("field"), str):
        return str(exists["field"])
    for key in ("match_phrase", "match"):
        clause = query.get(key)
        if isinstance(clause, Mapping) and clause and (key == "match_phrase" or _is_legacy_phrase(filter_)):
            return str(next(iter(clause)))
    if "script" in query and meta.get("type") in ("phrase", "range") and isinstance(meta.get("field"), str):
        return str(meta["field"])
    if meta.get("type") == "phrases" and isinstance(meta.get("key"), str):
        return str(meta["key"])
    range_ = query.get("range")
    if isinstance(range_, Mapping) and range_:
        return str(next(iter(range_)))
    return None


def _to_query(filter_: Mapping[str, Any], fields: FieldList, nested_ignore_unmapped: bool | None) -> Query:
    meta = filter_.get("meta")
    if isinstance(meta, Mapping) and meta.get("type") == "combined":
        raise KqlError("combined filters (meta.type 'combined') are not supported")
    migrated = _migrate(filter_, fields)
    name = _filter_field(migrated) if fields.present else None
    field = fields.find(name) if name is not None else None
    if field is not None and field.nested_path is not None:
        inner = migrated.get("query", {key: value for key, value in migrated.items() if key not in ("meta", "$state")})
        nested: Query = {"path": field.nested_path, "query": inner}
        if nested_ignore_unmapped is not None:
            nested["ignore_unmapped"] = nested_ignore_unmapped
        migrated = {"meta": migrated.get("meta"), "query": {"nested": nested}}
    cleaned = {key: value for key, value in migrated.items() if key not in ("meta", "$state")}
    query = cleaned.get("query", cleaned)
    if not isinstance(query, dict):
        raise KqlError(f"a filter's query must be an object, not {query!r}")
    return query


def combine(kql: Query, filters: Sequence[Mapping[str, Any]] | None, fields: FieldList, *,
            filters_in_must_clause: bool = False, nested_ignore_unmapped: bool | None = None) -> Query:
    """The whole bool query for one translated KQL query and the rule's filters."""
    must: list[Query] = [kql] if filters_in_must_clause else []
    filter_clause: list[Query] = [] if filters_in_must_clause else [kql]
    must_not: list[Query] = []
    for filter_ in filters or ():
        if not filter_ or not isinstance(filter_, Mapping):
            continue
        meta = filter_.get("meta")
        if isinstance(meta, Mapping) and meta.get("disabled"):
            continue
        negate = meta.get("negate") if isinstance(meta, Mapping) and "negate" in meta else False
        if negate is True:
            must_not.append(_to_query(filter_, fields, nested_ignore_unmapped))
        elif negate is False:
            filter_clause.append(_to_query(filter_, fields, nested_ignore_unmapped))
    return {"bool": {
        "must": [q for q in must if q != _MATCH_ALL],
        "filter": [q for q in filter_clause if q != _MATCH_ALL],
        "should": [],
        "must_not": must_not,
    }}
