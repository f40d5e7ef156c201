"""Index bodies the Elasticsearch backend creates: the standalone alerts template, the state and execution indices.

Alerts are mapped like Kibana's `.alerts-security.alerts-*` indices: `dynamic: false` (a rule copying an odd field
cannot break the mapping or the write), ECS for the event fields alerts carry, and the `kibana.alert.*` fields
rule-runner writes (dotted keys in `_source` are mapped as the object paths they name).
"""

from __future__ import annotations

from typing import Any

from runner.ecs import ecs_mapping

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_DATE = {"type": "date"}
_LONG = {"type": "long"}
_FLOAT = {"type": "float"}
_BOOLEAN = {"type": "boolean"}
_TEXT_KEYWORD = {"type": "keyword", "ignore_above": 8191, "fields": {"text": {"type": "match_only_text"}}}
_UNINDEXED = {"type": "object", "enabled": False}
_MITRE = {"properties": {"id": _KEYWORD, "name": _KEYWORD, "reference": _KEYWORD}}

_ORIGINAL_EVENT = {
    "action": _KEYWORD, "agent_id_status": _KEYWORD, "category": _KEYWORD, "code": _KEYWORD, "created": _DATE,
    "dataset": _KEYWORD, "duration": _LONG, "end": _DATE, "hash": _KEYWORD, "id": _KEYWORD, "ingested": _DATE,
    "kind": _KEYWORD, "module": _KEYWORD, "original": {"type": "keyword", "index": False, "doc_values": False},
    "outcome": _KEYWORD, "provider": _KEYWORD, "reason": _KEYWORD, "reference": _KEYWORD, "risk_score": _FLOAT,
    "risk_score_norm": _FLOAT, "sequence": _LONG, "severity": _LONG, "start": _DATE, "timezone": _KEYWORD,
    "type": _KEYWORD, "url": _KEYWORD,
}

# `kibana.*` fields, by dotted name
KIBANA_FIELDS: dict[str, dict[str, Any]] = {
    "kibana.space_ids": _KEYWORD,
    "kibana.version": {"type": "version"},
    "kibana.alert.ancestors": {
        "properties": {"depth": _LONG, "id": _KEYWORD, "index": _KEYWORD, "rule": _KEYWORD, "type": _KEYWORD}
    },
    "kibana.alert.building_block_type": _KEYWORD,
    "kibana.alert.depth": _LONG,
    "kibana.alert.group.id": _KEYWORD,
    "kibana.alert.group.index": {"type": "integer"},
    "kibana.alert.intended_timestamp": _DATE,
    "kibana.alert.last_detected": _DATE,
    "kibana.alert.original_data_stream": {
        "properties": {"dataset": _KEYWORD, "namespace": _KEYWORD, "type": _KEYWORD}
    },
    "kibana.alert.original_event": {"properties": _ORIGINAL_EVENT},
    "kibana.alert.original_time": _DATE,
    "kibana.alert.reason": _TEXT_KEYWORD,
    "kibana.alert.risk_score": _FLOAT,
    "kibana.alert.severity": _KEYWORD,
    "kibana.alert.start": _DATE,
    "kibana.alert.status": _KEYWORD,
    "kibana.alert.url": {"type": "keyword", "index": False, "doc_values": False},
    "kibana.alert.uuid": _KEYWORD,
    "kibana.alert.workflow_assignee_ids": _KEYWORD,
    "kibana.alert.workflow_status": _KEYWORD,
    "kibana.alert.workflow_status_updated_at": _DATE,
    "kibana.alert.workflow_tags": _KEYWORD,
    "kibana.alert.workflow_user": _KEYWORD,
    "kibana.alert.rule.actions": _UNINDEXED,
    "kibana.alert.rule.author": _KEYWORD,
    "kibana.alert.rule.building_block_type": _KEYWORD,
    "kibana.alert.rule.category": _KEYWORD,
    "kibana.alert.rule.consumer": _KEYWORD,
    "kibana.alert.rule.created_at": _DATE,
    "kibana.alert.rule.created_by": _KEYWORD,
    "kibana.alert.rule.description": {"type": "match_only_text"},
    "kibana.alert.rule.enabled": _KEYWORD,
    "kibana.alert.rule.exceptions_list": _UNINDEXED,
    "kibana.alert.rule.execution.timestamp": _DATE,
    "kibana.alert.rule.execution.type": _KEYWORD,
    "kibana.alert.rule.execution.uuid": _KEYWORD,
    "kibana.alert.rule.false_positives": _KEYWORD,
    "kibana.alert.rule.from": _KEYWORD,
    "kibana.alert.rule.immutable": _KEYWORD,
    "kibana.alert.rule.indices": _KEYWORD,
    "kibana.alert.rule.interval": _KEYWORD,
    "kibana.alert.rule.license": _KEYWORD,
    "kibana.alert.rule.max_signals": _LONG,
    "kibana.alert.rule.name": _TEXT_KEYWORD,
    "kibana.alert.rule.note": {"type": "match_only_text"},
    "kibana.alert.rule.parameters": {"type": "flattened", "ignore_above": 4096},
    "kibana.alert.rule.producer": _KEYWORD,
    "kibana.alert.rule.references": _KEYWORD,
    "kibana.alert.rule.revision": _LONG,
    "kibana.alert.rule.risk_score": _FLOAT,
    "kibana.alert.rule.risk_score_mapping": _UNINDEXED,
    "kibana.alert.rule.rule_id": _KEYWORD,
    "kibana.alert.rule.rule_name_override": _KEYWORD,
    "kibana.alert.rule.rule_type_id": _KEYWORD,
    "kibana.alert.rule.severity": _KEYWORD,
    "kibana.alert.rule.severity_mapping": _UNINDEXED,
    "kibana.alert.rule.tags": _KEYWORD,
    "kibana.alert.rule.threat": {
        "properties": {
            "framework": _KEYWORD,
            "tactic": _MITRE,
            "technique": {"properties": {**_MITRE["properties"], "subtechnique": _MITRE}},
        }
    },
    "kibana.alert.rule.timeline_id": _KEYWORD,
    "kibana.alert.rule.timeline_title": _KEYWORD,
    "kibana.alert.rule.timestamp_override": _KEYWORD,
    "kibana.alert.rule.to": _KEYWORD,
    "kibana.alert.rule.type": _KEYWORD,
    "kibana.alert.rule.updated_at": _DATE,
    "kibana.alert.rule.updated_by": _KEYWORD,
    "kibana.alert.rule.uuid": _KEYWORD,
    "kibana.alert.rule.version": _KEYWORD,
}


