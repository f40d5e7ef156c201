"""Golden output of `runner.alerts.build_alerts`: every alert of a varied set of responses, dumped canonically.

    # before a change: the `runner` of the commit before it (see bench/README.md), then the work tree
    PYTHONPATH=/tmp/runner-before .venv/bin/python bench/alerts_golden.py --out /tmp/alerts_before.jsonl
    .venv/bin/python bench/alerts_golden.py --out /tmp/alerts_after.jsonl
    diff /tmp/alerts_before.jsonl /tmp/alerts_after.jsonl && echo identical

One line per alert: `json.dumps({case, n, id, building_block, group_id, group_index, source, key_order},
sort_keys=True)`, where `key_order` is the sha256 of the source dumped *without* sorting, so that a change of key
order (which changes the bytes written to Elasticsearch) shows in the diff too. A case whose build raises writes one
line with the error. `now` and `execution_uuid` are fixed, so two runs of the same code give the same file.

Besides the dump, each case checks what `build_alerts` promises and the dump cannot show: the response is left
unchanged, and no two alerts (of one call, or of two calls with the same rule) share a dict or a list, nor share one
with the response. A broken promise is written to the file as a `problem` line (and printed), so the diff shows it.

The responses:
- the seed rule's sequences and a filter's events over `samples/seed_rule.ndjson` (the benchmark's responses);
- `runner.engine.search(docs, rule.query, size=100)` for every EQL rule of `../shared/detection-rules` whose query
  has hits on `samples/seed_rule.ndjson` or on `bench/generate.py` events (`generate(20000, seed=7, hosts=20)`);
- a fixed pool of engine responses (events and sequences, with and without `!` missing events, of 2 and 4 events)
  built under the contexts of a spread of other corpus rules, so that the rule-level fields of many rules are covered;
- hand-made edge cases: missing placeholders, dotted keys, arrays of objects, `fields` under each merge strategy,
  alerts as hits (this rule's, another rule's, legacy signals), severity/risk/name overrides, `meta`,
  `timestamp_override`, `building_block_type`, manual runs, `public_base_url`, odd timestamps, conflicting paths,
  numeric keys, values JSON cannot hold (tuples, dict subclasses, dates), the Elasticsearch reference documents, and
  responses that are errors.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (bench/generate.py)

from runner.alerts import AlertContext, build_alerts  # noqa: E402
from runner.catalog import Rule, load_rule_file, load_rules  # noqa: E402
from runner.engine import search  # noqa: E402

NOW = datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
INTENDED = datetime(2026, 1, 15, 10, 25, 0, 0, tzinfo=UTC)
EXECUTION = "0b7e3c52-5f0e-4c1e-9d55-5d7f4b0c9a11"
SEED_RULE = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_DOCS = ROOT / "samples" / "seed_rule.ndjson"
CORPUS = SHARED / "detection-rules"
REFERENCE = SHARED / "reference" / "es-examples"

Case = tuple[str, dict[str, Any], AlertContext]

# ---- rules written for the edge cases -----------------------------------------------------------------------------

RULE_TOML = '''[metadata]
creation_date = "2024/02/01"
maturity = "production"
updated_date = "2024/07/09"

[rule]
author = ["Elastic", "rule-runner"]
description = "An edge-case rule."
from = "now-9m"
index = ["logs-endpoint.events.*", "logs-other-*"]
language = "eql"
license = "Elastic License v2"
name = "{name}"
risk_score = 73
rule_id = "{rule_id}"
severity = "high"
tags = ["Domain: Endpoint", "OS: Linux", "Domain: Endpoint"]
type = "eql"
query = \'\'\'
{query}
\'\'\'
{extra}
[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"

[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"

[[rule.threat.technique.subtechnique]]
id = "T1059.004"
name = "Unix Shell"
reference = "https://attack.mitre.org/techniques/T1059/004/"
'''

# a name from the event, severity mappings listed high first (Kibana sorts them), a risk score from the event
OVERRIDES = '''
rule_name_override = "rule.name"
timestamp_override = "event.ingested"
note = "Investigate the process tree."
references = ["https://example.com/a", "https://example.com/b"]
false_positives = ["admins"]

[[rule.severity_mapping]]
field = "host.name"
operator = "equals"
value = "ws-01"
severity = "critical"

[[rule.severity_mapping]]
field = "event.severity"
operator = "equals"
value = "21"
severity = "low"

[[rule.severity_mapping]]
field = "user.name"
operator = "equals"
value = "alice"
severity = "medium"

[[rule.risk_score_mapping]]
field = "event.risk_score"
operator = "equals"
'''

BUILDING_BLOCK = '''
building_block_type = "default"
timestamp_override = "event.ingested"
setup = "Install Elastic Defend."

[rule.meta]
from = "1m"
kibana_siem_app_url = "https://kibana.example.com/app/security"
nested = { level = 2, tags = ["x", "y"] }
'''

# meta keys with dots and a key that is a prefix of another: the rule-level fields are not plain trees
ODD_META = '''
[rule.meta]
"a.b" = 1
a = { c = 2 }
"0" = "zero"
empty = {}
'''

MINIMAL = '''[metadata]
creation_date = "2023/01/01"
updated_date = "2023/01/02"

[rule]
author = []
description = "Minimal."
name = "Minimal Rule"
risk_score = 21
rule_id = "{rule_id}"
severity = "low"
type = "eql"
query = \'\'\'
{query}
\'\'\'
'''

ANY_EVENT = "any where true"
ANY_SEQUENCE = "sequence [any where true] [any where true]"


def _write_rule(directory: Path, name: str, rule_id: str, *, query: str = ANY_EVENT, extra: str = "",
                template: str = RULE_TOML) -> Rule:
    path = directory / f"{name}.toml"
    path.write_text(template.format(name=name.replace("_", " ").title(), rule_id=rule_id, query=query, extra=extra),
                    encoding="utf-8")
    return load_rule_file(path)


def _context(rule: Rule, **overrides: Any) -> AlertContext:
    values: dict[str, Any] = {"rule": rule, "execution_uuid": EXECUTION, "now": NOW}
    values.update(overrides)
    return AlertContext(**values)


# contexts every response of a group is built under, besides the default one
def _context_variants(rule: Rule) -> list[tuple[str, AlertContext]]:
    return [
        ("default", _context(rule)),
        ("url+space", _context(rule, space_id="soc", public_base_url="https://kibana.example.com/",
                               indices=["logs-endpoint.events.process-*"])),
        # (an 8.16 Kibana's alert format: no data_stream copies, missing events as blocks, key-by-key shells)
        ("manual", _context(rule, execution_type="manual", intended_timestamp=INTENDED,
                            public_base_url="https://k", alerts_index="my-alerts", kibana_version="8.16.1")),
        # the other formats before the newest (runner.alerts.versions)
        ("kibana 8.19", _context(rule, kibana_version="8.19.3")),
        ("kibana 9.3", _context(rule, kibana_version="9.3.1")),
    ]


# ---- hand-made hits -----------------------------------------------------------------------------------------------

def _hit(doc_id: str, source: Any, index: str = ".ds-logs-endpoint.events.process-default-2026.01.15-000001",
         **extra: Any) -> dict[str, Any]:
    hit = {"_index": index, "_id": doc_id, "_source": source}
    hit.update(extra)
    return hit


def _process_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "@timestamp": "2026-01-15T10:01:10.000Z",
        "agent": {"type": "endpoint", "id": "agent-1"},
        "host": {"name": "ws-01", "id": "host-1", "os": {"family": "windows", "type": "windows"},
                 "ip": ["10.0.0.1", "fe80::1"]},
        "process": {"name": "cmd.exe", "pid": 4242, "args": ["cmd.exe", "/c", "whoami"],
                    "parent": {"name": "winword.exe", "pid": 1000}},
        "user": {"name": "alice", "id": "1001"},
        "event": {"category": ["process"], "type": ["start"], "action": "start", "kind": "event",
                  "dataset": "endpoint.events.process", "module": "endpoint", "ingested": "2026-01-15T10:01:12Z"},
        "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
    }
    source.update(overrides)
    return source


def _network_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "@timestamp": "2026-01-15T10:01:11.250Z",
        "agent": {"type": "endpoint", "id": "agent-1"},
        "host": {"name": "ws-01", "id": "host-1", "os": {"family": "windows", "type": "windows"},
                 "ip": ["10.0.0.1", "fe80::2"]},
        "process": {"name": "curl.exe", "pid": 4243, "parent": {"name": "cmd.exe", "pid": 4242}},
        "user": {"name": "alice", "id": "1001"},
        "source": {"ip": "10.0.0.1", "port": [50123]},
        "destination": {"ip": "203.0.113.9", "port": 443},
        "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted", "kind": "event"},
        "data_stream": {"type": "logs", "dataset": "endpoint.events.network", "namespace": "default"},
    }
    source.update(overrides)
    return source


def _odd_sources() -> list[dict[str, Any]]:
    """`_source`s that exercise the path rules: dotted keys, arrays of objects, empties, banned keys, conflicts."""
    return [
        # dotted keys beside nested objects, arrays of objects, empty values at every depth
        {"@timestamp": "2026-01-15T10:02:00Z", "process.name": "bash", "process": {"pid": 7, "parent.name": "apt"},
         "event.category": ["process"], "event": {"action": "exec", "kind": "event", "type": []},
         "host.name": "web-1", "user": {"name": "root", "roles": []}, "data_stream.type": "logs",
         "threat": {"enrichments": [{"indicator": {"ip": "1.2.3.4"}}, {"matched": {"atomic": "x", "e": {}}}]},
         "dns": {"answers": [{"name": "a.example", "ttl": 60}, {}, [], {"data": []}]},
         "empty": {}, "emptylist": [], "nested_empty": {"a": {"b": []}, "c": [[], {}]}, "tags": ["a", "a", "b"],
         "num": 1.0, "big": 1e21, "neg": -0.0, "flag": True, "nothing": None, "text": "", "dash": "-"},
        # Kibana-only keys (dropped at the top level only), `event.kind` both dotted and nested
        {"@timestamp": "2026-01-15T10:02:01.5+02:00", "kibana": {"alert": {"uuid": "old"}},
         "kibana.alert.rule.uuid": "old-rule", "signal": {"rule": {"id": "x"}}, "threshold_result": {"count": 3},
         "kibana_like": 1, "labels": {"kibana": "kept", "signal": "kept"}, "event.kind": "alert",
         "event": {"kind": "event", "module": "m"}, "data_stream": {"dataset": "d"}, "data_stream.namespace": "n"},
        # a path through a value, and an event that is a value rather than an object
        {"@timestamp": 1768471321123, "process": "not-an-object", "process.name": "sh", "event": ["a", {"b": 1}],
         "event.action": "x", "source": {"ip": ["10.0.0.1", "10.0.0.2"], "port": ["443"]},
         "destination.ip": "-", "destination.port": "null", "file.name": ["a.txt", "b.txt"]},
        # numeric keys (lodash builds arrays for them), names with empty segments
        {"@timestamp": "1768471321123", "labels": {"0": "zero", "1": "one"}, "a.0.b": 1, "x": {"": {"y": 1}},
         "dots.": 1, ".lead": 2, "event": {"0": "e0", "category": "file"}, "file": {"name": "x.bin"}},
        # timestamps that are not ISO, unicode, deep nesting
        {"@timestamp": "2026/01/15", "message": "héllo wörld ✓",
         "deep": {"a": {"b": {"c": {"d": {"e": [1, {"f": 2}]}}}}},
         "user.name": ["bob", "-"], "host": {"name": ["h1", "h2"]}, "process": {"parent": {"name": "-"}}},
        {"@timestamp": "2026-01-15T24:00:00Z", "event": {"category": ["file"], "action": "creation"},
         "file": {"name": "f", "path": "/tmp/f"}},
        {},
    ]


def _alert_sources(rule: Rule) -> list[dict[str, Any]]:
    """Alerts as hits: another rule's (depth 1), a legacy signal, and one of this very rule (which is skipped)."""
    ancestors = [{"id": "e0", "type": "event", "index": "logs-a", "depth": 0}]
    return [
        _process_source(**{"kibana.alert.uuid": "u1", "kibana.alert.rule.uuid": "other-rule",
                           "kibana.alert.depth": 1, "kibana.alert.ancestors": ancestors}),
        _process_source(signal={"rule": {"id": "legacy-rule"}, "depth": 2,
                                "ancestors": [*ancestors, {"id": "s1", "type": "signal", "index": "s", "depth": 1}]}),
        _process_source(**{"kibana.alert.uuid": "u2", "kibana.alert.rule.uuid": rule.uuid, "kibana.alert.depth": 1,
                           "kibana.alert.ancestors": ancestors}),
        _process_source(**{"kibana.alert.uuid": "u3", "kibana.alert.depth": "two"}),
    ]


