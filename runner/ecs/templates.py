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
matching: the ECS mapping alone. Patterns match as Elasticsearch's `Regex.simpleMatch` does: `*` is the only
wildcard (`?` and `[` are plain characters).

A user's `GET <index>/_mapping` answer is not a template: it is that exact index's mapping on the cluster, so it is
the index's mapping as it is (NOT merged over ECS: a cluster's index has only what its mapping says), and it takes
precedence over every template; it is looked up by the exact name before a backing index is turned into its data
stream's name. An index template's `composed_of` is resolved from the component templates given in the same
directory (`GET _component_template` answers, or `PUT _component_template/<name>` bodies in `<name>.json`), as
Elasticsearch composes them: the component templates' mappings in order, then the index template's own, each
merged over the previous (a later field definition replaces an earlier one, objects merge: their fields, and their
parameters as ObjectMapper.merge does, an earlier `dynamic` or `enabled` kept unless the later object sets it;
`dynamic_templates` and `runtime` fields replace one of the same name); a component template named but not given is an error (unless in
`ignore_missing_component_templates`). Every user file is checked whole when loaded, its mapping built as it will be
used (over ECS for a template): a field definition, a `runtime` field, a dynamic template or an alias that a cluster
would refuse is a `TemplateError` naming the file and the JSON path of the problem, never a failure later.
(That check builds the mapping with the EQL layer's `IndexMapping` and parses date formats with the engine's parser,
the two that will read it: hence this package's only imports from other layers.)

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
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from runner.ecs.mapping import ecs_body, ecs_mapping
from runner.engine import date_range, substitute_template
from runner.eql import IndexMapping, MappingError, runtime_fields
from runner.errors import RuleRunnerError

SHIPPED = "shipped"  # `Template.origin` of the templates rule-runner ships
# `.ds-<data stream>-<yyyy.MM.dd>-<generation>`: the name Elasticsearch gives a data stream's backing indices (7.11
# on; 7.9 and 7.10 named them `.ds-<data stream>-<generation>`)
_BACKING_INDEX = re.compile(r"^\.ds-(?P<stream>.+?)(?:-\d{4}\.\d{2}\.\d{2})?-\d{6,}$")


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
    exact: bool = False  # a `GET <index>/_mapping` answer: the mapping of the index named in `index_patterns`

    def specificity(self, name: str) -> int:
        """How specific the most specific pattern matching `name` is (its characters other than `*`); -1: none."""
        return max((len(p.replace("*", "")) for p in self.index_patterns if simple_match(p, name)), default=-1)

    def example(self) -> str:
        """A name an index created from this template would have."""
        return self.example_index or self.index_patterns[0].replace("*", "default")

    def reached_by(self, pattern: str) -> bool:
        """True when an index of this template would be searched by the index pattern `pattern`."""
        example = self.example()  # a backing index's `_mapping`: searched by its data stream's name too
        return simple_match(pattern, example) or simple_match(pattern, data_stream_name(example))

    @cached_property
    def fields(self) -> frozenset[str]:
        """The dotted names of the fields the template maps (leaves, aliases and multi-field sub-fields)."""
        return frozenset(_leaves(self.mappings.get("properties") or {}, ""))


def simple_match(pattern: str, name: str) -> bool:
    """Whether `name` matches the index pattern `pattern` as Elasticsearch's `Regex.simpleMatch` matches it: `*` is
    any characters, every other character itself (no `?` or `[...]` as in shell globbing)."""
    return _simple_pattern(pattern).fullmatch(name) is not None


@lru_cache(maxsize=4096)
def _simple_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


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
        """The template Elasticsearch would create `index` from (see the module's docstring), or None. A user's
        `GET <index>/_mapping` answer for that exact name comes first."""
        for template in self.templates:
            if template.exact and index in template.index_patterns:
                return template
        name = data_stream_name(index)
        best: tuple[int, int, int, str] | None = None
        chosen = None
        for template in self.templates:
            if template.exact:
                continue
            specificity = template.specificity(name)
            if specificity < 0:
                continue
            key = (template.priority, specificity, template.origin != SHIPPED, template.name)
            if best is None or key > best:
                best, chosen = key, template
        return chosen

    def mapping_for(self, index: str) -> dict[str, Any]:
        """A fresh copy of the mapping body `index` starts with: ECS, with its template merged over it (a
        `_mapping` answer for it: that mapping alone)."""
        return self.body_of(self.select(index))

    def body_of(self, template: Template | None) -> dict[str, Any]:
        """A fresh copy of the mapping body an index of `template` starts with (None: no template, ECS alone)."""
        if template is None:
            return ecs_mapping()
        return copy.deepcopy(self.shared_body(template))

    def shared_body(self, template: Template) -> dict[str, Any]:
        """`body_of` without the copy, for readers that never change it (`IndexMapping.from_body`)."""
        key = template.name + "\0" + template.origin
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = _as_is(template.mappings) if template.exact else _over_ecs(template.mappings)
        return body

    def defining(self, name: str) -> list[Template]:
        """The templates mapping the field `name`."""
        return [template for template in self.templates if name in template.fields]


def mapping_for(index: str, templates: Templates | None = None) -> dict[str, Any]:
    """The mapping body an index named `index` starts with, from `templates` (default: the shipped ones)."""
    return (shipped_templates() if templates is None else templates).mapping_for(index)


@lru_cache(maxsize=1)
def shipped_templates() -> Templates:
    """The templates rule-runner ships (read on first use, once: 69 kB gzipped, 15-18 ms)."""
    data = json.loads(gzip.decompress(resources.files("runner.ecs").joinpath("templates.json.gz").read_bytes()))
    return Templates(Template(name=t["name"], index_patterns=tuple(t["index_patterns"]), priority=int(t["priority"]),
                              mappings=t["mappings"], title=t["package"]["title"], example_index=t["example_index"])
                     for t in data["templates"])


def load_templates(directory: Path | None) -> Templates:
    """The shipped templates, plus the users' own from the `*.json` files of `directory` (None: none). Raises
    `TemplateError` naming the first file that cannot be used (`_template_bodies` says what a file may hold; each is
    checked whole: `_problem`)."""
    if directory is None:
        return shipped_templates()
    if not directory.is_dir():
        raise TemplateError(f"{directory}: not a directory of template files")
    files: list[tuple[Path, Any]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise TemplateError(f"{path}: cannot read it: {error}") from None
        except json.JSONDecodeError as error:
            raise TemplateError(f"{path}: not JSON: line {error.lineno}:{error.colno}: {error.msg}") from None
        files.append((path, data))
    components: dict[str, Mapping[str, Any]] = {}  # component template name -> its mappings
    for path, data in files:
        components.update(_component_templates(path, data))
    own: list[Template] = []
    exact: dict[str, Path] = {}  # index name -> the file giving its _mapping
    for path, data in files:
        if _is_component_file(data):
            continue
        for template in _template_bodies(path, data, components):
            if template.exact:
                index = template.index_patterns[0]
                if index in exact:
                    raise TemplateError(f"{path}: {index}: its mapping is given by {exact[index]} too")
                exact[index] = path
            own.append(template)
    return Templates((*shipped_templates().templates, *own))


def _is_component_file(data: Any) -> bool:
    """A `GET _component_template` answer, or a `PUT _component_template/<name>` body (a `template`, no patterns)."""
    return isinstance(data, dict) and ("component_templates" in data
                                       or ("template" in data and "index_patterns" not in data))


def _component_templates(path: Path, data: Any) -> dict[str, Mapping[str, Any]]:
    """The component templates of one file, by name, their mappings checked as far as they stand alone."""
    if not _is_component_file(data):
        return {}
    if "component_templates" in data:
        entries = data["component_templates"]
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("component_template"), dict)
                for e in entries):
            raise TemplateError(f'{path}: "component_templates" must be a list of {{"name": ..., '
                                f'"component_template": {{"template": {{"mappings": {{...}}}}}}}}')
        named = [(e["name"], f"component_templates[{i}].component_template", e["component_template"])
                 for i, e in enumerate(entries)]
    else:
        named = [(path.stem, "", data)]
    found: dict[str, Mapping[str, Any]] = {}
    for name, where, body in named:
        at = f"{where}." if where else ""
        template = body.get("template", {})
        if not isinstance(template, dict):
            raise TemplateError(f"{path}: {at}template: expected an object")
        mappings = _untyped(template.get("mappings", {}))
        if not isinstance(mappings, dict):
            raise TemplateError(f"{path}: {at}template.mappings: expected a mapping body (an object)")
        problem = _problem(mappings, f"{at}template.mappings", None)
        if problem is not None:
            raise TemplateError(f"{path}: {problem}")
        found[name] = mappings
    return found


