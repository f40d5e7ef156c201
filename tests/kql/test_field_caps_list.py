"""Kibana's field list from a `_field_caps` answer (`FieldList.from_field_caps`), as its data views read it:
`readFieldCapsResponse` (src/platform/plugins/shared/data_views/server/fetcher/lib/field_capabilities/
field_caps_response.ts @ f0e9481c), then `getFieldCapabilities` (field_capabilities.ts @ be57024d) with
`mergeOverrides` (overrides.ts @ 86b5f4b2) and `castEsToKbnFieldTypeName` (kbn-field-types
kbn_field_types_factory.ts @ 4926f7c0)."""

from __future__ import annotations

from typing import Any

from runner.kql import FieldList, kql_to_dsl
from runner.kql.fields import kibana_type, read_field_caps_response


def caps(es_type: str, searchable: bool = True, aggregatable: bool = True, **more: Any) -> dict[str, Any]:
    return {"type": es_type, "metadata_field": False, "searchable": searchable, "aggregatable": aggregatable, **more}


PARENT = {"metadata_field": False, "searchable": False, "aggregatable": False}

# an ECS endpoint index as Elasticsearch's _field_caps reports it (family types: wildcard and match_only_text
# report as keyword and text)
ECS_ANSWER: dict[str, Any] = {
    "indices": [".ds-logs-endpoint.events.process-default-2026.01.15-000001"],
    "fields": {
        "process": {"object": {"type": "object", **PARENT}},
        "process.command_line": {"keyword": caps("keyword")},
        "process.command_line.text": {"text": caps("text", aggregatable=False)},
        "process.name": {"keyword": caps("keyword")},
        "message": {"text": caps("text", aggregatable=False)},
        "@timestamp": {"date": caps("date")},
        "process.pid": {"long": caps("long")},
        "dll": {"object": {"type": "object", **PARENT}},
        "dll.pe": {"object": {"type": "object", **PARENT}},
        "dll.pe.sections": {"nested": {"type": "nested", **PARENT}},
        "dll.pe.sections.name": {"keyword": caps("keyword")},
        "dll.pe.sections.name.text": {"text": caps("text", aggregatable=False)},
        "_id": {"_id": {"type": "_id", "metadata_field": True, "searchable": True, "aggregatable": False}},
        "_seq_no": {"_seq_no": {"type": "_seq_no", "metadata_field": True, "searchable": True, "aggregatable": True}},
    },
}


def test_the_ecs_facts_the_translation_depends_on() -> None:
    """KIBANA-TRANSLATION.md §1: ECS `wildcard` fields (`process.command_line`) are keyword fields (`term`/`wildcard`
    queries), `message` is text (`match`); children of a nested field carry `subType.nested.path`, multi-fields
    `subType.multi.parent`; object and nested parents are not fields."""
    fields = FieldList.from_field_caps(ECS_ANSWER)
    command_line = fields.find("process.command_line")
    assert command_line is not None and command_line.is_keyword and command_line.type == "string"
    message = fields.find("message")
    assert message is not None and not message.is_keyword and message.es_types == ("text",)
    assert kql_to_dsl("process.command_line: *whoami*", fields.fields) == {"bool": {"should": [
        {"wildcard": {"process.command_line": {"value": "*whoami*"}}}], "minimum_should_match": 1}}
    assert kql_to_dsl("message: hello", fields.fields) == {"bool": {"should": [
        {"match": {"message": "hello"}}], "minimum_should_match": 1}}
    section = fields.find("dll.pe.sections.name")
    assert section is not None and (section.nested_path, section.multi_parent) == ("dll.pe.sections", None)
    section_text = fields.find("dll.pe.sections.name.text")
    assert section_text is not None
    assert (section_text.nested_path, section_text.multi_parent) == ("dll.pe.sections", "dll.pe.sections.name")
    text = fields.find("process.command_line.text")
    assert text is not None and (text.multi_parent, text.nested_path) == ("process.command_line", None)
    assert all(fields.find(name) is None for name in ("process", "dll", "dll.pe", "dll.pe.sections"))


def test_meta_fields_as_getfieldcapabilities_makes_them() -> None:
    """"not all meta fields are provided, so remove and manually add": fields field_caps marks `metadata_field` are
    dropped, the data view's `metaFields` added (as reported, else `string`, neither searchable nor aggregatable),
    `mergeOverrides` applied (`_source` → `_source`, `_id`/`_index` → `string`, `_score` → `number`), the list sorted
    by name; "empty field lists should stay empty"."""
    fields = FieldList.from_field_caps(ECS_ANSWER)
    names = [spec.name for spec in fields.fields]
    assert names == sorted(names) and "_seq_no" not in names
    assert {"_id", "_index", "_score", "_source", "_type"} <= set(names)
    by_name = {spec.name: spec for spec in fields.fields}
    assert (by_name["_id"].type, by_name["_id"].es_types, by_name["_id"].searchable) == ("string", ("_id",), True)
    assert (by_name["_index"].type, by_name["_index"].es_types, by_name["_index"].searchable) == ("string", None,
                                                                                                   False)
    assert by_name["_source"].type == "_source" and by_name["_score"].type == "number"
    assert FieldList.from_field_caps({"indices": [], "fields": {}}).fields == ()
    assert FieldList.from_field_caps(ECS_ANSWER, meta_fields=()).find("_id") is None