def _fields_hits() -> list[dict[str, Any]]:
    fields = {
        "@timestamp": ["2026-01-15T10:01:10.500Z"],
        "host.name": ["ws-01"],
        "host.name.keyword": ["ws-01"],
        "process.command_line": ["cmd.exe /c whoami"],
        "process.args": ["cmd.exe", "/c"],
        "process.pid": [9999],
        "_ignored": ["x"],
        "signal.rule.id": ["legacy"],
        ".hidden": [1],
        "a..b": [1],
        "empty": [],
        "geo.location": [{"type": "Point", "coordinates": [1, 2]}],
        "nested.obj": [{"k": "v", "n": [{"m": 1}]}],
        "agent.id": ["a1", "a2"],
        "destination.port": [443],
        "user.name": ["carol"],
        "tags": ["t1"],
    }
    return [
        _hit("f1", _process_source(), fields=fields),
        _hit("f2", _process_source(tags=["t0"], process={"name": "x", "args": ["a", "b"]}), fields=fields),
        _hit("f3", {}, fields={"@timestamp": [1768471321000], "host.name": ["h"], "event.category": ["process"]}),
        _hit("f4", {"a": {"b": 1}}, fields={"a": [{"b": [2]}], "a.b": [3], "c.d": [{"e": 1}]}),
        _hit("f5", _process_source(), fields={"@timestamp": ["not a date"]}, _version=7),
        _hit("f6", _process_source(), _version=None),
    ]


