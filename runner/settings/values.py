"""The types of setting values and their checks: durations written `30s`, paths relative to the config file, hosts
and URLs that never carry a credential, Elasticsearch index names, Kibana space ids, rule intervals and date math.

Each check raises `ValueError` (pydantic's signal for a bad value) with a message in our words, or `Complete` when
the message must not get the input appended: it shows it already, or the input may hold a secret (a URL with
`user:pass@`). A message never quotes a secret's value.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, ValidationInfo

from runner.catalog import DateMath, TimingError, format_duration, parse_duration
from runner.settings.errors import Complete, show

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


def integer(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        # a string comes from ${VAR} interpolation; YAML itself already typed plain numbers
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value

    return check


def at_most(maximum: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    return check


def choice(allowed: Sequence[str], fold: Callable[[str], str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and fold(value.strip()) in allowed:
            return fold(value.strip())
        message = f"must be one of {', '.join(allowed)}"
        if isinstance(value, str):
            close = difflib.get_close_matches(fold(value.strip()), allowed, n=1)
            message += f" (got {show(value)})" + (f'; did you mean "{close[0]}"?' if close else "")
            raise Complete(message)
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


def one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _split_hosts(value: Any) -> Any:
    # one string may list several hosts, comma-separated, because ${ES_HOSTS} can only produce a string
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _host(value: str) -> str:
    value = value.strip()
    # "user:pass@host" would carry a secret into logs, `explain` and error messages: such a value is never echoed
    fail = Complete if "@" in value else ValueError
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
    fail = Complete if "@" in value else ValueError  # a URL with credentials is never echoed
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
        raise Complete("may only contain a protocol, a host, a port and a path (no ?query or #fragment)")
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
        raise Complete(str(err)) from None
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
StrList = Annotated[list[NonEmptyStr], BeforeValidator(one_or_many)]
Hosts = Annotated[list[Host], BeforeValidator(_split_hosts), Field(min_length=1)]
PathList = Annotated[list[ResolvedPath], BeforeValidator(one_or_many), Field(min_length=1)]
BaseUrl = Annotated[str, AfterValidator(_base_url)]
IndexName = Annotated[str, AfterValidator(_index_name)]
SpaceId = Annotated[str, AfterValidator(_space_id)]
Interval = Annotated[str, BeforeValidator(_interval)]
DateMathText = Annotated[str, BeforeValidator(_date_math)]


def unwrap(annotation: Any) -> Any:
    """The type under `Annotated[...]` and `X | None`: `SecretStr | None` → `SecretStr`."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return unwrap(args[0])
    return annotation


__all__ = [
    "BaseUrl",
    "DateMathText",
    "Duration",
    "Host",
    "Hosts",
    "IndexName",
    "Interval",
    "NonEmptyStr",
    "OptionalDuration",
    "PathList",
    "ResolvedPath",
    "SpaceId",
    "StrList",
    "at_most",
    "choice",
    "integer",
    "one_or_many",
    "unwrap",
]
