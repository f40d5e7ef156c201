"""The mapping an index would have after Elasticsearch indexed some documents with its default dynamic mapping.

`dynamic_mapping` builds it from a base mapping and documents; `extend_mapping` adds one document's new fields to a
mapping body in place and says whether it added any (the walk: a field already mapped as a leaf ends it at once, one
dictionary lookup per key); `merge_mapping` adds one body's fields to another (first come, first kept).
`LiveMapping` is the walk for a long stream (ingest, hunt): it keeps one body per index, so that a document adding
nothing is proven so by set comparisons, and the `IndexMapping` searches read (runner.eql) in step with the body, so
the engine can search an index whose mapping grows as its documents arrive (`search_many(..., growing=True)`); the
caller writes the body only when it changed.

The walk follows Elasticsearch's DocumentParser and DynamicFieldsBuilder:
- `dynamic` is read per object and inherited (the root's, then each object's own): `true` maps a new field,
  `false` keeps it in `_source` only (no field, no object), `strict` is read as `false` (Elasticsearch would reject
  the document; rule-runner keeps it, unmapped), `runtime` maps a new leaf as a runtime field of the body's `runtime`
  section, without a script (it reads `_source`), of the type Elasticsearch picks (string → keyword, whole number →
  long, decimal → double, boolean, date) — objects are still mapped as objects ("dynamic:runtime maps objects under
  properties, exactly like dynamic:true"). An object with `enabled: false` is not parsed: nothing below it maps.
- A leaf the body's `runtime` section defines is not mapped (DocumentParser.getLeafMapper: "if a leaf field is not
  mapped, and is defined as a runtime field, then we don't create a dynamic mapping for it"): the runtime field keeps
  reading it from `_source`. The `runtime` section is otherwise carried through untouched.
- A body's `dynamic_templates` decide the mapping of a new field, leaf or object, as Elasticsearch's do
  (`DynamicTemplates`, the first matching template wins; none: the default dynamic mapping). A template's `runtime`
  (instead of `mapping`) makes the field a runtime field. A template matching an object gives that object its
  mapping (`type: object` with `dynamic` / `enabled`, `nested`, `flattened`, a `geo_point`...); where that mapping is
  a leaf type that cannot hold an object (a `keyword`), Elasticsearch rejects the document: here the field is mapped
  as the template says and what is below it stays unmapped.
- `date_detection: false` at the root: a date-like string is a `string` (text), not a `date`.
- An array: every object in it is walked (`[{"p": 1}, {"q": "v"}]` maps `p` and `q`), a scalar field takes the type
  of its first non-null value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from runner.engine.fields import dynamic_field_spec
from runner.eql import IndexMapping, runtime_fields

# told of each field (path, spec, is-runtime) and object (path, its mapping node, False) a walk adds
Report = Callable[[str, "dict[str, Any]", bool], None]

# the JSON types a dynamic template's `match_mapping_type` / `unmatch_mapping_type` names (DynamicTemplate.XContentFieldType)
JSON_TYPES = ("object", "string", "long", "double", "boolean", "date", "binary")
# the types a runtime template may match (XContentFieldType.supportsRuntimeField: not object, not binary)
_RUNTIME_JSON_TYPES = frozenset({"string", "long", "double", "boolean", "date"})
# `{dynamic_type}`: XContentFieldType.defaultMappingType / defaultRuntimeMappingType
_MAPPING_TYPE = {"string": "text", "double": "float"}
_RUNTIME_TYPE = {"string": "keyword"}
# the JSON type a default dynamic mapping (runner.engine.fields.dynamic_field_spec) comes from
_JSON_TYPE = {"text": "string", "float": "double"}


@dataclass(frozen=True, slots=True)
class _Template:
    conditions: Mapping[str, Any]
    kinds: frozenset[str]  # the JSON types it matches
    mapping: Mapping[str, Any]
    runtime: bool  # `runtime` instead of `mapping`: the field becomes a runtime field


class DynamicTemplates:
    """A mapping body's `dynamic_templates`, applied to a new field as Elasticsearch applies them
    (`DynamicTemplate.match`: every condition the template sets must hold; the first template matching wins):
    `match` / `unmatch` on the field's name, `path_match` / `path_unmatch` on its dotted path (simple `*` patterns,
    or regular expressions with `match_pattern: regex`; each a pattern or a list of them), `match_mapping_type` /
    `unmatch_mapping_type` on the JSON type of the value (`object`, `string`, `long`, `double`, `boolean`, `date` for
    a string date detection takes; `*` or a list). Which types a template matches (DynamicTemplate.parse): those
    `match_mapping_type` names (`*`: all); without it, all when it sets `match` or `path_match` (or
    `unmatch_mapping_type`), else none (Elasticsearch's reference: "If a dynamic template doesn't define
    match_mapping_type, match, or path_match, it won't match any field"); less `unmatch_mapping_type`'s; a `runtime`
    template never matches an object. Its `mapping` (or `runtime`) gets `{name}` and `{dynamic_type}` replaced, and
    the default type when it names none."""

    __slots__ = ("_templates",)

    def __init__(self, templates: Sequence[Mapping[str, Any]]) -> None:
        self._templates = [_template(spec) for entry in templates if isinstance(entry, Mapping)
                           for spec in entry.values() if isinstance(spec, Mapping)
                           and isinstance(spec.get("mapping", spec.get("runtime")), Mapping)]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> DynamicTemplates | None:
        templates = body.get("dynamic_templates")
        return cls(templates) if isinstance(templates, list) and templates else None

    def find(self, path: str, name: str, kind: str) -> tuple[dict[str, Any], bool] | None:
        """The mapping of the new field at `path` (`name` its last part) whose value's JSON type is `kind`, and
        whether it is a runtime field; None when no template matches (the default dynamic mapping applies)."""
        for template in self._templates:
            if kind not in template.kinds or not _names_match(template.conditions, path, name):
                continue
            # DynamicFieldsBuilder.applyMatchingTemplate: {dynamic_type} is the default (runtime) mapping type
            dynamic_type = (_RUNTIME_TYPE if template.runtime else _MAPPING_TYPE).get(kind, kind)
            spec: dict[str, Any] = substitute_template(template.mapping, name, dynamic_type)
            spec.setdefault("type", dynamic_type)
            return dict(spec), template.runtime
        return None

    def names(self, path: str) -> bool:
        """Whether a template naming fields (by `match` or `path_match`, not a catch-all for a type) would map a new
        field at `path` of some type: a field such an index knows only once a document brings it."""
        name = path.rpartition(".")[2]
        return any((template.conditions.get("match") is not None or template.conditions.get("path_match") is not None)
                   and _names_match(template.conditions, path, name) for template in self._templates)


def _template(spec: Mapping[str, Any]) -> _Template:
    runtime = "mapping" not in spec
    matching = _kinds(spec.get("match_mapping_type"))
    unmatching = _kinds(spec.get("unmatch_mapping_type")) or frozenset()
    if matching is None:
        named = spec.get("match") is not None or spec.get("path_match") is not None
        matching = frozenset(JSON_TYPES) if named or unmatching else frozenset()
    kinds = matching - unmatching
    if runtime:
        kinds &= _RUNTIME_JSON_TYPES
    return _Template(spec, kinds, spec["runtime" if runtime else "mapping"], runtime)


def _kinds(condition: Any) -> frozenset[str] | None:
    if condition is None:
        return None
    names = {str(kind) for kind in (condition if isinstance(condition, list) else [condition])}
    return frozenset(JSON_TYPES) if "*" in names else frozenset(names)


def _names_match(template: Mapping[str, Any], path: str, name: str) -> bool:
    regex = template.get("match_pattern") == "regex"
    return (_matches(template.get("match"), name, regex, True)
            and not _matches(template.get("unmatch"), name, regex, False)
            and _matches(template.get("path_match"), path, regex, True)
            and not _matches(template.get("path_unmatch"), path, regex, False))


def _matches(condition: Any, value: str, regex: bool, absent: bool) -> bool:
    """`value` against a template's condition (a pattern or a list of them); `absent` when it sets none."""
    if condition is None:
        return absent
    patterns = condition if isinstance(condition, list) else [condition]
    for pattern in patterns:
        pattern = str(pattern)
        if regex:
            if re.fullmatch(pattern, value):
                return True
        elif pattern == "*" or fnmatchcase(value, pattern.replace("[", "[[]").replace("?", "[?]")):  # `*` only
            return True
    return False


def substitute_template(value: Any, name: str, dynamic_type: str) -> Any:
    """A dynamic template's `mapping` / `runtime` for a field: `{name}` replaced by the field's name and
    `{dynamic_type}` (or `{dynamicType}`) by its default type, in keys and values (DynamicTemplate.processMap). The
    one substitution, used by the walk and by the load-time check of a template (runner.ecs.templates)."""
    if isinstance(value, str):
        return value.replace("{name}", name).replace("{dynamic_type}", dynamic_type).replace("{dynamicType}",
                                                                                              dynamic_type)
    if isinstance(value, Mapping):
        return {substitute_template(key, name, dynamic_type): substitute_template(item, name, dynamic_type)
                for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_template(item, name, dynamic_type) for item in value]
    return value


def _mode(setting: Any) -> str:
    """A `dynamic` setting as the walk uses it: "true", "false" (also for `strict`) or "runtime"."""
    mode = str(setting).lower()
    return "false" if mode == "strict" else mode


def _is_object(node: Mapping[str, Any]) -> bool:
    """Whether a mapping node is an object the walk descends into (as `IndexMapping.from_body` reads it)."""
    return "properties" in node and node.get("enabled", True) not in (False, "false")


class _Walk:
    """What one walk over a body needs besides the properties it is at."""

    __slots__ = ("body", "dates", "report", "runtime", "templates")

    def __init__(self, body: dict[str, Any], report: Report | None = None, runtime: set[str] | None = None) -> None:
        self.report = report
        self.runtime = runtime if runtime is not None else _runtime_names(body)
        self.templates = DynamicTemplates.of(body)
        self.dates = str(body.get("date_detection", "true")).lower() != "false"
        self.body = body  # its `runtime` section is made when a first runtime field is added


def dynamic_mapping(sources: Iterable[Mapping[str, Any]], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`base` (a mapping body) plus the fields the `_source` documents would add dynamically, in document order.

    Dotted keys (`"process.pid"`) map like nested objects; an array maps as its first non-null element; null and
    empty arrays add nothing; an explicitly mapped field is left as it is.
    """
    body: dict[str, Any] = copy.deepcopy(dict(base)) if base else {}
    if "mappings" in body and isinstance(body["mappings"], dict):
        body = body["mappings"]
    _open_objects(body.setdefault("properties", {}))
    for source in sources:
        extend_mapping(body, source)
    return body


def _open_objects(properties: dict[str, Any]) -> None:
    """Give `properties: {}` to each object written without (`{"type": "object"}`, `nested`; not one with
    `enabled: false`): Elasticsearch maps it as an empty object, so the walk descends into it and its `dynamic` and
    the dynamic templates decide its fields (a Beats template's `winlog.event_data`)."""
    for node in properties.values():
        if not isinstance(node, dict):
            continue
        if node.get("type") in ("object", "nested") and node.get("enabled", True) not in (False, "false"):
            node.setdefault("properties", {})
        if isinstance(node.get("properties"), dict):
            _open_objects(node["properties"])


def extend_mapping(body: dict[str, Any], source: Mapping[str, Any]) -> bool:
    """Add to `body` (a mapping body with `properties`, as `dynamic_mapping` returns), in place, the fields the
    `_source` document `source` would add dynamically; true when it added any (a field, an object, a runtime
    field)."""
    return _add_object(body.setdefault("properties", {}), source, "", _Walk(body), _mode(body.get("dynamic", True)))


def _runtime_names(body: Mapping[str, Any]) -> set[str]:
    """The dotted names of the leaves the body's `runtime` section defines (documents do not map them)."""
    return set(runtime_fields(body)) if body.get("runtime") else set()


def merge_mapping(body: dict[str, Any], other: Mapping[str, Any]) -> bool:
    """Add to `body`, in place, the fields of the mapping body `other` that `body` does not map (a field both map
    keeps `body`'s type: it was there first); true when it added any."""
    return _merge(body.setdefault("properties", {}), other.get("properties", {}))


def _merge(properties: dict[str, Any], others: Mapping[str, Any]) -> bool:
    added = False
    for name, node in others.items():
        mine = properties.get(name)
        if mine is None:
            properties[name] = copy.deepcopy(node)
            added = True
        elif "properties" in mine and "properties" in node:
            added = _merge(mine["properties"], node["properties"]) or added
    return added


class LiveMapping:
    """One index's mapping body and its `IndexMapping`, grown together, in place, one `_source` at a time.

    `extend(source)` adds what Elasticsearch's dynamic mapping would (the walk of `extend_mapping`, which decides)
    to `body` and the same fields, objects and runtime fields to `mapping`; true when it added any. `mapping` is the
    object a `Schema` holds for a growing search: it is never replaced, only added to, and always equals
    `IndexMapping.from_body(body)`.

    Fast path: once the first documents of each kind were seen, nearly every document adds nothing, and proving it
    is the whole cost of mapping a stream. `_Shape` mirrors the body as, per object, the set of names mapped as leaves
    and the objects below it, so that a document's object whose keys are all leaves is known in one set comparison
    (done in C) instead of a lookup per key in Python. The proof is conservative: anything it does not recognise
    (a new key where fields may be added, a dotted key, a scalar where an object is mapped) goes to the walk, which
    decides; the mirror is made again after the walk added something. Checked against the walk by
    tests/engine/test_growing.py.
    """

    __slots__ = ("_mode", "_properties", "_shape", "_walk", "body", "mapping")

    def __init__(self, base: Mapping[str, Any] | None = None) -> None:
        self.body = dynamic_mapping((), base)
        self.mapping = IndexMapping.from_body(self.body)
        self._properties: dict[str, Any] = self.body["properties"]
        self._mode = _mode(self.body.get("dynamic", True))
        self._walk = _Walk(self.body, self._report)
        self._shape: _Shape | None = None

    def extend(self, source: Mapping[str, Any]) -> bool:
        shape = self._shape
        if shape is None:
            shape = self._shape = _Shape(self._properties, self._mode, self._walk.runtime)
        if shape.covers(source):
            return False
        added = _add_object(self._properties, source, "", self._walk, self._mode)
        if added:
            self._shape = None
        return added

    def _report(self, path: str, spec: dict[str, Any], runtime: bool) -> None:
        mapping = self.mapping
        if runtime:
            mapping.aliases.pop(path, None)  # a runtime field takes precedence, as in IndexMapping.from_body
            mapping.fields.update(runtime_fields({"runtime": {path: spec}}))
        elif "type" not in spec or (spec["type"] in ("object", "nested", "flattened") and "properties" in spec):
            mapping.objects.add(path)
            if spec.get("type") == "nested":
                mapping.nested.add(path)
        else:
            shadow = mapping.fields.get(path)
            mapping.add_field(path, spec)
            if shadow is not None and shadow.runtime is not None:  # a runtime field of that name takes precedence
                mapping.fields[path] = shadow


class _Shape:
    """One object of a mapping body: the names mapped as leaves (whose values can no longer change the mapping), the
    objects (with `properties`) below it, the runtime fields no object here has (a scalar adds nothing; an object
    value would be mapped as a new object, as Elasticsearch does), and whether a new key here may add anything
    (`open`: its `dynamic` is not `false`; `closed`: nor anywhere below)."""

    __slots__ = ("closed", "leaves", "objects", "open", "runtime")

    def __init__(self, properties: Mapping[str, Any], mode: str, runtime: set[str], prefix: str = "") -> None:
        objects = {name for name, node in properties.items() if _is_object(node)}
        here = {r[len(prefix):] for r in runtime if r.startswith(prefix) and "." not in r[len(prefix):]}
        self.leaves = frozenset(name for name in properties if name not in objects)
        self.runtime = frozenset(here - objects - self.leaves)
        self.open = mode != "false"
        self.objects: dict[str, _Shape] = {name: _Shape(properties[name]["properties"],
                                                        _mode(properties[name].get("dynamic", mode)),
                                                        runtime, f"{prefix}{name}.") for name in objects}
        # nothing here or below may add a field (Elastic Defend's templates: `dynamic: false` at the root)
        self.closed: bool = not self.open and all(below.closed for below in self.objects.values())

    def covers(self, obj: Mapping[str, Any]) -> bool:
        """True when the walk would add nothing for `obj` (a `_source` object at this place); false when it may."""
        leaves = self.leaves
        if self.closed or obj.keys() <= leaves:
            return True
        objects = self.objects
        for key, value in obj.items():
            if key in leaves:
                continue
            below = objects.get(key)
            if below is None:
                if key in self.runtime:  # a scalar adds nothing; an object would be mapped
                    kind = type(value)
                    if kind is dict or (kind is list and any(type(item) is dict for item in value)):
                        return False
                elif self.open or "." in key:  # a closed object adds no new key (a dotted one may reach an object)
                    return False
                continue
            kind = type(value)
            if kind is dict:
                if not (value.keys() <= below.leaves or below.covers(value)):  # the first test spares a call
                    return False
            elif kind is list:
                for item in value:
                    if type(item) is dict:
                        if not below.covers(item):
                            return False
                    elif item is not None:
                        return False
            elif value is not None:
                return False
        return True


def _add_object(properties: dict[str, Any], obj: Mapping[str, Any], prefix: str, walk: _Walk, mode: str) -> bool:
    added = False
    for key, value in obj.items():
        node = properties.get(key)
        if node is not None and "." not in key:
            # the common cases, without the general walk: a field already mapped as a leaf, whose values can no
            # longer change the mapping (most fields, after the first documents); an object mapped as one
            if not _is_object(node):
                continue
            if type(value) is dict:
                if _add_object(node["properties"], value, f"{prefix}{key}.", walk, _mode(node.get("dynamic", mode))):
                    added = True
                continue
        parts = str(key).split(".")
        target = properties
        path = prefix
        here = mode
        for part in parts[:-1]:
            path = f"{path}{part}"
            node = target.get(part)
            if node is None:
                if here == "false":
                    break  # not mapped: the value stays in _source
                node = _new_object(target, part, path, walk)
                added = True
            if not _is_object(node):
                break  # a leaf already sits where an object would go; Elasticsearch would reject the document
            here = _mode(node.get("dynamic", here))
            target = node["properties"]
            path += "."
        else:
            if _add_value(target, parts[-1], value, path, walk, here):
                added = True
    return added


def _new_object(properties: dict[str, Any], name: str, path: str, walk: _Walk) -> dict[str, Any]:
    """Map a new object (DynamicFieldsBuilder.createDynamicObjectMapper: a matching template's mapping, else a plain
    object)."""
    found = walk.templates.find(path, name, "object") if walk.templates is not None else None
    if found is None:
        node: dict[str, Any] = {"properties": {}}
    else:
        node = found[0]
        if node["type"] == "nested" or (node["type"] == "object" and node.get("enabled", True) not in (False, "false")):
            node.setdefault("properties", {})
    properties[name] = node
    if walk.report is not None:
        walk.report(path, node, False)
    return node


def _add_value(properties: dict[str, Any], name: str, value: Any, prefix: str, walk: _Walk, mode: str) -> bool:
    if isinstance(value, list):
        # as Elasticsearch parses an array: every object in it is walked (`[{"p": 1}, {"q": "v"}]` maps `p` and
        # `q`); a scalar field takes the type of the first non-null scalar (the later ones find it mapped)
        added = False
        scalar = False
        for item in value:
            if item is None:
                continue
            if isinstance(item, (Mapping, list)):
                added = _add_value(properties, name, item, prefix, walk, mode) or added
            elif not scalar:
                scalar = True
                added = _add_value(properties, name, item, prefix, walk, mode) or added
        return added
    if isinstance(value, Mapping):
        node: dict[str, Any] | None = properties.get(name)
        added = node is None
        if node is None:
            if mode == "false":
                return False
            node = _new_object(properties, name, prefix + name, walk)
        if _is_object(node):
            added = _add_object(node["properties"], value, f"{prefix}{name}.", walk,
                                _mode(node.get("dynamic", mode))) or added
        return added
    path = prefix + name
    if name in properties or path in walk.runtime or mode == "false":
        return False
    spec = dynamic_field_spec(value, walk.dates)
    if spec is None:
        return False
    kind = _JSON_TYPE.get(spec["type"], spec["type"])
    found = walk.templates.find(path, name, kind) if walk.templates is not None else None
    if found is not None:
        spec, runtime = found
    else:
        runtime = mode == "runtime"
        if runtime:  # DynamicFieldsBuilder.Runtime: no script, the type Elasticsearch picks for a runtime field
            spec = {"type": _RUNTIME_TYPE.get(kind, kind)}
    if runtime:
        walk.body.setdefault("runtime", {})[path] = spec
        walk.runtime.add(path)
    else:
        properties[name] = spec
    if walk.report is not None:
        walk.report(path, spec, runtime)
    return True


__all__ = ["DynamicTemplates", "LiveMapping", "dynamic_mapping", "extend_mapping", "merge_mapping",
           "substitute_template"]
