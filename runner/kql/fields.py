"""The index pattern's field list, as Kibana's `DataViewFieldBase` objects describe it, and Kibana's field lookup.

The detection engine reads the fields of a rule's indices through `field_caps` (data views); what matters to the
translation is each field's `name`, Kibana `type` (`string`, `number`, `date`, ...), `esTypes` (the Elasticsearch
family types: a field is a keyword field only when they are exactly `["keyword"]`), `subType.nested.path` for
children of nested fields, and, for scripted fields, `scripted`, `script` and `lang`.

`FieldList` answers Kibana's `getFields`: the field named exactly so (the first, as JavaScript's `find`), or every
field a wildcard name matches, in list order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
        return cls(
            name=name,
            type=str(spec.get("type") or ""),
            es_types=tuple(es_types) if es_types is not None else None,
            nested_path=nested_path if isinstance(nested_path, str) else None,
            scripted=bool(spec.get("scripted", False)),
            script=spec.get("script"),
            lang=spec.get("lang"),
        )


class FieldList:
    """The fields of an index pattern, or none (`FieldList(None)`: no index pattern, every name used as written)."""

    def __init__(self, fields: Iterable[FieldSpec | Mapping[str, Any]] | None) -> None:
        self.present = fields is not None
        self.fields: tuple[FieldSpec, ...] = tuple(
            f if isinstance(f, FieldSpec) else FieldSpec.from_mapping(f) for f in (fields or ()))
        self._by_name: dict[str, FieldSpec] = {}
        for field in self.fields:
            self._by_name.setdefault(field.name, field)

    def find(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    def matching(self, name: Value) -> list[FieldSpec]:
        """Kibana's `getFields`: the fields a (possibly wildcard) field name designates."""
        if isinstance(name, Wildcard):
            return [field for field in self.fields if name.matches(field.name)]
        assert isinstance(name, Scalar)
        found = self._by_name.get(name.value) if isinstance(name.value, str) else None
        return [found] if found is not None else []


__all__ = ["FieldList", "FieldSpec"]
