"""`validate --backend` (fields from the cluster's `_field_caps`) and `explain` against a server that is not
Elasticsearch, through the client against the loopback stub (scripted answers only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.cli.main import main
from tests.backends.es_stub import INFO, Reply, Stub, refused_url
from tests.cli.test_cli_elasticsearch import config
from tests.cli.test_cli_output import BAD_ID, NO_INDEX_ID, SEED_ID, variant

BACKING = [".ds-logs-endpoint.events.process-default-2026.01.15-000001",
           ".ds-logs-endpoint.events.network-default-2026.01.15-000001"]


def capability(es_type: str, **extra: Any) -> dict[str, Any]:
    """One type's entry in a `_field_caps` answer (Elasticsearch 8.x shape)."""
    return {"type": es_type, "metadata_field": False, "searchable": es_type != "object",
            "aggregatable": es_type not in ("object", "text", "match_only_text"), **extra}


FIELD_CAPS = {
    "indices": BACKING,
    "fields": {
        "_id": {"_id": {"type": "_id", "metadata_field": True, "searchable": True, "aggregatable": False}},
        "_index": {"_index": {"type": "_index", "metadata_field": True, "searchable": True, "aggregatable": True}},
        "@timestamp": {"date": capability("date")},
        "event": {"object": capability("object")},
        "event.category": {"keyword": capability("keyword")},
        "event.type": {"keyword": capability("keyword")},
        "event.action": {"keyword": capability("keyword")},
        "host": {"object": capability("object")},
        "host.id": {"keyword": capability("keyword")},
        "host.os": {"object": capability("object")},
        "host.os.type": {"keyword": capability("keyword")},
        "process": {"object": capability("object")},
        "process.name": {"keyword": capability("keyword")},
        "process.name.text": {"match_only_text": capability("match_only_text")},
        "process.args": {"keyword": capability("keyword")},
        "process.entity_id": {"keyword": capability("keyword")},
        "process.parent": {"object": capability("object")},
        "process.parent.name": {"keyword": capability("keyword")},
        "process.parent.name.text": {"match_only_text": capability("match_only_text")},
        "process.parent.entity_id": {"keyword": capability("keyword")},
        # a field whose type differs between the two indices: listed per type, with its indices
        "url": {"object": capability("object")},
        "url.original": {"keyword": capability("keyword", indices=BACKING[:1]),
                         "wildcard": capability("wildcard", indices=BACKING[1:])},
        "destination": {"object": capability("object")},
        "destination.port": {"long": capability("long", indices=BACKING[:1]),
                             "keyword": capability("keyword", indices=BACKING[1:])},
    },
}


def with_rules(path: Path) -> None:
    rules = path.parent / "rules"
    (rules / "bad_column.toml").write_text(variant(BAD_ID, "Bad column", query="process where flow.final == true"))
    (rules / "conflict.toml").write_text(variant("00000000-0000-4000-8000-0000000000c4", "Conflict",
                                                 query="network where destination.port == 22"))
    (rules / "no_index.toml").write_text(variant(NO_INDEX_ID, "No index", index="nothing-here-*"))


def test_validate_stays_offline_without_backend(tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, stub.url, monkeypatch)
    with_rules(path)
    assert main(["validate", "--config", str(path)]) == 0
    assert "fields: not checked against the cluster (validate --backend" in capsys.readouterr().out
    assert stub.requests == []


def test_validate_backend_checks_fields_with_field_caps(tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("POST", "/logs-endpoint.events.\\*/_field_caps", Reply(200, FIELD_CAPS))
    stub.always("POST", "/nothing-here-\\*/_field_caps", Reply(200, {"indices": [], "fields": {}}))
    path = config(tmp_path, stub.url, monkeypatch)
    with_rules(path)
    assert main(["validate", "--backend", "--config", str(path)]) == 1
    captured = capsys.readouterr()
    assert (f"fields: 4 enabled rule(s) checked against Elasticsearch ({stub.url}): 1 ok, 2 with errors, 1 whose "
            "index patterns match no index there (not checked)") in captured.out
    assert "  no index matches ['nothing-here-*']: 1 rule(s)" in captured.out
    assert (f"rule.query of rule {BAD_ID} (Bad column) on ['logs-endpoint.events.*']: verification_exception: "
            "Found 1 problem\n  line 1:15: Unknown column [flow.final], did you mean [url.original]?") in captured.err
    assert ("line 1:15: Cannot use field [destination.port] due to ambiguities being mapped as [2] incompatible types: "
            f"[long] in [{BACKING[0]}], [keyword] in [{BACKING[1]}]") in captured.err
    assert SEED_ID not in captured.err  # its fields are all there: process.name's text sub-field, objects, ...
    assert "pw-never-shown" not in captured.out + captured.err
    [caps, _] = stub.sent("POST", ".*/_field_caps")  # one request per set of index patterns, not per rule
    assert caps.query == {"allow_no_indices": "true", "ignore_unavailable": "true"}
    assert caps.json == {"fields": "*"}


def test_validate_backend_reports_an_unreachable_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url = refused_url()
    path = config(tmp_path, url, monkeypatch)
    assert main(["validate", "--backend", "--config", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"Elasticsearch ({url}): connecting to Elasticsearch: ConnectionError" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        (Reply(200, {"name": "web", "tagline": "not a search engine"}, product=None),
         "the server did not identify itself as Elasticsearch"),
        (Reply(404, "<html>Not Found</html>", product=None),
         "the server is not Elasticsearch (GET / answered HTTP 404: "),
        (Reply(200, {"ok": True}), "the server is not Elasticsearch (GET / answered without a version number"),
    ],
    ids=["no-product-header", "404-page", "no-version"],
)
def test_explain_against_a_server_that_is_not_elasticsearch(tmp_path: Path, stub: Stub, root: Reply, expected: str,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    stub.always("GET", "/", root)
    # what such a server answers for the rule's state: a 404 that must not pass for "no state recorded"
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, "<html>Not Found</html>", product=None))
    path = config(tmp_path, stub.url, monkeypatch)
    assert main(["explain", SEED_ID, "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "none recorded" not in out
    line = next(line for line in out.splitlines() if line.startswith("previous start:"))
    assert "previous start: unknown, Elasticsearch not reached (connecting to Elasticsearch: " in line
    assert expected in line and "windows shown as for a first run" in line
    assert stub.sent("GET", "/rule-runner-state/_doc/.*") == []  # its state is not asked of another server


def test_explain_json_says_the_state_was_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, refused_url(), monkeypatch)
    assert main(["explain", SEED_ID, "--now", "2026-01-15T10:05:00Z", "--format", "json", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rule_id"] == SEED_ID
    assert "warning: the rule's state was not read: unknown, Elasticsearch not reached (connecting to " in captured.err


def test_explain_reads_the_state_from_elasticsearch(tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"_index": "rule-runner-state", "_id": SEED_ID,
                                                                 "found": False}))
    path = config(tmp_path, stub.url, monkeypatch)
    assert main(["explain", SEED_ID, "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    assert "previous start: none recorded" in capsys.readouterr().out