def _override_sources() -> list[dict[str, Any]]:
    return [
        _process_source(**{"event.severity": 21, "event.risk_score": 5, "rule": {"name": "Renamed by event"}}),
        _process_source(host={"name": "ws-01"}, **{"event.risk_score": ["88", 101, "77.5", "x"]}),
        _process_source(user={"name": "alice"}, host={"name": "other"}, **{"event.severity": "21"}),
        _process_source(host={"name": "other"}, rule={"name": ["not", "a", "string"]}, **{"event.risk_score": 0}),
        _process_source(**{"event": {"severity": 21.0, "risk_score": "1e1"}, "rule.name": "dotted name"}),
    ]


def _events(*sources: dict[str, Any], prefix: str = "e") -> dict[str, Any]:
    return {"hits": {"total": {"value": len(sources), "relation": "eq"},
                     "events": [_hit(f"{prefix}{i}", s) for i, s in enumerate(sources)]}}


def _sequences(*groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"hits": {"total": {"value": len(groups), "relation": "eq"},
                     "sequences": [{"join_keys": ["k"], "events": list(g)} for g in groups]}}


MISSING = {"_index": "", "_id": "", "_source": {}, "missing": True}


def _edge_sequences(rule: Rule) -> dict[str, Any]:
    odd = _odd_sources()
    alerts = _alert_sources(rule)
    return _sequences(
        [_hit("p1", _process_source()), _hit("n1", _network_source(), index="logs-network")],
        [_hit("p2", _process_source()), copy.deepcopy(MISSING), _hit("n2", _network_source())],
        [copy.deepcopy(MISSING), copy.deepcopy(MISSING)],
        [_hit("p3", _process_source()), copy.deepcopy(MISSING)],
        [_hit("o0", odd[0]), _hit("o1", odd[1]), _hit("o2", odd[2])],
        [_hit("o3", odd[3]), _hit("o3b", copy.deepcopy(odd[3]))],
        [_hit("o0a", odd[0]), _hit("o0b", copy.deepcopy(odd[0])), _hit("o0c", copy.deepcopy(odd[0])),
         _hit("o0d", copy.deepcopy(odd[0]))],
        [_hit("o4", odd[4]), _hit("o5", odd[5]), _hit("o6", odd[6])],
        [_hit("a0", alerts[0]), _hit("a1", alerts[1]), _hit("p4", _process_source())],
        [_hit("a2", alerts[2]), _hit("p5", _process_source())],  # through this rule's own alert: skipped
        [_hit("a3", alerts[3]), _hit("n3", _network_source())],
        [_hit(7, _process_source()), _hit("n4", _network_source())],  # an id that is not a string: skipped
        [_hit("d1", {"@timestamp": "2026-01-15T10:00:00Z", "process.name": "x", "host.id": "h", "tags": ["a", "b"]}),
         _hit("d2", {"@timestamp": "2026-01-15T10:00:01Z", "process.name": "x", "host": {"id": "h"},
                     "tags": ["b", "a", "b"]})],
        [_hit("same", odd[0]), _hit("same", odd[0])],
        _fields_hits()[:2],
        [_hit("t1", _process_source(**{"@timestamp": "bad"})), _hit("t2", _network_source())],
        [_hit("t3", _process_source(**{"@timestamp": "bad"})), _hit("t4", _network_source(**{"@timestamp": "bad"})),
         _hit("t5", _network_source())],
    )


