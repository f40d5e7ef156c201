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
)

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
    text = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert templates.mapping("net.peer", "peer", {"type": "long"}) == {"type": "ip"}
    assert templates.mapping("net.peer", "peer", text) == text  # a string: not `long`
    assert templates.mapping("a.user_id", "user_id", text) == {"type": "keyword", "doc_values": "user_id"}
    assert templates.mapping("a.tmp_id", "tmp_id", text) == text  # unmatch
    assert templates.mapping("x", "x", {"type": "float"}) == {"type": "float", "index": False}
    assert templates.mapping("x", "x", {"type": "date"}) == {"type": "date", "index": False}
    assert templates.mapping("r.12", "12", text) == {"type": "wildcard"}
    assert templates.mapping("r.1x", "1x", text) == text


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
    (folder / "broken.json").write_text("{")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db, templates: templates}\nrules: {paths: [rules]}\n")
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"@timestamp": TS, "a": 1}) + "\n")
    for argv in (["validate"], ["hunt", str(events)], ["query", "any where true", "--events", str(events)]):
        capsys.readouterr()
        assert main([*argv, "--config", str(config)]) == 2
        assert f"embedded.templates: {folder / 'broken.json'}: not JSON: line 1:2" in capsys.readouterr().err


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
