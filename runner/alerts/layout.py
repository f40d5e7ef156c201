"""What the alerts of one `build_alerts` call share, worked out once per call, or once per rule where it can be.

Kibana's `buildAlertFields` gives every alert some 70 fields, and most are the same for every alert of a call: the
rule's name, parameters, threat, dates, the execution's timestamps. Rather than building (and deep-copying) them per
alert:

- `RulePlan`, cached per `Rule` object: the rule's parameters (`Rule.parameters()`, a pydantic dump), the
  variant with `severity_mapping` sorted (event rules), and compiled copiers for them;
- `CallPlan`, per call: the persistence wrapper's fields, and the alert fields laid out once, in Kibana's key order,
  with slots for what each alert sets itself (original time, ancestors, depth, reason, id, URL, overrides).

An alert's fields are then one `dict.copy()` of the layout with its own values put in the slots; containers shared by
the layout are replaced by fresh copies before an alert leaves the package, so that alerts still share no objects.
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass, field
from typing import Any

from runner.alerts.context import AlertContext
from runner.alerts.copying import Copier, compile_copier
from runner.alerts.overrides import sorted_severity_mapping
from runner.alerts.paths import is_index
from runner.alerts.rule_fields import UNSET, Overrides, alert_fields, alert_url, framework_fields
from runner.alerts.source import copied_namespaces
from runner.alerts.times import iso, original_time
from runner.alerts.versions import AlertFormat
from runner.catalog import Rule

ORIGINAL_TIME = "kibana.alert.original_time"
ANCESTORS = "kibana.alert.ancestors"
DEPTH = "kibana.alert.depth"
REASON = "kibana.alert.reason"
UUID = "kibana.alert.uuid"
URL = "kibana.alert.url"
SEVERITY = "kibana.alert.severity"
RISK_SCORE = "kibana.alert.risk_score"
RULE_NAME = "kibana.alert.rule.name"
# the fields each alert sets itself; every other alert field is the same for all alerts of a call
PER_ALERT = frozenset({ORIGINAL_TIME, ANCESTORS, DEPTH, REASON, UUID, URL, SEVERITY, RISK_SCORE, RULE_NAME})
# of those, the ones that differ between the building blocks of a call (they get no overrides)
BLOCK_VARYING = (ORIGINAL_TIME, ANCESTORS, DEPTH, REASON, UUID, URL)
_PARAMETERS = "kibana.alert.rule.parameters"
# Kibana builds sequence blocks and shells under these stand-in ids, and replaces them once the ids are known
BLOCK_PLACEHOLDER = "placeholder-alert-uuid"
SHELL_PLACEHOLDER = "placeholder-uuid"

_MAX_RULE_PLANS = 4096


@dataclass(eq=False)
class RulePlan:
    """What depends on the rule only. Never changed once built: alerts get copies."""

    rule: Rule
    params: dict[str, Any]
    # event rules show `severity_mapping` sorted: Kibana sorts the rule's own array when it applies it
    sorted_params: dict[str, Any]
    # whether one parameters object may serve several calls of a sequence rule: Kibana's intersection of the
    # building blocks writes into arrays met on an index-like path (`meta: {"0": ...}`), which would change it
    shareable: bool
    fingerprint: bytes  # equal for equal parameters: what cached intersection plans are keyed on
    _copiers: dict[int, Copier] = field(default_factory=dict)
    # by (sorted parameters, public URL, alert format)
    layouts: dict[tuple[bool, bool, AlertFormat], Layout] = field(default_factory=dict)

    @classmethod
    def build(cls, rule: Rule) -> RulePlan:
        params = rule.parameters()
        mapping = params.get("severity_mapping")
        sorted_params = {**params, "severity_mapping": sorted_severity_mapping(mapping)} if mapping else params
        try:
            fingerprint = marshal.dumps(params)
        except ValueError:  # not plain JSON: never shared between calls
            fingerprint = b""
        plan = cls(rule, params, sorted_params, bool(fingerprint) and not _has_index_key(params), fingerprint)
        for value in (params, sorted_params):
            plan._copiers.setdefault(id(value), compile_copier(value))
        return plan

    def copier(self, value: Any) -> Copier:
        """A copier for `value`: compiled once for the parameters (the costly one), else now."""
        return self._copiers.get(id(value)) or compile_copier(value)


def _has_index_key(value: Any) -> bool:
    """Whether an object key at any depth (not inside arrays) has a segment that lodash reads as an array index."""
    if not isinstance(value, dict):
        return False
    return any(any(is_index(part) for part in key.split(".")) or _has_index_key(child) for key, child in value.items())


_RULE_PLANS: dict[int, RulePlan] = {}


def rule_plan(rule: Rule) -> RulePlan:
    """The cached plan of this `Rule` object (rules are immutable; the cache holds the rule, so ids stay unique)."""
    plan = _RULE_PLANS.get(id(rule))
    if plan is None or plan.rule is not rule:
        if len(_RULE_PLANS) >= _MAX_RULE_PLANS:
            _RULE_PLANS.clear()
        plan = RulePlan.build(rule)
        _RULE_PLANS[id(rule)] = plan
    return plan


@dataclass(eq=False)
class Layout:
    """Which alert fields a rule's alerts have under a kind of context, and which are containers: the same for every
    call with the same parameters object and with or without a public URL, so worked out once for those."""

    unset_keys: tuple[str, ...]  # undefined for every alert (a shell's spread removes them)
    own_containers: tuple[str, ...]  # containers `buildAlertFields` makes anew for each alert
    aliases: tuple[tuple[str, str], ...]  # rule fields that are values of the parameters: (field, parameter)
    copied: tuple[str, ...]  # the other containers, copied for each alert that leaves the package
    facts: dict[str, Any] = field(default_factory=dict)  # what other modules derive from the layout, cached here

    @classmethod
    def of(cls, fields: dict[str, Any], again: dict[str, Any], params: dict[str, Any]) -> Layout:
        """From two `buildAlertFields` results of the same call (to tell fresh containers from shared ones)."""
        unset = tuple(k for k, v in fields.items() if v is UNSET and k != ORIGINAL_TIME)
        containers = [k for k, v in fields.items() if k not in PER_ALERT and isinstance(v, (dict, list))]
        own = tuple(k for k in containers if again[k] is not fields[k])
        # an alert gets one copy of the parameters; the rule fields that are parameters' values (threat, author...)
        # take theirs from it, as the original's deepcopy of the whole alert had them
        by_id = {id(value): name for name, value in params.items()} if _PARAMETERS in containers else {}
        aliases = tuple((k, by_id[id(fields[k])]) for k in containers
                        if k != _PARAMETERS and id(fields[k]) in by_id)
        aliased = {k for k, _ in aliases}
        return cls(unset, own, aliases, tuple(k for k in containers if k not in aliased))


class CallPlan:
    """The shared part of every alert of one call, and how to make an alert's fields from it."""

    def __init__(self, context: AlertContext, *, sequences: bool, sorted_mapping: bool = False) -> None:
        rule = context.rule
        plan = rule_plan(rule)
        self.context = context
        self.format = context.alert_format  # how the Kibana release of `context.kibana_version` writes alerts
        self.namespaces = copied_namespaces(self.format.original_data_stream)  # what events copy to original_*
        self.rule = rule
        self.rule_plan = plan
        if sorted_mapping:
            self.params = plan.sorted_params
        elif plan.shareable or not sequences:
            self.params = plan.params
        else:
            # as Kibana: the call's own parameters object, shared by its alerts (and changed by the intersection)
            self.params = rule.parameters()
        self.shared_params = self.params is plan.params
        self.indices = context.input_indices
        self.timestamp = iso(context.now)
        self.severity = self.params["severity"]
        self.risk_score = self.params["risk_score"]
        # the persistence wrapper's fields lead every document, in their order (the alert's own values win)
        self.head = framework_fields(context, self.params)

        fields = self._alert_fields()
        # every alert field, in `buildAlertFields` order, undefined ones included (what the key-by-key intersection of
        # releases before 9.4 sees of a building block: lodash `merge` gives it the undefined keys too)
        self.alert_order = tuple(fields)
        # what is undefined for every alert is left out; the original time is decided per alert
        self.template = {k: v for k, v in fields.items() if v is not UNSET or k == ORIGINAL_TIME}
        self.url = URL in self.template
        cached = self.params is plan.params or self.params is plan.sorted_params
        key = (self.params is plan.sorted_params, self.url, self.format)
        layout = plan.layouts.get(key) if cached else None
        if layout is None:
            layout = Layout.of(fields, self._alert_fields(), self.params)
            if cached:
                plan.layouts[key] = layout
        self.layout = layout
        self.unset_keys = layout.unset_keys
        self.own_containers = layout.own_containers
        self.aliases = layout.aliases
        self.copiers = [(k, plan.copier(self.template[k])) for k in layout.copied]
        self.block_url = alert_url(context, BLOCK_PLACEHOLDER, self.timestamp) if self.url else UNSET
        # a shell's first document is its first block, whose @timestamp is the alert's
        self.shell_original_time = original_time({"_source": {"@timestamp": self.timestamp}})

        mappings = self.params.get("severity_mapping") or self.params.get("risk_score_mapping")
        self.overrides = bool(mappings or self.params.get("rule_name_override") is not None)
        self.facts: dict[str, Any] = {}  # what other modules derive from the call's plan, cached here

    def _alert_fields(self) -> dict[str, Any]:
        return alert_fields(docs=[], context=self.context, params=self.params, indices=self.indices, reason="",
                            alert_uuid=SHELL_PLACEHOLDER)

    def fields(
        self,
        *,
        original_time: str | None,
        ancestors: list[dict[str, Any]],
        depth: Any,
        reason: str,
        uuid: str,
        url: Any = UNSET,
        overrides: Overrides | None = None,
        own: bool = False,
    ) -> dict[str, Any]:
        """`buildAlertFields` of one alert, undefined fields left out.

        With `own`, every container is the alert's own (to write). Without, the containers are shared as Kibana
        shares them between the alerts of a call (the parameters, the indices...), which the intersection of a
        sequence's blocks depends on: `make_own` before such fields leave the package.
        """
        fields = self.template.copy()
        if original_time is None:
            del fields[ORIGINAL_TIME]
        else:
            fields[ORIGINAL_TIME] = original_time
        fields[ANCESTORS] = ancestors
        fields[DEPTH] = depth
        fields[REASON] = reason
        fields[UUID] = uuid
        if self.url:
            fields[URL] = url
        if overrides is not None:
            fields[SEVERITY] = overrides.severity
            fields[RISK_SCORE] = overrides.risk_score
            fields[RULE_NAME] = overrides.name
        if own:
            self.make_own(fields)
        else:
            # the containers Kibana makes anew for each alert (`[space]`, `[]`, the tags): new here too
            for key in self.own_containers:
                fields[key] = fields[key].copy()
        return fields

    def make_own(self, document: dict[str, Any]) -> dict[str, Any]:
        """Replaces, in place, the call's shared containers in `document` (which has every alert field) by fresh
        copies; returns `document`."""
        for key, copier in self.copiers:
            document[key] = copier()
        if self.aliases:
            params = document[_PARAMETERS]
            for key, name in self.aliases:
                document[key] = params[name]
        return document

    def url_of(self, alert_id: str) -> Any:
        return alert_url(self.context, alert_id, self.timestamp)


__all__ = ["ANCESTORS", "BLOCK_PLACEHOLDER", "BLOCK_VARYING", "DEPTH", "ORIGINAL_TIME", "PER_ALERT", "REASON",
           "SHELL_PLACEHOLDER", "URL", "UUID", "CallPlan", "Layout", "RulePlan", "rule_plan"]
