"""Reading fields out of `_source` the way Elasticsearch indexes them.

A `FieldReader` knows, for one field of one index, which `_source` path it reads (aliases and multi-fields
followed), how the values are indexed (`FieldType`), and what `null_value` stands in for an explicit null. It handles
`_source` as Elasticsearch does: nested objects and dotted keys (`{"process.pid": 1}`) alike, arrays of scalars and
arrays of objects flattened.

Fields absent from the index's mapping are mapped dynamically, like Elasticsearch's default `dynamic: true`: the first
value seen decides (string → keyword with `ignore_above: 256` unless it looks like a date, integer → long, decimal →
float, boolean → boolean), and the decision sticks for the index.

A runtime field (the mapping's `runtime` section) is read like any field of its type: without a script, from the
`_source` value at its own name; with a script, which rule-runner cannot run, it has no value in any document (its
reader's `get` answers `MISSING`, and `scripted` tells the filter code not to walk `_source` for it). A
`constant_keyword` with a `value` reads that value in every document (`get` answers it); `verbatim` says whether the
fast paths that take a plain `_source` string as the indexed value apply (runner.engine.field_types).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from runner.engine.field_types import (
    BooleanType,
    ConstantKeywordType,
    DateType,
    FieldType,
    IntegerType,
    KeywordType,
    RationalType,
    field_type,
)
from runner.eql import FieldMapping, IndexMapping, Runtime, type_family

# Elasticsearch's dynamic_date_formats: strict_date_optional_time, "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"
_DATE_LIKE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?\Z"
    r"|\d{4}/\d{2}/\d{2}(?: \d{2}:\d{2}:\d{2})?(?: [+-]\d{4})?\Z"
)


def dynamic_field_spec(raw: Any, date_detection: bool = True) -> dict[str, Any] | None:
    """The mapping Elasticsearch's default dynamic mapping gives a field whose first value is `raw` (a date-like
    string is a date unless the mapping turns `date_detection` off)."""
    if raw is None or isinstance(raw, (dict, list)):
        return None
    if isinstance(raw, bool):
        return {"type": "boolean"}
    if isinstance(raw, int):
        return {"type": "long"}
    if isinstance(raw, float):
        return {"type": "float"}
    if date_detection and isinstance(raw, str) and _DATE_LIKE.match(raw):
        return {"type": "date"}
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


def _split_keys(parts: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """For each position i, the keys a `_source` object may hold for parts[i:]: "a", "a.b", "a.b.c"."""
    table = []
    for i in range(len(parts)):
        table.append(tuple((".".join(parts[i:j]), j) for j in range(i + 1, len(parts) + 1)))
    return tuple(table)


MISSING: Any = object()  # what a getter answers for a path with nothing at it


def _nothing(source: Mapping[str, Any]) -> Any:
    """The getter of a field whose values a script would compute: none here."""
    return MISSING


class SourcePath:
    """The raw value at a dotted path of a `_source` document, nested objects and dotted keys alike.

    `get(source)` answers `MISSING`, a scalar, or a list (when the document has an array, or several objects or
    dotted keys contribute values). Plain nested objects take a fast path; everything else (arrays of objects,
    dotted keys, both at once) takes the general walk, which collects every value Elasticsearch would index.
    """

    __slots__ = ("_keys", "get", "parts")

    def __init__(self, path: str) -> None:
        self.parts = tuple(path.split("."))
        self._keys = _split_keys(self.parts)
        self.get = self._fast_getter()

    def _fast_getter(self) -> Callable[[Mapping[str, Any]], Any]:
        parts = self.parts
        walk = self.walk
        if len(parts) == 1:
            (key,) = parts

            def get1(source: Mapping[str, Any]) -> Any:
                return source.get(key, MISSING)

            return get1
        if len(parts) == 2:
            a, b = parts
            ab = f"{a}.{b}"

            def get2(source: Mapping[str, Any]) -> Any:
                node = source.get(a)
                if type(node) is dict and ab not in source:
                    return node.get(b, MISSING)
                if node is None and ab not in source:
                    return MISSING
                return walk(source)

            return get2
        if len(parts) == 3:
            a, b, c = parts
            ab, abc, bc = f"{a}.{b}", f"{a}.{b}.{c}", f"{b}.{c}"

            def get3(source: Mapping[str, Any]) -> Any:
                node = source.get(a)
                if type(node) is dict and ab not in source and abc not in source:
                    inner = node.get(b)
                    if type(inner) is dict and bc not in node:
                        return inner.get(c, MISSING)
                    if inner is None and bc not in node:
                        return MISSING
                elif node is None and ab not in source and abc not in source:
                    return MISSING
                return walk(source)

            return get3
        return walk

    def walk(self, source: Mapping[str, Any]) -> Any:
        """The general walk: every value at the path, through arrays of objects and dotted keys."""
        out: list[Any] = []
        self._collect(source, 0, out)
        if not out:
            return MISSING
        return out[0] if len(out) == 1 else out

    def _collect(self, node: Any, i: int, out: list[Any]) -> None:
        if type(node) is list:
            for item in node:
                self._collect(item, i, out)
            return
        if type(node) is not dict:
            return
        last = len(self.parts)
        for key, j in self._keys[i]:
            child = node.get(key, MISSING)
            if child is MISSING:
                continue
            if j == last:
                _flatten(child, out)
            else:
                self._collect(child, j, out)


def _flatten(value: Any, out: list[Any]) -> None:
    if type(value) is list:
        for item in value:
            _flatten(item, out)
    elif type(value) is not dict:
        out.append(value)


class FieldReader:
    """One field of one index.

    `get(source)` is the raw value (`MISSING`, scalar or list) and `normalize(raw)` what Elasticsearch indexed for
    it (a list, unsorted, duplicates kept); `values(source)` is both. Typed matchers use `get` for a fast path on
    the common single plain value.
    """

    __slots__ = (
        "_date", "_dynamic", "_grow", "_mapping", "bound", "ftype", "get", "ignore_above", "name", "null_value",
        "private", "scripted", "source", "source_path",
    )

    def __init__(
        self,
        name: str,
        mapping: IndexMapping,
        resolved: FieldMapping | None,
        source_path: str,
        date: bool = False,
        grow: bool = True,
    ) -> None:
        self.name = name
        self._date = date  # dynamically mapped as a date whatever its first value (the timestamp field)
        self.source_path = source_path
        self.source = SourcePath(source_path)
        self.get = self.source.get
        self._mapping = mapping
        # whether a field the mapping lacks is added to it at its first value (a search's own copy of the mapping);
        # otherwise (a mapping the caller grows) the reader binds to the caller's entry, or privately
        self._grow = grow
        self._dynamic = resolved is None
        self.ftype: FieldType | None = None
        self.null_value: Any = None
        self.ignore_above: int | None = None
        self.bound: FieldMapping | None = None  # the mapping's entry the reader reads with, once known
        self.private = False  # bound to a mapping of its own, not the index's (the mapping did not grow)
        # a runtime field with a script rule-runner cannot run: no value in any document
        self.scripted = resolved is not None and resolved.runtime is Runtime.SCRIPT
        if self.scripted:
            self.get = _nothing
        if resolved is not None:
            self._bind(resolved)

    @property
    def resolved(self) -> bool:
        return self.ftype is not None

    @property
    def family(self) -> str | None:
        return self.ftype.family if self.ftype is not None else None

    @property
    def verbatim(self) -> bool:
        """Whether a plain string `get` finds is indexed as itself (within `ignore_above`): what the fast paths that
        compare raw `_source` strings assume (not for a normalized or constant keyword, nor a scripted field)."""
        return not self.scripted and self.ftype is not None and self.ftype.verbatim

    def _bind(self, resolved: FieldMapping, mapping: IndexMapping | None = None) -> None:
        self.bound = resolved
        if type_family(resolved.type) == "text":
            if resolved.exact is not None:
                exact = (mapping or self._mapping).fields[resolved.exact]
                self.ftype = field_type(exact)
                self.null_value = exact.null_value
                self.ignore_above = exact.ignore_above
            else:
                self.ftype = KeywordType(resolved)  # no exact sub-field: the analyzer rejects such queries
        else:
            self.ftype = field_type(resolved)
            self.null_value = resolved.null_value
            if isinstance(self.ftype, KeywordType):
                self.ignore_above = resolved.ignore_above
        if isinstance(self.ftype, ConstantKeywordType):
            # a constant_keyword with a `value`: every document of the index holds it, whatever its `_source` says
            constant = self.ftype.value
            self.get = lambda _source: constant

    def _infer(self, raw: Any) -> bool:
        for value in raw if type(raw) is list else (raw,):
            spec = dynamic_field_spec(value)
            if spec is None:
                continue
            if self._date:
                spec = {"type": "date"}
            if self._mapping.dynamic in ("false", "strict"):
                return False
            if self.name in self._mapping.fields:
                self._bind(self._mapping.fields[self.name])
            elif self._grow:
                self._bind(self._mapping.add_field(self.name, spec))
            else:
                own = IndexMapping()
                self._bind(own.add_field(self.name, spec), own)
                self.private = True
            self._dynamic = False
            return True
        return False

    def values(self, source: dict[str, Any]) -> list[Any]:
        return self.normalize(self.get(source))

    def normalize(self, raw: Any) -> list[Any]:
        if raw is MISSING:
            return []
        ftype = self.ftype
        if ftype is None:
            if not self._dynamic or not self._infer(raw):
                return []
            ftype = self.ftype
            assert ftype is not None
        index = ftype.index
        null_value = self.null_value
        if type(raw) is not list:
            if raw is None:
                if null_value is None:
                    return []
                raw = null_value
            value = index(raw)
            return [] if value is None else [value]
        out = []
        for item in raw:
            if item is None:
                if null_value is None:
                    continue
                item = null_value
            elif type(item) is list or type(item) is dict:
                nested: list[Any] = []
                _flatten(item, nested)
                out.extend(self.normalize(nested))
                continue
            value = index(item)
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
        seen: list[Any] = []
        for value in sorted(values, key=self.ftype.sort_key):
            if not seen or seen[-1] != value:
                seen.append(value)
        return seen


class IndexContext:
    """Everything known about one index for one search: its mapping (growing dynamically) and its field readers."""

    __slots__ = ("_readers", "compiled", "date_fields", "grow", "mapping", "name")

    def __init__(
        self, name: str, mapping: IndexMapping | None, date_fields: frozenset[str] = frozenset(), grow: bool = True
    ) -> None:
        self.name = name
        self.mapping = mapping if mapping is not None else IndexMapping()
        # fields that, when not mapped, are mapped as dates (like a data stream's @timestamp) rather than by value
        self.date_fields = date_fields
        # whether readers add the fields they map dynamically to `mapping` (the search's own copy), or leave it to
        # its owner, who grows it (a live mapping: see `current`)
        self.grow = grow
        self._readers: dict[str, FieldReader] = {}
        self.compiled: Any = None  # the search's compiled plan for this index, set by the caller

    def _resolve(self, name: str) -> tuple[str, FieldMapping | None, str]:
        target = self.mapping.aliases.get(name, name)
        resolved = self.mapping.fields.get(target)
        source_path = target
        if resolved is not None and resolved.source:
            source_path = resolved.source
        return target, resolved, source_path

    def reader(self, name: str) -> FieldReader:
        reader = self._readers.get(name)
        if reader is None:
            target, resolved, source_path = self._resolve(name)
            date = target in self.date_fields
            reader = FieldReader(target, self.mapping, resolved, source_path, date=date, grow=self.grow)
            self._readers[name] = reader
        return reader

    def refresh(self, name: str) -> FieldReader:
        """A reader of `name` made anew against the mapping as it stands (its owner grew it since the cached reader
        was made), replacing the cached one."""
        self._readers.pop(name, None)
        return self.reader(name)

    def current(self) -> bool:
        """Whether every reader made so far reads its field as a reader made now, against the mapping as it stands,
        would: the same field and `_source` path, bound to the mapping's entry (or not bound yet: it met no value,
        and a reader of the entry would have read none either). False when a field was mapped after its reader was
        made in a way that changes the reading (a multi-field's path, a type inferred privately)."""
        for name, reader in self._readers.items():
            target, resolved, source_path = self._resolve(name)
            if reader.name != target or reader.source_path != source_path or reader.private:
                return False
            if reader.bound is not None and reader.bound is not resolved:
                return False
        return True


__all__ = [
    "MISSING",
    "BooleanType",
    "DateType",
    "FieldReader",
    "IndexContext",
    "IntegerType",
    "RationalType",
    "SourcePath",
    "dynamic_field_spec",
]
