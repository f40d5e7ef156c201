"""`_field_caps` answered locally (`runner.backends.field_caps.field_caps_body`) with Elasticsearch's semantics, each
case quoting the source it follows (elastic/elasticsearch server/src/main/java/org/elasticsearch/action/fieldcaps/:
FieldCapabilitiesFetcher.java @ 01276d5d, TransportFieldCapabilitiesAction.java @ 002f6ba4, FieldCapabilities.java
@ 01e1dc60), and the `field_caps` of the embedded store, of events in memory and of events in files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.backends import FileEvents, MemoryEvents
from runner.backends.embedded import EmbeddedBackend, Store
from runner.backends.field_caps import field_caps_body
from runner.ecs import shipped_templates
from runner.kql import FieldList, kql_to_dsl
from tests.conftest import shared_path
from tests.kql.test_conformance import _same


def caps(es_type: str, searchable: bool = True, aggregatable: bool = True, **more: Any) -> dict[str, Any]:
    return {"type": es_type, "metadata_field": False, "searchable": searchable, "aggregatable": aggregatable, **more}


PARENT = {"metadata_field": False, "searchable": False, "aggregatable": False}

ENDPOINT = {"properties": {
    "@timestamp": {"type": "date"},
    "message": {"type": "match_only_text"},
    "event": {"properties": {"category": {"type": "keyword", "ignore_above": 1024},
                             "dataset": {"type": "constant_keyword", "value": "endpoint.events.process"}}},
    "process": {"properties": {
        "name": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}, "caseless": {
            "type": "keyword", "normalizer": "lowercase"}}},
        "command_line": {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}},
        "pid": {"type": "long"},
        "parent": {"properties": {"name": {"type": "keyword"}}},
    }},
    "dll": {"properties": {"pe": {"properties": {"sections": {"type": "nested", "properties": {
        "name": {"type": "keyword"}, "entropy": {"type": "long"}}}}}}},
    "proc_name": {"type": "alias", "path": "process.name"},
    "labels": {"type": "object"},  # no field below it
    "blob": {"type": "object", "enabled": False},
}}


def test_family_types_multi_fields_and_parents() -> None:
    """`retrieveFieldCaps`: every field type (multi-fields included) reported with `ft.familyTypeName()` —
    WildcardFieldMapper and ConstantKeywordFieldMapper return `keyword`, MatchOnlyTextFieldMapper `text` — and,
    "Check the ancestor of the field to find nested and object fields", each parent without a field type added as
    `nested` when `nestedLookup().getNestedMappers()` has it, else `object`, neither searchable nor aggregatable."""
    body = field_caps_body({"logs-a": ENDPOINT}, ["*"])
    fields = body["fields"]
    assert body["indices"] == ["logs-a"]
    assert fields["process.command_line"] == {"keyword": caps("keyword")}
    assert fields["process.command_line.text"] == {"text": caps("text", aggregatable=False)}
    assert fields["message"] == {"text": caps("text", aggregatable=False)}
    assert fields["event.dataset"] == {"keyword": caps("keyword")}
    assert fields["process.name.caseless"] == {"keyword": caps("keyword")}
    assert fields["process"] == {"object": {"type": "object", **PARENT}}
    assert fields["process.parent"] == {"object": {"type": "object", **PARENT}}
    assert fields["dll.pe.sections"] == {"nested": {"type": "nested", **PARENT}}
    assert fields["dll.pe"] == {"object": {"type": "object", **PARENT}}
    # an object with no field type below it is never an ancestor of a reported field: not reported
    assert "labels" not in fields and "blob" not in fields
    # parents are objects only: a multi-field's parent is a field (`getFieldType(parent) != null`)
    assert fields["process.name"] == {"keyword": caps("keyword")}


def test_an_alias_has_its_targets_type_and_brings_its_targets_parents() -> None:
    """`context.getAllFields()` maps an alias's name to its target's MappedFieldType; the ancestors walked are those of
    `ft.name()`, the target's path."""
    fields = field_caps_body({"logs-a": ENDPOINT}, ["proc_name"])["fields"]
    assert fields == {"proc_name": {"keyword": caps("keyword")}, "process": {"object": {"type": "object", **PARENT}}}


