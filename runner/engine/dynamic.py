"""The mapping an index would have after Elasticsearch indexed some documents with its default dynamic mapping.

`dynamic_mapping` builds it from a base mapping and documents; `extend_mapping` adds one document's new fields to a
mapping body in place and says whether it added any (the walk: a field already mapped as a leaf ends it at once, one
dictionary lookup per key); `merge_mapping` adds one body's fields to another (first come, first kept).
`LiveMapping` is the walk for a long stream (ingest, hunt): it keeps one body per index, so that a document adding
nothing is proven so by set comparisons, and the `IndexMapping` searches read (runner.eql) in step with the body, so
the engine can search an index whose mapping grows as its documents arrive (`search_many(..., growing=True)`); the
caller writes the body only when it changed.

A leaf the body's `runtime` section defines is not mapped (Elasticsearch's DocumentParser.getLeafMapper: "if a leaf
field is not mapped, and is defined as a runtime field, then we don't create a dynamic mapping for it"): the runtime
field keeps reading it from `_source`. The `runtime` section itself is carried through untouched.

A body's `dynamic_templates` (an index template's: Winlogbeat's `winlog.event_data.*` strings as `keyword`, the Beats'
final `strings_as_keyword`) decide the mapping of a new leaf field as Elasticsearch's do (`DynamicTemplates`: the
first matching template wins; no match: the default dynamic mapping). Templates for objects (`match_mapping_type:
object`) are not applied: a new object maps as an object.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from runner.engine.fields import dynamic_field_spec
from runner.eql import IndexMapping, runtime_fields

# told of each field (path, spec) and object (path, None) a walk adds
Report = Callable[[str, "dict[str, Any] | None"], None]


class DynamicTemplates:
    """A mapping body's `dynamic_templates`, applied to a new leaf field as Elasticsearch applies them
    (`DynamicTemplate.match`: every condition the template sets must hold; the first template matching wins):
    `match` / `unmatch` on the field's name, `path_match` / `path_unmatch` on its dotted path (simple `*` patterns,
    or regular expressions with `match_pattern: regex`; each a pattern or a list of them), `match_mapping_type` on
    the type the value would get (`string`, `long`, `double`, `boolean`, `date` for a string date detection takes;
    `*` or a list); its `mapping` gets `{name}` and `{dynamic_type}` replaced, and the default type when it names
    none."""

    __slots__ = ("_templates",)

    def __init__(self, templates: Sequence[Mapping[str, Any]]) -> None:
        self._templates = [spec for entry in templates if isinstance(entry, Mapping)
                           for spec in entry.values() if isinstance(spec, Mapping) and isinstance(spec.get("mapping"), Mapping)]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> DynamicTemplates | None:
        templates = body.get("dynamic_templates")
        return cls(templates) if isinstance(templates, list) and templates else None

    def mapping(self, path: str, name: str, default: dict[str, Any]) -> dict[str, Any]:
        """The mapping of the new field at `path` (`name` its last part) whose default dynamic mapping is `default`."""
        kind = _MAPPING_TYPE.get(default["type"], default["type"])
        for template in self._templates:
            if not (_matches(template.get("match_mapping_type"), kind, False, True)
                    and _names_match(template, path, name)):
                continue
            dynamic_type = default["type"]  # Elasticsearch's default type for the value: text, long, float, ...
            spec: dict[str, Any] = _substitute(template["mapping"], name, dynamic_type)
            spec.setdefault("type", dynamic_type)
            return dict(spec)
        return default


    def names(self, path: str) -> bool:
        """Whether a template naming fields (by `match` or `path_match`, not a catch-all for a type) would map a new
        field at `path` of some type: a field such an index knows only once a document brings it."""
        name = path.rpartition(".")[2]
        return any((template.get("match") is not None or template.get("path_match") is not None)
                   and _names_match(template, path, name) for template in self._templates)


_MAPPING_TYPE = {"text": "string", "float": "double"}  # the JSON type a default mapping comes from


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


def _substitute(value: Any, name: str, dynamic_type: str) -> Any:
    if isinstance(value, str):
        return value.replace("{name}", name).replace("{dynamic_type}", dynamic_type)
    if isinstance(value, Mapping):
        return {key: _substitute(item, name, dynamic_type) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, name, dynamic_type) for item in value]
    return value


def dynamic_mapping(sources: Iterable[Mapping[str, Any]], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`base` (a mapping body) plus the fields the `_source` documents would add dynamically, in document order.

    Dotted keys (`"process.pid"`) map like nested objects; an array maps as its first non-null element; null and
    empty arrays add nothing; an explicitly mapped field is left as it is.
    """
    body: dict[str, Any] = copy.deepcopy(dict(base)) if base else {}
    if "mappings" in body and isinstance(body["mappings"], dict):
        body = body["mappings"]
    body.setdefault("properties", {})
    for source in sources:
        extend_mapping(body, source)
    return body


def extend_mapping(body: dict[str, Any], source: Mapping[str, Any]) -> bool:
    """Add to `body` (a mapping body with `properties`, as `dynamic_mapping` returns), in place, the fields the
    `_source` document `source` would add dynamically; true when it added any (a field or an object)."""
    if str(body.get("dynamic", "true")).lower() in ("false", "strict"):
        return False
    return _add_object(body.setdefault("properties", {}), source, runtime=_runtime_names(body),
                       templates=DynamicTemplates.of(body))


