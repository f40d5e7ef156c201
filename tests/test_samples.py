"""`samples/seed_rule.ndjson`: the seed rule's query, run by our engine, finds exactly the labelled sequences.

The labels live in `samples/seed_rule.expected.json` (see `samples/README.md`): the seed TOML's query (no filter on
the network side) and the current detection-rules version (private/missing destinations and apt-listbugs excluded)
each have their expected sequences, and decoys that must be in none.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.engine import search
from tests.conftest import shared_path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
NDJSON = SAMPLES / "seed_rule.ndjson"
EXPECTED = SAMPLES / "seed_rule.expected.json"
RULE_FILE = "persistence_apt_package_manager_netcon.toml"

IP_FIELDS = {"destination.ip", "source.ip", "host.ip"}
DATE_FIELDS = {"@timestamp", "event.created", "event.ingested", "process.start", "process.parent.start",
               "process.group_leader.start", "process.session_leader.start"}
LONG_SUFFIXES = (".pid", ".port", ".args_count", ".bytes", ".exit_code", "event.sequence")
BOOLEAN_SUFFIXES = (".interactive",)
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def _documents() -> list[dict[str, Any]]:
    with open(NDJSON, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _expected() -> dict[str, Any]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


def _leaves(node: dict[str, Any], prefix: str = ""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, path + ".")
        else:
            yield path, value


def _field_type(path: str) -> str:
    if path in IP_FIELDS:
        return "ip"
    if path in DATE_FIELDS:
        return "date"
    if path.endswith(LONG_SUFFIXES):
        return "long"
    if path.endswith(BOOLEAN_SUFFIXES):
        return "boolean"
    return "keyword"


def _mappings(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One mapping per backing index, with the fields its documents have, as nested `properties` objects."""
    fields: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        fields[doc["_index"]].update(path for path, _ in _leaves(doc["_source"]))
    mappings: dict[str, Any] = {}
    for index, paths in fields.items():
        root: dict[str, Any] = {}
        for path in sorted(paths):
            *parents, leaf = path.split(".")
            node = root
            for part in parents:
                node = node.setdefault(part, {"properties": {}})["properties"]
            node[leaf] = {"type": _field_type(path)}
        mappings[index] = {"properties": root}
    return mappings


def _query_of(path: Path) -> str:
    with open(path, "rb") as f:
        return tomllib.load(f)["rule"]["query"]


def _run(query: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = search(docs, query, mappings=_mappings(docs), size=100)
    return body["hits"]["sequences"]


def _as_expected(sequences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"join_keys": s["join_keys"], "events": [e["_id"] for e in s["events"]]} for s in sequences]


def _strip(expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"join_keys": s["join_keys"], "events": s["events"]} for s in expected]


# ---- the data itself ------------------------------------------------------------------------------------------------


def test_every_line_is_a_hit() -> None:
    docs = _documents()
    assert 40 <= len(docs) <= 120
    ids = set()
    stamps = []
    for doc in docs:
        assert set(doc) == {"_index", "_id", "_source"}
        assert isinstance(doc["_id"], str) and doc["_id"] and doc["_id"] not in ids
        ids.add(doc["_id"])
        src = doc["_source"]
        category = src["event"]["category"]
        assert isinstance(category, list) and len(category) == 1 and category[0] in ("process", "network")
        assert isinstance(src["event"]["type"], list) and len(src["event"]["type"]) == 1
        assert doc["_index"] == f".ds-logs-endpoint.events.{category[0]}-default-2026.01.15-000001"
        assert src["data_stream"] == {"dataset": f"endpoint.events.{category[0]}", "namespace": "default",
                                      "type": "logs"}
        assert src["event"]["dataset"] == src["data_stream"]["dataset"]
        assert src["event"]["module"] == "endpoint" and src["event"]["kind"] == "event"
        assert src["agent"]["type"] == "endpoint" and src["host"]["os"]["type"] == "linux"
        assert DATE_RE.match(src["@timestamp"]) and src["@timestamp"].count(".") == 1
        assert src["event"]["created"] == src["@timestamp"]
        assert isinstance(src["process"]["entity_id"], str)
        if category[0] == "process":
            assert src["process"]["args_count"] == len(src["process"]["args"])
            assert src["process"]["command_line"] == " ".join(src["process"]["args"])
        stamps.append(src["@timestamp"])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_expected_ids_exist() -> None:
    ids = {d["_id"] for d in _documents()}
    expected = _expected()
    for version in (expected, expected["current_version"]):
        for seq in version["sequences"]:
            assert set(seq["events"]) <= ids
        for label, decoy_ids in version["decoys"].items():
            assert decoy_ids and set(decoy_ids) <= ids, label
    hosts = {h["host.id"] for h in expected["hosts"].values()}
    seed_hosts = {s["join_keys"][0] for s in expected["sequences"]}
    assert len(seed_hosts) >= 3 and seed_hosts <= hosts


# ---- the rule over the data -----------------------------------------------------------------------------------------


def test_seed_query_finds_the_expected_sequences() -> None:
    rule = shared_path("seed", RULE_FILE)
    docs = _documents()
    expected = _expected()
    sequences = _run(_query_of(rule), docs)
    assert _as_expected(sequences) == _strip(expected["sequences"])
    in_sequences = {e["_id"] for s in sequences for e in s["events"]}
    for label, ids in expected["decoys"].items():
        assert not in_sequences & set(ids), label
    by_id = {d["_id"]: d for d in docs}
    for s in sequences:  # the hits are the documents, as stored
        for e in s["events"]:
            assert e["_index"] == by_id[e["_id"]]["_index"] and e["_source"] == by_id[e["_id"]]["_source"]


def test_current_query_finds_the_expected_sequences() -> None:
    rule = shared_path("detection-rules", "rules", "linux", RULE_FILE)
    query = _query_of(rule)
    assert "cidrmatch" in query  # the version with the destination filter
    expected = _expected()
    sequences = _run(query, _documents())
    assert _as_expected(sequences) == _strip(expected["current_version"]["sequences"])
    in_sequences = {e["_id"] for s in sequences for e in s["events"]}
    for label, ids in {**expected["decoys"], **expected["current_version"]["decoys"]}.items():
        assert not in_sequences & set(ids), label


def test_true_positives_are_in_both_versions_on_different_hosts() -> None:
    expected = _expected()
    seed = {s["label"]: s for s in expected["sequences"]}
    current = {s["label"]: s for s in expected["current_version"]["sequences"]}
    assert set(current) <= set(seed)
    assert len({current[label]["join_keys"][0] for label in current}) >= 2
    only_seed = set(seed) - set(current)
    assert only_seed == set(expected["current_version"]["decoys"])


def test_sequences_are_within_maxspan() -> None:
    """A cross-check of the expected file, independent of the engine: both events of every expected sequence share
    host.id, the network event's process.parent.entity_id is the shell's entity_id and they are <= 5 s apart."""
    by_id = {d["_id"]: d["_source"] for d in _documents()}
    expected = _expected()
    for seq in expected["sequences"] + expected["current_version"]["sequences"]:
        proc, net = (by_id[i] for i in seq["events"])
        assert proc["host"]["id"] == net["host"]["id"] == seq["join_keys"][0]
        assert proc["process"]["entity_id"] == net["process"]["parent"]["entity_id"] == seq["join_keys"][1]
        t0, t1 = (datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")) for e in (proc, net))
        assert 0 < (t1 - t0).total_seconds() <= 5.0
