"""Index templates in the embedded store and `hunt`: every index gets the template Elasticsearch would pick (the
highest priority; a backing index gets its data stream's), merged over ECS, with `dynamic: false` and
`dynamic_templates` applied as a cluster applies them; users' own templates from a directory; and validate's note
telling a typo from a field of an integration the rule does not search."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.backends import BackendError, EqlRequest, FileEvents, QueryError, TemplateVerifier
from runner.backends.embedded import EmbeddedBackend, Store
from runner.cli.validate import unknown_field_note
from runner.ecs import (
    SHIPPED,
    Template,
    TemplateError,
    Templates,
    data_stream_name,
    ecs_mapping,
    load_templates,
    mapping_for,
    shipped_templates,
    template_indices,
)
from runner.ecs.templates import simple_match

PROCESS = "logs-endpoint.events.process-default"
BACKING = ".ds-logs-endpoint.events.process-default-2026.11.29-000001"
WINLOG = "winlogbeat-9.5.0"
TS = "2026-11-29T00:00:00.000Z"


def source(docs: list[dict[str, Any]]) -> Callable[[], Iterator[Mapping[str, Any]]]:
    return lambda: iter([dict(d) for d in docs])


def field(body: Mapping[str, Any], dotted: str) -> Any:
    node: Any = body
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def template(name: str, patterns: list[str], priority: int, properties: dict[str, Any],
             origin: str = "/u.json") -> Template:
    return Template(name=name, index_patterns=tuple(patterns), priority=priority,
                    mappings={"properties": properties}, title=name, origin=origin)


# selection


def test_a_backing_index_gets_the_template_of_its_data_stream() -> None:
    assert data_stream_name(BACKING) == PROCESS
    assert data_stream_name(".ds-weird") == ".ds-weird"
    shipped = shipped_templates()
    chosen = shipped.select(BACKING)
    assert chosen is not None and chosen.name == "logs-endpoint.events.process" and chosen.origin == SHIPPED
    assert chosen.title == "Elastic Defend" and chosen.priority == 200
    assert mapping_for(BACKING) == mapping_for(PROCESS)
    assert shipped.select("logs-endpoint.events.processes-x") is None  # `process-*`: the dash is part of it
    assert shipped.select("my-own-index") is None and mapping_for("my-own-index") == ecs_mapping()
    beat = shipped.select(WINLOG)
    assert beat is not None and beat.priority == 150 and beat.title == "Winlogbeat"


def test_the_highest_priority_wins_then_the_most_specific_pattern_then_a_users() -> None:
    low = template("low", ["logs-*"], 100, {"a": {"type": "long"}})
    high = template("high", ["logs-*"], 300, {"a": {"type": "keyword"}})
    specific = template("specific", ["logs-app-*"], 100, {"a": {"type": "ip"}})
    templates = Templates([low, high, specific])
    assert templates.select("logs-app-1") is high  # priority first, however general its pattern
    assert Templates([low, specific]).select("logs-app-1") is specific  # same priority: the most specific pattern
    assert Templates([low, specific]).select("logs-other") is low
    ours = template("ours", ["logs-*"], 100, {}, origin=SHIPPED)
    assert Templates([ours, low]).select("logs-x") is low  # a tie everywhere else: the user's
    assert field(Templates([low, high]).mapping_for("logs-x"), "a") == {"type": "keyword"}


def test_a_template_merges_over_ecs_its_definitions_winning() -> None:
    body = mapping_for(PROCESS)
    assert body["dynamic"] is False
    # Defend's own fields, before any document has them
    assert field(body, "process.Ext.token.integrity_level_name")["type"] == "keyword"
    # Defend's type wins over ECS's: ECS maps process.command_line as wildcard too, but Defend's has its own
    # sub-field; an ECS field Defend does not define stays (objects merge)
    assert field(body, "process.command_line")["type"] == "wildcard"
    assert "process" in body["properties"] and field(body, "threat.tactic.name")["type"] == "keyword"
    # a fresh copy every time
    body["properties"].clear()
    assert field(mapping_for(PROCESS), "process.pid")["type"] == "long"


# dynamic: false and dynamic_templates, in the store and over files


def _unknown(search: Callable[[EqlRequest], Any], index: str, query: str) -> str:
    with pytest.raises(QueryError) as raised:
        search(EqlRequest((index,), {"query": query}))
    return raised.value.reason


def test_dynamic_false_keeps_a_field_outside_defends_template_unmapped(tmp_path: Path) -> None:
    doc = {"_index": BACKING, "_id": "1",
           "_source": {"@timestamp": TS, "event": {"category": "process"}, "process": {"name": "sh"},
                       "custom_field": "x", "process.Ext.token.integrity_level_name": "high"}}
    store = Store(tmp_path / "store.db")
    store.ingest([doc])
    stored = store.mappings([BACKING])[BACKING]
    assert stored["dynamic"] is False and "custom_field" not in stored["properties"]
    backend = EmbeddedBackend(store)
    files = FileEvents([source([doc])])
    for search in (backend.eql_search, files.eql_search):
        # on a cluster too: the field stays in _source, unmapped
        assert "Unknown column [custom_field]" in _unknown(search, "logs-endpoint.events.*",
                                                           'process where custom_field == "x"')
        answer = search(EqlRequest(("logs-endpoint.events.*",),
                                   {"query": 'process where process.Ext.token.integrity_level_name == "high"'}))
        assert [hit["_id"] for hit in answer["hits"]["events"]] == ["1"]


def test_dynamic_templates_decide_a_new_fields_type_in_the_store_and_over_files(tmp_path: Path) -> None:
    doc = {"_index": WINLOG, "_id": "1",
           "_source": {"@timestamp": TS, "event": {"category": "iam"},
                       "winlog": {"event_data": {"ObjectDN": "CN=wpad,DC=corp"}}, "my_note": "Some Text"}}
    store = Store(tmp_path / "store.db")
    store.ingest([doc])
    stored = store.mappings([WINLOG])[WINLOG]
    # Winlogbeat's `winlog.event_data.*` strings as keyword (no ignore_above); its final `strings_as_keyword`
    # makes any other new string a keyword with ignore_above 1024, not Elasticsearch's default text + keyword
    assert field(stored, "winlog.event_data.ObjectDN") == {"type": "keyword"}
    assert field(stored, "my_note") == {"type": "keyword", "ignore_above": 1024}
    files = FileEvents([source([doc])])
    for search in (EmbeddedBackend(store).eql_search, files.eql_search):
        # a keyword: == is exact (a text field would refuse ==), and case-sensitive
        answer = search(EqlRequest(("winlogbeat-*",), {"query": 'any where my_note == "Some Text" and '
                                                                'winlog.event_data.ObjectDN == "CN=wpad,DC=corp"'}))
        assert [hit["_id"] for hit in answer["hits"]["events"]] == ["1"]
        answer = search(EqlRequest(("winlogbeat-*",), {"query": 'any where my_note == "some text"'}))
        assert answer["hits"]["events"] == []
    assert files.mapping(WINLOG).fields["my_note"].type == "keyword"
    # the same document in an index no template matches: Elasticsearch's default dynamic mapping
    other = Store(tmp_path / "other.db")
    other.ingest([{**doc, "_index": "other"}])
    assert field(other.mappings(["other"])["other"], "my_note")["type"] == "text"


def test_dynamic_template_conditions_as_elasticsearch_checks_them() -> None:
    from runner.engine.dynamic import DynamicTemplates

    templates = DynamicTemplates([
        {"longs_as_ip": {"match_mapping_type": "long", "path_match": "net.*", "mapping": {"type": "ip"}}},
        {"no_tmp": {"match": "*_id", "unmatch": "tmp_*", "mapping": {"type": "keyword", "doc_values": "{name}"}}},
        {"typed": {"match_mapping_type": ["double", "date"], "mapping": {"type": "{dynamic_type}", "index": False}}},
        {"regex": {"match_pattern": "regex", "path_match": r"^r\.\d+$", "mapping": {"type": "wildcard"}}},
    ])
    assert templates.find("net.peer", "peer", "long") == ({"type": "ip"}, False)
    assert templates.find("net.peer", "peer", "string") is None  # a string: not `long`
    assert templates.find("a.user_id", "user_id", "string") == ({"type": "keyword", "doc_values": "user_id"}, False)
    assert templates.find("a.tmp_id", "tmp_id", "string") is None  # unmatch
    assert templates.find("x", "x", "double") == ({"type": "float", "index": False}, False)
    assert templates.find("x", "x", "date") == ({"type": "date", "index": False}, False)
    assert templates.find("r.12", "12", "string") == ({"type": "wildcard"}, False)
    assert templates.find("r.1x", "1x", "string") is None


# users' templates


def test_users_templates_in_every_shape_apply_and_a_higher_priority_wins(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "ours.json").write_text(json.dumps({
        "index_patterns": ["app-*"], "properties": {"app": {"properties": {"code": {"type": "long"}}}},
        "dynamic": False, "runtime": {"day": {"type": "keyword", "script": {"source": "emit('x')"}}}}))
    (folder / "es.json").write_text(json.dumps({
        "index_patterns": ["logs-endpoint.events.process-*"], "priority": 500,
        "template": {"mappings": {"properties": {"site": {"type": "keyword"}}}}}))
    (folder / "mapping.json").write_text(json.dumps({"audit-2026": {"mappings": {"properties": {
        "who": {"type": "keyword"}}}}}))
    (folder / "loses.json").write_text(json.dumps({
        "index_patterns": ["logs-endpoint.events.file-*"], "priority": 100,
        "template": {"mappings": {"properties": {"never": {"type": "keyword"}}}}}))
    (folder / "notes.txt").write_text("not a template")  # only *.json files are read
    templates = load_templates(folder)
    app = templates.mapping_for("app-1")
    assert field(app, "app.code") == {"type": "long"} and app["dynamic"] is False
    assert app["runtime"] == {"day": {"type": "keyword", "script": {"source": "emit('x')"}}}  # carried untouched
    assert field(app, "process.pid")["type"] == "long"  # over ECS
    process = templates.mapping_for(BACKING)  # the user's priority 500 beats Fleet's 200: ONE template applies
    assert field(process, "site") == {"type": "keyword"} and "dynamic" not in process
    assert "Ext" not in field(process, "process")["properties"]
    assert field(templates.mapping_for("audit-2026"), "who") == {"type": "keyword"}
    file_body = templates.mapping_for("logs-endpoint.events.file-default")  # priority 100 < 200: Fleet's
    assert "never" not in file_body["properties"] and file_body["dynamic"] is False
    chosen = templates.select("app-1")
    assert chosen is not None and chosen.origin == str(folder / "ours.json") and chosen.priority == 0
    # the store applies them
    store = Store(tmp_path / "store.db", templates=templates)
    store.ingest([{"_index": "app-1", "_id": "1", "_source": {"@timestamp": TS, "app": {"code": 7}, "extra": 1}}])
    stored = store.mappings(["app-1"])["app-1"]
    assert field(stored, "app.code") == {"type": "long"} and "extra" not in stored["properties"]


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "not JSON: line 1:2:"),
    ("[]", "expected a JSON object"),
    ('{"properties": {}}', 'no "index_patterns"'),
    ('{"index_patterns": [], "template": {}}', "index_patterns: expected a non-empty list of index patterns"),
    ('{"index_patterns": ["a-*"], "priority": "high", "template": {}}', "priority: expected a whole number"),
    ('{"index_patterns": ["a-*"], "template": {"mappings": []}}', "template.mappings: expected a mapping body"),
    ('{"index_patterns": ["a-*"], "template": {"mappings": {"properties": {"a": {"properties": {"b": 3}}}}}}',
     "template.mappings.properties.a.properties.b: expected a field mapping"),
    ('{"index_patterns": ["a-*"], "dynamic_templates": {}}', "(the file).dynamic_templates: expected a list"),
])
def test_a_bad_template_file_is_a_clear_error_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "good.json").write_text('{"index_patterns": ["x-*"], "properties": {}}')
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(TemplateError) as raised:
        load_templates(tmp_path)
    assert str(raised.value).startswith(f"{bad}: ") and problem in str(raised.value)
    with pytest.raises(TemplateError, match="not a directory of template files"):
        load_templates(tmp_path / "missing")


def test_a_bad_template_directory_stops_the_commands_with_the_files_path(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.cli.main import main
    from tests.cli.test_cli_output import SEED

    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    folder = tmp_path / "templates"
    folder.mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db, templates: templates}\nrules: {paths: [rules]}\n")
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"@timestamp": TS, "a": 1}) + "\n")
    commands = (["validate"], ["hunt", str(events)], ["query", "any where true", "--events", str(events)],
                ["ingest", str(events), "--index", "app-1"], ["run", "--once"])
    broken = folder / "broken.json"
    for text, problem in (("{", "not JSON: line 1:2"),  # a file's shape, and its contents (the review's bad1)
                          ('{"index_patterns": ["app-*"], "properties": {"a": {"type": "keyword", "fields": "oops"}}}',
                           "(the file).properties.a.fields: expected an object of multi-fields")):
        broken.write_text(text)
        for argv in commands:
            capsys.readouterr()
            assert main([*argv, "--config", str(config)]) == 2, argv
            assert f"embedded.templates: {broken}: {problem}" in capsys.readouterr().err, argv


@pytest.mark.parametrize(("mappings", "problem"), [
    # the review's bad1-bad6: each failed later (a traceback, or a message without the file)
    ({"properties": {"a": {"type": "keyword", "fields": "oops"}}},
     "properties.a.fields: expected an object of multi-fields"),
    ({"properties": {"a": {"type": "keyword", "ignore_above": "big"}}},
     "properties.a.ignore_above: expected a whole number, at least 0 (got 'big')"),
    ({"runtime": {"r": {"type": "nosuch"}}}, "runtime.r: No handler for type [nosuch] declared on runtime field [r]"),
    ({"dynamic_templates": [{"t": {"match": "*", "mapping": {"type": "keyword", "fields": 3}}}]},
     "dynamic_templates[0].t.mapping.fields: expected an object of multi-fields"),
    # Elasticsearch's FieldAliasMapper.AliasValidator messages
    ({"properties": {"a": {"type": "alias", "path": "nope"}}},
     "properties.a.path: Invalid [path] value [nope] for field alias [a]: an alias must refer to an existing field "
     "in the mappings."),
    ({"properties": {"a": {"type": "alias", "path": "b"}, "b": {"type": "alias", "path": "process.pid"}}},
     "properties.a.path: Invalid [path] value [b] for field alias [a]: an alias cannot refer to another alias."),
    ({"properties": {"a": {"type": "alias", "path": "process"}}},  # an object, not a field
     "properties.a.path: Invalid [path] value [process] for field alias [a]: an alias must refer to an existing "
     "field in the mappings."),
    ({"properties": {"a": {"type": "keyword", "fields": {"x": "keyword"}}}},
     "properties.a.fields.x: expected a field mapping"),
    ({"properties": {"a": {"type": "keyword", "fields": {"x": {"ignore_above": 3}}}}},
     "properties.a.fields.x: expected a field mapping with a type"),
    # a date format the engine cannot parse would fail every search of the index
    ({"properties": {"d": {"type": "date", "format": "nosuch"}}},
     "properties.d.format: unsupported date format letters [n] in [nosuch]"),
    ({"runtime": {"d": {"type": "date", "format": "nosuch"}}}, "runtime.d.format: unsupported date format letters"),
    ({"dynamic": "sometimes"}, "dynamic: expected true, false, strict or runtime (got 'sometimes')"),
    ({"dynamic_templates": [{"t": {"match_mapping_type": "str", "mapping": {}}}]},
     "dynamic_templates[0].t.match_mapping_type: No field type matched on [str], possible values are [object, "
     "string, long, double, boolean, date, binary]"),
    ({"dynamic_templates": [{"t": {"match_pattern": "regex", "match": "(", "mapping": {}}}]},
     "dynamic_templates[0].t.match: not a regular expression: '('"),
    ({"dynamic_templates": [{"t": {"match": "*"}}]}, 'dynamic_templates[0].t: expected a "mapping" (or "runtime")'),
    ({"dynamic_templates": [{"a": {"mapping": {}}, "b": {"mapping": {}}}]},
     "dynamic_templates[0]: expected {\"<name>\": {...}}"),
    # templates with `runtime` (the walk would meet these only when a document brings a matching field)
    ({"dynamic_templates": [{"t": {"match": "*", "runtime": {"type": "nosuch"}}}]},
     "dynamic_templates[0].t.runtime: No handler for type [nosuch] declared on runtime field [x]"),
    ({"dynamic_templates": [{"t": {"match_mapping_type": "object", "runtime": {}}}]},  # DynamicTemplate.parse
     "dynamic_templates[0].t: Dynamic template [t] defines a runtime field but type [object] is not supported as "
     "runtime field"),
    ({"dynamic_templates": [{"t": {"match": "*", "mapping": {}, "runtime": {}}}]},
     "dynamic_templates[0].t: mapping and runtime cannot be both specified in the same dynamic template [t]"),
    ({"dynamic_templates": [{"t": {"match": "*", "unmatch_mapping_type": "obj", "mapping": {}}}]},
     "dynamic_templates[0].t.unmatch_mapping_type: No field type matched on [obj]"),
])
def test_a_template_files_contents_are_checked_whole_when_it_is_loaded(tmp_path: Path, mappings: dict[str, Any],
                                                                       problem: str) -> None:
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"index_patterns": ["app-*"], "template": {"mappings": mappings}}))
    with pytest.raises(TemplateError) as raised:
        load_templates(tmp_path)
    assert str(raised.value).startswith(f"{bad}: template.mappings.{problem}")
    # the same in rule-runner's shape
    bad.write_text(json.dumps({"index_patterns": ["app-*"], **mappings}))
    with pytest.raises(TemplateError) as raised:
        load_templates(tmp_path)
    assert str(raised.value).startswith(f"{bad}: (the file).{problem}")


def test_an_alias_to_an_ecs_field_is_fine_in_a_template_not_in_an_indexs_own_mapping(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text(json.dumps({"index_patterns": ["app-*"], "properties": {
        "pid": {"type": "alias", "path": "process.pid"}}}))
    assert load_templates(tmp_path).select("app-1") is not None  # merged over ECS: process.pid exists
    (tmp_path / "t.json").unlink()
    (tmp_path / "m.json").write_text(json.dumps({"app-1": {"mappings": {"properties": {
        "pid": {"type": "alias", "path": "process.pid"}}}}}))
    with pytest.raises(TemplateError, match=r"m.json: app-1.mappings.properties.pid.path: Invalid \[path\] value "
                                            r"\[process.pid\]"):
        load_templates(tmp_path)


# GET <index>/_mapping answers


def test_an_indexs_own_mapping_is_used_as_it_is_before_any_template(tmp_path: Path) -> None:
    (tmp_path / "mapping.json").write_text(json.dumps({
        BACKING: {"mappings": {"dynamic": False, "properties": {"process": {"properties": {
            "my_custom": {"type": "keyword"}, "pid": {"type": "long"}}}, "@timestamp": {"type": "date"}}}},
        "logs-endpoint.events.file-default": {"mappings": {"properties": {"file": {"properties": {
            "my_custom": {"type": "keyword"}}}}}}}))
    (tmp_path / "high.json").write_text(json.dumps({"index_patterns": ["logs-endpoint.*"], "priority": 900,
                                                    "properties": {"never": {"type": "keyword"}}}))
    templates = load_templates(tmp_path)
    own = templates.select(BACKING)  # by its exact name, before the data stream's name is looked at
    assert own is not None and own.exact and own.origin == str(tmp_path / "mapping.json")
    body = templates.mapping_for(BACKING)
    # that index's mapping alone: neither merged over ECS nor over a template (Defend's or the priority 900 one)
    assert set(body["properties"]) == {"process", "@timestamp"} and body["dynamic"] is False
    assert set(field(body, "process")["properties"]) == {"my_custom", "pid"}
    # an index a shipped template matches: its own mapping wins too
    file_body = templates.mapping_for("logs-endpoint.events.file-default")
    assert set(file_body["properties"]) == {"file"} and "dynamic" not in file_body
    # its data stream, and the stream's other backing indices, get the templates as before
    chosen = templates.select("logs-endpoint.events.process-default")
    assert chosen is not None and chosen.name == "high"
    # a rule's pattern reaches the backing index through its data stream's name (validate's check)
    assert templates.select(BACKING) in template_indices(["logs-endpoint.events.process-*"], templates).values()
    # the store creates the index with it
    store = Store(tmp_path / "store.db", templates=templates)
    store.ingest([{"_index": BACKING, "_id": "1", "_source": {"@timestamp": TS, "process": {"my_custom": "x"},
                                                              "event": {"category": "process"}}}])
    assert set(store.mappings([BACKING])[BACKING]["properties"]) == {"process", "@timestamp"}
    answer = EmbeddedBackend(store).eql_search(EqlRequest((BACKING,), {"query": 'any where process.my_custom == "x"'}))
    assert [hit["_id"] for hit in answer["hits"]["events"]] == ["1"]


def test_two_files_giving_one_indexs_mapping_are_an_error(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"app-1": {"mappings": {}}}))
    with pytest.raises(TemplateError, match=r"b.json: app-1: its mapping is given by .*a.json too"):
        load_templates(tmp_path)


# composed_of


def test_composed_of_is_resolved_from_the_component_templates_in_elasticsearchs_order(tmp_path: Path) -> None:
    (tmp_path / "components.json").write_text(json.dumps({"component_templates": [
        {"name": "base@mappings", "component_template": {"template": {"mappings": {
            "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}},
                                  {"longs": {"match_mapping_type": "long", "mapping": {"type": "long"}}}],
            "properties": {"app": {"properties": {"code": {"type": "keyword"}, "name": {"type": "keyword"}}},
                           "first": {"type": "keyword"}}}}}},
        {"name": "only@settings", "component_template": {"template": {"settings": {"number_of_shards": 1}}}}]}))
    # a PUT _component_template/app@package body: its name is the file's
    (tmp_path / "app@package.json").write_text(json.dumps({"template": {"mappings": {
        "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "wildcard"}}}],
        "properties": {"app": {"properties": {"code": {"type": "long"}}}, "second": {"type": "ip"}}}}}))
    (tmp_path / "app.json").write_text(json.dumps({"index_templates": [{"name": "app", "index_template": {
        "index_patterns": ["app-*"], "priority": 200,
        "composed_of": ["base@mappings", "only@settings", "app@package", "app@custom"],
        "ignore_missing_component_templates": ["app@custom"],
        "template": {"mappings": {"properties": {"second": {"type": "keyword"}}}}}}]}))
    templates = load_templates(tmp_path)
    chosen = templates.select("app-1")
    assert chosen is not None and chosen.name == "app"
    body = templates.mapping_for("app-1")
    assert field(body, "app.code") == {"type": "long"}  # the later component's definition
    assert field(body, "app.name") == {"type": "keyword"}  # objects merge
    assert field(body, "first") == {"type": "keyword"}
    assert field(body, "second") == {"type": "keyword"}  # the index template's own mappings win
    assert body["dynamic_templates"] == [  # by name: the later replaces the earlier in its place
        {"strings": {"match_mapping_type": "string", "mapping": {"type": "wildcard"}}},
        {"longs": {"match_mapping_type": "long", "mapping": {"type": "long"}}}]
    assert field(body, "process.pid")["type"] == "long"  # over ECS, as any template
    # component template files are not index templates
    assert [t.name for t in templates if t.origin != SHIPPED] == ["app"]
    # composed_of in rule-runner's shape too; the index template's keys are not mapping keys
    (tmp_path / "web.json").write_text(json.dumps({"index_patterns": ["web-*"], "composed_of": ["app@package"],
                                                   "version": 3, "properties": {"w": {"type": "keyword"}}}))
    web = load_templates(tmp_path).mapping_for("web-1")
    assert field(web, "app.code") == {"type": "long"} and field(web, "w") == {"type": "keyword"}
    assert "composed_of" not in web and "version" not in web
    # the composed mapping is checked whole: an alias to a field a component replaced
    (tmp_path / "web.json").write_text(json.dumps({"index_patterns": ["web-*"], "composed_of": ["app@package"],
                                                   "properties": {"a": {"type": "alias", "path": "second.x"}}}))
    with pytest.raises(TemplateError, match=r"web.json: \(the file\) composed with app@package.properties.a.path: "
                                            r"Invalid \[path\] value \[second.x\]"):
        load_templates(tmp_path)


def test_composing_keeps_an_earlier_objects_dynamic_unless_a_later_one_sets_it(tmp_path: Path) -> None:
    """ObjectMapper.merge (server/.../index/mapper/ObjectMapper.java) keeps the object's `dynamic` and `enabled`
    unless the mapping merged in sets them (`if (mergeWithObject.dynamic != null) dynamic = mergeWithObject.dynamic`);
    the fields of both objects merge. It used to keep only the later object's parameters: `o` was open again."""
    (tmp_path / "base.json").write_text(json.dumps({"template": {"mappings": {"properties": {
        "o": {"type": "object", "dynamic": False, "properties": {"x": {"type": "keyword"}}},
        "p": {"dynamic": False, "properties": {"x": {"type": "keyword"}}},
        "e": {"type": "object", "enabled": False}}}}}))
    (tmp_path / "app.json").write_text(json.dumps({
        "index_patterns": ["app-*"], "priority": 300, "composed_of": ["base"],
        "template": {"mappings": {"properties": {"o": {"properties": {"y": {"type": "keyword"}}},
                                                 "p": {"dynamic": True, "properties": {"y": {"type": "keyword"}}},
                                                 "e": {"type": "object"}}}}}))
    templates = load_templates(tmp_path)
    body = templates.mapping_for("app-1")
    assert field(body, "o") == {"type": "object", "dynamic": False,
                                "properties": {"x": {"type": "keyword"}, "y": {"type": "keyword"}}}
    assert field(body, "p")["dynamic"] is True and set(field(body, "p")["properties"]) == {"x", "y"}  # set later
    assert field(body, "e") == {"type": "object", "enabled": False}
    # end to end (the review's /tmp/rv2/comp.yaml): o.z stays in _source, unmapped, as on a cluster; p.z is mapped
    doc = {"_index": "app-1", "_id": "1", "_source": {"@timestamp": TS, "event": {"category": "process"},
                                                      "o": {"z": "v"}, "p": {"z": "v"}}}
    store = Store(tmp_path / "store.db", templates=templates)
    store.ingest([doc])
    files = FileEvents([source([doc])], templates=templates)
    for search in (EmbeddedBackend(store).eql_search, files.eql_search):
        assert "Unknown column [o.z]" in _unknown(search, "app-*", 'process where o.z == "v"')
        answer = search(EqlRequest(("app-*",), {"query": 'process where p.z == "v"'}))
        assert [hit["_id"] for hit in answer["hits"]["events"]] == ["1"]