def _place(properties: dict[str, Any], dotted: str, leaf: dict[str, Any]) -> None:
    parts = dotted.split(".")
    node = properties
    for part in parts[:-1]:
        node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
    node[parts[-1]] = leaf


def alerts_mapping() -> dict[str, Any]:
    """The alerts index mapping: ECS, then the `kibana.*` fields, unknown fields kept in `_source` only."""
    body = ecs_mapping()
    for name, leaf in KIBANA_FIELDS.items():
        _place(body["properties"], name, dict(leaf))
    return {"dynamic": False, **body}


ALERTS_SETTINGS: dict[str, Any] = {
    "index.hidden": False,
    "index.auto_expand_replicas": "0-1",
    "index.mapping.ignore_malformed": True,
    "index.mapping.total_fields.limit": 6000,
}

STATE_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "rule_id": {"type": "keyword"},
        "previous_started_at": _DATE,
        "pending_since": _DATE,
        "execution_uuid": {"type": "keyword"},
        "updated_at": _DATE,
    },
}

EXECUTIONS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "uuid": {"type": "keyword"},
        "rule_id": {"type": "keyword"},
        "rule_name": _KEYWORD,
        "started_at": _DATE,
        "finished_at": _DATE,
        "status": {"type": "keyword"},
        "message": {"type": "match_only_text"},
        "warnings": {"type": "match_only_text"},
        "errors": {"type": "match_only_text"},
        "windows": _UNINDEXED,
        "gap": {"properties": {"gte": _DATE, "lte": _DATE, "duration_s": _LONG}},
        "duration_ms": _FLOAT,
        "search_ms": _FLOAT,
        "write_ms": _FLOAT,
        "hits": _LONG,
        "alerts_created": _LONG,
        "alerts_failed": _LONG,
        "failed_alerts": _UNINDEXED,
        "fields_removed": _KEYWORD,
        "duplicates": _LONG,
        "state_advanced": _BOOLEAN,
    },
}

__all__ = ["ALERTS_SETTINGS", "EXECUTIONS_MAPPING", "KIBANA_FIELDS", "STATE_MAPPING", "alerts_mapping"]
