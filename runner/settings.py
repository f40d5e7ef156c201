"""The YAML configuration: which backend, where the rules are, how alerts are written and how the scheduler runs.

`load_settings()` finds the file (`--config`, else `$RULE_RUNNER_CONFIG`, else `config/runner.yaml` under the working
directory, else built-in defaults with the embedded backend), reads it with PyYAML keeping every node's position,
replaces `${VAR}` / `${VAR:-default}` in string values from the environment (`$$` is a literal `$`), and validates
the result with the pydantic models below. Every problem is collected and raised at once as a `SettingsError`, each
naming the file, the dotted key (`rules.overrides.<rule_id>.interval`) and the line:column, in our own words: pydantic's
default messages echo the input, and the input may be a secret.

Decisions worth knowing:

- Relative paths (`embedded.path`, `rules.paths`, `ca_certs`, `*_file`) are resolved against the directory of the
  config file, not the working directory, so the same file works whether the runner is started from the repository,
  from a service manager or from a container; that includes paths coming from `${VAR}`. Without a file, the built-in
  defaults resolve against the working directory. `~` is expanded. `*_file` secrets are read and `ca_certs` is
  checked at load time: a missing file is a configuration error, not a failed TLS handshake later.
- An empty value (nothing after the colon, `null`, or an empty string such as `${VAR:-}`) means the default, so a
  section whose keys are all commented out is valid, and `api_key: ${ES_API_KEY:-}` means "no API key".
- Secrets (`api_key`, `password`) are `SecretStr`: masked in repr, `str`, `model_dump(mode="json")`, `redacted()`,
  and never quoted in an error message. Credentials inside a host URL are rejected for the same reason.
- Interpolation applies to values only, never keys; a default is literal text (no nested `${...}`); a `$` not
  followed by `{` or `$` is kept as is, so passwords with a `$` need no escaping unless a `{` follows.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.catalog.timing import DateMath, TimingError, format_duration, parse_duration
from runner.errors import RuleRunnerError, SourceLocation

CONFIG_ENV = "RULE_RUNNER_CONFIG"
DEFAULT_CONFIG = Path("config") / "runner.yaml"
REDACTED = "**********"  # what pydantic prints for a SecretStr, so every masked value looks the same

_KeyPath = tuple[str | int, ...]


# -- errors ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingsProblem:
    """One problem: where (None for problems with no position, such as a missing file) and what, in plain words."""

    location: SourceLocation | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class SettingsError(RuleRunnerError):
    """A configuration that cannot be used; `problems` lists every problem found, in file order."""

    def __init__(self, problems: Sequence[SettingsProblem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            text = f"{len(self.problems)} problems in the configuration:" + "".join(f"\n  {p}" for p in self.problems)
        super().__init__(text)


def _problem_order(problem: SettingsProblem) -> tuple[int, int]:
    return (problem.location.line, problem.location.column) if problem.location else (0, 0)


class _Complete(ValueError):
    """A validator message that must not get "(got ...)" appended: it shows the input already, or must not."""


class _FieldProblems(ValueError):
    """Problems a model validator finds in its own keys, so each is reported at that key rather than at the section."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


# -- value types -------------------------------------------------------------------------------------------------------

