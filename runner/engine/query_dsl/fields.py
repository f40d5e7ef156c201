"""What one field holds in one document, as the clauses of the Query DSL see it.

`DslField.read(source)` answers `(family, values)`: the field's type family once known (`keyword`, `text`,
`integer`, `rational`, `date`, `ip`, `boolean`, `version`, ...) and the values Elasticsearch indexed — typed values
from the engine's `FieldReader` (ignore_above, null_value, coercion, dates as epoch nanos, ips as integers), except
for `text`, whose values are the strings the analyzer receives (the text field itself indexes every string; only its
keyword sub-field has `ignore_above`).

A field the mapping lacks is mapped as Elasticsearch's dynamic mapping does: with a live mapping (a
`runner.engine.dynamic.LiveMapping`, extended with each document before it is read: dynamic templates, date
detection, `dynamic` per object, `dynamic: runtime`), the reader reads what that mapping holds and nothing else;
with a fixed `IndexMapping`, at the field's first value by the default dynamic mapping (engine/fields.py). Either
way the decision sticks for the compiled query. A name such as `foo.keyword` whose parent is mapped that way (a
string → `text` with a `keyword` sub-field) reads the parent's value as the sub-field. A field inside a `nested`
object is visible only to a `nested` query on that object (Elasticsearch indexes each nested object as its own hidden
document): elsewhere it has no values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from runner.engine.field_types import to_text
from runner.engine.fields import MISSING, FieldReader, IndexContext
from runner.eql import IndexMapping, type_family


def strings(raw: Any) -> list[str]:
    """The strings a `text` field analyzes for a raw `_source` value (arrays flattened, nulls and objects skipped)."""
    if raw is MISSING or raw is None:
        return []
    if type(raw) is str:
        return [raw]
    out: list[str] = []
    for item in raw if type(raw) is list else (raw,):
        if type(item) is list:
            out.extend(strings(item))
        elif item is not None and type(item) is not dict:
            out.append(to_text(item))
    return out


def _flattened(context: IndexContext, mapping: IndexMapping, name: str) -> tuple[FieldReader, str] | None:
    """For a `flattened` field, or a name below one (`labels.team`: a key of the flattened `labels`), the reader of
    the flattened field and the key ("" for the field itself)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        found = mapping.fields.get(prefix)
        if found is not None and found.type == "flattened":
            return context.reader(prefix), ".".join(parts[cut:])
    return None


