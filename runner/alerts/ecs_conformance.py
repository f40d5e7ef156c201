"""Which source values fit the ECS mapping of Kibana's alerts index (Kibana `computeIsEcsCompliant`).

Kibana copies an event's fields into its alert, but first drops each value whose type conflicts with the ECS mapping
its alerts index has (`"user": "SYSTEM"` where ECS has an object, `source.port: "ssh"` where it has a `long`): such a
value would fail the alert's bulk item. What the index maps is Kibana's `ecsFieldMap` (`@kbn/alerts-as-data-utils`):
every ECS field but the `constant_keyword`, `nested` and `flattened` ones and the fields below those, and a few
experimental fields. From it, for a path (the keys from the document's root joined with dots, whatever mix of dotted
keys and objects spelt it):

- when a proper prefix of the path (its dot-separated parts, empty parts skipped) is an ECS field that is not an
  object, no value fits (`agent.name.first`: `agent.name` is a keyword);
- a `nested` ECS field takes objects only (`threat.enrichments`);
- a path that is no ECS field and no object above ECS fields takes anything (fields outside ECS cannot conflict);
- `geo_point` takes anything; `long`, `float`/`scaled_float`, `ip`, `date`, `boolean` take what `ecs_types` says;
- an object in ECS (`object`/`flattened`, `geo_point`, or a path above ECS fields: `agent`, `process.parent`) takes
  objects only; any other ECS field takes anything but an object.

The field types are ECS 9.4.0's (`runner.ecs`). Each path's rule is worked out once (`path_rule`, cached); alert
building walks events with `ecs_tree()`, the same rules laid out by path segment, so that a field's rule costs one
dict lookup per key rather than a joined path string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from runner.alerts.ecs_types import is_valid_boolean, is_valid_date, is_valid_ip, is_valid_long, is_valid_numeric
from runner.ecs import ecs_fields

# types Kibana leaves out of the alerts index's ECS mappings, with every field below them (composite mapping conflicts)
EXCLUDED_TYPES = frozenset({"constant_keyword", "nested", "flattened"})
# ECS fields from RFCs still at stage 2, which Kibana leaves out too
EXPERIMENTAL_FIELDS = frozenset({
    "faas.trigger", "faas.trigger.request_id", "faas.trigger.type", "host.cpu.system.norm.pct",
    "host.cpu.user.norm.pct", "host.fsstats.total_size.total", "host.fsstats.total_size.used",
    "host.fsstats.total_size.used.pct", "host.load.norm.1", "host.load.norm.5", "host.load.norm.15",
    "host.memory.actual.used.bytes", "host.memory.actual.used.pct", "host.memory.total", "process.io.bytes",
})

# what a value at a path must be (`path_rule`)
ANY = 0  # anything: no ECS field (or a geo_point)
INVALID = 1  # nothing: a prefix of the path is an ECS leaf
OBJECT = 2  # an object (ECS object or nested field)
LEAF = 3  # anything but an object
LONG = 4
NUMERIC = 5
IP = 6
DATE = 7
BOOLEAN = 8
# the rules an object passes
TAKES_OBJECTS = frozenset({ANY, OBJECT})

_TYPED: dict[str, int] = {"long": LONG, "float": NUMERIC, "scaled_float": NUMERIC, "ip": IP, "date": DATE,
                          "boolean": BOOLEAN}
_SCALAR_CHECKS: dict[int, Callable[[Any], bool]] = {
    LONG: is_valid_long, NUMERIC: is_valid_numeric, IP: is_valid_ip, DATE: is_valid_date, BOOLEAN: is_valid_boolean,
}


@dataclass(frozen=True)
class _FieldMap:
    """Kibana's `ecsFieldMap` (types by path), the objects above its fields, and ECS's `nested` fields."""

    types: Mapping[str, str]
    objects: frozenset[str]
    nested: frozenset[str]


@lru_cache(maxsize=1)
def _field_map() -> _FieldMap:
    fields = ecs_fields()
    excluded_parents = tuple(name + "." for name, spec in fields.items() if spec["type"] in EXCLUDED_TYPES)
    types = {
        name: spec["type"] for name, spec in fields.items()
        if spec["type"] not in EXCLUDED_TYPES and name not in EXPERIMENTAL_FIELDS
        and not name.startswith(excluded_parents)
    }
    objects = set()
    for name in types:
        parts = name.split(".")
        for end in range(1, len(parts)):
            objects.add(".".join(parts[:end]))
    nested = frozenset(name for name, spec in fields.items() if spec["type"] == "nested")
    return _FieldMap(types, frozenset(objects), nested)


def _is_ecs_field(path: str, fields: _FieldMap) -> bool:
    return path in fields.types or path in fields.objects


def _is_ecs_object(path: str, fields: _FieldMap) -> bool:
    return fields.types.get(path) in ("object", "flattened", "geo_point") or path in fields.objects


def _prefixes_valid(path: str, fields: _FieldMap) -> bool:
    """`validateDottedPathInEcsMappings`: no proper prefix is an ECS field that is not an object (the prefixes are
    built from the path's parts, each empty part skipped, as `[acc, key].filter(Boolean).join('.')` builds them)."""
    prefix = ""
    for part in path.split(".")[:-1]:
        prefix = f"{prefix}.{part}" if prefix and part else (prefix or part)
        if _is_ecs_field(prefix, fields) and not _is_ecs_object(prefix, fields):
            return False
    return True


@lru_cache(maxsize=65536)
def path_rule(path: str) -> int:
    """What a value at `path` must be to stay in the alert: `computeIsEcsCompliant` less the value."""
    fields = _field_map()
    if "." in path and not _prefixes_valid(path, fields):
        return INVALID
    if path in fields.nested:
        return OBJECT
    if not _is_ecs_field(path, fields):
        return ANY
    kind = fields.types.get(path)
    if kind == "geo_point":
        return ANY
    if kind in _TYPED:
        return _TYPED[kind]
    return OBJECT if _is_ecs_object(path, fields) else LEAF


def _never(value: Any) -> bool:
    return False


def scalar_check(rule: int) -> Callable[[Any], bool] | None:
    """How a value that is neither an object nor an array is checked under `rule`: None when any such value fits."""
    if rule in (ANY, LEAF):
        return None
    if rule in (OBJECT, INVALID):
        return _never
    return _SCALAR_CHECKS[rule]


def fits(rule: int, value: Any) -> bool:
    """Whether a value that is not an array passes the rule (arrays are checked element by element)."""
    if rule == ANY:
        return True
    if rule == OBJECT:
        return isinstance(value, dict)
    if rule == LEAF:
        return not isinstance(value, dict)
    if rule == INVALID:
        return False
    return _SCALAR_CHECKS[rule](value)


def is_ecs_compliant(value: Any, path: str) -> bool:
    """Kibana's `computeIsEcsCompliant(value, path)` for a value that is not an array."""
    return fits(path_rule(path), value)


@dataclass(eq=False)
class Node:
    """A path of the ECS tree (a field, an object above fields, a nested field, or the root): its rule, and the next
    path segments that lead to ECS paths. A plain key (not empty, no dot) missing from `children` leads out of ECS:
    everything below it takes anything."""

    path: str
    rule: int
    children: dict[str, Node] = field(default_factory=dict)
    check: Callable[[Any], bool] | None = None  # `scalar_check(rule)`
    # the children whose scalars need a check (typed fields, objects), with the check: most keys of an event are
    # plain keywords or outside ECS, whose scalars always fit
    strict: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    # keys met below this node that are plain (not empty, no dot) and not in `strict`: filled by the walk that
    # copies events (`source_fast.alert_source_copy`), so that an object of only such keys is known at one set operation
    safe: set[str] = field(default_factory=set)


@lru_cache(maxsize=1)
def ecs_tree() -> Node:
    """The root of the ECS tree (its children are the top-level ECS names)."""
    fields = _field_map()
    root = Node("", ANY)
    for name in sorted({*fields.types, *fields.objects, *fields.nested}):
        node = root
        parts = name.split(".")
        for end, part in enumerate(parts, start=1):
            child = node.children.get(part)
            if child is None:
                path = ".".join(parts[:end])
                rule = path_rule(path)
                child = node.children[part] = Node(path, rule, check=scalar_check(rule))
                if child.check is not None:
                    node.strict[part] = child.check
            node = child
    return root


__all__ = [
    "ANY",
    "BOOLEAN",
    "DATE",
    "EXCLUDED_TYPES",
    "EXPERIMENTAL_FIELDS",
    "INVALID",
    "IP",
    "LEAF",
    "LONG",
    "NUMERIC",
    "OBJECT",
    "TAKES_OBJECTS",
    "Node",
    "ecs_tree",
    "fits",
    "is_ecs_compliant",
    "path_rule",
    "scalar_check",
]