def _reference_cases() -> Iterator[tuple[str, dict[str, Any]]]:
    """The Elasticsearch REST test documents (their `event` is an array of objects) and the docs' full response."""
    if not REFERENCE.exists():
        return
    docs = json.loads((REFERENCE / "01_events_basic.json").read_text(encoding="utf-8"))["setup"]["docs"]
    hits = [{"_index": "eql_test", "_id": d["_id"], "_source": d["_source"]} for d in docs]
    yield "eql_test events", {"hits": {"events": copy.deepcopy(hits)}}
    yield "eql_test sequences", _sequences(copy.deepcopy(hits[:2]), copy.deepcopy(hits[1:3]),
                                           copy.deepcopy(hits[:3]), [copy.deepcopy(hits[0]), MISSING, hits[2]])
    full = json.loads((REFERENCE / "05_sequence_full_body_docs_example.json").read_text(encoding="utf-8"))
    yield "es docs sequence", full["response"]


def _not_json_sources() -> list[dict[str, Any]]:
    """Sources a Python caller could pass that JSON cannot hold: tuples, dict subclasses, dates (the general path)."""
    return [
        _process_source(labels=OrderedDict([("b", 1), ("a", [])]), tags=("x", "y")),
        _process_source(process={"name": "sh", "args": ("-c", "id"),
                                 "start": datetime(2026, 1, 1, tzinfo=UTC)}),
        _network_source(tags=("x", "y"), labels=OrderedDict([("a", 2)])),
    ]