def test_a_dynamic_template_may_name_the_dynamic_type_in_either_spelling(tmp_path: Path) -> None:
    """DynamicTemplate.processMap replaces `{dynamic_type}` and `{dynamicType}`: the load-time check substitutes as
    the walk does (one function), so a template using `{dynamicType}` is accepted and maps as it says."""
    (tmp_path / "app.json").write_text(json.dumps({"index_patterns": ["app-*"], "dynamic_templates": [
        {"r": {"match": "r_*", "runtime": {"type": "{dynamicType}"}}},
        {"t": {"match": "n_*", "mapping": {"type": "{dynamicType}", "meta": {"from": "{name}"}}}}]}))
    templates = load_templates(tmp_path)  # the runtime template was refused: No handler for type [{dynamicType}]
    doc = {"_index": "app-1", "_id": "1", "_source": {"@timestamp": TS, "event": {"category": "process"},
                                                      "n_count": 3, "r_count": 4}}
    store = Store(tmp_path / "store.db", templates=templates)
    store.ingest([doc])
    stored = store.mappings(["app-1"])["app-1"]
    assert field(stored, "n_count") == {"type": "long", "meta": {"from": "n_count"}}
    assert stored["runtime"]["r_count"] == {"type": "long"}


def test_a_component_template_not_given_is_an_error_naming_it(tmp_path: Path) -> None:
    # Fleet's GET _index_template answer alone (the review's /tmp/rv/gt): it used to replace Defend's shipped
    # template with an almost empty one
    fleet = tmp_path / "t.json"
    fleet.write_text(json.dumps({"index_templates": [{"name": "logs-endpoint.events.process", "index_template": {
        "index_patterns": ["logs-endpoint.events.process-*"],
        "template": {"settings": {}, "mappings": {"_meta": {"managed_by": "fleet"}}},
        "composed_of": ["logs@mappings", "logs@settings", "logs-endpoint.events.process@package",
                        "logs-endpoint.events.process@custom", "ecs@mappings"],
        "ignore_missing_component_templates": ["logs-endpoint.events.process@custom"], "priority": 200}}]}))
    with pytest.raises(TemplateError) as raised:
        load_templates(tmp_path)
    assert str(raised.value) == (
        f"{fleet}: index_templates[0].index_template.composed_of: component templates not found: logs@mappings, "
        "logs@settings, logs-endpoint.events.process@package, ecs@mappings (give their GET _component_template "
        "answer, or PUT _component_template/<name> bodies as <name>.json, in the same directory)")


