"""Alert documents from an `_eql/search` response, as Kibana's security detection engine writes them (spec §3, §4.1).

- events (`hits.events`): one alert per event (`wrapHits`), with the rule's name/severity/risk-score overrides;
- sequences (`hits.sequences`): per sequence, a shell alert holding what all its events share, then one building-block
  alert per present event (`wrapSequences`); events EQL reports as missing (`!` clauses) are left out.

Each alert is the event's own fields (fields API values merged in, Kibana-only fields dropped, `event.*` preserved
under `kibana.alert.original_event.*`) plus dotted `kibana.*` keys describing the rule, the execution and the alert.
Hits that descend from an alert of this same rule are skipped, so a rule never alerts on its own alerts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from runner.alerts.ancestry import build_ancestors
from runner.alerts.context import AlertContext
from runner.alerts.ids import building_block_ids, event_alert_id, shell_alert_id
from runner.alerts.intersection import object_array_intersection
from runner.alerts.merge import merge_fields
from runner.alerts.overrides import (
    risk_score_override,
    rule_name_override,
    severity_override,
    sorted_severity_mapping,
)
from runner.alerts.paths import MISSING
from runner.alerts.reason import build_reason
from runner.alerts.rule_fields import UNSET, Overrides, alert_fields, alert_url, framework_fields
from runner.alerts.source import alert_source
from runner.errors import RuleRunnerError

NEITHER_EVENTS_NOR_SEQUENCES = "eql query response should have either `sequences` or `events` but had neither"
# Kibana builds the building blocks and the shell before their ids exist, under these stand-ins, and replaces them
_BLOCK_PLACEHOLDER = "placeholder-alert-uuid"
_SHELL_PLACEHOLDER = "placeholder-uuid"


class AlertBuildError(RuleRunnerError):
    """A search response that alerts cannot be built from."""


@dataclass(frozen=True)
class Alert:
    """One alert document to create under `_id` = `id` in the space's alerts index."""

    id: str
    source: dict[str, Any] = field(hash=False)
    building_block: bool = False
    group_id: str | None = None  # sequence alerts: the shell's id (the shell's own id for the shell)
    group_index: int | None = None  # building blocks: position among the sequence's present events

    @property
    def is_shell(self) -> bool:
        return self.group_id is not None and not self.building_block

    @property
    def counts_as_alert(self) -> bool:
        """Kibana notifies (and counts) single-event alerts and shells, never building blocks."""
        return not self.building_block


@dataclass(frozen=True)
class _Shared:
    """What every alert of one response is built with."""

    context: AlertContext
    params: dict[str, Any]
    indices: list[str]


def build_alerts(response: Mapping[str, Any], context: AlertContext) -> list[Alert]:
    """The alerts of one `_eql/search` response body, in write order (a shell before its building blocks)."""
    hits = response.get("hits")
    if not isinstance(hits, dict):
        raise AlertBuildError(NEITHER_EVENTS_NOR_SEQUENCES)
    shared = _Shared(context, context.rule.params.parameters(), context.input_indices)
    # Kibana looks at sequences first
    if hits.get("sequences") is not None:
        return [alert for sequence in hits["sequences"] for alert in _sequence_alerts(sequence, shared)]
    if hits.get("events") is not None:
        events = hits["events"]
        mapping = shared.params.get("severity_mapping")
        if events and mapping:
            # Kibana sorts the rule's mapping in place when it applies it to the first event: from then on the
            # alerts (their rule fields and parameters) show it sorted
            shared = _Shared(context, {**shared.params, "severity_mapping": sorted_severity_mapping(mapping)},
                             shared.indices)
        return [alert for event in events if (alert := _event_alert(event, shared)) is not None]
    raise AlertBuildError(NEITHER_EVENTS_NOR_SEQUENCES)


def _event_alert(event: Mapping[str, Any], shared: _Shared) -> Alert | None:
    context = shared.context
    if not isinstance(event.get("_id"), str) or not isinstance(event.get("_index"), str):
        raise AlertBuildError("Error building alert from source document.")
    alert_id = event_alert_id(event["_index"], event["_id"], context.space_id, context.rule.uuid,
                              event.get("_version", MISSING))
    source = _base_alert(event, shared, apply_overrides=True, alert_uuid=alert_id)
    if _descends_from_rule(source["kibana.alert.ancestors"], context.rule.uuid):
        return None
    return Alert(alert_id, _written(source, shared))


