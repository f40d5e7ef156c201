"""The detection-rules TOML format as pydantic models: `[metadata]`, `[rule]` and `[transform]`.

Every key detection-rules defines is modelled and kept; unknown keys are rejected, as detection-rules' own schema does,
so that a misspelt `intervl` is an error rather than a silently ignored setting. Defaults are Kibana's (the TOML schema
has none): `interval` 5m, `from` now-6m, `to` now, `max_signals` 100, enabled. Type-specific sections of the rule types
we do not run (threshold, new_terms, threat_match, machine_learning) are kept as read, loosely typed.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from runner.catalog.timing import DateMath, TimingError, empty_window, parse_duration

RuleType = Literal["eql", "query", "saved_query", "esql", "threshold", "new_terms", "threat_match", "machine_learning"]
Severity = Literal["low", "medium", "high", "critical"]

DEFAULT_INTERVAL = "5m"
DEFAULT_FROM = "now-6m"
DEFAULT_TO = "now"
DEFAULT_MAX_SIGNALS = 100
# Kibana's `securitySolution:defaultIndex`, used when a rule names no index (`DEFAULT_INDEX_PATTERN`).
DEFAULT_INDEX = (
    "apm-*-transaction*", "auditbeat-*", "endgame-*", "filebeat-*", "logs-*", "packetbeat-*", "traces-apm*",
    "winlogbeat-*", "-*elastic-cloud-logs-*",
)
# Rule saved-object ids are Kibana-generated; without one configured we derive a stable uuid from the rule_id so that
# alert ids (which hash it) are the same on every machine and every restart.
RULE_UUID_NAMESPACE = uuid.UUID("6f1d9d43-2c1b-5a55-9b36-4b9b8c1c2f6e")

# the query language of each type when the file names none (Kibana's defaults), and the languages it takes
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "eql": ("eql",),
    "esql": ("esql",),
    "query": ("kuery", "lucene"),
    "saved_query": ("kuery", "lucene"),
    "threshold": ("kuery", "lucene"),
    "new_terms": ("kuery", "lucene"),
    "threat_match": ("kuery", "lucene"),
}
_NOT_PARAMETERS = {"name", "tags", "enabled", "interval", "actions", "throttle", "revision"}
_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    """Sub-objects Kibana passes through unchanged (filters, mappings): every key is kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Metadata(_Strict):
    creation_date: str
    updated_date: str
    maturity: Literal["development", "experimental", "beta", "production", "deprecated"] | None = None
    integration: str | list[str] | None = None
    deprecation_date: str | None = None
    deprecated_reason: str | None = None
    min_stack_version: str | None = None
    min_stack_comments: str | None = None
    bypass_bbr_timing: bool | None = None
    promotion: bool | None = None
    query_schema_validation: bool | None = None
    comments: str | None = None
    os_type_list: list[Literal["windows", "linux", "macos"]] | None = None
    related_endpoint_rules: list[str] | None = None
    extended: dict[str, Any] | None = None

    @field_validator("creation_date", "updated_date", "deprecation_date")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None and not _DATE.match(value):
            raise ValueError(f'expected a date as "YYYY/MM/DD", got "{value}"')
        return value


class ThreatEntry(_Strict):
    id: str
    name: str
    reference: str


class Technique(ThreatEntry):
    subtechnique: list[ThreatEntry] = Field(default_factory=list)


class Threat(_Strict):
    framework: str
    tactic: ThreatEntry
    technique: list[Technique] = Field(default_factory=list)


class SuppressionDuration(_Strict):
    value: int = Field(ge=1)
    unit: Literal["s", "m", "h"]


class AlertSuppression(_Strict):
    group_by: list[str] = Field(default_factory=list, max_length=3)
    duration: SuppressionDuration | None = None
    missing_fields_strategy: Literal["suppress", "doNotSuppress"] = "suppress"


class ExceptionList(_Strict):
    id: str
    list_id: str
    namespace_type: Literal["agnostic", "single"]
    type: Literal["detection", "endpoint", "rule_default", "endpoint_trusted_apps", "endpoint_events",
                  "endpoint_host_isolation_exceptions", "endpoint_blocklists"]


class InvestigationFields(_Strict):
    field_names: list[str]


class RequiredField(_Strict):
    name: str
    type: str
    ecs: bool | None = None


class RelatedIntegration(_Strict):
    package: str
    version: str
    integration: str | None = None


class RiskScoreMapping(_Strict):
    field: str
    operator: Literal["equals"] | None = None
    value: str | None = None
    risk_score: int | None = Field(default=None, ge=0, le=100)


class SeverityMapping(_Strict):
    field: str
    operator: Literal["equals"] | None = None
    value: str | None = None
    severity: Severity | None = None


