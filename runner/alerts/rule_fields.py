"""The `kibana.*` fields an alert gets from the rule and the execution (kibana-eql-execution.md §3.3).

`alert_fields` is Kibana's `buildAlertFields` (every alert, shells included); `framework_fields` is what the rule
registry's persistence wrapper adds when it writes (`augmentAlerts` + `getCommonAlertFields`). Kibana gives some keys
the value `undefined`, which JSON leaves out; they are returned as `UNSET` here, because where a shell alert spreads
these fields over the building blocks' common fields an `undefined` also removes the common value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from runner.alerts.ancestry import build_ancestors, child_depth
from runner.alerts.context import AlertContext
from runner.alerts.paths import flatten_with_prefix
from runner.alerts.times import iso, original_time

UNSET: Final = object()

CONSUMER = PRODUCER = "siem"
# rule-runner stands in for the Kibana user that created and last changed the rule saved object
RULE_USER = "rule-runner"
# filled by Kibana's risk/criticality enrichment just before writing; buildAlertFields leaves them undefined (which
# matters: a shell's spread of these fields over the building blocks' common fields removes the common values). The
# service.* ones since 8.18 (`AlertFormat.service_enrichment`)
_ENRICHMENT_FIELDS = (
    "kibana.alert.host.criticality_level",
    "kibana.alert.user.criticality_level",
    "host.asset.criticality",
    "user.asset.criticality",
    "service.asset.criticality",
    "host.risk.calculated_level",
    "host.risk.calculated_score_norm",
    "user.risk.calculated_level",
    "user.risk.calculated_score_norm",
    "service.risk.calculated_level",
    "service.risk.calculated_score_norm",
)
_ENRICHMENT_FIELDS_8_16 = tuple(name for name in _ENRICHMENT_FIELDS if not name.startswith("service."))


@dataclass(frozen=True)
class Overrides:
    """A single-event alert's name, severity and risk score, as the rule's mappings made them."""

    name: str
    severity: str
    risk_score: int | float


def alert_url(context: AlertContext, alert_id: str, timestamp: str) -> Any:
    """`getAlertDetailsUrl`: the alert's redirect link in Kibana, `UNSET` without `server.publicBaseUrl`."""
    if not context.public_base_url:
        return UNSET
    base = context.public_base_url[:-1] if context.public_base_url.endswith("/") else context.public_base_url
    space = f"/s/{context.space_id}" if context.space_id and context.space_id != "default" else ""
    return (f"{base}{space}/app/security/alerts/redirect/{alert_id}"
            f"?index={context.alerts_index_name}&timestamp={timestamp}")


@functools.lru_cache(maxsize=4096)  # strptime is slow, and every alert of a rule asks for the same two dates
def _date(metadata_date: str) -> str:
    """A detection-rules `YYYY/MM/DD` date as the saved object's `createdAt`/`updatedAt` would print it."""
    return iso(datetime.strptime(metadata_date, "%Y/%m/%d").replace(tzinfo=UTC))


def _optional(params: Mapping[str, Any], key: str) -> Any:
    value = params.get(key)
    return UNSET if value is None else value