def _template_bodies(path: Path, data: Any, components: Mapping[str, Mapping[str, Any]]) -> list[Template]:
    """The templates of one user file. It holds one of:
    - rule-runner's shape: `{"index_patterns": [...], "priority": N, "properties": {...}, "dynamic": ...,
      "dynamic_templates": [...], "runtime": {...}}` (all but `index_patterns` and `properties` optional);
    - an Elasticsearch `PUT _index_template/<name>` body: `{"index_patterns": [...], "priority": N,
      "composed_of": [...], "template": {"mappings": {...}}}`, or a `GET _index_template` answer
      (`{"index_templates": [{"name": ..., "index_template": {...}}]}`); `composed_of` names `components`;
    - a `GET <index>/_mapping` answer (`{"<index>": {"mappings": {...}}}`): each index's mapping for that exact name.
    (Component templates, `GET _component_template` answers or `PUT _component_template/<name>` bodies, are read
    before: `_component_templates`.)
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
        return [_one(path, f"index_templates[{i}].index_template", str(e.get("name") or path.stem),
                     e["index_template"], components)
                for i, e in enumerate(entries)]
    if "index_patterns" in data:
        return [_one(path, "", path.stem, data, components)]
    if data and all(isinstance(v, dict) and set(v) == {"mappings"} for v in data.values()):
        return [_exact(path, index, v["mappings"]) for index, v in data.items()]
    raise bad('no "index_patterns": expected an index template ({"index_patterns": [...], "template": '
              '{"mappings": {...}}}, or our shape with "properties"), a component template ({"template": '
              '{"mappings": {...}}}) or a GET _mapping answer')


def _one(path: Path, where: str, name: str, data: Mapping[str, Any],
         components: Mapping[str, Mapping[str, Any]]) -> Template:
    def bad(problem: str) -> TemplateError:
        return TemplateError(f"{path}: {problem}")

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
        mappings = {key: value for key, value in data.items() if key not in _INDEX_TEMPLATE_KEYS}
        where_mappings = where or "(the file)"
    if not isinstance(mappings, dict):
        raise bad(f"{where_mappings}: expected a mapping body (an object)")
    mappings = _untyped(mappings)
    composed = _composed(data, at, components, bad) if "composed_of" in data else []
    # its own mappings, with the paths the file has; then, composed, what the index gets
    problem = _problem(mappings, where_mappings, None if composed else True)
    if problem is None and composed:
        mappings = _compose([*composed, mappings])
        problem = _problem(mappings, f"{where_mappings} composed with {', '.join(data['composed_of'])}", True)
    if problem is not None:
        raise bad(problem)
    return Template(name=name, index_patterns=tuple(patterns), priority=priority, mappings=mappings,
                    title=f"{path.name}" + (f" ({name})" if name != path.stem else ""), origin=str(path))


def _exact(path: Path, index: str, mappings: Any) -> Template:
    """A `GET <index>/_mapping` answer's entry: the mapping of the index `index`, as it is."""
    if not isinstance(mappings, dict):
        raise TemplateError(f"{path}: {index}.mappings: expected a mapping body (an object)")
    mappings = _untyped(mappings)
    problem = _problem(mappings, f"{index}.mappings", False)
    if problem is not None:
        raise TemplateError(f"{path}: {problem}")
    return Template(name=index, index_patterns=(index,), priority=0, mappings=mappings,
                    title=f"{path.name} ({index})", origin=str(path), exact=True)


