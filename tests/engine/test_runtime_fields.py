"""Runtime fields (a mapping's `runtime` section) in verification and search, as Elasticsearch resolves them.

Elasticsearch's own rules, quoted where each test relies on one:
- a runtime field without a script reads `_source` at its own name (AbstractFieldScript.emitFromSource:
  `for (Object v : extractFromSource(fieldName)) emitFromObject(v)`), each type parsing what it can and skipping the
  rest (server/src/main/java/org/elasticsearch/script/*FieldScript.java, `emitFromObject`);
- it takes precedence over a mapped field of the same name, and a leaf it defines is not mapped dynamically
  (DocumentParser.getLeafMapper: "if a leaf field is not mapped, and is defined as a runtime field, then we don't
  create a dynamic mapping for it and don't index it");
- mapping errors: RuntimeField.parseRuntimeFields ("No handler for type [unknown] declared on runtime field
  [field]", MapperServiceTests / RootObjectMapperTests) and CompositeRuntimeFieldTests ("composite runtime field
  [obj] must declare a [script]").
A script (painless) rule-runner cannot run: the field verifies as its type and reads as missing, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from runner.engine import LiveMapping, SearchRequestError, dynamic_mapping, search, search_many
from runner.engine.multi import QuerySearch
from runner.eql import EqlVerificationError, IndexMapping, Runtime, Schema

INDEX = "logs-app-default"


def mapping(runtime: dict[str, Any], properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"mappings": {
        "properties": {
            "@timestamp": {"type": "date"},
            "event": {"properties": {"category": {"type": "keyword"}}},
            **(properties or {}),
        },
        "runtime": runtime,
    }}


def docs(*sources: dict[str, Any], category: str = "process", index: str = INDEX) -> list[dict[str, Any]]:
    return [
        {"_index": index, "_id": f"d{i}",
         "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z", "event": {"category": category}, **source}}
        for i, source in enumerate(sources)
    ]


def hits(documents: list[dict[str, Any]], query: str, body: dict[str, Any]) -> list[str]:
    response = search(documents, query, mappings={INDEX: body}, size=100)
    return [hit["_id"] for hit in response["hits"]["events"]]


def test_keyword_without_script_reads_source_values_as_their_text() -> None:
    # StringFieldScript.emitFromObject: `if (v != null) emit(v.toString())` (no ignore_above: a runtime keyword has none)
    body = mapping({"status": {"type": "keyword"}})
    documents = docs({"status": 404}, {"status": "404"}, {"status": [200, 404]}, {"status": True}, {"status": None}, {})
    assert hits(documents, 'process where status == "404"', body) == ["d0", "d1", "d2"]
    assert hits(documents, 'process where status == "true"', body) == ["d3"]
    assert hits(documents, "process where status == null", body) == ["d4", "d5"]
    assert hits(documents, 'process where status : "4*"', body) == ["d0", "d1", "d2"]  # exact-matchable: a keyword


def test_long_without_script_coerces_numbers_and_numeric_strings() -> None:
    # LongFieldScript.emitFromObject: `emit(NumberFieldMapper.NumberType.objectToLong(v, true))`, exceptions ignored
    body = mapping({"bytes": {"type": "long"}})
    documents = docs({"bytes": 5}, {"bytes": "12"}, {"bytes": 3.7}, {"bytes": "many"}, {"bytes": True}, {"bytes": 4})
    assert hits(documents, "process where bytes > 4", body) == ["d0", "d1"]
    assert hits(documents, "process where bytes == 3", body) == ["d2"]  # 3.7 coerced to 3
    assert hits(documents, "process where bytes == null", body) == ["d3", "d4"]


def test_double_date_and_boolean_without_script() -> None:
    body = mapping({
        "ratio": {"type": "double"},
        "seen": {"type": "date"},
        "ok": {"type": "boolean"},
    })
    documents = docs(
        {"ratio": "0.5", "seen": "2026-01-02T00:00:00Z", "ok": "true"},
        {"ratio": 2, "seen": 1767225600000, "ok": ""},  # 2026-01-01T00:00:00Z as epoch millis
        {"ratio": False, "seen": "not a date", "ok": False},
    )
    assert hits(documents, "process where ratio < 1.0", body) == ["d0"]
    assert hits(documents, "process where ratio == null", body) == ["d2"]  # DoubleFieldScript: numbers and strings
    assert hits(documents, 'process where seen >= "2026-01-02T00:00:00.000Z"', body) == ["d0"]
    assert hits(documents, 'process where seen < "2026-01-02T00:00:00.000Z"', body) == ["d1"]
    # BooleanFieldScript: Booleans.parseBoolean takes "true" and "false" only; an indexed boolean reads "" as false
    assert hits(documents, "process where ok == true", body) == ["d0"]
    assert hits(documents, "process where ok == false", body) == ["d2"]


def test_ip_without_script_and_cidr_match() -> None:
    # IpFieldScript.emitFromObject: strings only, parse errors ignored
    body = mapping({"client_ip": {"type": "ip"}})
    documents = docs({"client_ip": "10.1.2.3"}, {"client_ip": "192.168.0.1"}, {"client_ip": "nope"}, {"client_ip": 167837955})
    assert hits(documents, 'process where cidrMatch(client_ip, "10.0.0.0/8")', body) == ["d0"]
    assert hits(documents, 'process where client_ip == "192.168.0.0/16"', body) == ["d1"]
    assert hits(documents, "process where client_ip == null", body) == ["d2", "d3"]


def test_dotted_names_read_nested_objects_and_dotted_keys() -> None:
    body = mapping({"http.response.code": {"type": "long"}})
    documents = docs({"http": {"response": {"code": "500"}}}, {"http.response.code": 500}, {"http": {"response.code": 404}})
    assert hits(documents, "process where http.response.code >= 500", body) == ["d0", "d1"]


def test_a_runtime_field_shadows_the_mapped_field_of_its_name() -> None:
    properties = {"pid": {"type": "keyword"}}
    documents = docs({"pid": "10"}, {"pid": "9"}, {"pid": "0010"})
    # as the mapped keyword: "9" > "10" as text, and a number does not compare with a keyword
    assert hits(documents, 'process where pid > "5"', mapping({}, properties)) == ["d1"]
    # the runtime long wins: numbers, "0010" is 10
    body = mapping({"pid": {"type": "long"}}, properties)
    assert hits(documents, "process where pid > 9", body) == ["d0", "d2"]
    assert IndexMapping.from_body(body).fields["pid"].type == "long"


def test_verification_sees_runtime_fields_and_still_refuses_unknown_ones() -> None:
    body = mapping({"client_ip": {"type": "ip"}, "user_tag": {"type": "keyword"}})
    assert hits(docs({"user_tag": "a"}), 'process where user_tag == "a"', body) == ["d0"]  # known only as runtime
    with pytest.raises(EqlVerificationError, match=r"Unknown column \[user_tags\], did you mean \[user_tag\]\?"):
        search(docs({}), 'process where user_tags == "a"', mappings={INDEX: body})
    # an ip is no string: the verifier knows its type
    with pytest.raises(EqlVerificationError, match=r"client_ip"):
        search(docs({}), 'process where startsWith(client_ip, "10.")', mappings={INDEX: body})


def test_a_scripted_field_verifies_reads_as_missing_and_warns_once_per_search(caplog: pytest.LogCaptureFixture) -> None:
    body = mapping({"day_of_week": {"type": "keyword", "script": {"source": "emit(doc['@timestamp'].value.dayOfWeekEnum"
                                                                            ".getDisplayName(TextStyle.FULL, Locale.ROOT))"}}})
    assert IndexMapping.from_body(body).fields["day_of_week"].runtime is Runtime.SCRIPT
    documents = docs({"day_of_week": "Monday"}, {})  # a _source value does not count: the script decides
    with caplog.at_level(logging.WARNING, logger="runner.engine"):
        assert hits(documents, 'process where day_of_week == "Monday" or day_of_week : "Mon*"', body) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "runner.engine"]
    assert warnings == [
        f"runtime field [day_of_week] of index [{INDEX}] is computed by a script, which rule-runner cannot run: "
        "it reads as missing (null) in every document of this search"
    ]
    assert hits(documents, "process where day_of_week == null", body) == ["d0", "d1"]
    assert hits(documents, 'process where day_of_week != "Monday"', body) == ["d0", "d1"]
    with pytest.raises(EqlVerificationError, match=r"Unknown column \[day_of_wek\]"):
        search(documents, 'process where day_of_wek == "Monday"', mappings={INDEX: body})


def test_no_warning_when_the_query_does_not_read_the_scripted_field(caplog: pytest.LogCaptureFixture) -> None:
    body = mapping({"day_of_week": {"type": "keyword", "script": "emit('x')"}, "pid": {"type": "long"}})
    with caplog.at_level(logging.WARNING, logger="runner.engine"):
        assert hits(docs({"pid": 1}), "process where pid == 1", body) == ["d0"]
    assert not [r for r in caplog.records if r.name == "runner.engine"]


def test_composite_sub_fields_are_scripted_fields_of_their_types() -> None:
    body = mapping({"http": {"type": "composite", "script": "emit(grok('%{COMMONAPACHELOG}').extract(...))",
                             "fields": {"clientip": {"type": "ip"}, "verb": {"type": "keyword"}}}})
    fields = IndexMapping.from_body(body).fields
    assert (fields["http.clientip"].type, fields["http.verb"].type) == ("ip", "keyword")
    assert "http" not in fields  # the composite itself is no field
    assert hits(docs({"http": {"verb": "GET"}}), 'process where http.verb == "GET"', body) == []
    assert hits(docs({}), "process where http.clientip == null", body) == ["d0"]


@pytest.mark.parametrize(("runtime", "message"), [
    ({"field": {"type": "unknown"}}, "No handler for type [unknown] declared on runtime field [field]"),
    ({"field": {"script": "emit(1)"}}, "No type specified for runtime field [field]"),
    ({"obj": {"type": "composite", "fields": {"long": {"type": "long"}}}},
     "composite runtime field [obj] must declare a [script]"),
    ({"obj": {"type": "composite", "script": "dummy"}}, "composite runtime field [obj] must declare its [fields]"),
    ({"obj": {"type": "composite", "script": "dummy", "fields": {"long": {"type": "long", "script": "dummy"}}}},
     "Cannot use [script] parameter on sub-field [long] of composite field [obj]"),
])
def test_runtime_sections_elasticsearch_refuses(runtime: dict[str, Any], message: str) -> None:
    with pytest.raises(SearchRequestError) as info:
        search(docs({}), "process where true", mappings={INDEX: mapping(runtime)})
    assert str(info.value) == f"invalid mapping: {message}"


def test_sequences_join_on_a_runtime_field() -> None:
    # a numeric user id as a runtime keyword: the join key is its text, whatever the JSON type in each event
    body = mapping({"uid": {"type": "keyword"}})
    network = [
        {"_index": INDEX, "_id": "n1", "_source": {"@timestamp": "2026-01-01T00:00:05Z",
                                                   "event": {"category": "network"}, "uid": "1000"}},
        {"_index": INDEX, "_id": "n2", "_source": {"@timestamp": "2026-01-01T00:00:06Z",
                                                   "event": {"category": "network"}, "uid": 1001}},
    ]
    documents = [*docs({"uid": 1000}, category="process"), *network]
    response = search(documents, "sequence by uid [process where true] [network where true]", mappings={INDEX: body})
    sequences = response["hits"]["sequences"]
    assert [(s["join_keys"], [e["_id"] for e in s["events"]]) for s in sequences] == [(["1000"], ["d0", "n1"])]


def test_batched_searches_read_runtime_fields_as_one_search_does() -> None:
    body = mapping({"bytes": {"type": "long"}, "tag": {"type": "keyword", "script": "emit('x')"}})
    documents = docs({"bytes": "12"}, {"bytes": 3}, {"bytes": 40, "tag": "x"})
    queries = ["process where bytes > 10", 'process where tag == "x"', "process where tag == null and bytes < 5"]
    batched = search_many(documents, [QuerySearch(q, {INDEX}, {INDEX: body}, size=100) for q in queries])
    for query, answer in zip(queries, batched, strict=True):
        assert isinstance(answer, dict)
        assert answer["hits"] == search(documents, query, mappings={INDEX: body}, size=100)["hits"]
    assert [[h["_id"] for h in a["hits"]["events"]] for a in batched if isinstance(a, dict)] == [
        ["d0", "d2"], [], ["d1"]]


def test_dynamic_mapping_leaves_runtime_leaves_unmapped_and_keeps_the_section() -> None:
    base = mapping({"client_ip": {"type": "ip"}, "net.port": {"type": "long"}})["mappings"]
    sources = [{"client_ip": "10.0.0.1", "net": {"port": "443", "proto": "tcp"}, "other": 1}]
    body = dynamic_mapping(sources, base)
    assert "client_ip" not in body["properties"]
    assert body["properties"]["net"]["properties"] == {"proto": {"type": "text", "fields": {
        "keyword": {"type": "keyword", "ignore_above": 256}}}}
    assert body["runtime"] == base["runtime"]
    live = LiveMapping(base)
    for source in sources * 2:
        live.extend(source)
    assert live.body == body
    assert live.mapping.fields["client_ip"].runtime is Runtime.SOURCE
    assert live.mapping.fields == IndexMapping.from_body(body).fields
    # an object where a runtime field's name is still maps as an object (only leaves are left to the runtime field)
    assert "properties" in dynamic_mapping([{"client_ip": {"v4": "10.0.0.1"}}], base)["properties"]["client_ip"]


def test_growing_searches_read_runtime_fields_of_a_live_mapping() -> None:
    # hunt's path: the caller grows the mapping document by document (LiveMapping) while search_many reads it
    live = LiveMapping(mapping({"bytes": {"type": "long"}, "tag": {"type": "keyword", "script": "emit('x')"}}))
    documents = docs({"bytes": "12", "tag": "x"}, {"bytes": 3}, {"bytes": 40, "other": "y"})

    def stream() -> Iterator[dict[str, Any]]:
        for document in documents:
            live.extend(document["_source"])
            yield document

    queries = ["process where bytes > 10", 'process where tag == "x"', "process where tag == null and bytes < 5"]
    searches = [QuerySearch(q, {INDEX}, Schema({INDEX: live.mapping}), size=100) for q in queries]
    answers = search_many(stream(), searches, growing=True)
    assert [[h["_id"] for h in a["hits"]["events"]] for a in answers if isinstance(a, dict)] == [
        ["d0", "d2"], [], ["d1"]]
    assert set(live.body["properties"]) == {"@timestamp", "event", "other"}
