"""Index templates: the mapping an index gets when it is created, as Elasticsearch gives it from its templates.

A real cluster with Elastic's integrations installed maps `logs-endpoint.events.process-*` from Fleet's template
for that data stream, so `process.Ext.token.integrity_level_name` is a known field before any document has it.
rule-runner ships those templates (`templates.json.gz`, 79 of them: Elastic Defend's data streams, the Windows,
System, AWS, Azure, Kubernetes, Okta, GitHub, Microsoft 365, Google Workspace, Network Packet Capture, Auditd
Manager, Defend for Containers, FIM and FortiGate integrations' data streams, and the Winlogbeat, Auditbeat,
Filebeat and Packetbeat templates; built by `scripts/build_templates.py`, loaded lazily, once) and reads users' own
from a directory (`load_templates`).

`Templates.mapping_for(index)` is the one place that decides an index's starting mapping (the embedded store's new
indices, `hunt`/`query` over files, the corpus checks): the template Elasticsearch would pick, merged over the ECS
mapping (`runner.ecs.mapping`: the template's definitions win, objects merge), with the template's other mapping
keys (`dynamic`, `dynamic_templates`, `runtime`, ...) carried as they are. Elasticsearch applies ONE composable
template: of those whose `index_patterns` match the name, the highest `priority`. A data stream's backing index
(`.ds-logs-endpoint.events.process-default-2026.11.29-000001`) gets the template of its data stream's name. Two
templates of one priority whose patterns overlap cannot both exist on a cluster (Elasticsearch refuses the second);
here they can (a user's file beside a shipped one), so ties are broken, in this order, by the most specific matching
pattern (the most characters other than `*`), a user's template over a shipped one, then the name. No template
matching: the ECS mapping alone.

Priorities: Fleet gives an integration data stream's template 200, the Beats theirs 150; a user's template without
`priority` has Elasticsearch's default, 0.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from runner.ecs.mapping import ecs_mapping
from runner.errors import RuleRunnerError

SHIPPED = "shipped"  # `Template.origin` of the templates rule-runner ships
# `.ds-<data stream>-<yyyy.MM.dd>-<generation>`: the name Elasticsearch gives a data stream's backing indices
_BACKING_INDEX = re.compile(r"^\.ds-(?P<stream>.+)-\d{4}\.\d{2}\.\d{2}-\d{6,}$")


class TemplateError(RuleRunnerError):
    """A user's template file that cannot be used; the message starts with the file's path."""


@dataclass(frozen=True)
class Template:
    """One index template: its patterns and priority, and the mapping body it gives (`mappings`)."""

    name: str
    index_patterns: tuple[str, ...]
    priority: int
    mappings: Mapping[str, Any]  # a mapping body: `properties`, and `dynamic`, `dynamic_templates`, `runtime`, ...
    title: str  # what messages call it: the integration's title ("Elastic Defend"), or the user's file name
    origin: str = SHIPPED  # SHIPPED, or the path of the user's file
    example_index: str = ""  # a name an index of it gets, to test a rule's index pattern on ("" : from the pattern)

    def specificity(self, name: str) -> int:
        """How specific the most specific pattern matching `name` is (its characters other than `*`); -1: none."""
        return max((len(p.replace("*", "")) for p in self.index_patterns if fnmatchcase(name, p)), default=-1)

    def example(self) -> str:
        """A name an index created from this template would have."""
        return self.example_index or self.index_patterns[0].replace("*", "default")

    def reached_by(self, pattern: str) -> bool:
        """True when an index of this template would be searched by the index pattern `pattern`."""
        return fnmatchcase(self.example(), pattern)

    @cached_property
    def fields(self) -> frozenset[str]:
        """The dotted names of the fields the template maps (leaves, aliases and multi-field sub-fields)."""
        return frozenset(_leaves(self.mappings.get("properties") or {}, ""))


def data_stream_name(index: str) -> str:
    """The data stream a backing index belongs to (`.ds-<stream>-<date>-<generation>`); any other name as it is."""
    match = _BACKING_INDEX.match(index)
    return match.group("stream") if match else index


class Templates:
    """The templates an index may get, and the decision which one it gets."""

    def __init__(self, templates: Iterable[Template]) -> None:
        self.templates = tuple(templates)
        self._bodies: dict[str, dict[str, Any]] = {}  # template name -> its body merged over ECS

    def __iter__(self) -> Iterator[Template]:
        return iter(self.templates)

    def select(self, index: str) -> Template | None:
        """The template Elasticsearch would create `index` from (see the module's docstring), or None."""
        name = data_stream_name(index)
        best: tuple[int, int, int, str] | None = None
        chosen = None
        for template in self.templates:
            specificity = template.specificity(name)
            if specificity < 0:
                continue
            key = (template.priority, specificity, template.origin != SHIPPED, template.name)
            if best is None or key > best:
                best, chosen = key, template
        return chosen

    def mapping_for(self, index: str) -> dict[str, Any]:
        """A fresh copy of the mapping body `index` starts with: ECS, with its template merged over it."""
        return self.body_of(self.select(index))

    def body_of(self, template: Template | None) -> dict[str, Any]:
        """A fresh copy of the mapping body an index of `template` starts with (None: no template, ECS alone)."""
        if template is None:
            return ecs_mapping()
        key = template.name + "\0" + template.origin
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = _over_ecs(template.mappings)
        return copy.deepcopy(body)

    def defining(self, name: str) -> list[Template]:
        """The templates mapping the field `name`."""
        return [template for template in self.templates if name in template.fields]


def mapping_for(index: str, templates: Templates | None = None) -> dict[str, Any]:
    """The mapping body an index named `index` starts with, from `templates` (default: the shipped ones)."""
    return (shipped_templates() if templates is None else templates).mapping_for(index)


@lru_cache(maxsize=1)
def shipped_templates() -> Templates:
    """The templates rule-runner ships (read on first use, once: 69 kB gzipped, about 20 ms)."""
    data = json.loads(gzip.decompress(resources.files("runner.ecs").joinpath("templates.json.gz").read_bytes()))
    return Templates(Template(name=t["name"], index_patterns=tuple(t["index_patterns"]), priority=int(t["priority"]),
                              mappings=t["mappings"], title=t["package"]["title"], example_index=t["example_index"])
                     for t in data["templates"])


def load_templates(directory: Path | None) -> Templates:
    """The shipped templates, plus the users' own from the `*.json` files of `directory` (None: none). Raises
    `TemplateError` naming the first file that is not a template (`_template_bodies` says what a file may hold)."""
    if directory is None:
        return shipped_templates()
    if not directory.is_dir():
        raise TemplateError(f"{directory}: not a directory of template files")
    own: list[Template] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise TemplateError(f"{path}: cannot read it: {error}") from None
        except json.JSONDecodeError as error:
            raise TemplateError(f"{path}: not JSON: line {error.lineno}:{error.colno}: {error.msg}") from None
        own.extend(_template_bodies(path, data))
    return Templates((*shipped_templates().templates, *own))


def _template_bodies(path: Path, data: Any) -> list[Template]:
    """The templates of one user file. It holds one of:
    - rule-runner's shape: `{"index_patterns": [...], "priority": N, "properties": {...}, "dynamic": ...,
      "dynamic_templates": [...], "runtime": {...}}` (all but `index_patterns` and `properties` optional);
    - an Elasticsearch `PUT _index_template/<name>` body: `{"index_patterns": [...], "priority": N,
      "template": {"mappings": {...}}}`, or a `GET _index_template` answer (`{"index_templates": [{"name": ...,
      "index_template": {...}}]}`);
    - a `GET <index>/_mapping` answer (`{"<index>": {"mappings": {...}}}`): each index's mapping for that exact name.
    """
    def bad(problem: str) -> TemplateError:
        return TemplateError(f"{path}: {problem}")

    if not isinstance(data, dict):
        raise bad("expected a JSON object (an index template or a _mapping answer)")
    if "index_templates" in data:
        entries = data["index_templates"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("index_template"), dict)
                                                    for e in entries):
            raise bad('"index_templates" must be a list of {"name": ..., "index_template": {...}}')
        return [_one(path, f"index_templates[{i}]", str(e.get("name") or path.stem), e["index_template"], bad)
                for i, e in enumerate(entries)]
    if "index_patterns" in data:
        return [_one(path, "", path.stem, data, bad)]
    if data and all(isinstance(v, dict) and set(v) == {"mappings"} for v in data.values()):
        return [_one(path, index, index, {"index_patterns": [index], "template": v}, bad) for index, v in data.items()]
    raise bad('no "index_patterns": expected an index template ({"index_patterns": [...], "template": '
              '{"mappings": {...}}}, or our shape with "properties") or a GET _mapping answer')