def _untyped(mappings: Any) -> Any:
    if isinstance(mappings, dict) and "_doc" in mappings and isinstance(mappings["_doc"], dict):  # typed (6.x)
        return mappings["_doc"]
    return mappings


def _composed(data: Mapping[str, Any], at: str, components: Mapping[str, Mapping[str, Any]],
              bad: Any) -> list[Mapping[str, Any]]:
    """The mappings of the component templates `data` is composed of, in its order (ES: the missing ones listed in
    `ignore_missing_component_templates` are skipped)."""
    names = data["composed_of"]
    ignore = data.get("ignore_missing_component_templates", [])
    for key, value in (("composed_of", names), ("ignore_missing_component_templates", ignore)):
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise bad(f"{at}{key}: expected a list of component template names")
    missing = [n for n in names if n not in components and n not in ignore]
    if missing:
        raise bad(f"{at}composed_of: component templates not found: {', '.join(missing)} (give their "
                  f"GET _component_template answer, or PUT _component_template/<name> bodies as <name>.json, in "
                  f"the same directory)")
    return [components[n] for n in names if n in components]


def _compose(bodies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mapping bodies merged in order as Elasticsearch merges a composable template's mappings: a later field
    definition replaces an earlier one, objects merge; a `dynamic_templates` entry or `runtime` field replaces the
    earlier one of the same name (in its place); any other key, the later value."""
    merged: dict[str, Any] = {}
    for body in bodies:
        for key, value in body.items():
            if key == "properties":
                merged[key] = _merge(merged.get(key, {}), value)
            elif key == "runtime":
                merged[key] = {**merged.get(key, {}), **copy.deepcopy(value)}
            elif key == "dynamic_templates":
                by_name: dict[str, Any] = {next(iter(entry)): entry for entry in merged.get(key, [])}
                by_name.update({next(iter(entry)): copy.deepcopy(entry) for entry in value})
                merged[key] = list(by_name.values())
            else:
                merged[key] = copy.deepcopy(value)
    return merged


_DYNAMIC = ("true", "false", "strict", "runtime")
# the keys of an Elasticsearch index template body other than `template`: not mapping keys in rule-runner's shape
_INDEX_TEMPLATE_KEYS = ("index_patterns", "priority", "composed_of", "ignore_missing_component_templates", "version",
                        "_meta", "data_stream", "allow_auto_create")
# ES's `DynamicTemplate.XContentFieldType` names, the values of `match_mapping_type` (and `*`)
_MAPPING_TYPES = ("object", "string", "long", "double", "boolean", "date", "binary", "*")
_NAME_CONDITIONS = ("match", "unmatch", "path_match", "path_unmatch")


def _problem(mappings: Mapping[str, Any], where: str, over_ecs: bool | None) -> str | None:
    """The first thing in the mapping body `mappings` (found at `where` in its file) that Elasticsearch would refuse,
    worded `<JSON path>: <problem>`, or None. Unless `over_ecs` is None, the body is also built as the engine builds
    it (`IndexMapping`), and its aliases must point to a field of the body an index gets from it (merged over ECS,
    or as it is); ECS itself, known good, is not built again (a file of a cluster's templates may hold hundreds)."""
    for key, kind in (("properties", dict), ("dynamic_templates", list), ("runtime", dict)):
        if key in mappings and not isinstance(mappings[key], kind):
            return f"{where}.{key}: expected {'an object' if kind is dict else 'a list'}"
    if "dynamic" in mappings and str(mappings["dynamic"]).lower() not in _DYNAMIC:
        return f"{where}.dynamic: expected true, false, strict or runtime (got {mappings['dynamic']!r})"
    aliases: list[tuple[str, str, str]] = []  # (JSON path, dotted name, target)
    problem = _check_properties(mappings.get("properties") or {}, f"{where}.properties.", "", aliases)
    if problem is not None:
        return problem
    for name, spec in (mappings.get("runtime") or {}).items():
        try:
            runtime_fields({"runtime": {name: spec}})
        except MappingError as error:
            return f"{where}.runtime.{name}: {error}"
        if "format" in spec:
            problem = _format_problem(spec["format"], f"{where}.runtime.{name}.format")
            if problem is not None:
                return problem
    for i, entry in enumerate(mappings.get("dynamic_templates") or []):
        problem = _check_dynamic_template(entry, f"{where}.dynamic_templates[{i}]")
        if problem is not None:
            return problem
    if over_ecs is None:
        return None
    try:
        IndexMapping.from_body(mappings)
    except (MappingError, ValueError, TypeError, AttributeError) as error:
        return f"{where}: {error}"
    fields: set[str] = set()
    names: set[str] = set()  # the aliases of the body
    _merged_names(ecs_body()["properties"] if over_ecs else {}, mappings.get("properties") or {}, "", fields, names)
    for at, name, target in aliases:
        # Elasticsearch's FieldAliasMapper.AliasValidator
        if target == name:
            return f"{at}: Invalid [path] value [{target}] for field alias [{name}]: an alias cannot refer to itself."
        if target in names:
            return (f"{at}: Invalid [path] value [{target}] for field alias [{name}]: an alias cannot refer to "
                    f"another alias.")
        if target not in fields:
            return (f"{at}: Invalid [path] value [{target}] for field alias [{name}]: an alias must refer to an "
                    f"existing field in the mappings.")
    return None


def _merged_names(base: Mapping[str, Any], over: Mapping[str, Any], prefix: str, fields: set[str],
                  aliases: set[str]) -> None:
    """The fields and aliases of the properties `over` merged over `base` (as `_merge` merges them), by dotted name."""
    for name, spec in base.items():
        if name not in over:
            _names(spec, prefix + name, fields, aliases)
    for name, spec in over.items():
        mine = base.get(name)
        if mine is not None and "properties" in mine and "properties" in spec:
            _merged_names(mine["properties"], spec["properties"], f"{prefix}{name}.", fields, aliases)
        else:
            _names(spec, prefix + name, fields, aliases)


def _names(spec: Mapping[str, Any], path: str, fields: set[str], aliases: set[str]) -> None:
    if "properties" in spec or spec.get("type") in ("object", "nested"):
        for name, sub in (spec.get("properties") or {}).items():
            _names(sub, f"{path}.{name}", fields, aliases)
    elif spec.get("type") == "alias":
        aliases.add(path)
    else:
        fields.add(path)
        fields.update(f"{path}.{sub}" for sub in spec.get("fields") or {})


def _check_properties(properties: Mapping[str, Any], at: str, prefix: str,
                      aliases: list[tuple[str, str, str]]) -> str | None:
    """The first field whose definition is not one (`"<JSON path>: ..."`), or None; `aliases` gets the aliases."""
    for name, spec in properties.items():
        problem = _check_field(spec, f"{at}{name}", f"{prefix}{name}", aliases)
        if problem is not None:
            return problem
    return None


def _check_field(spec: Any, at: str, path: str, aliases: list[tuple[str, str, str]]) -> str | None:
    if not isinstance(spec, dict):
        return f"{at}: expected a field mapping (an object with a type, or properties)"
    if "type" in spec and not isinstance(spec["type"], str):
        return f"{at}.type: expected a type name"
    if "properties" in spec:
        if not isinstance(spec["properties"], dict):
            return f"{at}.properties: expected an object"
        return _check_properties(spec["properties"], f"{at}.properties.", f"{path}.", aliases)
    if spec.get("type") == "alias":
        if not isinstance(spec.get("path"), str):
            return f"{at}.path: expected the path of the field the alias refers to"
        aliases.append((f"{at}.path", path, spec["path"]))
        return None
    if "fields" in spec:
        if not isinstance(spec["fields"], dict):
            return f"{at}.fields: expected an object of multi-fields"
        for sub, sub_spec in spec["fields"].items():
            if isinstance(sub_spec, dict) and "type" not in sub_spec:
                return f"{at}.fields.{sub}: expected a field mapping with a type"
            problem = _check_field(sub_spec, f"{at}.fields.{sub}", f"{path}.{sub}", aliases)
            if problem is not None:
                return problem
    if "ignore_above" in spec:
        value = spec["ignore_above"]
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            return f"{at}.ignore_above: expected a whole number, at least 0 (got {value!r})"
    if "format" in spec:
        return _format_problem(spec["format"], f"{at}.format")
    return None


def _format_problem(value: Any, at: str) -> str | None:
    """A date `format` the engine cannot parse dates with (it would fail every search of the index), or None."""
    if not isinstance(value, str):
        return f"{at}: expected a date format (a string)"
    try:
        date_range("1970-01-01T00:00:00Z", value)
    except ValueError as error:
        return f"{at}: {error}"
    return None


def _check_dynamic_template(entry: Any, at: str) -> str | None:
    if not isinstance(entry, dict) or len(entry) != 1 or not isinstance(next(iter(entry.values())), dict):
        return f'{at}: expected {{"<name>": {{...}}}}: an object with one key, the template\'s name'
    name, spec = next(iter(entry.items()))
    at = f"{at}.{name}"
    for key in _NAME_CONDITIONS:
        value = spec.get(key)
        if value is not None and not (isinstance(value, str) or (isinstance(value, list)
                                                                  and all(isinstance(v, str) for v in value))):
            return f"{at}.{key}: expected a pattern or a list of patterns"
    for key in ("match_mapping_type", "unmatch_mapping_type"):
        kinds = spec.get(key)
        for kind in [] if kinds is None else kinds if isinstance(kinds, list) else [kinds]:
            if kind not in _MAPPING_TYPES:
                return (f"{at}.{key}: No field type matched on [{kind}], possible values are "
                        f"[{', '.join(_MAPPING_TYPES[:-1])}]")
    pattern_kind = spec.get("match_pattern", "simple")
    if pattern_kind not in ("simple", "regex"):
        return f"{at}.match_pattern: No matching pattern matched on [{pattern_kind}]"
    if pattern_kind == "regex":
        for key in _NAME_CONDITIONS:
            value = spec.get(key)
            for pattern in (value if isinstance(value, list) else [] if value is None else [value]):
                try:
                    re.compile(pattern)
                except re.error as error:
                    return f"{at}.{key}: not a regular expression: {pattern!r}: {error}"
    if "mapping" not in spec and "runtime" not in spec:
        return f'{at}: expected a "mapping" (or "runtime") object'
    if "mapping" in spec and "runtime" in spec:  # Elasticsearch's message (DynamicTemplate.parse)
        return f"{at}: mapping and runtime cannot be both specified in the same dynamic template [{name}]"
    for key in ("mapping", "runtime"):
        if key in spec and not isinstance(spec[key], dict):
            return f"{at}.{key}: expected an object"
    if "mapping" in spec:
        # as a new field "x" whose default dynamic type is keyword would get it
        mapping = {"type": "keyword", **substitute_template(spec["mapping"], "x", "keyword")}
        problem = _check_field(mapping, f"{at}.mapping", "x", [])
        if problem is not None:
            return problem
        try:
            IndexMapping.from_body({"properties": {"x": mapping}})
        except (MappingError, ValueError, TypeError, AttributeError) as error:
            return f"{at}.mapping: {error}"
    if "runtime" in spec:
        kinds = spec.get("match_mapping_type")
        for kind in [] if kinds is None else kinds if isinstance(kinds, list) else [kinds]:
            if kind in ("object", "binary"):  # Elasticsearch's message (DynamicTemplate.parse)
                return (f"{at}: Dynamic template [{name}] defines a runtime field but type [{kind}] is not supported "
                        "as runtime field")
        try:  # as a new field "x" whose default runtime type is keyword would get it
            runtime_fields({"runtime": {"x": {"type": "keyword", **substitute_template(spec["runtime"], "x", "keyword")}}})
        except (MappingError, ValueError, TypeError, AttributeError) as error:
            return f"{at}.runtime: {error}"
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


def _as_is(mappings: Mapping[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(dict(mappings)), "properties": copy.deepcopy(mappings.get("properties") or {})}


def _over_ecs(mappings: Mapping[str, Any]) -> dict[str, Any]:
    body = ecs_mapping()
    merged = _merge(body["properties"], mappings.get("properties") or {})
    return {**{key: copy.deepcopy(value) for key, value in mappings.items() if key != "properties"},
            "properties": merged}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s definitions: `over`'s win, except that two objects (or two nested) merge: their fields,
    and their parameters, `over`'s explicit ones winning."""
    for name, spec in over.items():
        mine = base.get(name)
        if mine is not None and _object_kind(mine) is not None and _object_kind(mine) == _object_kind(spec):
            # ObjectMapper.merge: the earlier object's parameters (`dynamic`, `enabled`...) stay unless the later
            # one sets them; their fields merge
            merged = {**{k: v for k, v in mine.items() if k != "properties"},
                      **copy.deepcopy({k: v for k, v in spec.items() if k != "properties"})}
            if "properties" in mine or "properties" in spec:
                merged["properties"] = _merge(mine.get("properties") or {}, spec.get("properties") or {})
            base[name] = merged
        else:
            base[name] = copy.deepcopy(spec)
    return base


def _object_kind(spec: Mapping[str, Any]) -> str | None:
    """"object" or "nested" for a mapping node holding fields (no `type` is an object), None for a field."""
    kind = spec.get("type", "object")
    return kind if kind in ("object", "nested") else None


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