def flattened_values(raw: Any, key: str) -> list[str]:
    """What a `flattened` field indexes for a `_source` value, as keywords (FlattenedFieldParser: each leaf value as
    a string, under its full dotted key): every leaf's value for the field itself, the leaves at `key` for a key of
    it. Nulls are not indexed."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        path, value = stack.pop()
        if value is MISSING or value is None:
            continue
        if type(value) is dict:
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(value.items())))
        elif type(value) is list:
            stack.extend((path, item) for item in reversed(value))
        elif not key or path == key:
            found.append(value if type(value) is str else to_text(value))
    return found


class DslField:
    """One field name of a query, in one nested scope (None at the top level)."""

    __slots__ = ("_context", "_fields", "_flat", "_last", "_last_size", "_last_source", "_live", "_parent", "_seen",
                 "hidden", "name", "reader")

    def __init__(self, context: IndexContext, name: str, scope: str | None, live: bool = False) -> None:
        self._context = context
        self.name = name
        self.reader = context.reader(name)
        mapping = context.mapping
        # a field of a nested object is out of sight outside a nested query on that very object
        self.hidden = mapping.nested_parent(name) != scope
        # a live mapping (runner.engine.dynamic.LiveMapping) decides every dynamic field: the reader never infers one
        self._live = live
        # a `flattened` field, or a key of one: (the flattened field's reader, the key below it, "" for the field)
        self._flat = _flattened(context, mapping, name)
        self._seen = len(mapping.fields)
        self._parent: FieldReader | None = None
        # the last document read and what it held: the clauses of one query on one field (a `should` of many
        # terms) read it once per document. The document is held, so its identity cannot be reused meanwhile; a
        # mapping grown since (a live one, extended with the document) makes it read again.
        self._last_source: Any = None
        self._fields = mapping.fields
        self._last_size = -1
        self._last: tuple[str | None, list[Any]] = (None, [])
        if live:
            return
        if self.reader.bound is None and "." in name and mapping.resolve(name) is None:
            parent = name.rsplit(".", 1)[0]
            if mapping.resolve(parent) is None and parent not in mapping.objects:
                self._parent = context.reader(parent)

    @property
    def mapped(self) -> bool:
        return self.reader.bound is not None

    @property
    def family(self) -> str | None:
        if self._flat is not None:
            return "keyword"  # a flattened field, and each of its keys, index their leaves as keywords
        bound = self.reader.bound
        return None if bound is None else type_family(bound.type)

    @property
    def flattened(self) -> bool:
        """A `flattened` field or a key of one: its values are its leaves' (not a term index's plain string)."""
        return self._flat is not None

    def present(self, source: Mapping[str, Any]) -> bool:
        """Whether `_source` holds anything at the field's path (its parent's, for the sub-field of a parent mapped
        at its first value): what a value needs, without mapping anything (a fixed mapping's fields only: a live
        mapping may later make the name a multi-field reading another path)."""
        if self.hidden:
            return False
        if self.reader.get(source) is not MISSING:
            return True
        return self._parent is not None and self._parent.get(source) is not MISSING

    def read(self, source: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
        if source is self._last_source and len(self._fields) == self._last_size:
            return self._last
        found = self._read(source)
        self._last_source = source
        self._last_size = len(self._fields)
        self._last = found
        return found

    def _read(self, source: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
        if self.hidden:
            return None, []
        if self._flat is not None:
            root, key = self._flat
            return "keyword", flattened_values(root.get(source), key)
        reader = self.reader
        if reader.bound is None and self._live:
            fields = len(self._context.mapping.fields)
            if fields == self._seen:
                return None, []  # not mapped (yet): no indexed value
            self._seen = fields
            reader = self.reader = self._context.refresh(self.name)
            if reader.bound is None:
                return None, []
        raw = reader.get(source)
        if raw is MISSING:
            if self._parent is None:
                return None, []
            return self._from_parent(source)
        if reader.bound is None:
            reader.normalize(raw)  # maps the field at its first value
            if reader.bound is None:
                return None, []
        bound = reader.bound
        assert bound is not None
        family = type_family(bound.type)
        if family == "text":
            return family, strings(raw)
        return family, reader.normalize(raw)

    def _from_parent(self, source: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
        """`foo.keyword` of a `foo` mapped dynamically as text: the parent's values through the sub-field."""
        parent = self._parent
        assert parent is not None
        raw = parent.get(source)
        if raw is MISSING:
            return None, []
        if parent.bound is None:
            parent.normalize(raw)
        bound = parent.bound
        if bound is None or bound.exact != self.name:
            return None, []
        resolved = self._context.mapping.fields.get(self.name)
        if resolved is None:
            return None, []
        # the sub-field exists now: read it from its parent's `_source` path from here on
        self.reader = FieldReader(self.name, self._context.mapping, resolved, bound.name, grow=self._context.grow)
        self._parent = None
        return self._read(source)


def leaves(source: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar-or-array leaf of a `_source` object as (dotted path, raw value); arrays of objects walked."""
    for key, value in source.items():
        path = f"{prefix}{key}"
        if type(value) is dict:
            yield from leaves(value, path + ".")
        elif type(value) is list and any(type(item) is dict for item in value):
            scalars = [item for item in value if type(item) is not dict]
            if scalars:
                yield path, scalars
            for item in value:
                if type(item) is dict:
                    yield from leaves(item, path + ".")
        else:
            yield path, value


def objects_at(source: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    """The objects at a dotted path of `_source` (nested objects and dotted keys alike, arrays flattened)."""
    parts = path.split(".")
    out: list[Mapping[str, Any]] = []

    def walk(node: Any, i: int) -> None:
        if type(node) is list:
            for item in node:
                walk(item, i)
            return
        if type(node) is not dict:
            return
        if i == len(parts):
            out.append(node)
            return
        for j in range(i + 1, len(parts) + 1):
            child = node.get(".".join(parts[i:j]), MISSING)
            if child is not MISSING:
                walk(child, j)

    walk(source, 0)
    return out


def copy_mapping(mapping: IndexMapping) -> IndexMapping:
    """A mapping the compiled query may grow with dynamic fields without touching the caller's."""
    return IndexMapping(
        fields=dict(mapping.fields),
        aliases=dict(mapping.aliases),
        objects=set(mapping.objects),
        dynamic=mapping.dynamic,
        nested=set(mapping.nested),
    )


__all__ = ["DslField", "copy_mapping", "leaves", "objects_at", "strings"]
