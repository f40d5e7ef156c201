"""The index pattern's field list, as Kibana's `DataViewFieldBase` objects describe it, and Kibana's field lookup.

The detection engine reads the fields of a rule's indices through `field_caps` (data views); what matters to the
translation is each field's `name`, Kibana `type` (`string`, `number`, `date`, ...), `esTypes` (the Elasticsearch
family types: a field is a keyword field only when they are exactly `["keyword"]`), `subType.nested.path` for
children of nested fields, and, for scripted fields, `scripted`, `script` and `lang`.

`FieldList` answers Kibana's `getFields`: the field named exactly so (the first, as JavaScript's `find`), or every
field a wildcard name matches, in list order.

`FieldList.from_field_caps(body)` is the field list Kibana's data views read from a `_field_caps` response body, as
the detection engine gets it (`dataViews.getFieldsForWildcard`): `readFieldCapsResponse`
(src/platform/plugins/shared/data_views/server/fetcher/lib/field_capabilities/field_caps_response.ts @ f0e9481c)
then `getFieldCapabilities` (field_capabilities.ts @ be57024d) — see `read_field_caps_response` and
`from_field_caps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from runner.kql.nodes import Scalar, Value, Wildcard


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an index pattern."""

    name: str
    type: str = ""
    es_types: tuple[str, ...] | None = None
    nested_path: str | None = None
    scripted: bool = False
    script: str | None = None
    lang: str | None = None
    multi_parent: str | None = None  # `subType.multi.parent`: the field this one is a multi-field of
    searchable: bool = False
    aggregatable: bool = False
    metadata_field: bool = False

    @property
    def is_keyword(self) -> bool:
        return self.es_types == ("keyword",)

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> FieldSpec:
        """A field from Kibana's JSON shape (`name`, `type`, `esTypes`, `subType`, `scripted`, `script`, `lang`)."""
        name = spec.get("name")
        if not isinstance(name, str):
            raise TypeError(f"a field needs a string 'name', got {spec!r}")
        es_types = spec.get("esTypes")
        sub_type = spec.get("subType") or {}
        nested = sub_type.get("nested") if isinstance(sub_type, Mapping) else None
        nested_path = nested.get("path") if isinstance(nested, Mapping) else None
        multi = sub_type.get("multi") if isinstance(sub_type, Mapping) else None
        multi_parent = multi.get("parent") if isinstance(multi, Mapping) else None
        return cls(
            name=name,
            type=str(spec.get("type") or ""),
            es_types=tuple(es_types) if es_types is not None else None,
            nested_path=nested_path if isinstance(nested_path, str) else None,
            scripted=bool(spec.get("scripted", False)),
            script=spec.get("script"),
            lang=spec.get("lang"),
            multi_parent=multi_parent if isinstance(multi_parent, str) else None,
            searchable=bool(spec.get("searchable", False)),
            aggregatable=bool(spec.get("aggregatable", False)),
            metadata_field=bool(spec.get("metadata_field", False)),
        )


# Kibana's field types by Elasticsearch type (src/platform/packages/shared/kbn-field-types/src/
# kbn_field_types_factory.ts @ 4926f7c0, types.ts @ 8c1b8aca): `castEsToKbnFieldTypeName`, "unknown" otherwise
_KBN_TYPES: dict[str, str] = {
    **dict.fromkeys(("string", "text", "match_only_text", "keyword", "version", "_type", "_id"), "string"),
    **dict.fromkeys(("float", "half_float", "scaled_float", "double", "integer", "long", "unsigned_long", "short",
                     "byte", "token_count", "aggregate_metric_double"), "number"),
    **dict.fromkeys(("float_range", "double_range", "integer_range", "long_range"), "number_range"),
    "date": "date", "date_nanos": "date", "date_range": "date_range", "ip": "ip", "ip_range": "ip_range",
    "boolean": "boolean", "object": "object", "nested": "nested", "geo_point": "geo_point",
    "geo_shape": "geo_shape", "attachment": "attachment", "murmur3": "murmur3", "_source": "_source",
    "histogram": "histogram",
}
# the data view's meta fields: the `metaFields` advanced setting's default (data plugin server/ui_settings.ts,
# `getUiSettings`, as stored; newer releases may add `_ignored`), added whatever field_caps reported, and their
# overrides (overrides.ts @ 86b5f4b2, `mergeOverrides`)
META_FIELDS = ("_source", "_id", "_type", "_index", "_score")
_OVERRIDES: dict[str, dict[str, Any]] = {
    "_source": {"type": "_source"}, "_index": {"type": "string"}, "_type": {"type": "string"},
    "_ignored": {"type": "string"}, "_id": {"type": "string"},
    "_score": {"type": "number", "searchable": False, "aggregatable": False},
}