_DURATION_HINT = "a whole number and a unit among ms, s, m, h, d (e.g. 30s, 5m)"
_ZERO_DURATION = re.compile(r"^0+(ms|s|m|h|d)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def _duration(allow_zero: bool) -> Callable[[Any], timedelta]:
    def check(value: Any) -> timedelta:
        if isinstance(value, timedelta):
            if value > timedelta(0) or (allow_zero and value == timedelta(0)):
                return value
            raise ValueError("must be greater than zero" if not allow_zero else "must not be negative")
        is_zero = (isinstance(value, int) and not isinstance(value, bool) and value == 0) or (
            isinstance(value, str) and _ZERO_DURATION.match(value.strip()) is not None
        )
        if is_zero:
            if allow_zero:
                return timedelta(0)
            raise ValueError("must be greater than zero")
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except TimingError:
                pass
        raise ValueError(f"must be a duration: {_DURATION_HINT}" + (", or 0" if allow_zero else ""))

    return check


def _show_duration(value: timedelta) -> str:
    return format_duration(value) if value else "0s"


# Durations are read as "30s" and written back the same way (pydantic would write ISO 8601 "PT30S").
Duration = Annotated[timedelta, BeforeValidator(_duration(False)), PlainSerializer(_show_duration, when_used="json")]
OptionalDuration = Annotated[
    timedelta, BeforeValidator(_duration(True)), PlainSerializer(_show_duration, when_used="json")
]


def _integer(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        # a string comes from ${VAR} interpolation; YAML itself already typed plain numbers
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value

    return check


def _at_most(maximum: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    return check


def _choice(allowed: Sequence[str], fold: Callable[[str], str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and fold(value.strip()) in allowed:
            return fold(value.strip())
        message = f"must be one of {', '.join(allowed)}"
        if isinstance(value, str):
            close = difflib.get_close_matches(fold(value.strip()), allowed, n=1)
            message += f" (got {_show(value)})" + (f'; did you mean "{close[0]}"?' if close else "")
            raise _Complete(message)
        raise ValueError(message)

    return check


def _resolve_path(value: Any, info: ValidationInfo) -> Path:
    if isinstance(value, str):
        value = value.strip()
    if not isinstance(value, (str, Path)) or not str(value):
        raise ValueError("must be a file path")
    path = Path(value).expanduser()
    base = (info.context or {}).get("base") or Path.cwd()
    # abspath normalises "config/../x" without following symlinks, unlike Path.resolve()
    return Path(os.path.abspath(Path(base) / path))


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _split_hosts(value: Any) -> Any:
    # one string may list several hosts, comma-separated, because ${ES_HOSTS} can only produce a string
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _host(value: str) -> str:
    value = value.strip()
    # "user:pass@host" would carry a secret into logs, `explain` and error messages: such a value is never echoed
    fail = _Complete if "@" in value else ValueError
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        parts, hostname = None, None
    if parts is None or parts.scheme not in ("http", "https") or not hostname:
        raise fail("must be an http:// or https:// URL with a host, e.g. https://localhost:9200")
    if parts.username is not None or parts.password is not None:
        raise fail("must not contain credentials: set username and password (or api_key) instead")
    return value


def _base_url(value: str) -> str:
    """Kibana's `server.publicBaseUrl` rule (http or https, then only a host, a port and a path), normalised: scheme
    and host in lower case, no trailing slash (Kibana's own base path never ends with one)."""
    value = value.strip()
    fail = _Complete if "@" in value else ValueError  # a URL with credentials is never echoed
    try:
        parts = urlsplit(value)
        hostname, port = parts.hostname, parts.port
    except ValueError:
        raise fail("must be an http:// or https:// URL with a host, e.g. https://kibana.example.com:5601") from None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise fail("must be an http:// or https:// URL with a host, e.g. https://kibana.example.com:5601")
    if parts.username is not None or parts.password is not None:
        raise fail("must not contain credentials: set kibana.api_key (or username and password) instead")
    if parts.query or parts.fragment or "?" in value or "#" in value:  # a query may hold a token: not echoed
        raise _Complete("may only contain a protocol, a host, a port and a path (no ?query or #fragment)")
    host = f"[{hostname}]" if ":" in hostname else hostname
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _interval(value: Any) -> str:
    if isinstance(value, str):
        try:
            parse_duration(value)
        except TimingError:
            pass
        else:
            return value.strip()
    raise ValueError(f"must be a duration: {_DURATION_HINT}")


def _date_math(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be date math such as now-9m")
    try:
        DateMath.parse(value)
    except TimingError as err:
        raise _Complete(str(err)) from None
    return value.strip()


_SPACE_ID = re.compile(r"^[a-z0-9_\-]+$")
_INDEX_FORBIDDEN = set('\\/*?"<>| ,#:')


def _space_id(value: str) -> str:
    if not _SPACE_ID.match(value):
        raise ValueError("must be a Kibana space id: lowercase letters, digits, _ and -")
    return value


def _index_name(value: str) -> str:
    if value != value.lower() or value[:1] in ("-", "_", "+") or _INDEX_FORBIDDEN & set(value) or value in (".", ".."):
        raise ValueError(
            "must be an Elasticsearch index name: lowercase, not starting with -, _ or +, without spaces or "
            '\\ / * ? " < > | , # :'
        )
    return value


ResolvedPath = Annotated[Path, BeforeValidator(_resolve_path)]
Host = Annotated[str, AfterValidator(_host)]
NonEmptyStr = Annotated[str, AfterValidator(_non_empty)]
StrList = Annotated[list[NonEmptyStr], BeforeValidator(_one_or_many)]


# -- models ------------------------------------------------------------------------------------------------------------


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


class _Connection(_Section):
    """What a section that connects somewhere shares: credentials (an API key, or a username and password, each from
    the value or a `*_file`), TLS and a request timeout; `_connection_problems` checks them."""

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

    hosts: Annotated[list[Host], BeforeValidator(_split_hosts), Field(min_length=1)]
    max_retries: Annotated[int, BeforeValidator(_integer(0))] = 3  # per search and per alert write, with backoff
    retry_backoff: OptionalDuration = timedelta(seconds=1)  # before the first retry; doubled for each next one
    # rule state and execution records: a runner needs no local disk
    state_index: Annotated[str, AfterValidator(_index_name)] = "rule-runner-state"
    executions_index: Annotated[str, AfterValidator(_index_name)] = "rule-runner-executions"

    @model_validator(mode="after")
    def _credentials(self) -> ElasticsearchSettings:
        problems = _connection_problems(self)
        if problems:
            raise _FieldProblems(problems)
        return self


def _connection_problems(section: _Connection) -> list[tuple[str, str]]:
    """The checks of a section's `api_key` / `api_key_file` / `username` / `password` / `password_file`: one kind
    of credentials, complete, each secret given once; a `*_file` is read into its secret (the model is frozen, so
    this happens during validation); and its `ca_certs` file exists. Returns (key, message) problems."""
    problems: list[tuple[str, str]] = []
    if section.api_key is not None and section.api_key_file is not None:
        problems.append(("api_key_file", "set either api_key or api_key_file, not both"))
    elif section.api_key_file is not None:
        _read_secret(section, "api_key", section.api_key_file, problems)
    if section.password is not None and section.password_file is not None:
        problems.append(("password_file", "set either password or password_file, not both"))
    elif section.password_file is not None:
        _read_secret(section, "password", section.password_file, problems)
    has_password = section.password is not None or section.password_file is not None
    password_key = "password" if section.password_file is None else "password_file"
    if has_password and section.username is None:
        problems.append((password_key, "a password needs a username"))
    if section.username is not None and not has_password:
        problems.append(("username", "a username needs a password (or password_file)"))
    has_key = section.api_key is not None or section.api_key_file is not None
    if has_key and (section.username is not None or has_password):
        # a request carries one Authorization header: say so here rather than at the first connection
        problems.append(("api_key" if section.api_key_file is None else "api_key_file",
                         "use either an API key or a username and password, not both"))
    if section.ca_certs is not None and not section.ca_certs.is_file():
        # the client would only fail at the first TLS handshake, with a message that does not name the setting
        problems.append(("ca_certs", f"no such file: {section.ca_certs}"))
    return problems


def _read_secret(section: BaseModel, name: str, path: Path, problems: list[tuple[str, str]]) -> None:
    key = f"{name}_file"
    try:
        text = path.read_text(encoding="utf-8").rstrip()
    except UnicodeDecodeError:
        problems.append((key, f"cannot read {path}: not UTF-8 text"))
        return
    except OSError as err:
        problems.append((key, f"cannot read {path}: {err.strerror or err}"))
        return
    if not text:
        problems.append((key, f"{path} is empty"))
        return
    object.__setattr__(section, name, SecretStr(text))  # frozen model: set once, during validation


class KibanaSettings(_Connection):
    """`kibana:` optional. `public_base_url` (Kibana's `server.publicBaseUrl`) makes alerts carry their link in
    Kibana (`kibana.alert.url`); `url`, Kibana's address for rule-runner, turns on the start-up lookup of the
    installed rules' ids (`kibana.alert.rule.uuid`) and is the links' base when `public_base_url` is not set."""

    url: Annotated[str, AfterValidator(_base_url)] | None = None
    public_base_url: Annotated[str, AfterValidator(_base_url)] | None = None

    @model_validator(mode="after")
    def _connection(self) -> KibanaSettings:
        problems = _connection_problems(self)
        if self.url is None:
            given = [key for key in ("api_key", "api_key_file", "username", "password", "password_file", "ca_certs")
                     if getattr(self, key) is not None]
            problems.extend((key, "needs kibana.url, Kibana's address for its API") for key in given[:1])
        if problems:
            raise _FieldProblems(problems)
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
    interval: Annotated[str, BeforeValidator(_interval)] | None = None
    from_: Annotated[str, BeforeValidator(_date_math)] | None = Field(default=None, alias="from")
    enabled: bool | None = None
    uuid: NonEmptyStr | None = None  # the Kibana rule saved-object id that alert ids are derived from
    # Kibana's rule schema: an integer >= 1, no upper bound. Above Kibana's `xpack.alerting.rules.run.alerts.max`
    # (1000 by default) Kibana keeps the value, and its EQL executor still searches with size = max_signals and
    # writes every result; only the run's status gets a warning. rule-runner has no such framework limit.
    max_signals: Annotated[int, BeforeValidator(_integer(1))] | None = None


class RulesSettings(_Section):
    """`rules:` where the rule files are, which of them run, and per-rule overrides."""

    paths: Annotated[list[ResolvedPath], BeforeValidator(_one_or_many), Field(min_length=1)] = [Path("rules")]
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

    index: Annotated[str, AfterValidator(_index_name)] | None = None
    space_id: Annotated[str, AfterValidator(_space_id)] = "default"
    # Elasticsearch only. kibana: into the alias Kibana's Security app creates and reads; standalone: our own
    # index template and monthly indices, for a cluster without Kibana
    mode: Annotated[Literal["kibana", "standalone"], BeforeValidator(_choice(("kibana", "standalone"), str.lower))] = (
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

    max_concurrent_executions: Annotated[int, BeforeValidator(_integer(1))] = 4
    first_run_jitter: OptionalDuration = timedelta(seconds=10)  # spreads first runs so rules do not start together
    misfire_grace_time: Duration = timedelta(seconds=60)
    # an execution past this starts no more windows or retries; what is left stays pending for the next one
    execution_timeout: Duration = timedelta(minutes=5)
    # a search that returns `size` results may have been cut (EQL has no pagination): its window is split in
    # halves and searched again, up to this many times (2**n sub-windows at most); 0 disables
    max_window_splits: Annotated[int, BeforeValidator(_integer(0)), AfterValidator(_at_most(8))] = 3


class LoggingSettings(_Section):
    """`logging:` output format and threshold."""

    format: Annotated[Literal["text", "json"], BeforeValidator(_choice(("text", "json"), str.lower))] = "text"
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(_choice(("DEBUG", "INFO", "WARNING", "ERROR"), str.upper)),
    ] = "INFO"


class Settings(_Section):
    """The whole configuration. Build it with `load_settings()`; `source` is the file it came from (None: defaults)."""

    backend: Annotated[
        Literal["embedded", "elasticsearch"], BeforeValidator(_choice(("embedded", "elasticsearch"), str.lower))
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
            raise _FieldProblems([("backend", 'the "elasticsearch" backend needs an elasticsearch section with hosts')])
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
        for name, keys in _SECRET_FIELDS.items():
            section = data.get(name)
            for key in keys if section else ():
                if section.get(key) is not None:
                    section[key] = REDACTED  # an empty SecretStr dumps as "", which would still tell something
        data["alerts"]["index_name"] = self.alerts.index_name
        return {"source": str(self.source) if self.source else None, **data}


# -- reading the YAML --------------------------------------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_REFERENCE = re.compile(r"\$\$|\$\{([^{}]*)\}|\$\{")
_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


class _Reader:
    """YAML text → plain data, with the start mark of every key and value by key path, and interpolation done."""

    def __init__(self, text: str, file: str, env: Mapping[str, str]) -> None:
        self.text = text
        self.file = file
        self.env = env
        self.keys: dict[_KeyPath, Mark] = {}
        self.values: dict[_KeyPath, Mark] = {}
        self.problems: list[SettingsProblem] = []
        self.tainted: set[_KeyPath] = set()  # values whose interpolation failed: their validation errors are noise
        self.containers: set[_KeyPath] = set()  # mappings and lists: their key, not their first item, locates them
        self.loader: yaml.SafeLoader | None = None

    def read(self) -> dict[str, Any]:
        """The top-level mapping; raises `SettingsError` when the YAML does not parse or is not a mapping."""
        try:
            self.loader = yaml.SafeLoader(self.text)  # the reader checks for unprintable characters right away
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            # the message is built from the parts, not str(err): that one quotes the offending line, maybe a secret
            message = f"invalid YAML: {err.problem or 'cannot parse'}"
            if err.context:
                message += f" ({err.context})"
            raise SettingsError([self.problem(mark, (), message)]) from None
        except yaml.reader.ReaderError as err:
            line = self.text.count("\n", 0, err.position) + 1
            column = err.position - (self.text.rfind("\n", 0, err.position) + 1) + 1
            character = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
            message = f"invalid YAML: unacceptable character {character}: {err.reason}"
            problem = SettingsProblem(SourceLocation(line, column, self.file), message)
            raise SettingsError([problem]) from None
        except yaml.YAMLError as err:
            raise SettingsError([SettingsProblem(SourceLocation(1, 1, self.file), f"invalid YAML: {err}")]) from None
        finally:
            if self.loader is not None:
                self.loader.dispose()
        if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            return {}  # an empty (or all-comments) file: the defaults
        if not isinstance(root, MappingNode):
            message = f"the top level must be a mapping of sections ({', '.join(_allowed_keys(()) or ())})"
            raise SettingsError([self.problem(root.start_mark, (), message)])
        data = self.node(root, (), ())
        assert isinstance(data, dict)
        return data

    def problem(self, mark: Mark | None, path: _KeyPath, message: str) -> SettingsProblem:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return SettingsProblem(SourceLocation(line, column, self.file, _dotted(path) or None), message)

    def node(self, node: Node, path: _KeyPath, stack: tuple[int, ...]) -> Any:
        self.values[path] = node.start_mark
        if id(node) in stack:
            self.problems.append(self.problem(node.start_mark, path, "a recursive alias cannot be a setting"))
            self.tainted.add(path)
            return None
        stack = (*stack, id(node))
        if isinstance(node, (MappingNode, SequenceNode)):
            self.containers.add(path)
        if isinstance(node, MappingNode):
            return self.mapping(node, path, stack)
        if isinstance(node, SequenceNode):
            return [self.node(item, (*path, index), stack) for index, item in enumerate(node.value)]
        if node.tag == _STR_TAG:
            return self.interpolate(node.value, node.start_mark, path)
        if node.tag == _TIMESTAMP_TAG:
            return node.value  # a date is only ever text here (an ISO `from`), never a datetime
        assert self.loader is not None
        try:
            return self.loader.construct_object(node)
        except yaml.YAMLError:
            self.problems.append(self.problem(node.start_mark, path, f"unsupported YAML tag {node.tag}"))
            self.tainted.add(path)
            return None

    def mapping(self, node: MappingNode, path: _KeyPath, stack: tuple[int, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        own: dict[str, Mark] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node, path, stack))
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in own:
                first = own[key]
                message = f'duplicate key "{key}" (first at line {first.line + 1}:{first.column + 1})'
                self.problems.append(self.problem(key_node.start_mark, (*path, key), message))
                continue
            own[key] = key_node.start_mark
            self.keys[(*path, key)] = key_node.start_mark
            result[key] = self.node(value_node, (*path, key), stack)
        # `<<: *anchor` merges keys the mapping does not set itself; among merged mappings the first one wins
        for key_node, value_node in merged:
            key = self.key(key_node, path)
            if key is None or key in result:
                continue
            self.keys[(*path, key)] = key_node.start_mark
            result[key] = self.node(value_node, (*path, key), stack)
        return result

    def merge_sources(self, node: Node, path: _KeyPath, stack: tuple[int, ...]) -> list[tuple[Node, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode) or id(source) in stack:
                message = "<< must merge a mapping or a list of mappings"
                if id(source) in stack:
                    message = "<< cannot merge a mapping into itself"
                self.problems.append(self.problem(source.start_mark, path, message))
                continue
            own = [(k, v) for k, v in source.value if k.tag != _MERGE_TAG]
            nested = [pair for k, v in source.value if k.tag == _MERGE_TAG
                      for pair in self.merge_sources(v, path, (*stack, id(source)))]
            pairs.extend(own + nested)
        return pairs

    def key(self, node: Node, path: _KeyPath) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)  # keys are names: `true:` or `123:` stay text
        self.problems.append(self.problem(node.start_mark, path, "a key must be plain text, not a list or mapping"))
        return None

    def interpolate(self, text: str, mark: Mark, path: _KeyPath) -> str:
        ok = True

        def replace(match: re.Match[str]) -> str:
            nonlocal ok
            token = match.group(0)
            if token == "$$":
                return "$"
            inner = match.group(1)
            reference = _VARIABLE.match(inner) if inner is not None else None
            if reference is None:
                shown = token if inner is None else f"${{{inner}}}"
                self.problems.append(self.problem(mark, path, (
                    f"cannot read {shown}: write ${{NAME}} or ${{NAME:-default}} (no nesting), and $$ for a literal $"
                )))
                ok = False
                return token
            name, default = reference.group(1), reference.group(2)
            value = self.env.get(name)
            if default is not None:
                return value if value else default  # `:-` as in the shell: unset or empty takes the default
            if value is None:
                self.problems.append(self.problem(mark, path, f"environment variable {name} is not set"))
                ok = False
                return token
            return value

        result = _REFERENCE.sub(replace, text)
        if not ok:
            self.tainted.add(path)
        return result

    def locate(self, loc: _KeyPath, kind: str) -> SourceLocation:
        """Where a validation error goes: the key for unknown or missing keys, else the value, else an ancestor."""
        mark: Mark | None = None
        if kind == "extra_forbidden":
            mark = self.keys.get(loc)
        elif kind == "missing":
            loc_parent = loc[:-1]
            mark = self.keys.get(loc_parent) or self.values.get(loc_parent)
        else:
            mark = self.values.get(loc)
        for end in range(len(loc), -1, -1):
            if mark is not None:
                break
            ancestor = loc[:end]
            if ancestor in self.containers:
                mark = self.keys.get(ancestor) or self.values.get(ancestor)
            else:
                mark = self.values.get(ancestor) or self.keys.get(ancestor)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return SourceLocation(line, column, self.file, _dotted(loc) or None)


def _dotted(path: _KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _show(value: Any) -> str:
    """A short rendering of a non-secret input for "(got ...)"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:56] + '..."'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- validation errors in our words ------------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return _unwrap(args[0])
    return annotation


_SECRET_FIELDS = {
    section: tuple(name for name, field in model.model_fields.items() if _unwrap(field.annotation) is SecretStr)
    for section, model in (("elasticsearch", ElasticsearchSettings), ("kibana", KibanaSettings))
}


def _field_at(loc: _KeyPath) -> tuple[type[BaseModel] | None, Any]:
    """The model owning the last key of `loc` and that key's annotation, following the schema from `Settings`."""
    current: Any = Settings
    owner: type[BaseModel] | None = None
    annotation: Any = Settings
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {(field.alias or name): field for name, field in current.model_fields.items()}
            field = fields.get(part) if isinstance(part, str) else None
            if field is None:
                return current, None
            owner, annotation = current, field.annotation
        elif get_origin(current) is dict:
            owner, annotation = None, get_args(current)[1]
        elif get_origin(current) is list:
            owner, annotation = None, get_args(current)[0]
        else:
            return None, None
        current = _unwrap(annotation)
    return owner, annotation


def _allowed_keys(loc: _KeyPath) -> list[str] | None:
    _, annotation = _field_at(loc)
    model = _unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return None


def _is_secret(loc: _KeyPath) -> bool:
    return any(_unwrap(_field_at(loc[:end])[1]) is SecretStr for end in range(1, len(loc) + 1))


def _message(item: Mapping[str, Any], loc: _KeyPath) -> str:
    kind = item["type"]
    error = (item.get("ctx") or {}).get("error")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1]) or []
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            return f'unknown key "{key}"; did you mean "{close[0]}"?'
        return f'unknown key "{key}"' + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return f'missing required key "{loc[-1]}"'
    if isinstance(error, _Complete):
        return str(error)
    if kind in ("value_error", "assertion_error") and error is not None:
        message = str(error)
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "must be a mapping"
    elif kind == "list_type":
        message = "must be a list"
    elif kind == "string_type":
        message = "must be text"
        if isinstance(item.get("input"), (int, float, bool)):
            message += " (quote it to keep it as text)"
    elif kind in ("bool_type", "bool_parsing"):
        message = "must be true or false"
    elif kind == "too_short":
        return "must not be empty"
    else:
        text = str(item.get("msg", "invalid value"))
        message = text[:1].lower() + text[1:]
    value = item.get("input")
    if not _is_secret(loc) and not isinstance(value, BaseModel):
        message += f" (got {_show(value)})"
    return message


def _problems(err: ValidationError, reader: _Reader) -> list[SettingsProblem]:
    problems: list[SettingsProblem] = []
    # include_input stays on: the input is only shown for non-secret scalar keys, by `_message`
    for item in err.errors(include_url=False):
        loc: _KeyPath = tuple(item["loc"])
        error = (item.get("ctx") or {}).get("error")
        expanded = (
            [((*loc, key), message) for key, message in error.problems]
            if isinstance(error, _FieldProblems) else [(loc, None)]
        )
        for where, text in expanded:
            tainted = any(where[: len(bad)] == bad for bad in reader.tainted)
            if tainted and item["type"] != "extra_forbidden":
                continue  # already reported as an interpolation problem
            location = reader.locate(where, item["type"] if text is None else "value_error")
            problems.append(SettingsProblem(location, text if text is not None else _message(item, where)))
    return problems


# -- finding and loading the file --------------------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """The settings from `path` (`--config`), else `$RULE_RUNNER_CONFIG`, else `config/runner.yaml` under `cwd` if
    it exists, else the built-in defaults (embedded backend). `env` feeds `${VAR}` and the lookup (default
    `os.environ`); `cwd` defaults to the working directory. Raises `SettingsError` listing every problem."""
    environ: Mapping[str, str] = os.environ if env is None else env
    base = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    if path is not None:
        shown, origin = str(path), ""
    elif environ.get(CONFIG_ENV):
        shown, origin = environ[CONFIG_ENV], f" (from {CONFIG_ENV})"
    elif (base / DEFAULT_CONFIG).is_file():
        shown, origin = str(DEFAULT_CONFIG), ""
    else:
        return Settings.model_validate({}, context={"base": base, "source": None})
    file = Path(os.path.abspath(base / Path(shown).expanduser()))
    if not file.is_file():
        reason = "not a file" if file.exists() else "not found"
        raise SettingsError([SettingsProblem(None, f"config file {reason}: {file}{origin}")])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        message = f"cannot read config file {file}: not UTF-8 text ({err.reason})"
        raise SettingsError([SettingsProblem(None, message)]) from None
    except OSError as err:
        raise SettingsError([SettingsProblem(None, f"cannot read config file {file}: {err.strerror or err}")]) from None
    reader = _Reader(text, shown, environ)
    data = reader.read()
    problems = list(reader.problems)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data, context={"base": file.parent, "source": file})
    except ValidationError as err:
        problems.extend(_problems(err, reader))
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


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
    "SettingsError",
    "SettingsProblem",
    "load_settings",
]
