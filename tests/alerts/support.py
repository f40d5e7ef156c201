"""Shared builders for the alert tests: small rules written to a temporary directory, contexts, EQL hits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.alerts import AlertContext
from runner.catalog import Rule, load_rule_file
from tests.conftest import shared_path

NOW = datetime(2024, 5, 1, 12, 5, 3, 120456, tzinfo=UTC)
NOW_ISO = "2024-05-01T12:05:03.120Z"
EXECUTION = "7eb7d83a-0000-4000-8000-00000000e1e1"
RULE_ID = "a624863f-0000-4000-8000-000000000001"
SEED_RULE = ("seed", "persistence_apt_package_manager_netcon.toml")

RULE_TOML = '''[metadata]
creation_date = "2024/02/01"
maturity = "production"
updated_date = "2024/07/09"

[rule]
author = ["Elastic"]
description = "Office spawning a shell."
from = "now-9m"
index = ["logs-endpoint.events.*"]
language = "eql"
license = "Elastic License v2"
name = "Suspicious Office Child Process"
risk_score = 73
rule_id = "{rule_id}"
severity = "high"
tags = ["Domain: Endpoint"]
timestamp_override = "event.ingested"
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
'''

# a name taken from the event, two severity mappings (listed high first), a risk score read from the event
OVERRIDES = '''
rule_name_override = "rule.name"

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

[[rule.risk_score_mapping]]
field = "event.risk_score"
operator = "equals"
'''

EVENT_QUERY = 'process where process.parent.name == "winword.exe"'
SEQUENCE_QUERY = 'sequence by host.id [process where true] [network where true]'


def write_rule(tmp_path: Path, *, query: str = EVENT_QUERY, extra: str = "", name: str = "rule.toml") -> Rule:
    path = tmp_path / name
    path.write_text(RULE_TOML.format(rule_id=RULE_ID, query=query, extra=extra), encoding="utf-8")
    return load_rule_file(path)


def seed_rule() -> Rule:
    return load_rule_file(shared_path(*SEED_RULE))


def make_context(rule: Rule, **overrides: Any) -> AlertContext:
    values: dict[str, Any] = {"rule": rule, "execution_uuid": EXECUTION, "now": NOW}
    values.update(overrides)
    return AlertContext(**values)


def reference_example(name: str) -> dict[str, Any]:
    """One of ../shared/reference/es-examples/*.json (the test is skipped when ../shared is absent)."""
    example: dict[str, Any] = json.loads(shared_path("reference", "es-examples", name).read_text(encoding="utf-8"))
    return example


def eql_test_hit(doc_id: str) -> dict[str, Any]:
    """A document of the `eql_test` index the Elasticsearch EQL REST tests (01-04) search, as an EQL hit."""
    docs = reference_example("01_events_basic.json")["setup"]["docs"]
    doc = next(d for d in docs if d["_id"] == doc_id)
    return {"_index": "eql_test", "_id": doc_id, "_source": json.loads(json.dumps(doc["_source"]))}


def office_event(doc_id: str = "AbC123", **source_overrides: Any) -> dict[str, Any]:
    """An Elastic Defend process event, with the `fields` Kibana's EQL request asks for."""
    source: dict[str, Any] = {
        "@timestamp": "2024-05-01T12:01:10.000Z",
        "agent": {"type": "endpoint", "id": "agent-1"},
        "host": {"name": "ws-01", "id": "host-1", "os": {"family": "windows"}},
        "process": {"name": "cmd.exe", "pid": 4242, "parent": {"name": "winword.exe"}},
        "user": {"name": "alice"},
        "event": {"category": ["process"], "type": ["start"], "action": "start", "kind": "event",
                  "dataset": "endpoint.events.process", "module": "endpoint", "ingested": "2024-05-01T12:01:12Z"},
        "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
    }
    source.update(source_overrides)
    return {
        "_index": ".ds-logs-endpoint.events.process-default-2024.05.01-000001",
        "_id": doc_id,
        "_source": source,
        "fields": {
            "@timestamp": ["2024-05-01T12:01:10.000Z"],
            "host.name": ["ws-01"],
            "host.name.keyword": ["ws-01"],
            "process.pid": [4242],
            "process.command_line": ["cmd.exe /c whoami"],
        },
    }


def apt_sequence_events() -> list[dict[str, Any]]:
    """Two events the seed rule's sequence matches: a shell started by apt, then its network connection."""
    shell = {
        "_index": ".ds-logs-endpoint.events.process-default-2024.05.01-000001",
        "_id": "proc-1",
        "_source": {
            "@timestamp": "2024-05-01T12:01:10.000Z",
            "host": {"id": "h1", "name": "web-1", "os": {"type": "linux"}},
            "event": {"category": ["process"], "type": ["start"], "action": "exec", "kind": "event"},
            "process": {"name": "sh", "args": ["-c", "curl http://x"], "entity_id": "e-sh",
                        "parent": {"name": "apt", "entity_id": "e-apt"}},
            "user": {"name": "root"},
        },
    }
    network = {
        "_index": ".ds-logs-endpoint.events.network-default-2024.05.01-000001",
        "_id": "net-1",
        "_source": {
            "@timestamp": "2024-05-01T12:01:12.000Z",
            "host": {"id": "h1", "name": "web-1", "os": {"type": "linux"}},
            "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted", "kind": "event"},
            "process": {"name": "curl", "parent": {"name": "sh", "entity_id": "e-sh"}},
            "destination": {"ip": "10.0.0.9", "port": 443},
            "user": {"name": "root"},
        },
    }
    return [shell, network]
