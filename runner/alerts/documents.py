"""Alert documents from an `_eql/search` response, as Kibana's security detection engine writes them (kibana-eql-execution.md §3, §4.1).

- events (`hits.events`): one alert per event (`wrapHits`), with the rule's name/severity/risk-score overrides;
- sequences (`hits.sequences`): per sequence, a shell alert holding what all its events share, then one building-block
  alert per present event (`wrapSequences`); events EQL reports as missing (`!` clauses) are left out.

Each alert is the event's own fields (fields API values merged in, Kibana-only fields dropped, values that do not fit
the ECS mapping of Kibana's alerts index dropped, `event.*` preserved under `kibana.alert.original_event.*`) plus dotted
`kibana.*` keys describing the rule, the execution and the alert. What was dropped for not fitting ECS is on the alert
(`Alert.removed_fields`) and logged at debug level, as Kibana logs it; a shell has nothing of its own to drop (it holds
what its building blocks, already cleaned, share).
Hits that descend from an alert of this same rule are skipped, so a rule never alerts on its own alerts.

The documents follow the alert format of the Kibana release `AlertContext.kibana_version` names
(`versions.format_for`): which namespaces are copied under `kibana.alert.original_*`, whether missing sequence events
make building blocks, how a shell intersects its blocks, which fields `buildAlertFields` leaves undefined.

How it is built fast (the documents are those of Kibana's step-by-step algorithm, byte for byte): what is the same for
every alert of a call is laid out once (`layout.CallPlan`); an event's fields are copied and cleaned in one pass
(`source_fast.alert_source_copy`); a sequence's shell is intersected root by root (`intersection_fast.sequence_common`, the newest
intersection; before 9.4 `intersection_keywise`, which needs no fast path). Documents that are not plain JSON take the
general path (deepcopy, then the in-place steps).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.alerts.ancestry import build_ancestors, child_depth
from runner.alerts.context import AlertContext
from runner.alerts.copying import NotPlainJson, copy_json, fresh_copy
from runner.alerts.ids import building_block_ids, event_alert_id, shell_alert_id
from runner.alerts.intersection_fast import OUTER_FIELDS, Block, describe_block, sequence_common
from runner.alerts.intersection_keywise import UNDEFINED, block_view, keywise_array_intersection
from runner.alerts.layout import (
    ANCESTORS,
    BLOCK_PLACEHOLDER,
    BLOCK_VARYING,
    DEPTH,
    URL,
    UUID,
    CallPlan,
    rule_plan,
)
from runner.alerts.merge import MergeStrategy, merge_fields
from runner.alerts.overrides import risk_score_override, rule_name_override, severity_override
from runner.alerts.paths import MISSING
from runner.alerts.reason import build_reason
from runner.alerts.rule_fields import UNSET, Overrides
from runner.alerts.source import alert_source
from runner.alerts.source_fast import SourceNotes, alert_source_copy
from runner.alerts.times import original_time_of
from runner.errors import RuleRunnerError

log = logging.getLogger("runner.alerts")

NEITHER_EVENTS_NOR_SEQUENCES = "eql query response should have either `sequences` or `events` but had neither"


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
    # the event's fields left out for not fitting the ECS mapping of the alerts index, by path, each once
    removed_fields: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_shell(self) -> bool:
        return self.group_id is not None and not self.building_block

    @property
    def counts_as_alert(self) -> bool:
        """Kibana notifies (and counts) single-event alerts and shells, never building blocks."""
        return not self.building_block


def build_alerts(response: Mapping[str, Any], context: AlertContext) -> list[Alert]:
    """The alerts of one `_eql/search` response body, in write order (a shell before its building blocks)."""
    hits = response.get("hits")
    if not isinstance(hits, dict):
        raise AlertBuildError(NEITHER_EVENTS_NOR_SEQUENCES)
    # Kibana looks at sequences first
    if hits.get("sequences") is not None:
        plan = CallPlan(context, sequences=True)
        return [alert for sequence in hits["sequences"] for alert in _sequence_alerts(sequence, plan)]
    if hits.get("events") is not None:
        return build_event_alerts(hits["events"], context)
    raise AlertBuildError(NEITHER_EVENTS_NOR_SEQUENCES)


def build_event_alerts(events: Sequence[Mapping[str, Any]], context: AlertContext) -> list[Alert]:
    """One alert per event (`wrapHits`): the events of an `_eql/search` answer, or the hits of a query rule's
    `_search` answer (`{"_index", "_id", "_source", "fields"?}`; their `sort` and `_score` are not read)."""
    # Kibana sorts the rule's mapping in place when it applies it to the first event: from then on the alerts
    # (their rule fields and parameters) show it sorted
    sort = bool(events) and bool(rule_plan(context.rule).params.get("severity_mapping"))
    plan = CallPlan(context, sequences=False, sorted_mapping=sort)
    return [alert for event in events if (alert := _event_alert(event, plan)) is not None]


class _Hit:
    """An event as Kibana's `transformHitToAlert` reads it (`source`: `_source` with `fields` merged in; `fields`)
    and the event's part of the alert (`event_part()`, once every read is done)."""

    def __init__(self, hit: Mapping[str, Any], merge_strategy: MergeStrategy, namespaces: Mapping[str, str],
                 notes: SourceNotes | None = None) -> None:
        self.id = hit.get("_id")
        self.index = hit.get("_index")
        self.fields = hit.get("fields")
        self.removed: list[str] = []  # paths of the values dropped for not fitting ECS (`event_part`)
        source = hit.get("_source")
        source = source if isinstance(source, dict) else {}
        fields = self.fields if isinstance(self.fields, dict) else {}
        self._event: dict[str, Any] | None
        try:
            if merge_strategy == "noFields" or not fields:
                # nothing to merge: read the response's own source, copy only what the alert keeps
                self.source = source
                self._event = alert_source_copy(source, notes, self.removed, namespaces)
            else:
                self.source = merge_fields(copy_json(source), fields, merge_strategy)
                self._event = alert_source_copy(self.source, notes, self.removed, namespaces)
            self.plain = True
        except NotPlainJson:
            self.removed.clear()
            # the general path, as Kibana's steps go: a deep copy, merged, read, then cleaned in place
            copied = copy.deepcopy(dict(hit))
            self.fields = copied.get("fields")
            copied_source = copied.get("_source")
            source = copied_source if isinstance(copied_source, dict) else {}
            fields = self.fields if isinstance(self.fields, dict) else {}
            self.source = merge_fields(source, fields, merge_strategy)
            self._event = None
            self.plain = False
        self.namespaces = namespaces

    def event_part(self) -> dict[str, Any]:
        if self._event is None:
            self._event = alert_source(self.source, self.removed, self.namespaces)
        return self._event

    def removed_fields(self, rule: str, alert_id: str) -> tuple[str, ...]:
        """What `event_part` dropped for not fitting ECS, each path once; logged at debug level as Kibana does."""
        if not self.removed:
            return ()
        paths = tuple(dict.fromkeys(self.removed))
        log.debug("rule %s, alert %s: following fields were removed from alert source as ECS non-compliant: %s",
                  rule, alert_id, json.dumps(paths))
        return paths

    def ancestry(self) -> tuple[list[dict[str, Any]], Any]:
        """`kibana.alert.ancestors` and `kibana.alert.depth` of an alert built from this hit (the alert's own)."""
        source = self.source
        if not _maybe_alert_source(source):
            # an event, not an alert: the common case, decided without the lodash reads
            return [{"id": self.id, "type": "event", "index": self.index, "depth": 0}], 1
        hit = {"_id": self.id, "_index": self.index, "_source": source}
        return [fresh_copy(ancestor) for ancestor in build_ancestors(hit)], child_depth([hit])

    def original_time(self) -> str | None:
        return original_time_of(self.source, self.fields)