def _sequence_alerts(sequence: Mapping[str, Any], shared: _Shared) -> list[Alert]:
    context = shared.context
    rule = context.rule
    events = [e for e in sequence.get("events") or [] if e.get("missing") is not True]
    if not events or _descends_from_rule([a for e in events for a in build_ancestors(e)], rule.uuid):
        return []
    if any(not isinstance(e.get("_id"), str) or not isinstance(e.get("_index"), str) for e in events):
        return []  # Kibana logs the failure at debug level and skips the sequence
    base = [_base_alert(e, shared, apply_overrides=False, alert_uuid=_BLOCK_PLACEHOLDER) for e in events]
    ids = building_block_ids([b["kibana.alert.ancestors"] for b in base], rule.uuid)
    blocks = [{**b, "kibana.alert.uuid": block_id} for b, block_id in zip(base, ids)]

    common = object_array_intersection(blocks)
    reason = build_reason(rule.name, shared.params["severity"], common)
    docs = [{"_id": block_id, "_index": "", "_source": b} for b, block_id in zip(blocks, ids)]
    shell_fields = alert_fields(docs=docs, context=context, params=shared.params, indices=shared.indices,
                                reason=reason, alert_uuid=_SHELL_PLACEHOLDER)
    shell_id = shell_alert_id(shell_fields["kibana.alert.ancestors"], rule.uuid)
    shell = _spread(common or {}, shell_fields)
    shell["kibana.alert.uuid"] = shell_id
    shell["kibana.alert.group.id"] = shell_id
    _set_url(shell, context, shell_id)

    alerts = [Alert(shell_id, _written(shell, shared), group_id=shell_id)]
    for index, (block, block_id) in enumerate(zip(blocks, ids)):
        block = {
            **block,
            "kibana.alert.building_block_type": "default",
            "kibana.alert.group.id": shell_id,
            "kibana.alert.group.index": index,
        }
        _set_url(block, context, block_id)
        alerts.append(Alert(block_id, _written(block, shared), building_block=True, group_id=shell_id,
                            group_index=index))
    return alerts


def _base_alert(hit: Mapping[str, Any], shared: _Shared, *, apply_overrides: bool, alert_uuid: str) -> dict[str, Any]:
    """Kibana `transformHitToAlert`: the event's fields with the alert fields merged over them."""
    context, params = shared.context, shared.params
    rule = context.rule
    hit = copy.deepcopy(dict(hit))
    source = hit.get("_source") if isinstance(hit.get("_source"), dict) else {}
    fields = hit.get("fields") if isinstance(hit.get("fields"), dict) else {}
    merged = merge_fields(source, fields, context.merge_strategy)
    merged_hit = {**hit, "_source": merged}

    overrides = None
    if apply_overrides:
        overrides = Overrides(
            name=rule_name_override(merged, rule.name, params.get("rule_name_override")),
            severity=severity_override(merged, params["severity"], params.get("severity_mapping") or []),
            risk_score=risk_score_override(merged, params["risk_score"], params.get("risk_score_mapping") or []),
        )
    reason = build_reason(overrides.name if overrides else rule.name,
                          overrides.severity if overrides else params["severity"], merged, hit.get("fields"))
    fields_of_alert = alert_fields(docs=[merged_hit], context=context, params=params, indices=shared.indices,
                                   reason=reason, alert_uuid=alert_uuid, overrides=overrides)
    document = alert_source(merged)
    # lodash `merge`: an undefined alert field leaves the event's value alone
    document.update({key: value for key, value in fields_of_alert.items() if value is not UNSET})
    return document


def _descends_from_rule(ancestors: Sequence[Mapping[str, Any]], rule_uuid: str) -> bool:
    return any(ancestor.get("rule") == rule_uuid for ancestor in ancestors)


def _spread(common: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """JavaScript `{...common, ...fields}` where an undefined field also hides the common value."""
    result = dict(common)
    for key, value in fields.items():
        if value is UNSET:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _set_url(document: dict[str, Any], context: AlertContext, alert_id: str) -> None:
    url = alert_url(context, alert_id, document["@timestamp"])
    if url is UNSET:
        document.pop("kibana.alert.url", None)
    else:
        document["kibana.alert.url"] = url


def _written(source: Mapping[str, Any], shared: _Shared) -> dict[str, Any]:
    """The document as the persistence wrapper writes it: its fields, then the alert's own over them.

    Copied, so that alerts share no objects with each other, with the rule, or with the response.
    """
    document = _spread(framework_fields(shared.context, shared.params), source)
    return copy.deepcopy(document)


__all__ = ["NEITHER_EVENTS_NOR_SEQUENCES", "Alert", "AlertBuildError", "build_alerts"]
