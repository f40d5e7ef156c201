"""Dynamic mapping as Elasticsearch does it beyond the default (runner.engine.dynamic): dynamic templates with
`runtime`, `unmatch_mapping_type`, templates for objects, the JSON type `match_mapping_type` sees, `dynamic` per object
(`false`, `runtime`, inherited), each checked three ways: the body the walk makes, `LiveMapping` (its mapping equals
`IndexMapping.from_body` of its body and its fast proof agrees with the walk), and a search over the documents.

Elasticsearch's behaviour followed (server/src/main/java/org/elasticsearch/index/mapper/): DynamicTemplate.parse
(which JSON types a template matches: `match_mapping_type`, "*" for all; without it all when `match`/`path_match` is
set, none otherwise; a `runtime` template never an object or binary), DynamicFieldsBuilder (`{dynamic_type}` is the
default mapping type, text/float, or for a runtime template the default runtime type, keyword/double;
"dynamic:runtime maps objects under properties, exactly like dynamic:true"; createDynamicObjectMapper applies a
template matching `object`).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.backends import EqlRequest, FileEvents
from runner.backends.embedded import EmbeddedBackend, Store
from runner.ecs import Template, Templates
from runner.engine import DynamicTemplates, LiveMapping, dynamic_mapping, extend_mapping, search
from runner.eql import IndexMapping, Runtime

TS = "2026-11-29T00:00:00.000Z"


def grown(base: Mapping[str, Any], *sources: Mapping[str, Any]) -> dict[str, Any]:
    """The body the walk makes, checked against LiveMapping (same body, mapping == from_body)."""
    body = dynamic_mapping(sources, base=base)
    live = LiveMapping(base)
    for source in sources:
        live.extend(source)
    assert live.body == body
    assert live.mapping == IndexMapping.from_body(body)
    return body


def node(body: Mapping[str, Any], dotted: str) -> Any:
    found: Any = body
    for part in dotted.split("."):
        found = found["properties"][part]
    return found


def ids(body: dict[str, Any]) -> list[str]:
    return [hit["_id"] for hit in body["hits"]["events"]]


def run(query: str, sources: list[dict[str, Any]], body: dict[str, Any]) -> list[str]:
    documents = [{"_index": "i", "_id": str(n), "_source": {"@timestamp": TS, "event": {"category": "process"}, **s}}
                 for n, s in enumerate(sources, 1)]
    return ids(search(documents, query, mappings={"i": body}))


BASE = {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}}}


def with_templates(*templates: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {**copy.deepcopy(BASE), "dynamic_templates": list(templates), **settings}


# runtime templates


def test_a_runtime_template_maps_the_field_in_the_runtime_section_reading_source() -> None:
    base = with_templates(
        {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "runtime": {}}},
        {"counts": {"path_match": "counts.*", "runtime": {"type": "{dynamic_type}"}}},
    )
    docs = [{"labels": {"team": "red"}, "counts": {"n": 3, "ratio": 0.5}}, {"labels": {"team": "blue"}}]
    body = grown(base, *docs)
    # DynamicFieldsBuilder: a runtime template's {dynamic_type} is the default runtime type (string → keyword,
    # decimal → double), and the field goes to `runtime`, not `properties`
    assert body["runtime"] == {"labels.team": {"type": "keyword"}, "counts.n": {"type": "long"},
                               "counts.ratio": {"type": "double"}}
    assert node(body, "labels")["properties"] == {} and node(body, "counts")["properties"] == {}
    mapping = IndexMapping.from_body(body)
    assert mapping.fields["labels.team"].runtime is Runtime.SOURCE
    assert run('process where labels.team == "red"', docs, body) == ["1"]
    assert run("process where counts.ratio < 1 and counts.n == 3", docs, body) == ["1"]


def test_a_runtime_template_never_matches_an_object() -> None:
    # XContentFieldType.OBJECT.supportsRuntimeField() is false: an object under it maps as an object
    base = with_templates({"all": {"path_match": "x.*", "runtime": {}}})
    body = grown(base, {"x": {"o": {"leaf": "v"}}})
    assert "properties" in node(body, "x.o")
    assert body["runtime"] == {"x.o.leaf": {"type": "keyword"}}


# which JSON types a template matches


def test_unmatch_mapping_type_leaves_objects_to_the_default() -> None:
    # ecs@mappings' ecs_message_match_only_text, as Fleet installs it
    base = with_templates({"ecs_message_match_only_text": {"path_match": ["message", "*.message"],
                                                           "unmatch_mapping_type": "object",
                                                           "mapping": {"type": "match_only_text"}}})
    base["dynamic_templates"].append(
        {"no_numbers": {"match": "n_*", "unmatch_mapping_type": ["long", "double"], "mapping": {"type": "keyword"}}})
    body = grown(base, {"message": "hello", "a": {"message": {"code": 1}}, "b": {"message": "x"},
                        "n_count": 3, "n_ratio": 0.5, "n_name": "x"})
    assert node(body, "n_count") == {"type": "long"} and node(body, "n_ratio") == {"type": "float"}
    assert node(body, "n_name") == {"type": "keyword"}
    assert node(body, "message") == {"type": "match_only_text"}
    assert node(body, "b.message") == {"type": "match_only_text"}
    assert node(body, "a.message.code") == {"type": "long"}  # the object is not matched; its leaf maps by default


def test_a_template_without_a_type_or_a_name_condition_matches_nothing() -> None:
    # Elasticsearch's reference: "If a dynamic template doesn't define match_mapping_type, match, or path_match, it
    # won't match any field" (DynamicTemplate.parse gives it no XContentFieldType)
    base = with_templates({"only_unmatch": {"unmatch": "zzz", "mapping": {"type": "keyword"}}})
    assert node(grown(base, {"f": "text"}), "f")["type"] == "text"


@pytest.mark.parametrize(("value", "kind"), [
    ("plain", "string"), ("2026-11-29T10:00:00Z", "date"), (7, "long"), (2.5, "double"), (True, "boolean"),
])
def test_match_mapping_type_sees_the_json_type_elasticsearch_derives(value: Any, kind: str) -> None:
    templates = [{f"t_{k}": {"match_mapping_type": k, "mapping": {"type": "keyword", "meta": {"k": k}}}}
                 for k in ("string", "date", "long", "double", "boolean")]
    assert node(grown(with_templates(*templates), {"f": value}), "f")["meta"] == {"k": kind}


def test_without_date_detection_a_date_like_string_is_a_string() -> None:
    templates = ({"dates": {"match_mapping_type": "date", "mapping": {"type": "date", "format": "strict_date_time"}}},
                 {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}})
    assert node(grown(with_templates(*templates), {"f": "2026-11-29T10:00:00Z"}), "f")["type"] == "date"
    off = with_templates(*templates, date_detection=False)
    assert node(grown(off, {"f": "2026-11-29T10:00:00Z"}), "f") == {"type": "keyword"}
    assert node(grown({"date_detection": False}, {"f": "2026-11-29"}), "f")["type"] == "text"


# templates for objects


def test_a_template_for_objects_gives_the_object_its_mapping() -> None:
    base = with_templates(
        {"off": {"match": "blob", "match_mapping_type": "object", "mapping": {"type": "object", "enabled": False}}},
        {"quiet": {"match": "quiet", "match_mapping_type": "object", "mapping": {"type": "object", "dynamic": False}}},
        {"flat": {"match": "flat", "match_mapping_type": "*", "mapping": {"type": "flattened"}}},
        {"deep": {"match": "deep", "match_mapping_type": "object", "mapping": {"type": "nested"}}},
    )
    docs = [{"blob": {"x": "1"}, "quiet": {"a": "1"}, "flat": {"k": "v"}, "deep": [{"p": 1}], "b": {"quiet": {"c": 2}}}]
    body = grown(base, *docs)
    assert node(body, "blob") == {"type": "object", "enabled": False}  # not parsed: nothing below it maps
    assert node(body, "quiet") == {"type": "object", "dynamic": False, "properties": {}}
    assert node(body, "b.quiet") == {"type": "object", "dynamic": False, "properties": {}}  # `match`: by name
    assert node(body, "flat") == {"type": "flattened"}
    assert node(body, "deep") == {"type": "nested", "properties": {"p": {"type": "long"}}}
    mapping = IndexMapping.from_body(body)
    assert "deep" in mapping.nested and mapping.fields["flat"].type == "flattened"
    assert "quiet.a" not in mapping.fields and "blob.x" not in mapping.fields
    # and in a search: a field under a `dynamic: false` object is unknown, as on a cluster
    with pytest.raises(Exception, match=r"Unknown column \[quiet.a\]"):
        run('process where quiet.a == "1"', docs, body)


def test_a_shipped_object_template_azure_target_resources() -> None:
    # the Azure integration's templates (runner/ecs/templates.json.gz): objects under target_resources are
    # `{"type": "object", "dynamic": true}`, their string leaves keyword
    prefix = "azure.auditlogs.properties.target_resources"
    base = with_templates(
        {f"{prefix}.*": {"path_match": f"{prefix}.*", "match_mapping_type": "object",
                         "mapping": {"type": "object", "dynamic": True}}},
        {f"{prefix}.*.id": {"path_match": f"{prefix}.*.id", "match_mapping_type": "string",
                            "mapping": {"type": "keyword"}}},
    )
    doc = {"azure": {"auditlogs": {"properties": {"target_resources": {"first": {"id": "abc", "n": 1}}}}}}
    body = grown(base, doc)
    assert node(body, f"{prefix}.first") == {"type": "object", "dynamic": True,
                                        "properties": {"id": {"type": "keyword"}, "n": {"type": "long"}}}
    assert run(f'process where {prefix}.first.id == "abc"', [doc], body) == ["1"]


# `dynamic` per object


def test_dynamic_runtime_maps_new_leaves_as_runtime_fields_and_objects_as_objects() -> None:
    base = {**copy.deepcopy(BASE), "dynamic": "runtime"}
    docs = [{"user": {"name": "alice", "id": 7, "score": 0.5, "admin": True, "seen": "2026-11-29T10:00:00Z"},
             "event": {"category": "process", "code": "4624"}}]
    body = grown(base, *docs)
    assert body["runtime"] == {"user.name": {"type": "keyword"}, "user.id": {"type": "long"},
                               "user.score": {"type": "double"}, "user.admin": {"type": "boolean"},
                               "user.seen": {"type": "date"}, "event.code": {"type": "keyword"}}
    assert node(body, "user") == {"properties": {}}
    assert node(body, "event.category") == {"type": "keyword"}  # mapped before: stays
    assert run('process where user.name == "alice" and user.id == 7 and user.admin == true and event.code == "4624"',
               docs, body) == ["1"]
    # a template still decides where it matches (DynamicFieldsBuilder: a matching template first)
    templated = {**base, "dynamic_templates": [{"ids": {"match": "id", "mapping": {"type": "keyword"}}}]}
    body = grown(templated, *docs)
    assert node(body, "user.id") == {"type": "keyword"} and "user.id" not in body["runtime"]


def test_dynamic_is_inherited_and_set_per_object() -> None:
    base = {"properties": {
        "closed": {"dynamic": False, "properties": {"open": {"dynamic": True, "properties": {}}}},
        "rt": {"type": "object", "dynamic": "runtime", "properties": {}},
    }}
    docs = [{"closed": {"new": "x", "deeper": {"a": 1}, "open": {"b": "y"}}, "closed.open.c": 1, "closed.d": 2,
             "rt": {"s": "v", "o": {"n": 1}}, "top": 1}]
    body = grown(base, *docs)
    assert set(node(body, "closed")["properties"]) == {"open"}  # no field and no object: kept in _source only
    assert set(node(body, "closed.open")["properties"]) == {"b", "c"}  # its own `dynamic: true`
    assert body["runtime"] == {"rt.s": {"type": "keyword"}, "rt.o.n": {"type": "long"}}  # inherited below rt.o
    assert node(body, "top") == {"type": "long"}
    # a root `dynamic: false` re-opened on one object (the only way such an index grows)
    frozen = {"dynamic": False, "properties": {"custom": {"dynamic": True, "properties": {}}}}
    body = grown(frozen, {"custom": {"x": 1}, "other": {"y": 1}})
    assert set(body["properties"]) == {"custom"} and node(body, "custom.x") == {"type": "long"}


def test_the_fast_proof_agrees_with_the_walk_over_dynamic_settings_and_templates() -> None:
    """LiveMapping's `_Shape.covers` over bodies with closed, runtime and re-opened objects and templates for
    objects and runtime fields: each `extend` answers as the walk on a copy, the body stays the walk's, and the
    mapping equals `IndexMapping.from_body`."""
    bases: list[dict[str, Any]] = [
        {"dynamic": False, "properties": {"a": {"dynamic": True, "properties": {}},
                                          "b": {"properties": {"c": {"type": "long"}}}}},
        {"dynamic": "runtime", "properties": {"b": {"dynamic": False, "properties": {}}}},
        {"dynamic_templates": [{"o": {"match": "b", "match_mapping_type": "object",
                                      "mapping": {"type": "object", "dynamic": False}}},
                               {"r": {"path_match": "a.*", "runtime": {}}},
                               {"e": {"match": "c", "match_mapping_type": "object",
                                      "mapping": {"type": "object", "enabled": False}}}]},
    ]
    rng = random.Random(13)
    names = ["a", "b", "c", "a.b", "b.c", "a.c", "d"]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth < 3 and roll < 0.4:
            return {rng.choice(names): value(depth + 1) for _ in range(rng.randint(0, 3))}
        if roll < 0.5:
            return [value(depth + 1) if rng.random() < 0.5 else None for _ in range(rng.randint(0, 3))]
        return rng.choice([None, 1, 2.5, True, "x", "2026-01-01"])

    for base in bases:
        for _round in range(10):
            live = LiveMapping(base)
            reference = copy.deepcopy(live.body)
            for _ in range(200):
                document = {rng.choice(names): value(0) for _ in range(rng.randint(1, 4))}
                assert live.extend(document) is extend_mapping(reference, document), (base, document)
                assert live.body == reference
            assert live.mapping == IndexMapping.from_body(live.body)


def test_names_still_tells_a_template_naming_fields() -> None:
    templates = DynamicTemplates([{"r": {"path_match": "labels.*", "runtime": {}}},
                                  {"s": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}])
    assert templates.names("labels.x") and not templates.names("other")


# the store and hunt


def test_runtime_and_object_templates_in_the_store_and_over_files(tmp_path: Path) -> None:
    mappings = with_templates(
        {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "runtime": {}}},
        {"raw": {"match": "raw", "match_mapping_type": "object", "mapping": {"type": "object", "enabled": False}}},
    )
    mappings["dynamic"] = True
    templates = Templates([Template(name="app", index_patterns=("app-*",), priority=500, mappings=mappings,
                                    title="app", origin="/app.json")])
    docs = [{"_index": "app-1", "_id": "1", "_source": {"@timestamp": TS, "event": {"category": "process"},
                                                        "labels": {"team": "red"}, "raw": {"secret": "s"}}},
            {"_index": "app-1", "_id": "2", "_source": {"@timestamp": TS, "event": {"category": "process"},
                                                        "labels": {"team": "blue"}}}]
    store = Store(tmp_path / "store.db", templates=templates)
    store.ingest(docs)
    stored = store.mappings(["app-1"])["app-1"]
    assert stored["runtime"]["labels.team"] == {"type": "keyword"} and node(stored, "raw")["enabled"] is False
    files = FileEvents([lambda: iter([dict(d) for d in docs])], templates=templates)
    for eql_search in (EmbeddedBackend(store).eql_search, files.eql_search):
        answer = eql_search(EqlRequest(("app-*",), {"query": 'process where labels.team == "red"'}))
        assert ids(answer) == ["1"]
        with pytest.raises(Exception, match=r"Unknown column \[raw.secret\]"):
            eql_search(EqlRequest(("app-*",), {"query": 'process where raw.secret == "s"'}))


# arrays (the review's item 2: only the first object of an array was mapped)


def test_every_object_of_an_array_is_mapped_and_a_scalar_keeps_the_first_values_type(tmp_path: Path) -> None:
    """Elasticsearch's DocumentParser parses every element of an array (parseArray → parseValue per element), so
    each object of `[{"p": "1"}, {"q": "v"}]` maps its own keys; a scalar field is mapped by the first non-null
    value, the later ones finding it mapped."""
    sources: list[dict[str, Any]] = [{"arr": [None, {"p": "1"}, {"q": "v", "n": {"deep": 3}}, [{"r": True}]],
                                      "mixed": [None, 7, "x", 2.5]}]
    body = grown(BASE, *sources)
    assert node(body, "arr.p")["type"] == "text" and node(body, "arr.q")["type"] == "text"
    assert node(body, "arr.n.deep") == {"type": "long"} and node(body, "arr.r") == {"type": "boolean"}
    assert node(body, "mixed") == {"type": "long"}
    assert run('process where arr.q == "v" and arr.n.deep == 3 and arr.r == true', sources, body) == ["1"]
    # the fast proof: a document of that shape adds nothing once mapped, one with a new key in a later object adds
    live = LiveMapping(BASE)
    assert live.extend(sources[0]) is True and live.extend(sources[0]) is False
    later = {"arr": [{"p": "2"}, {"q": "w"}, {"s": "new"}]}
    reference = copy.deepcopy(live.body)
    assert live.extend(later) is extend_mapping(reference, later) is True
    assert node(live.body, "arr.s")["type"] == "text" and live.body == reference
    assert live.mapping == IndexMapping.from_body(live.body)
    # the store and hunt/query over files, with objects of different keys in one array
    docs = [{"_index": "app-1", "_id": "1", "_source": {"@timestamp": TS, "event": {"category": "process"},
                                                        "arr": [{"p": "1"}, {"q": "v"}]}}]
    store = Store(tmp_path / "store.db")
    store.ingest(docs)
    assert node(store.mappings(["app-1"])["app-1"], "arr.q")["type"] == "text"
    files = FileEvents([lambda: iter([dict(d) for d in docs])])
    for eql_search in (EmbeddedBackend(store).eql_search, files.eql_search):
        assert ids(eql_search(EqlRequest(("app-*",), {"query": 'process where arr.q == "v"'}))) == ["1"]