def _event_alert(event: Mapping[str, Any], plan: CallPlan) -> Alert | None:
    rule = plan.rule
    if not isinstance(event.get("_id"), str) or not isinstance(event.get("_index"), str):
        raise AlertBuildError("Error building alert from source document.")
    alert_id = event_alert_id(event["_index"], event["_id"], plan.context.space_id, rule.uuid,
                              event.get("_version", MISSING))
    hit = _Hit(event, plan.context.merge_strategy, plan.namespaces)
    overrides = _overrides(hit.source, plan) if plan.overrides else None
    reason = build_reason(overrides.name if overrides else rule.name,
                          overrides.severity if overrides else plan.severity, hit.source, hit.fields)
    ancestors, depth = hit.ancestry()
    fields = plan.fields(original_time=hit.original_time(), ancestors=ancestors, depth=depth, reason=reason,
                         uuid=alert_id, url=plan.url_of(alert_id) if plan.url else UNSET, overrides=overrides,
                         own=True)
    event_part = hit.event_part()
    if _descends_from_rule(ancestors, rule.uuid):
        return None
    return Alert(alert_id, _document(plan, event_part, fields),
                 removed_fields=hit.removed_fields(rule.rule_id, alert_id))


def _overrides(source: Mapping[str, Any], plan: CallPlan) -> Overrides:
    params = plan.params
    return Overrides(
        name=rule_name_override(source, plan.rule.name, params.get("rule_name_override")),
        severity=severity_override(source, params["severity"], params.get("severity_mapping") or []),
        risk_score=risk_score_override(source, params["risk_score"], params.get("risk_score_mapping") or []),
    )


