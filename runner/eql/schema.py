"""Elasticsearch mappings, flattened into what EQL needs to know about each field.

A mapping body (`{"properties": {...}}`, optionally wrapped in `{"mappings": ...}`) becomes an `IndexMapping`: dotted field
name → `FieldMapping` with its type, its exact (keyword-family) sub-field for `text`, `null_value`, `ignore_above`,
date `format`, and alias targets resolved. The mapping's `runtime` section adds fields Elasticsearch resolves at
search time (`Runtime`): they take precedence over a mapped field of the same name, as in Elasticsearch, and the
analyzer verifies them like any field of their type; one without a script reads the `_source` value at its own path,
one with a script (painless, which rule-runner cannot run) reads as missing. `Schema` merges the mappings of several
indices the way a search over an index pattern sees them (field caps): the analyzer verifies a query against it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import RuleRunnerError

KEYWORD_FAMILY = frozenset({"keyword", "constant_keyword", "wildcard"})
TEXT_FAMILY = frozenset({"text", "match_only_text"})
INTEGER_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
RATIONAL_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})
NUMERIC_TYPES = INTEGER_TYPES | RATIONAL_TYPES
DATE_TYPES = frozenset({"date", "date_nanos"})
OBJECT_TYPES = frozenset({"object", "nested", "flattened"})
# the types a `runtime` section may declare (Elasticsearch 8.x); `composite` declares sub-fields named `<name>.<sub>`
RUNTIME_TYPES = frozenset(
    {"boolean", "composite", "date", "double", "geo_point", "geo_shape", "ip", "keyword", "long", "lookup"}
)


class Runtime(enum.Enum):
    """How a runtime field gets its values."""

    SOURCE = "source"  # no script: the `_source` value at the field's own path, parsed as its type
    SCRIPT = "script"  # a script (painless) rule-runner cannot run: verified as its type, no value in any document


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """One concrete (non-alias) field of one index."""

    name: str
    type: str
    exact: str | None = None  # for text: the name of a keyword-family sub-field EQL can use for exact matching
    exact_type: str | None = None
    null_value: Any = None
    ignore_above: int | None = None
    format: str | None = None  # date formats, "||"-separated, as in the mapping
    source: str | None = None  # the _source path it reads, when not its own name (a multi-field reads its parent's)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    runtime: Runtime | None = None  # a field of the mapping's `runtime` section: how it gets its values

    @property
    def family(self) -> str:
        """The type family EQL reasons with: keyword, text, integer, rational, date, ip, version, boolean, ..."""
        return type_family(self.type)


def type_family(es_type: str) -> str:
    if es_type in KEYWORD_FAMILY:
        return "keyword"
    if es_type in TEXT_FAMILY:
        return "text"
    if es_type in INTEGER_TYPES:
        return "integer"
    if es_type in RATIONAL_TYPES:
        return "rational"
    if es_type in DATE_TYPES:
        return "date"
    return es_type


class MappingError(RuleRunnerError):
    """A mapping body that is not an Elasticsearch mapping."""


@dataclass(slots=True)
class IndexMapping:
    """The flattened mapping of one index."""

    fields: dict[str, FieldMapping] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias name -> target path
    objects: set[str] = field(default_factory=set)  # object paths (a query on them is not on a leaf)
    dynamic: str = "true"  # "true", "false", "strict", "runtime" (root setting)
    nested: set[str] = field(default_factory=set)  # the object paths mapped `nested` (a subset of `objects`)

    @classmethod
    def from_body(cls, body: Mapping[str, Any] | None) -> IndexMapping:
        mapping = cls()
        if not body:
            return mapping
        if "mappings" in body and isinstance(body["mappings"], Mapping):
            body = body["mappings"]
        if not isinstance(body, Mapping):
            raise MappingError(f"a mapping must be an object, not {type(body).__name__}")
        dynamic = body.get("dynamic", True)
        mapping.dynamic = str(dynamic).lower()
        mapping._add_properties("", body.get("properties") or {})
        for name, runtime_field in runtime_fields(body).items():
            # a runtime field takes precedence over the mapped field (or alias) of the same name
            mapping.aliases.pop(name, None)
            mapping.fields[name] = runtime_field
        return mapping

    def _add_properties(self, prefix: str, properties: Mapping[str, Any]) -> None:
        if not isinstance(properties, Mapping):
            raise MappingError(f"'properties' of [{prefix or '<root>'}] must be an object")
        for name, spec in properties.items():
            path = f"{prefix}{name}"
            if not isinstance(spec, Mapping):
                raise MappingError(f"mapping of [{path}] must be an object")
            es_type = spec.get("type")
            if es_type is None or (es_type in OBJECT_TYPES and "properties" in spec):
                self.objects.add(path)
                if es_type == "nested":
                    self.nested.add(path)
                self._add_properties(path + ".", spec.get("properties") or {})
                continue
            if es_type == "alias":
                target = spec.get("path")
                if not isinstance(target, str):
                    raise MappingError(f"alias [{path}] needs a 'path'")
                self.aliases[path] = target
                continue
            self.add_field(path, spec)

    def add_field(self, path: str, spec: Mapping[str, Any]) -> FieldMapping:
        es_type = str(spec.get("type"))
        exact = None
        exact_type = None
        for sub_name, sub_spec in (spec.get("fields") or {}).items():
            sub_type = sub_spec.get("type") if isinstance(sub_spec, Mapping) else None
            sub_path = f"{path}.{sub_name}"
            if isinstance(sub_spec, Mapping) and sub_type:
                self.fields[sub_path] = _field(sub_path, sub_spec, source=path)
                if exact is None and sub_type in KEYWORD_FAMILY and es_type in TEXT_FAMILY:
                    exact, exact_type = sub_path, sub_type
        mapped = _field(path, spec, exact=exact, exact_type=exact_type)
        self.fields[path] = mapped
        return mapped

    def resolve(self, name: str) -> FieldMapping | None:
        """The field a name designates, following an alias."""
        target = self.aliases.get(name, name)
        return self.fields.get(target)

    def is_object(self, name: str) -> bool:
        return name in self.objects

    def nested_parent(self, name: str) -> str | None:
        """The closest `nested` object above a field (a multi-field's too), None when there is none."""
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.nested:
                return prefix
        return None

    def names(self) -> set[str]:
        return set(self.fields) | set(self.aliases)


def _field(
    path: str,
    spec: Mapping[str, Any],
    exact: str | None = None,
    exact_type: str | None = None,
    source: str | None = None,
) -> FieldMapping:
    ignore_above = spec.get("ignore_above")
    return FieldMapping(
        name=path,
        type=str(spec.get("type")),
        exact=exact,
        exact_type=exact_type,
        null_value=spec.get("null_value"),
        ignore_above=int(ignore_above) if ignore_above is not None else None,
        format=spec.get("format"),
        source=source,
        params=dict(spec),
    )


def runtime_fields(body: Mapping[str, Any] | None) -> dict[str, FieldMapping]:
    """The fields of a mapping body's `runtime` section, by dotted name (a `composite`'s sub-fields as
    `<name>.<sub>`); empty when it has none. A section Elasticsearch would refuse is a `MappingError` with its
    message."""
    if not body:
        return {}
    if "mappings" in body and isinstance(body["mappings"], Mapping):
        body = body["mappings"]
    section = body.get("runtime")
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise MappingError("'runtime' must be an object")
    found: dict[str, FieldMapping] = {}
    for name, spec in section.items():
        if not isinstance(spec, Mapping):
            raise MappingError(f"Expected map for runtime field [{name}] definition but got a {type(spec).__name__}")
        es_type = _runtime_type(name, spec)
        if es_type != "composite":
            found[name] = _runtime_field(name, es_type, spec, _runtime_kind(name, spec))
            continue
        # Elasticsearch's messages (CompositeRuntimeFieldTests): a composite is a script's output, split into sub-fields;
        # a sub-field of type composite, which Elasticsearch also refuses, is worded as an unknown type here
        if spec.get("script") is None:
            raise MappingError(f"composite runtime field [{name}] must declare a [script]")
        subs = spec.get("fields")
        if not isinstance(subs, Mapping) or not subs:
            raise MappingError(f"composite runtime field [{name}] must declare its [fields]")
        for sub, sub_spec in subs.items():
            if not isinstance(sub_spec, Mapping):
                raise MappingError(f"Expected map for runtime field [{name}.{sub}] definition")
            if "script" in sub_spec:
                raise MappingError(f"Cannot use [script] parameter on sub-field [{sub}] of composite field [{name}]")
            sub_type = _runtime_type(f"{name}.{sub}", sub_spec)
            if sub_type == "composite":
                raise MappingError(f"No handler for type [composite] declared on runtime field [{name}.{sub}]")
            path = f"{name}.{sub}"
            if path in section:
                raise MappingError(f"Found two runtime fields with same name [{path}]")
            found[path] = _runtime_field(path, sub_type, sub_spec, Runtime.SCRIPT)
    return found


def _runtime_type(name: str, spec: Mapping[str, Any]) -> str:
    # Elasticsearch's messages (RuntimeField.parseRuntimeFields)
    es_type = spec.get("type")
    if es_type is None:
        raise MappingError(f"No type specified for runtime field [{name}]")
    if str(es_type) not in RUNTIME_TYPES:
        raise MappingError(f"No handler for type [{es_type}] declared on runtime field [{name}]")
    return str(es_type)


def _runtime_kind(name: str, spec: Mapping[str, Any]) -> Runtime:
    if "script" in spec and spec["script"] is None:
        raise MappingError(f"[script] on runtime field [{name}] of type [{spec.get('type')}] must not have a [null] value")
    return Runtime.SOURCE if spec.get("script") is None else Runtime.SCRIPT


def _runtime_field(path: str, es_type: str, spec: Mapping[str, Any], kind: Runtime) -> FieldMapping:
    # a runtime field has no null_value, ignore_above or sub-fields: only its type, a date's format, its script
    return FieldMapping(name=path, type=es_type, format=spec.get("format"), params=dict(spec), runtime=kind)


@dataclass(slots=True)
class Schema:
    """The mappings of every index a search covers."""

    indices: dict[str, IndexMapping] = field(default_factory=dict)

    @classmethod
    def from_mappings(cls, mappings: Mapping[str, Any] | None) -> Schema:
        schema = cls()
        for index, body in (mappings or {}).items():
            schema.indices[index] = body if isinstance(body, IndexMapping) else IndexMapping.from_body(body)
        return schema

    def __bool__(self) -> bool:
        return bool(self.indices)

    def lookup(self, name: str) -> list[tuple[str, FieldMapping]]:
        """(index, field) for every index that maps `name` (aliases followed)."""
        found = []
        for index, mapping in self.indices.items():
            resolved = mapping.resolve(name)
            if resolved is not None:
                found.append((index, resolved))
        return found

    def is_object(self, name: str) -> bool:
        return any(m.is_object(name) for m in self.indices.values())

    def is_nested(self, name: str) -> bool:
        return any(name in m.nested for m in self.indices.values())

    def nested_parent(self, name: str) -> str | None:
        """The closest `nested` object above `name` in any index (Elasticsearch rejects the field), else None."""
        for mapping in self.indices.values():
            parent = mapping.nested_parent(name)
            if parent is not None:
                return parent
        return None

    def names(self) -> set[str]:
        names: set[str] = set()
        for mapping in self.indices.values():
            names |= mapping.names()
        return names


__all__ = [
    "DATE_TYPES",
    "INTEGER_TYPES",
    "KEYWORD_FAMILY",
    "NUMERIC_TYPES",
    "RATIONAL_TYPES",
    "RUNTIME_TYPES",
    "TEXT_FAMILY",
    "FieldMapping",
    "IndexMapping",
    "MappingError",
    "Runtime",
    "Schema",
    "runtime_fields",
    "type_family",
]
