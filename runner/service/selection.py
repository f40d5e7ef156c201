"""Which loaded rules the service runs, with the settings' per-rule overrides applied, and their Kibana rule ids.

A rule's uuid (Kibana's rule saved-object id: alert ids hash it, and the Security app links an alert to its rule by
it) comes, first that applies, from `rules.overrides.<rule_id>.uuid`, from the rule installed in Kibana with the same
`rule_id` (when `kibana.url` is set: `link_kibana_rules`, once at start-up), else from the uuid5 default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from runner.catalog import Catalog, Rule, UuidSource
from runner.ruletypes import runnable


class Override(Protocol):
    """A rule's overrides (`settings.RuleOverride`, a frozen model): read-only, hence properties."""

    @property
    def index(self) -> Sequence[str] | None: ...
    @property
    def interval(self) -> str | None: ...
    @property
    def from_(self) -> str | None: ...
    @property
    def enabled(self) -> bool | None: ...
    @property
    def uuid(self) -> str | None: ...
    @property
    def max_signals(self) -> int | None: ...


@dataclass(frozen=True)
class Selection:
    """Runnable rules (enabled or not, overrides applied), and the rest by reason."""

    rules: tuple[Rule, ...]
    excluded: tuple[Rule, ...]  # by the include/exclude settings
    unsupported: tuple[Rule, ...]  # a type we do not run yet
    unknown_overrides: tuple[str, ...]  # override keys that name no loaded rule

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)


def select_rules(
    catalog: Catalog,
    *,
    selects: Callable[[str, list[str]], bool] | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> Selection:
    """The rules `selects(rule_id, tags)` keeps (all without it), runnable ones with their overrides applied."""
    overrides = overrides or {}
    rules: list[Rule] = []
    excluded: list[Rule] = []
    unsupported: list[Rule] = []
    for rule in catalog.rules:
        if selects is not None and not selects(rule.rule_id, list(rule.params.tags)):
            excluded.append(rule)
        elif not runnable(rule):
            unsupported.append(rule)
        else:
            override = overrides.get(rule.rule_id)
            if override is not None:
                rule = rule.with_overrides(index=override.index, interval=override.interval, from_=override.from_,
                                           enabled=override.enabled, uuid=override.uuid,
                                           max_signals=override.max_signals)
            rules.append(rule)
    known = {rule.rule_id for rule in catalog.rules}
    unknown = tuple(sorted(rule_id for rule_id in overrides if rule_id not in known))
    return Selection(tuple(rules), tuple(excluded), tuple(unsupported), unknown)


@dataclass(frozen=True)
class KibanaLink:
    """The rules with the uuid of their rule in Kibana where it has one; `not_installed`: the rule ids looked up and
    not found, whose uuid stays the default (their alerts link to no Kibana rule)."""

    rules: tuple[Rule, ...]
    not_installed: tuple[str, ...]


def link_kibana_rules(rules: Sequence[Rule], installed: Callable[[Sequence[str]], Mapping[str, str]]) -> KibanaLink:
    """`rules` with the uuids `installed(rule_ids)` (rule_id → Kibana's id) returns, asked once for every rule whose
    uuid is not set in the overrides (an explicit uuid wins); its errors propagate."""
    wanted = [rule.rule_id for rule in rules if rule.uuid_source is not UuidSource.OVERRIDE]
    found = installed(wanted) if wanted else {}
    linked = tuple(
        replace(rule, uuid=found[rule.rule_id], uuid_source=UuidSource.KIBANA)
        if rule.uuid_source is not UuidSource.OVERRIDE and rule.rule_id in found else rule
        for rule in rules
    )
    return KibanaLink(linked, tuple(rule_id for rule_id in wanted if rule_id not in found))


__all__ = ["KibanaLink", "Override", "Selection", "link_kibana_rules", "select_rules"]
