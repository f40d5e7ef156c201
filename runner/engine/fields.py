"""Reading fields out of `_source` the way Elasticsearch indexes them.

A `FieldReader` knows, for one field of one index, which `_source` path it reads (aliases and multi-fields
followed), how the values are indexed (`FieldType`), and what `null_value` stands in for an explicit null. It handles
`_source` as Elasticsearch does: nested objects and dotted keys (`{"process.pid": 1}`) alike, arrays of scalars and
arrays of objects flattened.

Fields absent from the index's mapping are mapped dynamically, like Elasticsearch's default `dynamic: true`: the first
value seen decides (string → keyword with `ignore_above: 256` unless it looks like a date, integer → long, decimal →
float, boolean → boolean), and the decision sticks for the index.
"""

from __future__ import annotations

import re
from typing import Any

from runner.engine.types import (
    BooleanType,
    DateType,
    FieldType,
    IntegerType,
    KeywordType,
    RationalType,
    field_type,
)
from runner.eql.schema import FieldMapping, Mapping, type_family

_MISSING: list[Any] = []

# Elasticsearch's dynamic_date_formats: strict_date_optional_time, "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"
_DATE_LIKE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?\Z"
    r"|\d{4}/\d{2}/\d{2}(?: \d{2}:\d{2}:\d{2})?(?: [+-]\d{4})?\Z"
)


def dynamic_field_spec(raw: Any) -> dict[str, Any] | None:
    """The mapping Elasticsearch's default dynamic mapping gives a field whose first value is `raw`."""
    if raw is None or isinstance(raw, (dict, list)):
        return None
    if isinstance(raw, bool):
        return {"type": "boolean"}
    if isinstance(raw, int):
        return {"type": "long"}
    if isinstance(raw, float):
        return {"type": "float"}
    if isinstance(raw, str) and _DATE_LIKE.match(raw):
        return {"type": "date"}
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


def _split_keys(parts: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """For each position i, the keys a `_source` object may hold for parts[i:]: "a", "a.b", "a.b.c"."""
    table = []
    for i in range(len(parts)):
        table.append(tuple((".".join(parts[i:j]), j) for j in range(i + 1, len(parts) + 1)))
    return tuple(table)


class SourcePath:
    """Collects the raw values at a dotted path of a `_source` document (explicit nulls kept as None)."""

    __slots__ = ("parts", "_keys", "_simple")

    def __init__(self, path: str) -> None:
        self.parts = tuple(path.split("."))
        self._keys = _split_keys(self.parts)
        self._simple = len(self.parts) == 1

    def values(self, source: dict[str, Any]) -> list[Any]:
        if self._simple:
            value = source.get(self.parts[0], _MISSING)
            if value is _MISSING:
                return _MISSING
            if type(value) is list:
                out: list[Any] = []
                _flatten(value, out)
                return out
            if type(value) is dict:
                return _MISSING
            return [value]
        out = []
        self._collect(source, 0, out)
        return out

    def _collect(self, node: Any, i: int, out: list[Any]) -> None:
        if type(node) is list:
            for item in node:
                self._collect(item, i, out)
            return
        if type(node) is not dict:
            return
        for key, j in self._keys[i]:
            child = node.get(key, _MISSING)
            if child is _MISSING:
                continue
            if j == len(self.parts):
                _flatten(child, out)
            else:
                self._collect(child, j, out)

    def present(self, source: dict[str, Any]) -> bool:
        return bool(self.values(source))


def _flatten(value: Any, out: list[Any]) -> None:
    if type(value) is list:
        for item in value:
            _flatten(item, out)
    elif type(value) is not dict:
        out.append(value)


class FieldReader:
    """One field of one index: `values(source)` gives what Elasticsearch indexed for it, unsorted, duplicates kept."""

    __slots__ = ("name", "source", "ftype", "null_value", "_mapping", "_dynamic")

    def __init__(self, name: str, mapping: Mapping, resolved: FieldMapping | None, source_path: str) -> None:
        self.name = name
        self.source = SourcePath(source_path)
        self._mapping = mapping
        self._dynamic = resolved is None
        self.ftype: FieldType | None = None
        self.null_value: Any = None
        if resolved is not None:
            self._bind(resolved)

    @property
    def resolved(self) -> bool:
        return self.ftype is not None

    @property
    def family(self) -> str | None:
        return self.ftype.family if self.ftype is not None else None

    def _bind(self, resolved: FieldMapping) -> None:
        if type_family(resolved.type) == "text":
            if resolved.exact is not None:
                exact = self._mapping.fields[resolved.exact]
                self.ftype = field_type(exact)
                self.null_value = exact.null_value
            else:
                self.ftype = KeywordType(resolved)  # no exact sub-field: the analyzer rejects such queries
            return
        self.ftype = field_type(resolved)
        self.null_value = resolved.null_value

    def _infer(self, raws: list[Any]) -> bool:
        for raw in raws:
            spec = dynamic_field_spec(raw)
            if spec is None:
                continue
            if self._mapping.dynamic in ("false", "strict"):
                return False
            if self.name not in self._mapping.fields:
                self._mapping.add_field(self.name, spec)
            self._bind(self._mapping.fields[self.name])
            self._dynamic = False
            return True
        return False

    def values(self, source: dict[str, Any]) -> list[Any]:
        raws = self.source.values(source)
        if not raws:
            return _MISSING
        ftype = self.ftype
        if ftype is None:
            if not self._dynamic or not self._infer(raws):
                return _MISSING
            ftype = self.ftype
            assert ftype is not None
        index = ftype.index
        null_value = self.null_value
        out = []
        for raw in raws:
            if raw is None:
                if null_value is None:
                    continue
                raw = null_value
            value = index(raw)
            if value is not None:
                out.append(value)
        return out

    def first(self, source: dict[str, Any]) -> Any:
        """The first doc value (Elasticsearch scripts read `doc[field].get(0)`: the smallest, values being sorted)."""
        values = self.values(source)
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        assert self.ftype is not None
        return min(values, key=self.ftype.sort_key)

    def sorted_unique(self, source: dict[str, Any]) -> list[Any]:
        values = self.values(source)
        if len(values) <= 1:
            return values
        assert self.ftype is not None
        seen = []
        for value in sorted(values, key=self.ftype.sort_key):
            if not seen or seen[-1] != value:
                seen.append(value)
        return seen


class IndexContext:
    """Everything known about one index for one search: its mapping (growing dynamically) and its field readers."""

    __slots__ = ("name", "mapping", "_readers", "compiled")

    def __init__(self, name: str, mapping: Mapping | None) -> None:
        self.name = name
        self.mapping = mapping if mapping is not None else Mapping()
        self._readers: dict[str, FieldReader] = {}
        self.compiled: Any = None  # the search's compiled plan for this index, set by the caller

    def reader(self, name: str) -> FieldReader:
        reader = self._readers.get(name)
        if reader is None:
            target = self.mapping.aliases.get(name, name)
            resolved = self.mapping.fields.get(target)
            source_path = target
            if resolved is not None and resolved.source:
                source_path = resolved.source
            reader = FieldReader(target, self.mapping, resolved, source_path)
            self._readers[name] = reader
        return reader

    def is_mapped(self, name: str) -> bool:
        return self.mapping.resolve(name) is not None


__all__ = [
    "BooleanType",
    "dynamic_field_spec",
    "DateType",
    "FieldReader",
    "IndexContext",
    "IntegerType",
    "RationalType",
    "SourcePath",
]
