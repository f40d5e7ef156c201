"""The configuration's model: one pydantic model per section, each a frozen value checked as a whole.

Decisions worth knowing:

- Unknown keys are errors (a misspelt key would otherwise be a silently ignored setting), values are immutable, and
  defaults pass the same validators as given values.
- Relative paths (`embedded.path`, `rules.paths`, `ca_certs`, `*_file`) are resolved against the directory of the
  config file, not the working directory, so the same file works whether the runner is started from the repository,
  from a service manager or from a container; that includes paths coming from `${VAR}`. Without a file, the built-in
  defaults resolve against the working directory. `~` is expanded. An absent section is validated as `{}` so that
  its paths resolve the same way.
- An empty value (nothing after the colon, `null`, or an empty string such as `${VAR:-}`) means the default, so a
  section whose keys are all commented out is valid, and `api_key: ${ES_API_KEY:-}` means "no API key".
- Secrets are `SecretStr` and checked, read and masked by `runner.settings.credentials`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from runner.problems import KeyProblems
from runner.settings.credentials import REDACTED, credential_problems, secret_keys
from runner.settings.values import (
    BaseUrl,
    DateMathText,
    Duration,
    Hosts,
    IndexName,
    Interval,
    NonEmptyStr,
    OptionalDuration,
    PathList,
    ResolvedPath,
    SpaceId,
    StrList,
    at_most,
    choice,
    integer,
)


class _Section(BaseModel):
    """Common behaviour: unknown keys are errors, values are immutable, defaults go through the validators too."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = {(field.alias or name): field for name, field in cls.model_fields.items()}
        fields.update(cls.model_fields)
        result: dict[str, Any] = {}
        for key, value in data.items():
            field = fields.get(key) if isinstance(key, str) else None
            empty = value is None or (isinstance(value, str) and not value.strip())
            if field is not None and empty and not field.is_required():
                continue
            result[key] = value
        # an absent section is validated as {} rather than taken from a default instance, so that its paths resolve
        # against this file's directory and its defaults pass the same validators
        for name, field in cls.model_fields.items():
            key = field.alias or name
            section = isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
            if section and key not in result and name not in result:
                result[key] = {}
        return result


class EmbeddedSettings(_Section):
    """`embedded:` the in-process engine's SQLite store."""

    path: ResolvedPath = Path(".rule-runner") / "store.db"
    # a directory of the user's own index templates (*.json), applied with the shipped ones to the indices the
    # store creates and the files `hunt` and `query` read (runner.ecs.templates)
    templates: ResolvedPath | None = None


class _Connection(_Section):
    """What a section that connects somewhere shares: credentials (an API key, or a username and password, each from
    the value or a `*_file`), TLS and a request timeout; `credentials.credential_problems` checks them."""

    api_key: SecretStr | None = None
    api_key_file: ResolvedPath | None = None
    username: NonEmptyStr | None = None
    password: SecretStr | None = None
    password_file: ResolvedPath | None = None
    ca_certs: ResolvedPath | None = None
    verify_certs: bool = True
    request_timeout: Duration = timedelta(seconds=30)


class ElasticsearchSettings(_Connection):
    """`elasticsearch:` how to reach the cluster. Authenticate with an API key, or with a username and password."""

    hosts: Hosts
    max_retries: Annotated[int, BeforeValidator(integer(0))] = 3  # per search and per alert write, with backoff
    retry_backoff: OptionalDuration = timedelta(seconds=1)  # before the first retry; doubled for each next one
    # rule state and execution records: a runner needs no local disk
    state_index: IndexName = "rule-runner-state"
    executions_index: IndexName = "rule-runner-executions"

    @model_validator(mode="after")
    def _credentials(self) -> ElasticsearchSettings:
        problems = credential_problems(self)
        if problems:
            raise KeyProblems(problems)
        return self


class KibanaSettings(_Connection):
    """`kibana:` optional. `public_base_url` (Kibana's `server.publicBaseUrl`) makes alerts carry their link in
    Kibana (`kibana.alert.url`); `url`, Kibana's address for rule-runner, turns on the start-up lookup of the
    installed rules' ids (`kibana.alert.rule.uuid`) and is the links' base when `public_base_url` is not set."""

    url: BaseUrl | None = None
    public_base_url: BaseUrl | None = None

    @model_validator(mode="after")
    def _connection(self) -> KibanaSettings:
        problems = credential_problems(self)
        if self.url is None:
            given = [key for key in ("api_key", "api_key_file", "username", "password", "password_file", "ca_certs")
                     if getattr(self, key) is not None]
            problems.extend((key, "needs kibana.url, Kibana's address for its API") for key in given[:1])
        if problems:
            raise KeyProblems(problems)
        return self

    @property
    def links_base_url(self) -> str | None:
        """The base of `kibana.alert.url`: `public_base_url`, else `url`; None writes no link (as Kibana does
        without `server.publicBaseUrl`)."""
        return self.public_base_url or self.url


class RuleSelector(_Section):
    """`rules.include` / `rules.exclude`: rule ids and tags (tags compare case-insensitively)."""

    rule_ids: StrList = Field(default_factory=list)
    tags: StrList = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rule_ids and not self.tags

    def matches(self, rule_id: str, tags: Iterable[str]) -> bool:
        """Whether the rule is named by id or carries one of the tags."""
        wanted = {tag.casefold() for tag in self.tags}
        return rule_id in self.rule_ids or any(tag.casefold() in wanted for tag in tags)


