"""Which loaded rules the service runs, with the settings' per-rule overrides applied."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from runner.catalog import Catalog, Rule


class Override(Protocol):
    index: Sequence[str] | None
    interval: str | None
    from_: str | None
    enabled: bool | None
    uuid: str | None
    max_signals: int | None


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
        elif not rule.runnable:
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


__all__ = ["Override", "Selection", "select_rules"]
