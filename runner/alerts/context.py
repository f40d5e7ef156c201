"""What an execution tells alert building besides the search response: rule, space, clock, run kind, Kibana settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from runner.alerts.merge import MERGE_STRATEGIES, MergeStrategy
from runner.alerts.versions import KIBANA_VERSION, AlertFormat, format_for
from runner.catalog import Rule

# Kibana's DEFAULT_ALERTS_INDEX; the space's alias is `<this>-<space id>`
DEFAULT_ALERTS_INDEX = ".alerts-security.alerts"

ExecutionType = Literal["scheduled", "manual"]


@dataclass(frozen=True, kw_only=True)
class AlertContext:
    """One execution (or one search window of it) as the alerts it produces record it."""

    rule: Rule
    execution_uuid: str
    now: datetime  # aware; the alerts' @timestamp, kibana.alert.start/last_detected, rule.execution.timestamp
    space_id: str = "default"
    # Kibana mode: the cluster's Kibana's (`versions.kibana_version_for`); the documents follow its format
    kibana_version: str = KIBANA_VERSION
    public_base_url: str | None = None  # Kibana's server.publicBaseUrl: kibana.alert.url is written only when set
    execution_type: ExecutionType = "scheduled"
    intended_timestamp: datetime | None = None  # a manual run's start: required for, and only for, manual runs
    indices: list[str] | None = None  # the resolved input index; default the rule's index patterns
    alerts_index: str | None = None  # the index named in kibana.alert.url; default the space's alerts alias
    merge_strategy: MergeStrategy = "missingFields"
    # the rule type as Kibana's alerting framework names it (`kibana.alert.rule.rule_type_id`, `.category`): set by
    # the rule's type (`runner.ruletypes`), EQL's by default
    rule_type_id: str = "siem.eqlRule"
    rule_category: str = "Event Correlation Rule"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("AlertContext.now must be timezone-aware")
        object.__setattr__(self, "now", self.now.astimezone(UTC))
        if self.execution_type not in ("scheduled", "manual"):
            raise ValueError(f"execution_type must be 'scheduled' or 'manual', not {self.execution_type!r}")
        # Kibana derives the type from the intended timestamp (a manual run has one, a scheduled run none): a
        # mismatch would describe a run Kibana cannot make
        if (self.execution_type == "manual") != (self.intended_timestamp is not None):
            raise ValueError("intended_timestamp is required for a manual execution and not allowed otherwise")
        if self.intended_timestamp is not None:
            if self.intended_timestamp.tzinfo is None or self.intended_timestamp.utcoffset() is None:
                raise ValueError("AlertContext.intended_timestamp must be timezone-aware")
            object.__setattr__(self, "intended_timestamp", self.intended_timestamp.astimezone(UTC))
        format_for(self.kibana_version)  # a release whose format is not written: refused here, not half-built later
        if self.merge_strategy not in MERGE_STRATEGIES:
            expected = ", ".join(MERGE_STRATEGIES)
            raise ValueError(f"merge_strategy must be one of {expected}, not {self.merge_strategy!r}")

    @property
    def alert_format(self) -> AlertFormat:
        """How the Kibana release `kibana_version` writes alerts (`versions.format_for`)."""
        return format_for(self.kibana_version)

    @property
    def input_indices(self) -> list[str]:
        return list(self.indices) if self.indices is not None else self.rule.params.index_patterns

    @property
    def alerts_index_name(self) -> str:
        return self.alerts_index or f"{DEFAULT_ALERTS_INDEX}-{self.space_id}"


__all__ = ["DEFAULT_ALERTS_INDEX", "KIBANA_VERSION", "AlertContext", "ExecutionType"]