def _runtime_names(body: Mapping[str, Any]) -> frozenset[str]:
    """The dotted names of the leaves the body's `runtime` section defines (documents do not map them)."""
    return frozenset(runtime_fields(body)) if body.get("runtime") else frozenset()


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
    to `body` and the same fields and objects to `mapping`; true when it added any. `mapping` is the object a
    `Schema` holds for a growing search: it is never replaced, only added to, and always equals
    `IndexMapping.from_body(body)`.

    Fast path: once the first documents of each kind were seen, nearly every document adds nothing, and proving it
    is the whole cost of mapping a stream. `_Shape` mirrors the body as, per object, the set of names mapped as leaves
    and the objects below it, so that a document's object whose keys are all leaves is known in one set comparison
    (done in C) instead of a lookup per key in Python. The proof is conservative: anything it does not recognise
    (a new key, a dotted key, a scalar where an object is mapped) goes to the walk, which decides; the mirror is made
    again after the walk added something. Checked against the walk by tests/engine/test_growing.py.
    """

    __slots__ = ("_frozen", "_properties", "_runtime", "_shape", "_templates", "body", "mapping")

    def __init__(self, base: Mapping[str, Any] | None = None) -> None:
        self.body = dynamic_mapping((), base)
        self.mapping = IndexMapping.from_body(self.body)
        self._properties: dict[str, Any] = self.body["properties"]
        self._frozen = str(self.body.get("dynamic", "true")).lower() in ("false", "strict")
        self._runtime = _runtime_names(self.body)
        self._shape: _Shape | None = None
        self._templates = DynamicTemplates.of(self.body)

    def extend(self, source: Mapping[str, Any]) -> bool:
        if self._frozen:
            return False
        shape = self._shape
        if shape is None:
            shape = self._shape = _Shape(self._properties, self._runtime)
        if shape.covers(source):
            return False
        added = _add_object(self._properties, source, "", self._report, self._runtime, self._templates)
        if added:
            self._shape = None
        return added

    def _report(self, path: str, spec: dict[str, Any] | None) -> None:
        if spec is None:
            self.mapping.objects.add(path)
        else:
            self.mapping.add_field(path, spec)


class _Shape:
    """One object of a mapping body: the names mapped as leaves (whose values can no longer change the mapping) and
    the objects (with `properties`) below it. A runtime field's name counts as a leaf where no object has it."""

    __slots__ = ("leaves", "objects")

    def __init__(self, properties: Mapping[str, Any], runtime: frozenset[str] = frozenset(), prefix: str = "") -> None:
        objects = {name for name, node in properties.items() if "properties" in node}
        here = {r[len(prefix):] for r in runtime if r.startswith(prefix) and "." not in r[len(prefix):]}
        self.leaves = frozenset(name for name in properties if name not in objects) | (here - objects)
        self.objects = {name: _Shape(properties[name]["properties"], runtime, f"{prefix}{name}.") for name in objects}

    def covers(self, obj: Mapping[str, Any]) -> bool:
        """True when the walk would add nothing for `obj` (a `_source` object at this place); false when it may."""
        leaves = self.leaves
        if obj.keys() <= leaves:
            return True
        objects = self.objects
        for key, value in obj.items():
            if key in leaves:
                continue
            below = objects.get(key)
            if below is None:
                return False
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


def _add_object(
    properties: dict[str, Any],
    obj: Mapping[str, Any],
    prefix: str = "",
    report: Report | None = None,
    runtime: frozenset[str] = frozenset(),
    templates: DynamicTemplates | None = None,
) -> bool:
    added = False
    # whether the walk needs the full path of what it meets
    paths = report is not None or bool(runtime) or templates is not None
    for key, value in obj.items():
        node = properties.get(key)
        if node is not None and "." not in key:
            # the common cases, without the general walk: a field already mapped as a leaf, whose values can no
            # longer change the mapping (most fields, after the first documents); an object mapped as one
            if "properties" not in node:
                continue
            if type(value) is dict:
                if _add_object(node["properties"], value, f"{prefix}{key}." if paths else "", report, runtime,
                               templates):
                    added = True
                continue
        parts = str(key).split(".")
        target = properties
        path = prefix
        for part in parts[:-1]:
            path = f"{path}{part}"
            node = target.get(part)
            if node is None:
                node = target[part] = {"properties": {}}
                added = True
                if report is not None:
                    report(path, None)
            if "properties" not in node:
                break  # a leaf already sits where an object would go; Elasticsearch would reject the document
            target = node["properties"]
            path += "."
        else:
            if _add_value(target, parts[-1], value, path, report, runtime, templates):
                added = True
    return added


def _add_value(
    properties: dict[str, Any],
    name: str,
    value: Any,
    prefix: str = "",
    report: Report | None = None,
    runtime: frozenset[str] = frozenset(),
    templates: DynamicTemplates | None = None,
) -> bool:
    if isinstance(value, list):
        for item in value:
            if item is not None:
                return _add_value(properties, name, item, prefix, report, runtime, templates)
        return False
    if isinstance(value, Mapping):
        node: dict[str, Any] | None = properties.get(name)
        added = node is None
        if node is None:
            node = properties[name] = {"properties": {}}
            if report is not None:
                report(prefix + name, None)
        if "properties" in node:
            added = _add_object(node["properties"], value, f"{prefix}{name}.", report, runtime, templates) or added
        return added
    if name in properties or (runtime and prefix + name in runtime):
        return False
    spec = dynamic_field_spec(value)
    if spec is not None:
        if templates is not None:
            spec = templates.mapping(prefix + name, name, spec)
        properties[name] = spec
        if report is not None:
            report(prefix + name, spec)
        return True
    return False


__all__ = ["DynamicTemplates", "LiveMapping", "dynamic_mapping", "extend_mapping", "merge_mapping"]