def test_field_name_wildcards_match_dots_and_bring_the_parents() -> None:
    """The requested names are `Regex.simpleMatch` patterns: `*` matches any characters, dots included."""
    fields = field_caps_body({"logs-a": ENDPOINT}, ["process.*"])["fields"]
    assert sorted(fields) == ["process", "process.command_line", "process.command_line.text", "process.name",
                              "process.name.caseless", "process.name.text", "process.parent",
                              "process.parent.name", "process.pid"]
    assert sorted(field_caps_body({"logs-a": ENDPOINT}, ["*.name"])["fields"]) == [
        "dll", "dll.pe", "dll.pe.sections", "dll.pe.sections.name", "process", "process.name", "process.parent",
        "process.parent.name"]
    assert field_caps_body({"logs-a": ENDPOINT}, ["process"])["fields"] == {}  # an object is not a field type


def test_a_field_with_different_types_across_indices() -> None:
    """`buildResponseMap`: `multiTypes = resSize > 1` → `build(multiTypes)` lists each type's `indices`; one type:
    none. `indices` of the answer: the index responses "sorted by index name"."""
    other = {"properties": {"process": {"properties": {"pid": {"type": "keyword"}, "name": {"type": "keyword"}}},
                            "message": {"type": "text"}}}
    body = field_caps_body({"logs-b": ENDPOINT, "logs-a": other, "logs-c": ENDPOINT}, ["process.pid", "message",
                                                                                        "process.name"])
    assert body["indices"] == ["logs-a", "logs-b", "logs-c"]
    assert body["fields"]["process.pid"] == {"keyword": caps("keyword", indices=["logs-a"]),
                                             "long": caps("long", indices=["logs-b", "logs-c"])}
    # text and match_only_text are one family: one entry, no indices
    assert body["fields"]["message"] == {"text": caps("text", aggregatable=False)}
    assert body["fields"]["process.name"] == {"keyword": caps("keyword")}


def test_searchable_and_aggregatable_in_some_indices_only() -> None:
    """`FieldCapabilities.Builder.build`: searchable/aggregatable when so in every index; "Iff this field is searchable
    in some indices AND non-searchable in others we record the list of non-searchable indices" (same for
    aggregatable). Keyword and numbers search through doc values when not indexed; `text` aggregates only with
    `fielddata`; `binary` neither."""
    plain = {"properties": {"k": {"type": "keyword"}, "t": {"type": "text"}, "n": {"type": "long"}}}
    tuned = {"properties": {"k": {"type": "keyword", "index": False, "doc_values": False},
                            "t": {"type": "text", "fielddata": True}, "n": {"type": "long", "index": False},
                            "b": {"type": "binary"}}}
    body = field_caps_body({"a": plain, "b": tuned}, ["*"])["fields"]
    assert body["k"] == {"keyword": caps("keyword", non_searchable_indices=["b"], non_aggregatable_indices=["b"],
                                         searchable=False, aggregatable=False)}
    assert body["t"] == {"text": caps("text", aggregatable=False, non_aggregatable_indices=["a"])}
    assert body["n"] == {"long": caps("long")}  # doc-values-only search
    assert body["b"] == {"binary": caps("binary", searchable=False, aggregatable=False)}


def test_metadata_fields_when_asked() -> None:
    """Metadata field types are in `context.getAllFields()` and reported with `metadata_field: true` when a requested
    name matches them (`*` too)."""
    body = field_caps_body({"logs-a": ENDPOINT}, ["_id", "_index", "process.pid"])["fields"]
    assert body["_id"] == {"_id": {"type": "_id", "metadata_field": True, "searchable": True, "aggregatable": False}}
    assert body["_index"] == {"_index": {"type": "_index", "metadata_field": True, "searchable": True,
                                         "aggregatable": True}}
    assert "_source" not in body
    assert {"_id", "_index", "_source"} <= set(field_caps_body({"logs-a": ENDPOINT}, ["*"])["fields"])


def test_runtime_fields_and_field_meta() -> None:
    """Runtime fields are reported like any field of their type, without parents ("Runtime fields are excluded since
    they can override any path"); the mapping's `meta` is merged across indices, values sorted."""
    a = {"runtime": {"host.day": {"type": "keyword", "script": "emit('x')"}},
         "properties": {"bytes": {"type": "long", "meta": {"unit": "byte"}}}}
    b = {"properties": {"bytes": {"type": "long", "meta": {"unit": "kb"}}}}
    body = field_caps_body({"a": a, "b": b}, ["*"])["fields"]
    assert body["host.day"] == {"keyword": caps("keyword")} and "host" not in body
    assert body["bytes"] == {"long": caps("long", meta={"unit": ["byte", "kb"]})}