# index patterns and names as Elasticsearch reads them


def test_index_patterns_know_only_the_star_wildcard_as_elasticsearchs_simple_match() -> None:
    assert simple_match("logs-*", "logs-a") and simple_match("*", "x") and simple_match("a*b*c", "aXbYc")
    assert not simple_match("logs-?", "logs-a") and simple_match("logs-?", "logs-?")
    assert not simple_match("logs-[ab]-*", "logs-a-1") and simple_match("logs-[ab]-*", "logs-[ab]-1")
    odd = template("odd", ["app-[0-9]*"], 100, {"a": {"type": "long"}})
    templates = Templates([odd])
    assert templates.select("app-1") is None and templates.select("app-[0-9]1") is odd
    assert not odd.reached_by("app-?*")


def test_backing_indices_of_7_9_and_7_10_have_no_date() -> None:
    assert data_stream_name(".ds-logs-endpoint.events.process-default-000001") == PROCESS
    assert data_stream_name(".ds-logs-x-default-2026.11.29-000012") == "logs-x-default"
    assert data_stream_name(".ds-logs-x-default-2026.11.29-1000000") == "logs-x-default"
    assert data_stream_name(".ds-logs-x-000001-000002") == "logs-x-000001"
    assert data_stream_name(".ds-logs-x") == ".ds-logs-x"


