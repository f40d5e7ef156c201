"""A query a batch cannot compile for an index answers with the error `search()` raises for it; the batch goes on.

`search_many` compiles every query of a batch for an index when the index's first document arrives. A query on a
`binary` value cannot be compiled ("Binary fields do not support searching", BinaryFieldMapper.termQuery): alone,
`search()` raises it; in a batch it is that query's answer, and the other queries of the batch answer as before
(static mappings and growing ones alike), so `hunt` reports that rule failed and the others' hits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.cli.main import main
from runner.engine import QuerySearch, UnsearchableField, search, search_many
from tests.engine.growing import Growing

MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"category": {"type": "keyword"}}},
        "bin": {"type": "binary"},
        "k": {"type": "keyword"},
    }
}
DOCS = [
    {"_index": "i", "_id": "1", "_source": {"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": "process"},
                                            "k": "x", "bin": "U29t"}},
    {"_index": "i", "_id": "2", "_source": {"@timestamp": "2026-01-01T00:00:01Z", "event": {"category": "process"},
                                            "k": "y"}},
]
QUERIES = ['process where bin == "x"', 'process where k == "x"', "sequence [process where bin > 1] [process where true]",
           "process where bin != null"]


def _expected() -> list[Any]:
    out: list[Any] = []
    for query in QUERIES:
        try:
            out.append(search(DOCS, query, mappings={"i": MAPPING})["hits"])
        except UnsearchableField as error:
            out.append(str(error))
    return out


def _answers(results: list[dict[str, Any] | Exception]) -> list[Any]:
    return [str(r) if isinstance(r, Exception) else r["hits"] for r in results]


def test_a_query_on_a_binary_value_fails_alone_in_a_static_batch() -> None:
    results = search_many(DOCS, [QuerySearch(q, frozenset({"i"}), {"i": MAPPING}) for q in QUERIES])
    assert isinstance(results[0], UnsearchableField) and isinstance(results[2], UnsearchableField)
    assert _answers(results) == _expected()
    assert [e["_id"] for e in results[1]["hits"]["events"]] == ["1"]  # type: ignore[index]


def test_a_query_on_a_binary_value_fails_alone_in_a_growing_batch() -> None:
    caller = Growing(MAPPING)
    results = search_many(caller.stream(DOCS), [QuerySearch(q, {"i"}, caller.schema) for q in QUERIES], growing=True,
                          lookahead=1)
    assert isinstance(results[0], UnsearchableField) and isinstance(results[2], UnsearchableField)
    assert _answers(results) == _expected()


def test_a_field_mapped_binary_in_the_middle_of_a_growing_batch_fails_its_queries_only() -> None:
    # the first document has no `payload`: the searches are planned with the field unknown, and the dynamic template
    # maps it `binary` when the second document brings it; the test specialised then fails, in that query only
    base = {**MAPPING, "dynamic_templates": [{"bin": {"match": "payload", "mapping": {"type": "binary"}}}]}
    base["properties"] = {k: v for k, v in MAPPING["properties"].items() if k != "bin"}
    docs = [DOCS[1], {**DOCS[0], "_source": {**DOCS[0]["_source"], "payload": "U29t"}}]
    caller = Growing(base)
    queries = ['process where payload == "x"', 'process where k == "x"',
               'sequence [process where payload == "x"] [process where true]',
               'sample by k [process where payload == "x"] [process where true]']
    results = search_many(caller.stream(docs), [QuerySearch(q, {"i"}, caller.schema) for q in queries], growing=True,
                          lookahead=1)
    for number in (0, 2, 3):
        assert isinstance(results[number], UnsearchableField), results[number]
        with pytest.raises(UnsearchableField):
            search(docs, queries[number], mappings={"i": caller.live["i"].body})
    assert [e["_id"] for e in results[1]["hits"]["events"]] == ["1"]  # type: ignore[index]


def test_hunt_reports_the_binary_rule_failed_and_the_other_rules_hits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "app.json").write_text(json.dumps({
        "index_patterns": ["logs-app*"], "priority": 500,
        "template": {"mappings": {"properties": {"payload": {"type": "binary"}}}},
    }))
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, query in (("binary", 'process where payload == "x"'), ("plain", 'process where process.name == "apt"')):
        (rules / f"{name}.toml").write_text(
            f'[metadata]\ncreation_date = "2026/01/01"\nupdated_date = "2026/01/01"\n\n[rule]\n'
            f'author = ["t"]\ndescription = "d"\nindex = ["logs-app*"]\nlanguage = "eql"\nlicense = "x"\n'
            f'name = "{name} rule"\nrisk_score = 21\nrule_id = "00000000-0000-0000-0000-00000000000{len(name)}"\n'
            f'severity = "low"\ntype = "eql"\nquery = \'\'\'\n{query}\n\'\'\'\n'
        )
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join(json.dumps({"@timestamp": f"2026-01-01T00:00:0{i}Z", "event": {"category": "process"},
                                            "process": {"name": "apt"}, "payload": "U29t"}) for i in range(3)) + "\n")
    config = tmp_path / "runner.yaml"
    config.write_text(f"embedded: {{path: {tmp_path / 'store.db'}, templates: {templates}}}\n"
                      f"rules: {{paths: [{rules}]}}\nlogging: {{level: WARNING}}\n")
    code = main(["hunt", str(events), "--index", "logs-app-1", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1  # a rule failed
    assert "2 rules, 1 with hits, 1 failed; 3 alert documents" in out
    assert "Binary fields do not support searching" in out