def alert_fields(
    *,
    docs: Sequence[Mapping[str, Any]],
    context: AlertContext,
    params: Mapping[str, Any],
    indices: Sequence[str],
    reason: str,
    alert_uuid: str,
    overrides: Overrides | None = None,
) -> dict[str, Any]:
    """`buildAlertFields` for an alert built from `docs` (hits with `_id`, `_index`, `_source`, maybe `fields`).

    `params` (the rule's snake_case parameters) and `indices` are shared by every alert of a response on purpose: a
    sequence shell keeps an array of objects only when all its blocks hold that same array, as Kibana's blocks do.
    """
    rule = context.rule
    timestamp = iso(context.now)
    first_time = original_time(docs[0]) if docs else None
    metadata = rule.document.metadata
    fields: dict[str, Any] = {
        "@timestamp": timestamp,
        "kibana.space_ids": [context.space_id],
        "event.kind": "signal",
        "kibana.alert.original_time": UNSET if first_time is None else first_time,
        "kibana.alert.rule.consumer": CONSUMER,
        "kibana.alert.ancestors": [a for doc in docs for a in build_ancestors(doc)],
        "kibana.alert.status": "active",
        "kibana.alert.workflow_status": "open",
        "kibana.alert.depth": child_depth(list(docs)),
        "kibana.alert.reason": reason,
        "kibana.alert.building_block_type": _optional(params, "building_block_type"),
        "kibana.alert.severity": overrides.severity if overrides else params["severity"],
        "kibana.alert.risk_score": overrides.risk_score if overrides else params["risk_score"],
        "kibana.alert.rule.parameters": params,
        # rule-runner runs no Kibana actions: the rule's action list is always empty
        "kibana.alert.rule.actions": [],
        "kibana.alert.rule.author": params.get("author", []),
        "kibana.alert.rule.created_at": _date(metadata.creation_date),
        "kibana.alert.rule.created_by": RULE_USER,
        "kibana.alert.rule.description": params["description"],
        "kibana.alert.rule.enabled": rule.params.enabled,
        "kibana.alert.rule.exceptions_list": params.get("exceptions_list", []),
        "kibana.alert.rule.false_positives": params.get("false_positives", []),
        "kibana.alert.rule.from": params["from"],
        # Kibana's `params.immutable`: true for Elastic's prebuilt rules (`rule_source` external), see Rule.rule_source
        "kibana.alert.rule.immutable": params["immutable"],
        "kibana.alert.rule.interval": rule.params.interval,
        "kibana.alert.rule.indices": indices,
        "kibana.alert.rule.license": _optional(params, "license"),
        "kibana.alert.rule.max_signals": params["max_signals"],
        "kibana.alert.rule.name": overrides.name if overrides else rule.name,
        "kibana.alert.rule.namespace": _optional(params, "namespace"),
        # the TOML model reads an absent note as "", Kibana leaves an absent note undefined
        "kibana.alert.rule.note": params.get("note") or UNSET,
        "kibana.alert.rule.references": params.get("references", []),
        "kibana.alert.rule.risk_score_mapping": params.get("risk_score_mapping", []),
        "kibana.alert.rule.rule_id": params["rule_id"],
        "kibana.alert.rule.rule_name_override": _optional(params, "rule_name_override"),
        "kibana.alert.rule.severity_mapping": params.get("severity_mapping", []),
        "kibana.alert.rule.tags": list(rule.params.tags),
        "kibana.alert.rule.threat": params.get("threat", []),
        "kibana.alert.rule.throttle": _optional(params, "throttle"),
        "kibana.alert.rule.timeline_id": _optional(params, "timeline_id"),
        "kibana.alert.rule.timeline_title": _optional(params, "timeline_title"),
        "kibana.alert.rule.timestamp_override": _optional(params, "timestamp_override"),
        "kibana.alert.rule.to": params["to"],
        "kibana.alert.rule.type": params["type"],
        "kibana.alert.rule.updated_at": _date(metadata.updated_date),
        "kibana.alert.rule.updated_by": RULE_USER,
        "kibana.alert.rule.uuid": rule.uuid,
        "kibana.alert.rule.version": params["version"],
        "kibana.alert.url": alert_url(context, alert_uuid, timestamp),
        "kibana.alert.uuid": alert_uuid,
        "kibana.alert.workflow_tags": [],
        "kibana.alert.workflow_assignee_ids": [],
    }
    meta = params.get("meta")
    fields.update(flatten_with_prefix("kibana.alert.rule.meta", UNSET if meta is None else meta))
    # duplicates Kibana keeps outside its mapping "to limit changes"; always the rule's own values, never overrides
    fields["kibana.alert.rule.risk_score"] = params["risk_score"]
    fields["kibana.alert.rule.severity"] = params["severity"]
    fields["kibana.alert.rule.building_block_type"] = _optional(params, "building_block_type")
    enrichment = _ENRICHMENT_FIELDS if context.alert_format.service_enrichment else _ENRICHMENT_FIELDS_8_16
    fields.update(dict.fromkeys(enrichment, UNSET))
    fields["kibana.alert.intended_timestamp"] = (
        iso(context.intended_timestamp) if context.intended_timestamp is not None else timestamp
    )
    fields["kibana.alert.rule.execution.type"] = context.execution_type
    return fields


def framework_fields(context: AlertContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """The persistence wrapper's fields, in its order; the alert's own fields win where both set a key."""
    now = iso(context.now)
    rule = context.rule
    return {
        "kibana.alert.rule.execution.timestamp": now,
        "kibana.alert.start": now,
        "kibana.alert.last_detected": now,
        "kibana.version": context.kibana_version,
        # no maintenance windows in rule-runner: kibana.alert.maintenance_window_ids is never written
        "kibana.alert.rule.parameters": params,
        "kibana.alert.rule.category": context.rule_category,
        "kibana.alert.rule.consumer": CONSUMER,
        "kibana.alert.rule.execution.uuid": context.execution_uuid,
        "kibana.alert.rule.name": rule.name,
        "kibana.alert.rule.producer": PRODUCER,
        "kibana.alert.rule.revision": rule.params.revision,
        "kibana.alert.rule.rule_type_id": context.rule_type_id,
        "kibana.alert.rule.uuid": rule.uuid,
        "kibana.space_ids": [context.space_id],
        "kibana.alert.rule.tags": list(rule.params.tags),
        "@timestamp": now,
    }


__all__ = ["CONSUMER", "PRODUCER", "RULE_USER", "UNSET", "Overrides", "alert_fields",
           "alert_url", "framework_fields"]
