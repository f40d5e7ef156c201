"""Keyword values Elasticsearch indexes otherwise than `_source` holds them: `normalizer: lowercase` and
`constant_keyword` with a `value` (both in the shipped integration templates).

A normalized keyword (Elastic Defend's `*.caseless`) indexes its values lowercased, and Elasticsearch passes every
constant of a term, terms, range, prefix, wildcard and regexp query through the same normalizer
(KeywordFieldType.indexedValueForSearch; StringFieldType.prefixQuery/wildcardQuery/regexpQuery), so
`process.name.caseless == "CMD.EXE"` matches "cmd.exe" and "Cmd.Exe"; a script (a function of a computed value) sees
the lowercased doc values and its constants as written. A constant_keyword with a `value` holds it in every document
of its index (ConstantKeywordFieldMapper: its queries are answered from the mapping), with or without it in
`_source`. Each query is checked alone (`search`) and in batches (`search_many`, static and growing: the
discrimination tree and category dispatch must not compare the raw strings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.cli.main import main
from runner.ecs import mapping_for
from runner.engine import QuerySearch, UnsearchableField, search, search_many
from runner.engine.field_types import UnknownNormalizer, lowercase
from tests.engine.growing import Growing

MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {
            "category": {"type": "keyword", "normalizer": "lowercase"},
            "dataset": {"type": "constant_keyword", "value": "system.security"},
            "module": {"type": "constant_keyword"},
        }},
        "process": {"properties": {"name": {
            "type": "keyword", "ignore_above": 1024,
            "fields": {"caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 12}},
        }}},
        "custom": {"type": "keyword", "normalizer": "my_folding"},
    }
}


def _doc(i: int, name: str | None, **more: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"@timestamp": f"2026-01-01T00:00:0{i}Z", "event": {"category": "PROCESS"}, **more}
    if name is not None:
        source["process"] = {"name": name}
    return {"_index": "i", "_id": str(i), "_source": source}


DOCS = [
    _doc(1, "CMD.EXE"),
    _doc(2, "cmd.exe", event={"category": "process", "dataset": "system.security", "module": "system"}),
    _doc(3, "Cmd.Exe", event={"category": "Process", "dataset": "another"}),  # ES would refuse this document
    _doc(4, "other"),
    _doc(5, "CMD.EXE.VERY.LONG"),  # longer than the caseless field's ignore_above: not indexed there
]

EXPECTED = {
    'process where process.name.caseless == "cmd.exe"': ["1", "2", "3"],
    'process where process.name.caseless == "CMD.EXE"': ["1", "2", "3"],
    'process where process.name.caseless != "CMD.exe"': ["4", "5"],
    'process where process.name.caseless in ("CMD.exe", "nothing")': ["1", "2", "3"],
    'process where process.name.caseless in~ ("CMD.exe", "nothing")': ["1", "2", "3"],
    'process where process.name.caseless : "CMD*"': ["1", "2", "3"],
    'process where process.name.caseless like "CMD*"': ["1", "2", "3"],
    'process where process.name.caseless like~ "cmd.E*"': ["1", "2", "3"],
    'process where process.name.caseless regex "CMD\\\\.[A-Z]+"': ["1", "2", "3"],  # the regexp normalized too
    'process where process.name.caseless > "CMD"': ["1", "2", "3", "4"],
    # prefix and wildcard queries: their text normalized (startsWith is a prefix query on a field)
    'process where startsWith(process.name.caseless, "CMD")': ["1", "2", "3"],
    'process where endsWith(process.name.caseless, ".EXE")': ["1", "2", "3"],
    'process where stringContains(process.name.caseless, "D.E")': ["1", "2", "3"],
    # scripts: the normalized doc values, the constants as written
    'process where startsWith(concat(process.name.caseless, ""), "CMD")': [],
    'process where startsWith(concat(process.name.caseless, ""), "cmd")': ["1", "2", "3"],
    'process where length(process.name.caseless) == 7 and process.name.caseless != "other"': ["1", "2", "3"],
    # the parent keyword is not normalized
    'process where process.name == "cmd.exe"': ["2"],
    'process where process.name : "cmd.exe"': ["1", "2", "3"],
    # the category itself normalized: "PROCESS" and "Process" are indexed as "process"
    "process where true": ["1", "2", "3", "4", "5"],
    # a constant_keyword with a value: every document holds it, whatever `_source` says
    'any where event.dataset == "system.security"': ["1", "2", "3", "4", "5"],
    "any where event.dataset != null": ["1", "2", "3", "4", "5"],
    'any where event.dataset == "another"': [],
    'any where event.dataset : "SYSTEM.*"': ["1", "2", "3", "4", "5"],
    'any where startsWith(event.dataset, "system") and length(event.dataset) == 15': ["1", "2", "3", "4", "5"],
    # without a value: each document's own (a cluster's first document would fix it; README)
    'any where event.module == "system"': ["2"],
}


def _ids(body: dict[str, Any]) -> list[str]:
    return [event["_id"] for event in body["hits"]["events"]]


@pytest.mark.parametrize("query", list(EXPECTED))
def test_alone(query: str) -> None:
    assert _ids(search(DOCS, query, mappings={"i": MAPPING}, size=100)) == EXPECTED[query]


def _growing(queries: list[str]) -> list[dict[str, Any] | Exception]:
    caller = Growing(MAPPING)
    return search_many(caller.stream(DOCS), [QuerySearch(q, {"i"}, caller.schema, size=100) for q in queries],
                       growing=True, lookahead=2)


def test_batched_static_and_growing() -> None:
    queries = list(EXPECTED)
    for results in (search_many(DOCS, [QuerySearch(q, frozenset({"i"}), {"i": MAPPING}, size=100) for q in queries]),
                    _growing(queries)):
        got = {q: _ids(r) if isinstance(r, dict) else r for q, r in zip(queries, results, strict=True)}
        assert got == EXPECTED


def test_join_keys_are_the_indexed_values() -> None:
    # the fields API and doc values give the normalized value (KeywordFieldType.valueFetcher) and the constant
    for query, key in (("sequence by process.name.caseless [process where true] [process where true]", ["cmd.exe"]),
                       ("sequence by event.dataset [process where process.name == \"other\"] [process where true]",
                        ["system.security"])):
        body = search(DOCS, query, mappings={"i": MAPPING})
        keys = [s["join_keys"] for s in body["hits"]["sequences"]]
        assert keys and all(k == key for k in keys)
        batched = search_many(DOCS, [QuerySearch(query, frozenset({"i"}), {"i": MAPPING})])[0]
        assert isinstance(batched, dict) and batched["hits"] == body["hits"]


def test_a_custom_normalizer_fails_the_queries_reading_it_only() -> None:
    query = 'process where custom == "x"'
    with pytest.raises(UnknownNormalizer, match=r"normalizer \[my_folding\] not found for field \[custom\]"):
        search(DOCS, query, mappings={"i": MAPPING})
    assert issubclass(UnknownNormalizer, UnsearchableField)  # a search error the backends translate
    results = search_many(DOCS, [QuerySearch(q, frozenset({"i"}), {"i": MAPPING}) for q in (query, "process where true")])
    assert isinstance(results[0], UnknownNormalizer) and isinstance(results[1], dict)
    assert len(results[1]["hits"]["events"]) == 5


def test_lowercase_is_lucenes_per_code_point() -> None:
    assert lowercase("CMD.EXE") == "cmd.exe"
    assert lowercase("\u039f\u0394\u039f\u03a3") == "\u03bf\u03b4\u03bf\u03c3"  # no final sigma (U+03C2)
    assert lowercase("\u0130X") == "ix"  # Character.toLowerCase(U+0130) is one character


def test_the_shipped_templates_values() -> None:
    """The shipped templates' own definitions (review: 0 hits where Elasticsearch gives 1)."""
    index = "logs-system.security-default"
    docs = [{"_index": index, "_id": "1", "_source": {"@timestamp": "2026-01-01T00:00:00Z",
                                                      "event": {"category": "authentication"}}}]
    query = 'any where event.dataset == "system.security"'
    assert _ids(search(docs, query, mappings={index: mapping_for(index)})) == ["1"]
    index = "logs-endpoint.events.process-default"
    docs = [{"_index": index, "_id": "1", "_source": {"@timestamp": "2026-01-01T00:00:00Z",
                                                      "event": {"category": "process"}, "process": {"name": "CMD.EXE"}}}]
    query = 'process where process.name.caseless == "cmd.exe"'
    assert _ids(search(docs, query, mappings={index: mapping_for(index)})) == ["1"]