def test_conflicts_and_searchability_across_types() -> None:
    """The reference's example answer: `rating` long in two indices, keyword in two others → Kibana types `number` and
    `string` differ → `conflict` with both `esTypes`; "If a single type is marked as searchable or aggregatable, all
    the types are searchable or aggregatable" (a `non_*_indices` list counts as some)."""
    answer = {"indices": ["index1", "index2", "index3", "index4", "index5"], "fields": {
        "rating": {"long": caps("long", aggregatable=False, indices=["index1", "index2"],
                                non_aggregatable_indices=["index1"]),
                   "keyword": caps("keyword", searchable=False, indices=["index3", "index4"],
                                   non_searchable_indices=["index4"])},
        "title": {"text": caps("text", aggregatable=False)},
        "count": {"long": caps("long", indices=["index1"]), "integer": caps("integer", indices=["index2"])},
    }}
    [rating, title, count] = read_field_caps_response(answer)
    assert (rating.type, rating.es_types, rating.searchable, rating.aggregatable) == ("conflict", ("long", "keyword"),
                                                                                      True, True)
    assert (title.type, title.es_types, title.aggregatable) == ("string", ("text",), False)
    # several types of one Kibana type: "ignore the conflict and carry on"
    assert (count.type, count.es_types) == ("number", ("long", "integer"))
    assert not rating.is_keyword


def test_kibana_types_of_elasticsearch_types() -> None:
    """`castEsToKbnFieldTypeName`: the kbn type listing the es type, else `unknown` (`flattened`, `_index`)."""
    assert [kibana_type(t) for t in ("keyword", "match_only_text", "version", "_id", "unsigned_long", "date_nanos",
                                     "ip", "boolean", "geo_point", "flattened", "_index", "object")] == [
        "string", "string", "string", "string", "number", "date", "ip", "boolean", "geo_point", "unknown",
        "unknown", "object"]


def test_a_multi_field_needs_its_parent_listed() -> None:
    """`firstParent && !['object', 'nested'].includes(firstParent.type)`: a dotted field whose closest parent is not
    in the answer is no multi-field (asking for `process.name.text` alone gives no parent)."""
    [text] = read_field_caps_response({"fields": {"process.name.text": {"text": caps("text", aggregatable=False)}}})
    assert text.multi_parent is None and text.nested_path is None


def test_the_cases_of_kibanas_own_tests() -> None:
    """The cases field_caps_response.test.js (@ 54bec3bc) checks, on an answer of the same shape: a conflict only
    when the Kibana types differ; searchable/aggregatable when one type is or lists non-* indices; `subType` for multi
    children, nested children and both at once; object children without `subType`; the nested field itself absent."""
    answer = {"fields": {
        "success": {"boolean": caps("boolean", indices=["index1"]), "keyword": caps("keyword", indices=["index2"])},
        "resolvable_to_string": {"text": caps("text", indices=["index1"]), "keyword": caps("keyword",
                                                                                            indices=["index2"])},
        "resolvable_to_number": {"integer": caps("integer", indices=["index1"]), "long": caps("long",
                                                                                             indices=["index2"])},
        "mix_searchable_other": {"int": caps("integer", searchable=False, aggregatable=False,
                                             non_searchable_indices=["index1"])},
        "mix_aggregatable_other": {"int": caps("integer", searchable=False, aggregatable=False,
                                               non_aggregatable_indices=["index1"])},
        "multi_parent": {"text": caps("text", aggregatable=False)},
        "multi_parent.child": {"keyword": caps("keyword")},
        "object_parent": {"object": {"type": "object", **PARENT}},
        "object_parent.child": {"keyword": caps("keyword")},
        "nested_object_parent": {"nested": {"type": "nested", **PARENT}},
        "nested_object_parent.child": {"text": caps("text", aggregatable=False)},
        "nested_object_parent.child.keyword": {"keyword": caps("keyword")},
    }}
    fields = {spec.name: spec for spec in read_field_caps_response(answer)}
    assert [name for name, spec in fields.items() if spec.type == "conflict"] == ["success"]
    assert fields["success"].es_types == ("boolean", "keyword")
    assert (fields["resolvable_to_string"].type, fields["resolvable_to_number"].type) == ("string", "number")
    assert fields["mix_searchable_other"].searchable and fields["mix_aggregatable_other"].aggregatable
    assert fields["mix_searchable_other"].es_types == ("int",)  # the answer's keys, whatever `type` says
    assert fields["multi_parent.child"].multi_parent == "multi_parent"
    assert (fields["nested_object_parent.child"].nested_path, fields["nested_object_parent.child"].multi_parent) == (
        "nested_object_parent", None)
    both = fields["nested_object_parent.child.keyword"]
    assert (both.nested_path, both.multi_parent) == ("nested_object_parent", "nested_object_parent.child")
    assert (fields["object_parent.child"].nested_path, fields["object_parent.child"].multi_parent) == (None, None)
    assert "nested_object_parent" not in fields and "object_parent" not in fields