class RuleParams(_Strict):
    """`[rule]`: the parameters Kibana stores for the rule (snake_case, as `kibana.alert.rule.parameters` has them)."""

    # common, required
    name: str = Field(min_length=1)
    author: list[str]
    description: str
    rule_id: str = Field(min_length=1)  # a UUID by convention; two corpus rules carry 33 hex digits, as Kibana allows
    risk_score: int = Field(ge=0, le=100)
    severity: Severity
    type: RuleType
    license: str | None = None
    # scheduling (Kibana's defaults)
    from_: str = Field(default=DEFAULT_FROM, alias="from")
    to: str = DEFAULT_TO
    interval: str = DEFAULT_INTERVAL
    max_signals: int = Field(default=DEFAULT_MAX_SIGNALS, ge=1)
    enabled: bool = True
    # the query and where it runs
    language: Literal["eql", "esql", "kuery", "lucene"] | None = None
    query: str | None = None
    index: list[str] | None = None
    data_view_id: str | None = None
    filters: list[_Open] = Field(default_factory=list)
    timestamp_override: str | None = None
    timestamp_override_fallback_disabled: bool = False
    timestamp_field: str | None = None
    tiebreaker_field: str | None = None
    event_category_override: str | None = None
    exceptions_list: list[ExceptionList] = Field(default_factory=list)
    alert_suppression: AlertSuppression | None = None
    # description of the alerts
    building_block_type: Literal["default"] | None = None
    false_positives: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    threat: list[Threat] = Field(default_factory=list)
    threat_mappings: list[_Open] | None = None
    note: str = ""
    setup: str = ""
    investigation_fields: InvestigationFields | None = None
    required_fields: list[RequiredField] = Field(default_factory=list)
    related_integrations: list[RelatedIntegration] = Field(default_factory=list)
    risk_score_mapping: list[RiskScoreMapping] = Field(default_factory=list)
    severity_mapping: list[SeverityMapping] = Field(default_factory=list)
    rule_name_override: str | None = None
    timeline_id: str | None = None
    timeline_title: str | None = None
    version: int = Field(default=1, ge=1)
    revision: int = Field(default=0, ge=0)
    actions: list[_Open] = Field(default_factory=list)
    response_actions: list[_Open] | None = None
    throttle: str | None = None
    meta: dict[str, Any] | None = None
    # rule types we load but do not run
    threshold: _Open | None = None
    new_terms: _Open | None = None
    threat_index: list[str] | None = None
    threat_query: str | None = None
    threat_language: str | None = None
    threat_filters: list[_Open] | None = None
    threat_mapping: list[_Open] | None = None
    threat_indicator_path: str | None = None
    concurrent_searches: int | None = None
    items_per_search: int | None = None
    anomaly_threshold: int | None = None
    machine_learning_job_id: str | list[str] | None = None

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        try:
            parse_duration(value)
        except TimingError as err:
            raise ValueError(str(err)) from None
        return value

    @field_validator("from_", "to")
    @classmethod
    def _date_math(cls, value: str) -> str:
        try:
            DateMath.parse(value)
        except TimingError as err:
            raise ValueError(str(err)) from None
        return value

    @field_validator("to")
    @classmethod
    def _after_from(cls, value: str, info: ValidationInfo) -> str:
        from_ = info.data.get("from_")
        if isinstance(from_, str):
            problem = empty_window(from_, value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _per_type(self) -> RuleParams:
        languages = _LANGUAGES.get(self.type, ())
        if self.language is not None and self.language not in languages:
            expected = " or ".join(f'"{language}"' for language in languages) or "none"
            raise ValueError(f'a {self.type} rule has language {expected}, not "{self.language}"')
        if self.type in ("eql", "esql") and not (self.query or "").strip():
            raise ValueError(f"an {self.type} rule needs a query")
        if self.index is not None and self.data_view_id is not None:
            raise ValueError("index and data_view_id are exclusive")
        return self

    # -- derived values ------------------------------------------------------------------------------------------------

    @property
    def interval_delta(self) -> timedelta:
        return parse_duration(self.interval)

    @property
    def query_language(self) -> str | None:
        """The language of `query`: the file's, or Kibana's default for the type (None for machine_learning)."""
        languages = _LANGUAGES.get(self.type, ())
        return self.language or (languages[0] if languages else None)

    @property
    def index_patterns(self) -> list[str]:
        return list(self.index) if self.index else list(DEFAULT_INDEX)

    def parameters(self) -> dict[str, Any]:
        """The rule's parameters as Kibana stores them in `kibana.alert.rule.parameters` (unset ones absent)."""
        # name, tags, enabled, interval, actions, throttle and revision are attributes of Kibana's rule saved object,
        # not of its parameters
        params = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=_NOT_PARAMETERS)
        if self.query_language is not None:
            params.setdefault("language", self.query_language)
        for key in ("note", "setup"):
            if not params.get(key):
                params.pop(key, None)
        return params


class Transform(_Strict):
    investigate: list[_Open] | None = None
    osquery: list[_Open] | None = None


class RuleDocument(_Strict):
    """One TOML file."""

    metadata: Metadata
    rule: RuleParams
    transform: Transform | None = None


def default_rule_uuid(rule_id: str) -> str:
    """The stand-in for Kibana's rule saved-object id when none is configured."""
    return str(uuid.uuid5(RULE_UUID_NAMESPACE, rule_id))


__all__ = [
    "DEFAULT_FROM",
    "DEFAULT_INDEX",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_SIGNALS",
    "DEFAULT_TO",
    "Metadata",
    "RuleDocument",
    "RuleParams",
    "RuleType",
    "Severity",
    "Threat",
    "default_rule_uuid",
]
