"""`_field_caps` answered locally: the body Elasticsearch gives for the fields of some indices, from their mappings.

`field_caps_body(mappings, fields)` is what `GET /<patterns>/_field_caps?fields=...` answers (with
`include_empty_fields=true`, no `filters`/`types`; `include_unmapped` as asked) when the patterns resolve to the indices
of `mappings`; the embedded store, events in files and events in memory answer `field_caps` through it, so that a
query rule's field list (Kibana's data view over the rule's indices) is read the same way from every backend.

Elasticsearch's semantics, read in elastic/elasticsearch (server/src/main/java/org/elasticsearch/action/fieldcaps/):

- per index, `FieldCapabilitiesFetcher.retrieveFieldCaps` (@ 01276d5d) walks every field type of the index
  (`context.getAllFields()`: mapped fields, multi-fields, runtime fields, aliases, metadata fields) whose name matches
  one of `fields` (`*` wildcards, which also match dots); each is reported with its *family* type
  (`MappedFieldType.familyTypeName`: `wildcard` and `constant_keyword` are `keyword`, `match_only_text` is `text`),
  `metadata_field`, `isSearchable()` and `isAggregatable()`. An alias is reported under its own name with its
  target's type; the object and nested parents of a reported field (not of a runtime field, and for an alias those
  of its target's path) are added as type `object` / `nested`, not searchable, not aggregatable. An object with no
  field below it is not reported.
- across indices, `TransportFieldCapabilitiesAction.merge` (@ 002f6ba4): `indices` is the sorted list of the
  indices answered; each field has one entry per type, and only when it has several types does each entry list its
  `indices`. `searchable`/`aggregatable` are true when true in every index of that type; when true in some and false
  in others the others are listed as `non_searchable_indices`/`non_aggregatable_indices`
  (`FieldCapabilities.Builder.build` @ 01e1dc60); `meta` merges the fields' mapping `meta` (values sorted). With
  `include_unmapped`, a field some indices lack gets a type `unmapped` (not searchable, not aggregatable) listing
  them (`getUnmappedFields`; a field no index maps is not reported at all).
- no index (patterns matching nothing, with `allow_no_indices`): `{"indices": [], "fields": {}}`.

Searchable and aggregatable by type, as Elasticsearch 8.x/9.x field types answer them (`MappedFieldType`: searchable
= indexed, aggregatable = doc values, unless overridden): keyword, numbers, scaled_float, dates, ip, boolean and
geo_point are searchable when indexed or with doc values (their field types' `isSearchable() { return isIndexed() ||
hasDocValues(); }`, doc-values-only search); `text` is searchable when indexed and aggregatable only with
`fielddata: true`; `match_only_text` is searchable and not aggregatable; `wildcard`, `constant_keyword` and runtime
fields are both; `binary` is neither unless given doc values; other types follow `index` and `doc_values` (default
true). Metadata fields: `_id` (searchable, not aggregatable: `_id` field data is
off by default since 8.0), `_index` (both) and `_source` (neither); a cluster also reports `_version`, `_seq_no`,
`_routing`, `_ignored`, ... which the store does not have and Kibana's data views drop (`metadata_field: true`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.eql import IndexMapping

# MappedFieldType.familyTypeName overrides: WildcardFieldMapper, ConstantKeywordFieldMapper → keyword;
# MatchOnlyTextFieldMapper, PatternTextFieldType, SemanticTextFieldMapper → text
FAMILY = {"wildcard": "keyword", "constant_keyword": "keyword", "match_only_text": "text", "pattern_text": "text",
          "semantic_text": "text"}
# types searchable through doc values alone (`isIndexed() || hasDocValues()`)
_DOC_VALUES_SEARCH = frozenset({"keyword", "long", "integer", "short", "byte", "double", "float", "half_float",
                                "scaled_float", "unsigned_long", "date", "date_nanos", "ip", "boolean",
                                "geo_point"})
_ALWAYS_BOTH = frozenset({"wildcard", "constant_keyword"})
# metadata fields the store's indices have: (searchable, aggregatable)
METADATA_FIELDS: dict[str, tuple[bool, bool]] = {"_id": (True, False), "_index": (True, True), "_source": (False, False)}
_PARENT_TYPES = frozenset({"object", "nested"})


@dataclass(frozen=True, slots=True)
class _Caps:
    """One field of one index (`IndexFieldCapabilities`)."""

    type: str
    metadata_field: bool
    searchable: bool
    aggregatable: bool
    meta: tuple[tuple[str, str], ...] = ()


def family_type(es_type: str) -> str:
    """`MappedFieldType.familyTypeName()`: the type `_field_caps` reports for a mapped type."""
    return FAMILY.get(es_type, es_type)


def field_caps_body(mappings: Mapping[str, IndexMapping | Mapping[str, Any]], fields: Sequence[str], *,
                    include_unmapped: bool = False) -> dict[str, Any]:
    """The `_field_caps` response body for `fields` (names or `*` wildcards) over the indices of `mappings` (index
    name → its mapping, an `IndexMapping` or a mapping body): see the module docstring."""
    match = _matcher(fields)
    # names without `*` (what a KQL query mostly asks for): looked up, not matched against every mapped field
    exact = None if any("*" in str(field) for field in fields) else {str(field) for field in fields}
    indices = sorted(mappings)
    by_field: dict[str, dict[str, list[tuple[str, _Caps]]]] = {}
    for index in indices:
        mapping = mappings[index]
        mapping = mapping if isinstance(mapping, IndexMapping) else IndexMapping.from_body(mapping)
        for name, caps in sorted(_index_caps(mapping, match, exact).items()):
            by_field.setdefault(name, {}).setdefault(caps.type, []).append((index, caps))
    body: dict[str, Any] = {}
    for name in sorted(by_field):
        types = by_field[name]
        mapped = {index for found in types.values() for index, _ in found}
        lacking = [index for index in indices if index not in mapped] if include_unmapped else []
        several = len(types) + (1 if lacking else 0) > 1
        body[name] = {es_type: _merged(es_type, found, with_indices=several)
                      for es_type, found in sorted(types.items())}
        if lacking:
            body[name]["unmapped"] = {"type": "unmapped", "metadata_field": False, "searchable": False,
                                      "aggregatable": False, "indices": lacking}
    return {"indices": indices, "fields": body}


def _matcher(fields: Sequence[str]) -> re.Pattern[str]:
    """`Regex.simpleMatch` over the requested names: `*` matches any characters (dots too), nothing else is special."""
    alternatives = [".*".join(re.escape(part) for part in str(field).split("*")) for field in fields]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) if alternatives else "(?!)")


def _index_caps(mapping: IndexMapping, match: re.Pattern[str], exact: set[str] | None = None) -> dict[str, _Caps]:
    """`retrieveFieldCaps` for one index: the matching fields and the object/nested parents of each."""
    found: dict[str, _Caps] = {}

    def is_field_type(name: str) -> bool:
        """`context.getFieldType(name) != null`: a mapped leaf, a multi-field, a runtime field or an alias."""
        resolved = mapping.resolve(name)
        return resolved is not None and (resolved.runtime is not None or resolved.type not in _PARENT_TYPES)

    def add_parents(path: str) -> None:
        dot = path.rfind(".")
        while dot > -1:
            parent = path[:dot]
            if parent in found:
                break  # added with another field already
            if not is_field_type(parent):
                found[parent] = _Caps("nested" if parent in mapping.nested else "object", False, False, False)
            dot = parent.rfind(".")

    if exact is None:
        candidates: list[tuple[str, str]] = [(name, name) for name in mapping.fields]
        candidates += list(mapping.aliases.items())
    else:  # the same candidates `match` keeps, found by name
        candidates = [(name, name) for name in sorted(exact) if name in mapping.fields]
        candidates += [(name, mapping.aliases[name]) for name in sorted(exact) if name in mapping.aliases]
    for name, target in candidates:
        if match.fullmatch(name) is None:
            continue
        field = mapping.fields.get(target)
        if field is None or (field.runtime is None and field.type in _PARENT_TYPES):
            continue  # an alias to nothing; an object mapped without properties (`enabled: false`): no field type
        found[name] = _field_caps(field.type, field.params, runtime=field.runtime is not None)
        if field.runtime is None:  # runtime fields "can override any path": no parents
            add_parents(target)
    for name, (searchable, aggregatable) in METADATA_FIELDS.items():
        if match.fullmatch(name) is not None:
            found[name] = _Caps(name, True, searchable, aggregatable)
    return found


def _field_caps(es_type: str, params: Mapping[str, Any], *, runtime: bool) -> _Caps:
    meta = params.get("meta")
    pairs = tuple(sorted((str(k), str(v)) for k, v in meta.items())) if isinstance(meta, Mapping) else ()
    family = family_type(es_type)
    if runtime or es_type in _ALWAYS_BOTH:
        return _Caps(family, False, True, True, pairs)
    indexed = _flag(params.get("index"), True)
    doc_values = _flag(params.get("doc_values"), es_type != "binary")
    if es_type in _DOC_VALUES_SEARCH:
        return _Caps(family, False, indexed or doc_values, doc_values, pairs)
    if es_type == "text":
        return _Caps(family, False, indexed, _flag(params.get("fielddata"), False), pairs)
    if es_type == "match_only_text":
        return _Caps(family, False, True, False, pairs)
    if es_type == "binary":
        return _Caps(family, False, False, doc_values, pairs)
    return _Caps(family, False, indexed, doc_values, pairs)


def _flag(value: Any, default: bool) -> bool:
    """A mapping boolean as Elasticsearch reads it (`true`/`false`, also as strings)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _merged(es_type: str, found: list[tuple[str, _Caps]], *, with_indices: bool) -> dict[str, Any]:
    """`FieldCapabilities.Builder.build` and `toXContent` for one type of one field."""
    names = [index for index, _ in found]
    searchable = [index for index, caps in found if caps.searchable]
    aggregatable = [index for index, caps in found if caps.aggregatable]
    entry: dict[str, Any] = {
        "type": es_type,
        "metadata_field": any(caps.metadata_field for _, caps in found),
        "searchable": len(searchable) == len(found),
        "aggregatable": len(aggregatable) == len(found),
    }
    if with_indices:
        entry["indices"] = names
    if 0 < len(searchable) < len(found):
        entry["non_searchable_indices"] = [index for index, caps in found if not caps.searchable]
    if 0 < len(aggregatable) < len(found):
        entry["non_aggregatable_indices"] = [index for index, caps in found if not caps.aggregatable]
    meta: dict[str, set[str]] = {}
    for _, caps in found:
        for key, value in caps.meta:
            meta.setdefault(key, set()).add(value)
    if meta:
        entry["meta"] = {key: sorted(values) for key, values in sorted(meta.items())}
    return entry


__all__ = ["FAMILY", "METADATA_FIELDS", "family_type", "field_caps_body"]