def _one(path: Path, where: str, name: str, data: Mapping[str, Any], bad: Any) -> Template:
    at = f"{where}." if where else ""
    patterns = data.get("index_patterns")
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise bad(f"{at}index_patterns: expected a non-empty list of index patterns")
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
        raise bad(f"{at}priority: expected a whole number, at least 0 (got {priority!r})")
    if "template" in data:
        template = data["template"]
        if not isinstance(template, dict):
            raise bad(f"{at}template: expected an object")
        mappings = template.get("mappings", {})
        where_mappings = f"{at}template.mappings"
    else:
        mappings = {key: value for key, value in data.items() if key not in ("index_patterns", "priority")}
        where_mappings = where or "(the file)"
    if not isinstance(mappings, dict):
        raise bad(f"{where_mappings}: expected a mapping body (an object)")
    if "_doc" in mappings and isinstance(mappings["_doc"], dict):  # a typed (6.x) mapping
        mappings = mappings["_doc"]
    for key, kind in (("properties", dict), ("dynamic_templates", list), ("runtime", dict)):
        if key in mappings and not isinstance(mappings[key], kind):
            raise bad(f"{where_mappings}.{key}: expected {'an object' if kind is dict else 'a list'}")
    problem = _check_properties(mappings.get("properties") or {}, "")
    if problem is not None:
        raise bad(f"{where_mappings}.properties.{problem}")
    return Template(name=name, index_patterns=tuple(patterns), priority=priority, mappings=mappings,
                    title=f"{path.name}" + (f" ({name})" if name != path.stem else ""), origin=str(path))