def _error_responses() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("no hits", {}),
        ("hits not an object", {"hits": []}),
        ("neither", {"hits": {"total": {"value": 0}}}),
        ("empty events", {"hits": {"events": []}}),
        ("empty sequences", {"hits": {"sequences": []}}),
        ("event id not a string", {"hits": {"events": [_hit(5, _process_source())]}}),
        ("event index missing", {"hits": {"events": [{"_id": "x", "_source": {}}]}}),
    ]


# ---- corpus and engine responses ----------------------------------------------------------------------------------

def _read_ndjson(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _search(docs: list[dict[str, Any]], query: Any) -> dict[str, Any] | None:
    try:
        return search(docs, query, size=100)
    except Exception:
        return None


def _count(response: dict[str, Any]) -> int:
    hits = response["hits"]
    return len(hits.get("events") or hits.get("sequences") or [])


def corpus_cases(seed_docs: list[dict[str, Any]], generated: list[dict[str, Any]],
                 pool: list[tuple[str, dict[str, Any]]], spread: int) -> Iterator[Case]:
    """The corpus rules with hits, each with its own responses; then `spread` other rules with the pool."""
    if not CORPUS.exists():
        print(f"warning: {CORPUS} not found: no corpus rules", file=sys.stderr)
        return
    rules = [r for r in load_rules([CORPUS]).rules if r.type == "eql"]
    with_hits: list[str] = []
    for rule in rules:
        for data_name, docs in (("seed", seed_docs), ("generated", generated)):
            response = _search(docs, rule.query)
            if response is None or not _count(response):
                continue
            if rule.rule_id not in with_hits:
                with_hits.append(rule.rule_id)
            for variant, context in _context_variants(rule):
                yield f"corpus {rule.path.name} on {data_name} [{variant}]", response, context
    print(f"corpus: {len(rules)} EQL rules, {len(with_hits)} with hits on the seed or generated events",
          file=sys.stderr)
    others = [r for r in rules if r.rule_id not in with_hits]
    # a spread over the corpus, plus every rule of a kind the spread may miss
    chosen = others[:: max(1, len(others) // spread)][:spread]
    unusual = [r for r in others if r.params.building_block_type or r.params.event_category_override
               or r.params.investigation_fields]
    chosen += [r for r in unusual if r not in chosen][:12]
    for rule in chosen:
        for name, response in pool:
            yield f"corpus-context {rule.path.name} with {name}", response, _context(rule)
    print(f"corpus: {len(chosen)} more rules' contexts with {len(pool)} pooled responses", file=sys.stderr)


def engine_pool(seed_docs: list[dict[str, Any]], generated: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Engine responses that do not depend on the rule they are built under."""
    queries = [
        ("seed events", seed_docs, 'network where event.action == "connection_attempted"'),
        ("seed sequences with a missing event", seed_docs,
         'sequence by host.id with maxspan=5s [process where event.action == "exec"] ![file where true] '
         '[network where event.action == "connection_attempted"]'),
        ("seed 4-event sequences", seed_docs,
         'sequence by host.id with maxspan=30s [process where event.action == "exec"] '
         '[process where event.action == "exec"] [network where true] [network where true]'),
        ("generated process events", generated,
         'process where event.type == "start" and process.name in ("curl", "sh", "bash")'),
        ("generated file events", generated, 'file where event.action == "creation"'),
        ("generated entity sequences", generated,
         'sequence by process.entity_id with maxspan=1m [process where event.action == "exec" and '
         'process.name in ("bash", "dash", "sh")] [network where event.action == "connection_attempted"]'),
    ]
    pool = []
    for name, docs, query in queries:
        response = _search(docs, query)
        if response is not None and _count(response):
            pool.append((name, response))
        else:
            print(f"warning: pooled query {name!r} found nothing", file=sys.stderr)
    return pool


def all_cases(directory: Path, spread: int) -> Iterator[Case]:
    seed_rule = load_rule_file(SEED_RULE)
    seed_docs = _read_ndjson(SEED_DOCS)
    generated = list(generate.generate(20000, seed=7, hosts=20))
    seq = search(seed_docs, seed_rule.query, size=100)
    ev = search(seed_docs, 'network where event.action == "connection_attempted"', size=100)
    for variant, context in _context_variants(seed_rule):
        yield f"seed sequences [{variant}]", seq, context
        yield f"seed events [{variant}]", ev, context
    for strategy in ("allFields", "noFields"):
        yield f"seed events [{strategy}]", ev, _context(seed_rule, merge_strategy=strategy)

    rules = {
        "plain": _write_rule(directory, "plain_rule", "a624863f-0000-4000-8000-000000000001"),
        "overrides": _write_rule(directory, "override_rule", "a624863f-0000-4000-8000-000000000002", extra=OVERRIDES),
        "building block": _write_rule(directory, "building_block_rule", "a624863f-0000-4000-8000-000000000003",
                                      query=ANY_SEQUENCE, extra=BUILDING_BLOCK),
        "odd meta": _write_rule(directory, "odd_meta_rule", "a624863f-0000-4000-8000-000000000004", extra=ODD_META),
        "minimal": _write_rule(directory, "minimal_rule", "a624863f-0000-4000-8000-000000000005",
                               template=MINIMAL),
    }
    for rule_name, rule in rules.items():
        for variant, context in _context_variants(rule):
            tag = f"{rule_name} [{variant}]"
            yield f"odd events {tag}", _events(*_odd_sources(), prefix="odd"), context
            yield f"alert hits {tag}", _events(*_alert_sources(rule), prefix="al"), context
            yield f"override events {tag}", _events(*_override_sources(), prefix="ov"), context
            yield f"fields hits {tag}", {"hits": {"events": _fields_hits()}}, context
            yield f"edge sequences {tag}", _edge_sequences(rule), context
            yield f"seed sequences {tag}", seq, context
        for strategy in ("allFields", "noFields"):
            context = _context(rule, merge_strategy=strategy)
            yield f"fields hits {rule_name} [{strategy}]", {"hits": {"events": _fields_hits()}}, context
            yield f"edge sequences {rule_name} [{strategy}]", _edge_sequences(rule), context
        not_json = _not_json_sources()
        yield f"not JSON events {rule_name}", _events(*not_json, prefix="nj"), _context(rule)
        yield f"not JSON sequences {rule_name}", _sequences(
            [_hit("nj0", not_json[0]), _hit("nj2", not_json[2], index="logs-network")],
            [_hit("nj1", not_json[1]), _hit("p9", _process_source())]), _context(rule)
        for name, response in _reference_cases():
            yield f"{name} {rule_name}", response, _context(rule)
        for name, response in _error_responses():
            yield f"{name} {rule_name}", response, _context(rule)

    pool = engine_pool(seed_docs, generated)
    for name, response in pool:
        yield f"pool {name} [seed rule]", response, _context(seed_rule)
    yield from corpus_cases(seed_docs, generated, pool, spread)


# ---- the dump -----------------------------------------------------------------------------------------------------

def _containers(value: Any, found: dict[int, Any]) -> None:
    """Every dict and list reachable from `value`, by id (the objects are kept so that ids stay unique)."""
    if isinstance(value, (dict, list)):
        if id(value) in found:
            return
        found[id(value)] = value
        for child in value.values() if isinstance(value, dict) else value:
            _containers(child, found)


def _sharing_problems(response: dict[str, Any], builds: list[list[Any]]) -> list[str]:
    """Containers shared between two alerts (of one or of two builds) or between an alert and the response."""
    owner: dict[int, str] = {}
    keep: list[Any] = []
    response_objects: dict[int, Any] = {}
    _containers(response, response_objects)
    problems = []
    for b, alerts in enumerate(builds):
        for n, alert in enumerate(alerts):
            found: dict[int, Any] = {}
            _containers(alert.source, found)
            keep.append(found)
            label = f"build {b} alert {n}"
            for key in found:
                if key in response_objects:
                    problems.append(f"{label} shares an object with the response")
                    break
                if key in owner:
                    problems.append(f"{label} shares an object with {owner[key]}")
                    break
            for key in found:
                owner.setdefault(key, label)
    return problems


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, default=repr)


def dump(cases: Iterator[Case], out: Any) -> tuple[int, int, int]:
    """Writes every case's alerts; returns (cases, alerts, problems)."""
    n_cases = n_alerts = n_problems = 0
    for name, response, context in cases:
        n_cases += 1
        before = json.dumps(response, default=repr)
        try:
            alerts = build_alerts(response, context)
            again = build_alerts(response, context)
        except Exception as err:
            out.write(_line({"case": name, "error": f"{type(err).__name__}: {err}"}) + "\n")
            continue
        for n, alert in enumerate(alerts):
            n_alerts += 1
            ordered = json.dumps(alert.source, ensure_ascii=False, default=repr)
            out.write(_line({
                "case": name, "n": n, "id": alert.id, "building_block": alert.building_block,
                "group_id": alert.group_id, "group_index": alert.group_index, "source": alert.source,
                "key_order": hashlib.sha256(ordered.encode("utf-8")).hexdigest(),
            }) + "\n")
        problems = _sharing_problems(response, [alerts, again])
        if json.dumps(response, default=repr) != before:
            problems.append("the response was changed")
        if [(a.id, a.source) for a in again] != [(a.id, a.source) for a in alerts]:
            problems.append("a second build gave other alerts")
        for problem in problems[:3]:
            n_problems += 1
            print(f"problem: {name}: {problem}", file=sys.stderr)
            out.write(_line({"case": name, "problem": problem}) + "\n")
    return n_cases, n_alerts, n_problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the JSON-lines file to write (keep it outside the repository)")
    parser.add_argument("--spread", type=int, default=40, help="corpus rules whose contexts get the pooled responses")
    args = parser.parse_args(argv)
    import runner.alerts

    print(f"runner.alerts from {Path(runner.alerts.__file__).parent}", file=sys.stderr)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory, open(args.out, "w", encoding="utf-8") as out:
        cases, alerts, problems = dump(all_cases(Path(directory), args.spread), out)
    print(f"{cases} cases, {alerts} alerts, {problems} problems -> {args.out} "
          f"({time.perf_counter() - started:.1f}s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
