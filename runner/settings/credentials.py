"""Secrets: credentials checked and read at load time, and masked wherever settings are shown.

Secrets (`api_key`, `password`) are `SecretStr`: masked in repr, `str`, `model_dump(mode="json")` and
`Settings.redacted()` (as `REDACTED`, whatever their length: an empty mask would still tell something), and never
quoted in an error message (`runner.settings.messages` finds them in the schema as `secret_keys` does). A `*_file`
secret is read when the settings load, so that a missing, unreadable or empty file is a configuration error naming
the key rather than a failed authentication later; a `ca_certs` file is checked for the same reason. Credentials
inside a host URL are refused by the URL checks (`runner.settings.values`): they would travel into logs and
`explain`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, SecretStr

from runner.settings.values import unwrap

REDACTED = "**********"  # what pydantic prints for a SecretStr, so every masked value looks the same


class Credentials(Protocol):
    """What a section that connects somewhere holds (`elasticsearch:`, `kibana:`)."""

    @property
    def api_key(self) -> SecretStr | None: ...
    @property
    def api_key_file(self) -> Path | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> SecretStr | None: ...
    @property
    def password_file(self) -> Path | None: ...
    @property
    def ca_certs(self) -> Path | None: ...


def credential_problems(section: Credentials) -> list[tuple[str, str]]:
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


def _read_secret(section: Credentials, name: str, path: Path, problems: list[tuple[str, str]]) -> None:
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


def secret_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys of `model` that hold a secret (typed `SecretStr`)."""
    return tuple(name for name, field in model.model_fields.items() if unwrap(field.annotation) is SecretStr)


__all__ = ["REDACTED", "Credentials", "credential_problems", "secret_keys"]