def _document(plan: CallPlan, *parts: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the persistence wrapper writes it: its fields first, then the alert's own over them."""
    document = plan.head.copy()
    for part in parts:
        document.update(part)
    return document


@dataclass
class BlockDraft:
    """A building block before its id is known."""

    document: dict[str, Any]
    outer_in_event: frozenset[str]
    varying: dict[str, Any]
    notes: SourceNotes | None  # what `alert_source_copy` saw of the event (None: not plain JSON)
    hit: _Hit
    event_keys: list[str] | None  # the event's keys in the document (before 9.4 only: see `block_view`)


def _sequence_alerts(sequence: Mapping[str, Any], plan: CallPlan) -> list[Alert]:
    rule = plan.rule
    events = sequence.get("events") or []
    if plan.format.missing_events_excluded:  # 9.2 on; before, a missing event is a building block with no event
        events = [e for e in events if e.get("missing") is not True]
    if not events or any(_descends_from_rule(build_ancestors(e), rule.uuid) for e in events if _maybe_alert(e)):
        return []
    if any(not isinstance(e.get("_id"), str) or not isinstance(e.get("_index"), str) for e in events):
        return []  # Kibana logs the failure at debug level and skips the sequence
    drafts, ids, blocks = sequence_blocks(events, plan)
    keywise = not plan.format.notation_intersection
    if keywise and len(blocks) > 1:
        # Kibana before 9.4: key by key, on the blocks as JavaScript holds them (the reference implementation)
        common: dict[str, Any] | None = keywise_array_intersection(
            [block_view(d.document, d.event_keys or (), plan.alert_order) for d in drafts])
        shares = False  # every container in it is its own
    else:
        common, shares = sequence_common(blocks, plan)
    # `buildAncestors` of each block (an alert of this rule: its own ancestors, then itself as a signal)
    shell_ancestors = []
    for block, block_id in zip(blocks, ids, strict=True):
        shell_ancestors.extend(block.varying[ANCESTORS])
        shell_ancestors.append({"id": block_id, "type": "signal", "index": "", "depth": block.varying[DEPTH],
                                "rule": rule.uuid})
    shell_id = shell_alert_id(shell_ancestors, rule.uuid)
    shell_fields = plan.fields(
        original_time=plan.shell_original_time, ancestors=[fresh_copy(a) for a in shell_ancestors],
        depth=max(block.varying[DEPTH] for block in blocks) + 1,  # `child_depth`: the blocks' depths are numbers
        reason=build_reason(rule.name, plan.severity, _defined(common)), uuid=shell_id,
        url=plan.url_of(shell_id) if plan.url else UNSET, own=True,
    )
    alerts = [Alert(shell_id, _shell_document(plan, common, shares, shell_fields), group_id=shell_id)]
    for index, (block, block_id, draft) in enumerate(zip(blocks, ids, drafts, strict=True)):
        document = plan.make_own(_document(plan, block.document))
        document["kibana.alert.building_block_type"] = "default"
        document["kibana.alert.group.id"] = shell_id
        document["kibana.alert.group.index"] = index
        if plan.url:
            document[URL] = plan.url_of(block_id)
        alerts.append(Alert(block_id, document, building_block=True, group_id=shell_id, group_index=index,
                            removed_fields=draft.hit.removed_fields(rule.rule_id, block_id)))
    return alerts


def sequence_blocks(events: Sequence[Mapping[str, Any]], plan: CallPlan) -> tuple[list[BlockDraft], list[str], list[Block]]:
    """The building blocks of a sequence's events: their drafts (ids set), their ids, and each described for the
    intersection (`intersection_fast.describe_block`)."""
    drafts = [block_draft(e, plan) for e in events]
    ids = building_block_ids([d.document[ANCESTORS] for d in drafts], plan.rule.uuid)
    keywise = not plan.format.notation_intersection
    blocks: list[Block] = []
    for draft, block_id in zip(drafts, ids, strict=True):
        draft.document[UUID] = draft.varying[UUID] = block_id
        # (before 9.4 no fast path reads the notes: see `_sequence_alerts`)
        blocks.append(describe_block(draft.document, None if keywise else draft.notes, draft.outer_in_event,
                                     draft.varying))
    return drafts, ids, blocks


def block_draft(event: Mapping[str, Any], plan: CallPlan) -> BlockDraft:
    """Kibana `transformHitToAlert` for a building block (no overrides), under a stand-in id."""
    notes = SourceNotes()
    hit = _Hit(event, plan.context.merge_strategy, plan.namespaces, notes)
    ancestors, depth = hit.ancestry()
    fields = plan.fields(original_time=hit.original_time(), ancestors=ancestors, depth=depth,
                         reason=build_reason(plan.rule.name, plan.severity, hit.source, hit.fields),
                         uuid=BLOCK_PLACEHOLDER, url=plan.block_url)
    document = hit.event_part()
    event_keys = None if plan.format.notation_intersection else list(document)
    outer_in_event = frozenset(key for key in OUTER_FIELDS if key in document)
    # lodash `merge`: an undefined alert field leaves the event's value alone (undefined ones are not in `fields`)
    document.update(fields)
    varying = {key: fields[key] for key in BLOCK_VARYING if key in fields}
    return BlockDraft(document, outer_in_event, varying, notes if hit.plain else None, hit, event_keys)


def _shell_document(plan: CallPlan, common: dict[str, Any] | None, shares: bool,
                    fields: dict[str, Any]) -> dict[str, Any]:
    """JavaScript `{...common, ...fields}` (an undefined field also hides the common value), as written. `common` may
    hold `UNDEFINED` values (the key-by-key intersection), which keep their key's place and are then left out."""
    document = plan.head.copy()
    if common:
        # what the shell keeps of an intersection that may hold the blocks' (or the rule's) objects is copied
        # (a key the shell sets keeps its place, not its value)
        document.update({key: value if key in fields else fresh_copy(value) for key, value in common.items()}
                        if shares else common)
    for key in plan.unset_keys:
        document.pop(key, None)
    document.update(fields)
    document["kibana.alert.group.id"] = fields[UUID]
    if common and not plan.format.notation_intersection:
        for key in [key for key, value in document.items() if value is UNDEFINED]:
            del document[key]
    return document


def _defined(common: dict[str, Any] | None) -> dict[str, Any] | None:
    """The common fields without the `UNDEFINED` the key-by-key intersection keeps in place."""
    if common is None or not any(value is UNDEFINED for value in common.values()):
        return common
    return {key: value for key, value in common.items() if value is not UNDEFINED}


def _maybe_alert_source(source: Mapping[str, Any]) -> bool:
    """Whether a `_source` may be an alert's, or carry ancestors: else `build_ancestors` gives the event alone."""
    return (source.get("kibana.alert.uuid") is not None or source.get("signal") is not None
            or "kibana.alert.ancestors" in source or "kibana" in source)


def _maybe_alert(hit: Mapping[str, Any]) -> bool:
    source = hit.get("_source")
    return isinstance(source, dict) and _maybe_alert_source(source)


def _descends_from_rule(ancestors: Sequence[Mapping[str, Any]], rule_uuid: str) -> bool:
    return any(ancestor.get("rule") == rule_uuid for ancestor in ancestors)


__all__ = ["NEITHER_EVENTS_NOR_SEQUENCES", "Alert", "AlertBuildError", "BlockDraft", "block_draft", "build_alerts", "sequence_blocks"]