def kibana_type(es_type: str) -> str:
    """Kibana's `castEsToKbnFieldTypeName`."""
    return _KBN_TYPES.get(es_type, "unknown")


def read_field_caps_response(body: Mapping[str, Any]) -> list[FieldSpec]:
    """Kibana's `readFieldCapsResponse`: a field per name of `body["fields"]`, in the body's order, with `esTypes` its
    types as reported, `type` their one Kibana type (or `conflict` when they differ), searchable/aggregatable when
    any type is (or lists non-searchable/non-aggregatable indices), `subType.multi.parent` when the closest listed
    parent is not an object, `subType.nested.path` for the closest nested parent; object and nested fields dropped."""
    found: list[FieldSpec] = []
    by_name: dict[str, FieldSpec] = {}
    for name, by_type in (body.get("fields") or {}).items():
        if not isinstance(by_type, Mapping) or not by_type:
            continue
        types = [str(t) for t in by_type]
        caps = [c if isinstance(c, Mapping) else {} for c in by_type.values()]
        searchable = any(bool(c.get("searchable")) or bool(c.get("non_searchable_indices")) for c in caps)
        aggregatable = any(bool(c.get("aggregatable")) or bool(c.get("non_aggregatable_indices")) for c in caps)
        kbn_types = {kibana_type(t) for t in types}
        spec = FieldSpec(name=str(name), type=kbn_types.pop() if len(kbn_types) == 1 else "conflict",
                         es_types=tuple(types), searchable=searchable, aggregatable=aggregatable,
                         metadata_field=bool(caps[0].get("metadata_field")))
        found.append(spec)
        by_name[spec.name] = spec
    for position, spec in enumerate(found):
        if "." not in spec.name:
            continue
        parts = spec.name.split(".")
        parents = [by_name.get(".".join(parts[:end])) for end in range(len(parts) - 1, 0, -1)]  # closest first
        multi = parents[0].name if parents[0] is not None and parents[0].type not in ("object", "nested") else None
        nested = next((p.name for p in parents if p is not None and p.type == "nested"), None)
        if multi is not None or nested is not None:
            found[position] = by_name[spec.name] = replace(spec, multi_parent=multi, nested_path=nested)
    return [spec for spec in found if spec.type not in ("object", "nested")]


class FieldList:
    """The fields of an index pattern, or none (`FieldList(None)`: no index pattern, every name used as written)."""

    def __init__(self, fields: Iterable[FieldSpec | Mapping[str, Any]] | None) -> None:
        self.present = fields is not None
        self.fields: tuple[FieldSpec, ...] = tuple(
            f if isinstance(f, FieldSpec) else FieldSpec.from_mapping(f) for f in (fields or ()))
        self._by_name: dict[str, FieldSpec] = {}
        for field in self.fields:
            self._by_name.setdefault(field.name, field)

    @classmethod
    def from_field_caps(cls, body: Mapping[str, Any], meta_fields: Sequence[str] = META_FIELDS) -> FieldList:
        """The data view's fields from a `_field_caps` response body, as Kibana's `getFieldCapabilities` builds them:
        `read_field_caps_response`, the fields field_caps marks `metadata_field` left out, then the data view's
        `meta_fields` added (as field_caps described them, else a `string` field neither searchable nor
        aggregatable; none when field_caps reported no field), Kibana's overrides of meta fields applied, and the
        list sorted by name."""
        read = read_field_caps_response(body)
        by_name = {spec.name: spec for spec in read}  # lodash keyBy: the last of a name
        names = [name for name in by_name if not by_name[name].metadata_field]
        names += [name for name in (meta_fields if read else ()) if name not in names]
        fields: list[FieldSpec] = []
        for name in dict.fromkeys(names):
            spec = by_name.get(name) or FieldSpec(name=name, type="string", metadata_field=name in meta_fields)
            override = _OVERRIDES.get(name)
            fields.append(replace(spec, **override) if override else spec)
        fields.sort(key=lambda spec: spec.name)  # lodash sortBy (stable)
        return cls(fields)

    def find(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    def matching(self, name: Value) -> list[FieldSpec]:
        """Kibana's `getFields`: the fields a (possibly wildcard) field name designates."""
        if isinstance(name, Wildcard):
            return [field for field in self.fields if name.matches(field.name)]
        assert isinstance(name, Scalar)
        found = self._by_name.get(name.value) if isinstance(name.value, str) else None
        return [found] if found is not None else []


__all__ = ["META_FIELDS", "FieldList", "FieldSpec", "kibana_type", "read_field_caps_response"]