def test_include_unmapped_lists_the_indices_lacking_a_field() -> None:
    """`buildResponseMap` with `includeUnmapped`: `getUnmappedFields` adds type `unmapped` (not metadata, not
    searchable, not aggregatable) with the indices that lack the field, which makes the field multi-typed (its other
    types list their `indices`); a field every index maps, or none does, gets no `unmapped` entry."""
    old = {"properties": {"@timestamp": {"type": "date"}}}
    new = {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"ingested": {"type": "date"}}}}}
    body = field_caps_body({"b-new": new, "a-old": old, "c-new": new}, ["event.ingested", "@timestamp", "nowhere"],
                           include_unmapped=True)
    assert body["fields"]["event.ingested"] == {
        "date": caps("date", indices=["b-new", "c-new"]),
        "unmapped": {"type": "unmapped", "metadata_field": False, "searchable": False, "aggregatable": False,
                     "indices": ["a-old"]}}
    assert body["fields"]["@timestamp"] == {"date": caps("date")}
    assert "nowhere" not in body["fields"]
    # the parent objects are entries of each index's response too: `a-old`, which has no `event`, lacks it
    assert body["fields"]["event"] == {"object": {"type": "object", **PARENT, "indices": ["b-new", "c-new"]},
                                       "unmapped": {"type": "unmapped", "metadata_field": False,
                                                    "searchable": False, "aggregatable": False,
                                                    "indices": ["a-old"]}}
    assert field_caps_body({"a-old": old}, ["event.ingested"], include_unmapped=True) == {"indices": ["a-old"],
                                                                                           "fields": {}}


def test_no_index_is_an_empty_answer() -> None:
    """`concreteIndices.length == 0` → `new FieldCapabilitiesResponse(new String[0], Collections.emptyMap())`."""
    assert field_caps_body({}, ["*"]) == {"indices": [], "fields": {}}


def test_the_shipped_ecs_mapping_gives_kibanas_ecs_field_list() -> None:
    """The ECS mapping rule-runner ships, through `field_caps_body` and Kibana's reading of it
    (`FieldList.from_field_caps`), gives the field specs Kibana builds for an ECS index (kql-spec fixtures/
    ecs-fields.json, ECS 9.4.0): type, esTypes, nested path, multi-field parent, searchable and aggregatable of
    every field both have."""
    expected = json.loads(shared_path("kql-spec", "fixtures", "ecs-fields.json").read_text(encoding="utf-8"))["fields"]
    mapping = shipped_templates().mapping_for("logs-anything")
    ours = {spec.name: spec for spec in FieldList.from_field_caps(field_caps_body({"i": mapping}, ["*"])).fields}
    compared = differ = 0
    for field in expected:
        spec = ours.get(field["name"])
        if spec is None:
            continue  # ECS 9.4 fields the shipped ECS version does not have
        compared += 1
        sub = field.get("subType") or {}
        want = (field["type"], tuple(field["esTypes"]), sub.get("nested", {}).get("path"),
                sub.get("multi", {}).get("parent"), field["searchable"], field["aggregatable"])
        differ += want != (spec.type, spec.es_types, spec.nested_path, spec.multi_parent, spec.searchable,
                           spec.aggregatable)
    assert compared > 1700 and differ == 0
    command_line, message = ours["process.command_line"], ours["message"]
    assert (command_line.type, command_line.es_types, command_line.is_keyword) == ("string", ("keyword",), True)
    assert (message.type, message.es_types, message.is_keyword) == ("string", ("text",), False)


# ---- the backends' field_caps ------------------------------------------------------------------------------------

PROC = ".ds-logs-endpoint.events.process-default-2026.01.15-000001"


def documents() -> list[dict[str, Any]]:
    return [
        {"_index": PROC, "_id": "1", "_source": {"@timestamp": "2026-01-15T10:00:01.000Z",
                                                 "process": {"name": "cmd.exe", "command_line": "cmd /c whoami"},
                                                 "custom": {"flag": True}}},  # the endpoint template: dynamic false
        {"_index": "my-app-1", "_id": "2", "_source": {"@timestamp": "2026-01-15T10:00:02.000Z",
                                                       "custom": {"flag": True}}},
        {"_index": "my-app-2", "_id": "3", "_source": {"@timestamp": "2026-01-15T10:00:03.000Z",
                                                       "custom": {"flag": "yes"}}},
    ]