def test_query_command_over_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": "process"},
                                  "process": {"name": "CMD.EXE"}}) + "\n")
    query = 'process where process.name.caseless == "cmd.exe"'
    code = main(["query", query, "--events", str(events), "--index", "logs-endpoint.events.process-default",
                 "--compact"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["hits"]["total"]["value"] == 1


def test_the_embedded_store(tmp_path: Path) -> None:
    """Indices the store creates get the shipped templates; their searches read the normalized and constant values."""
    from runner.backends import EqlRequest
    from runner.backends.embedded import EmbeddedBackend, Store

    store = Store(tmp_path / "store.db")
    store.ingest([
        {"_index": "logs-system.security-default", "_id": "s1",
         "_source": {"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": "authentication"}}},
        {"_index": "logs-endpoint.events.process-default", "_id": "p1",
         "_source": {"@timestamp": "2026-01-01T00:00:01Z", "event": {"category": "process"},
                     "process": {"name": "CMD.EXE"}}},
    ], on_bad=lambda doc, reason: pytest.fail(reason))
    backend = EmbeddedBackend(store)

    def ids(query: str) -> list[str]:
        body = backend.eql_search(EqlRequest(("logs-*",), {"query": query, "size": 100}))
        return [e["_id"] for e in body["hits"]["events"]]

    assert ids('any where event.dataset == "system.security"') == ["s1"]
    assert ids('process where process.name.caseless == "cmd.exe"') == ["p1"]
    assert ids('process where startsWith(process.name.caseless, "CMD")') == ["p1"]
    store.close()