def _check_properties(properties: Mapping[str, Any], prefix: str) -> str | None:
    """The first field whose definition is not a mapping (`"<path>: ..."`), or None."""
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            return f"{prefix}{name}: expected a field mapping (an object with a type, or properties)"
        if "properties" in spec:
            if not isinstance(spec["properties"], dict):
                return f"{prefix}{name}.properties: expected an object"
            problem = _check_properties(spec["properties"], f"{prefix}{name}.properties.")
            if problem is not None:
                return problem
        elif "type" in spec and not isinstance(spec["type"], str):
            return f"{prefix}{name}.type: expected a type name"
    return None


def _leaves(properties: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            yield from _leaves(spec["properties"], path + ".")
            continue
        yield path
        for sub in spec.get("fields") or {}:
            yield f"{path}.{sub}"


def _over_ecs(mappings: Mapping[str, Any]) -> dict[str, Any]:
    body = ecs_mapping()
    merged = _merge(body["properties"], mappings.get("properties") or {})
    return {**{key: copy.deepcopy(value) for key, value in mappings.items() if key != "properties"},
            "properties": merged}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s definitions: `over`'s win, except that two objects merge."""
    for name, spec in over.items():
        mine = base.get(name)
        if mine is not None and "properties" in mine and "properties" in spec:
            base[name] = {**copy.deepcopy({k: v for k, v in spec.items() if k != "properties"}),
                          "properties": _merge(mine["properties"], spec["properties"])}
        else:
            base[name] = copy.deepcopy(spec)
    return base


def template_indices(patterns: Sequence[str], templates: Templates | None = None) -> dict[str, Template | None]:
    """The indices a cluster with `templates` installed (default: the shipped ones) would search for `patterns`, with
    the template each was created from (`Templates.body_of` gives its mapping): one per template a pattern reaches,
    named by its example index; and, for a pattern reaching no template, one ECS-only index (None) named by the
    pattern. What `validate` checks a rule against before any event exists, and how the corpus is checked."""
    templates = shipped_templates() if templates is None else templates
    indices: dict[str, Template | None] = {}
    for pattern in patterns:
        reached = [t for t in templates if t.reached_by(pattern)]
        for template in reached:
            index = template.example()
            if index not in indices:
                indices[index] = templates.select(index)
        if not reached:
            indices.setdefault(pattern.replace("*", "default"), None)
    return indices


__all__ = ["SHIPPED", "Template", "TemplateError", "Templates", "data_stream_name", "load_templates", "mapping_for",
           "shipped_templates", "template_indices"]