class RuleOverride(_Section):
    """`rules.overrides.<rule_id>`: values replacing the rule file's; the names match `Rule.with_overrides()`."""

    model_config = ConfigDict(populate_by_name=True)

    index: Annotated[StrList, Field(min_length=1)] | None = None
    interval: Interval | None = None
    from_: DateMathText | None = Field(default=None, alias="from")
    enabled: bool | None = None
    uuid: NonEmptyStr | None = None  # the Kibana rule saved-object id that alert ids are derived from
    # Kibana's rule schema: an integer >= 1, no upper bound. Above Kibana's `xpack.alerting.rules.run.alerts.max`
    # (1000 by default) Kibana keeps the value, and its EQL executor still searches with size = max_signals and
    # writes every result; only the run's status gets a warning. rule-runner has no such framework limit.
    max_signals: Annotated[int, BeforeValidator(integer(1))] | None = None


class RulesSettings(_Section):
    """`rules:` where the rule files are, which of them run, and per-rule overrides."""

    paths: PathList = [Path("rules")]
    include: RuleSelector = Field(default_factory=RuleSelector)
    exclude: RuleSelector = Field(default_factory=RuleSelector)
    overrides: dict[NonEmptyStr, RuleOverride] = Field(default_factory=dict)

    @field_validator("overrides", mode="before")
    @classmethod
    def _empty_override(cls, value: Any) -> Any:
        # `<rule_id>:` with every line commented out is an override that changes nothing
        if isinstance(value, dict):
            return {key: ({} if item is None else item) for key, item in value.items()}
        return value

    def selects(self, rule_id: str, tags: Iterable[str]) -> bool:
        """Whether a rule runs: included (an empty include selects everything) and not excluded."""
        tags = list(tags)
        return (self.include.empty or self.include.matches(rule_id, tags)) and not self.exclude.matches(rule_id, tags)


class AlertsSettings(_Section):
    """`alerts:` where alerts are written."""

    index: IndexName | None = None
    space_id: SpaceId = "default"
    # Elasticsearch only. kibana: into the alias Kibana's Security app creates and reads; standalone: our own
    # index template and monthly indices, for a cluster without Kibana
    mode: Annotated[Literal["kibana", "standalone"], BeforeValidator(choice(("kibana", "standalone"), str.lower))] = (
        "kibana"
    )

    @property
    def index_name(self) -> str:
        """The configured index (or alias), else the default of the mode: Kibana's alerts alias of the space, or
        `rule-runner-alerts-<space>`."""
        if self.index:
            return self.index
        if self.mode == "standalone":
            return f"rule-runner-alerts-{self.space_id}"
        return f".alerts-security.alerts-{self.space_id}"


class SchedulerSettings(_Section):
    """`scheduler:` concurrency and timing of rule executions."""

    max_concurrent_executions: Annotated[int, BeforeValidator(integer(1))] = 4
    first_run_jitter: OptionalDuration = timedelta(seconds=10)  # spreads first runs so rules do not start together
    misfire_grace_time: Duration = timedelta(seconds=60)
    # an execution past this starts no more windows or retries; what is left stays pending for the next one
    execution_timeout: Duration = timedelta(minutes=5)
    # a search that returns `size` results may have been cut (EQL has no pagination): its window is split in
    # halves and searched again, up to this many times (2**n sub-windows at most); 0 disables
    max_window_splits: Annotated[int, BeforeValidator(integer(0)), AfterValidator(at_most(8))] = 3


class LoggingSettings(_Section):
    """`logging:` output format and threshold."""

    format: Annotated[Literal["text", "json"], BeforeValidator(choice(("text", "json"), str.lower))] = "text"
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(choice(("DEBUG", "INFO", "WARNING", "ERROR"), str.upper)),
    ] = "INFO"


class Settings(_Section):
    """The whole configuration. Build it with `load_settings()`; `source` is the file it came from (None: defaults)."""

    backend: Annotated[
        Literal["embedded", "elasticsearch"], BeforeValidator(choice(("embedded", "elasticsearch"), str.lower))
    ] = "embedded"
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    elasticsearch: ElasticsearchSettings | None = None
    rules: RulesSettings = Field(default_factory=RulesSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    kibana: KibanaSettings = Field(default_factory=KibanaSettings)

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _backend_section(self, info: ValidationInfo) -> Settings:
        if self.backend == "elasticsearch" and self.elasticsearch is None:
            raise KeyProblems([("backend", 'the "elasticsearch" backend needs an elasticsearch section with hosts')])
        source = (info.context or {}).get("source")
        self._source = Path(source) if source is not None else None
        return self

    @property
    def source(self) -> Path | None:
        """The configuration file these settings were read from; None for the built-in defaults."""
        return self._source

    def redacted(self) -> dict[str, Any]:
        """A JSON-able view for `explain` and logs: every secret is masked, durations read as `30s`."""
        data = self.model_dump(mode="json", by_alias=True)
        for name, keys in _SECRET_KEYS.items():
            section = data.get(name)
            if not section:
                continue
            for key in keys:
                if section.get(key) is not None:
                    section[key] = REDACTED  # an empty SecretStr dumps as "", which would still tell something
        data["alerts"]["index_name"] = self.alerts.index_name
        return {"source": str(self.source) if self.source else None, **data}


# the secret keys of each section that has some, for `Settings.redacted()`
_SECRET_KEYS = {"elasticsearch": secret_keys(ElasticsearchSettings), "kibana": secret_keys(KibanaSettings)}

__all__ = [
    "AlertsSettings",
    "ElasticsearchSettings",
    "EmbeddedSettings",
    "KibanaSettings",
    "LoggingSettings",
    "RuleOverride",
    "RuleSelector",
    "RulesSettings",
    "SchedulerSettings",
    "Settings",
]