# validate's notes


def test_an_unknown_field_is_told_from_a_field_of_an_integration_the_rule_does_not_search() -> None:
    shipped = shipped_templates()
    note = unknown_field_note("process.Ext.token.integrity_level_name", ["winlogbeat-*"], shipped)
    assert note.startswith("[process.Ext.token.integrity_level_name] is a field of Elastic Defend "
                           "(logs-endpoint.alerts-*, logs-endpoint.events.api-*, logs-endpoint.events.process-* and 1 more)")
    assert note.endswith("which the rule's index patterns do not reach")
    assert unknown_field_note("proces.name", ["logs-endpoint.events.*"], shipped) == (
        "[proces.name] is mapped by no index template rule-runner knows: a typo, or a field only events bring")
    assert "no index the rule searches was created from that template" in unknown_field_note(
        "winlog.event_data.SubjectUserName", ["winlogbeat-*"], shipped)
    # a field only a dynamic template maps (Winlogbeat's `winlog.event_data.*`): unknown until a document has it;
    # the Beats' catch-all `strings_as_keyword` does not count
    assert unknown_field_note("winlog.event_data.ObjectDN", ["winlogbeat-*"], shipped) == (
        "[winlog.event_data.ObjectDN] is mapped only by a dynamic template of Filebeat (filebeat-*); System "
        "(logs-system.security-*); Windows (logs-windows.forwarded-*); Winlogbeat (winlogbeat-*): an index knows it "
        "once a document has it, as on a cluster")


def test_before_anything_is_ingested_a_rule_is_verified_against_the_templates_it_reaches() -> None:
    verify = TemplateVerifier(shipped_templates()).verify
    verify(EqlRequest(("logs-endpoint.events.*",),
                      {"query": 'process where process.Ext.token.integrity_level_name == "high"'}))
    verify(EqlRequest(("winlogbeat-*", "logs-windows.*"), {"query": 'any where winlog.event_data.TargetUserSid == "x"'}))
    with pytest.raises(BackendError, match=r"Unknown column \[winlog.event_data.TargetUserSid\]"):
        verify(EqlRequest(("logs-endpoint.events.*",), {"query": 'any where winlog.event_data.TargetUserSid == "x"'}))


def test_the_shipped_file_is_what_the_build_script_makes() -> None:
    shipped = Path(__file__).resolve().parents[2] / "runner" / "ecs" / "templates.json.gz"
    data = json.loads(gzip.decompress(shipped.read_bytes()))
    assert len(data["templates"]) == 79
    names = {t["name"] for t in data["templates"]}
    assert {"logs-endpoint.events.process", "winlogbeat", "logs-aws.cloudtrail", "logs-windows.forwarded"} <= names