def test_backends_answer_field_caps_from_their_mappings(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    store.ingest(documents())
    wanted = ["process.*", "custom.flag*", "_id"]
    answers = {}
    with EmbeddedBackend(store) as embedded:
        answers["store"] = [embedded.field_caps(("logs-endpoint.events.process-*",), wanted),
                            embedded.field_caps(("my-app-*",), wanted), embedded.field_caps(("nothing-*",), wanted)]
    memory = MemoryEvents(documents())
    answers["memory"] = [memory.field_caps(("logs-endpoint.events.process-*",), wanted),
                         memory.field_caps(("my-app-*",), wanted), memory.field_caps(("nothing-*",), wanted)]
    files = FileEvents([lambda: iter(documents())])
    # before a pass: as a cluster with the templates and no event yet (the shipped Defend template's fields)
    before = files.field_caps(("logs-endpoint.events.process-*",), wanted)
    assert before["fields"]["process.command_line"] == {"keyword": caps("keyword")}
    assert "custom.flag" not in files.field_caps(("my-app-*",), wanted)["fields"]  # only documents bring it
    files.indices()  # a pass read every document: the final mappings from now on
    answers["files"] = [files.field_caps(("logs-endpoint.events.process-*",), wanted),
                        files.field_caps(("my-app-*",), wanted), files.field_caps(("nothing-*",), wanted)]
    assert answers["store"] == answers["memory"] == answers["files"]  # the same mappings, the same answers
    endpoint, apps, nothing = answers["store"]
    assert endpoint["indices"] == [PROC] and nothing == {"indices": [], "fields": {}}
    assert endpoint["fields"]["process.command_line"] == {"keyword": caps("keyword")}  # ECS maps it `wildcard`
    assert "custom.flag" not in endpoint["fields"]  # not mapped: the endpoint template is `dynamic: false`
    assert endpoint["fields"]["_id"]["_id"]["metadata_field"] is True
    # dynamic mapping: a boolean in one index, a string (text with a `keyword` multi-field) in the other
    assert apps["indices"] == ["my-app-1", "my-app-2"]
    assert apps["fields"]["custom.flag"] == {"boolean": caps("boolean", indices=["my-app-1"]),
                                             "text": caps("text", aggregatable=False, indices=["my-app-2"])}
    assert apps["fields"]["custom.flag.keyword"] == {"keyword": caps("keyword")}
    fields = FieldList.from_field_caps(apps)
    flag, keyword = fields.find("custom.flag"), fields.find("custom.flag.keyword")
    assert flag is not None and (flag.type, flag.es_types) == ("conflict", ("boolean", "text"))
    assert keyword is not None and keyword.multi_parent == "custom.flag"


def _without(dsl: Any, suffix: str) -> Any:
    """`dsl` without the leaf clauses on a field ending with `suffix` (`{"exists": {"field": f}}`, `{"term": {f: ...}}`,
    ...)."""
    def names(clause: Any) -> bool:
        if not (isinstance(clause, dict) and len(clause) == 1):
            return False
        [body] = clause.values()
        return isinstance(body, dict) and any(str(name).endswith(suffix) for name in (body.get("field"), *body))
    if isinstance(dsl, dict):
        return {key: _without(value, suffix) for key, value in dsl.items()}
    if isinstance(dsl, list):
        return [_without(item, suffix) for item in dsl if not names(item)]
    return dsl


def test_the_corpus_translates_as_with_kibanas_ecs_field_list() -> None:
    """Every corpus KQL query translated with the field list read from the local `_field_caps` answer of the shipped
    ECS mapping gives Kibana's `ecs`-profile DSL (kql-spec corpus.ndjson `dsl_ecs`), except where a wildcard field
    name (`file.hash.*`, `process.hash.*`, `threat.indicator.file.hash.*`) also expands to ECS 9.4's `*.hash.cdhash`,
    which the shipped ECS does not have."""
    rows = [json.loads(line) for line in shared_path("kql-spec", "corpus.ndjson").read_text(encoding="utf-8")
            .splitlines() if line.strip()]
    mapping = shipped_templates().mapping_for("logs-anything")
    fields = FieldList.from_field_caps(field_caps_body({"i": mapping}, ["*"])).fields
    same = cdhash_only = 0
    for row in rows:
        got = kql_to_dsl(row["kql"], fields)
        if _same(got, row["dsl_ecs"]):
            same += 1
        else:
            assert _same(got, _without(row["dsl_ecs"], ".hash.cdhash")), row["file"]
            cdhash_only += 1
    assert (len(rows), same, cdhash_only) == (801, 794, 7)
