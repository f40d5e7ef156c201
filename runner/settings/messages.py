"""Pydantic's validation errors in our words, at their place in the YAML.

`runner.problems.validation_problems` does the translation every loader shares (key path, position, `KeyProblems`
per key); this module supplies the settings' words. Messages follow the schema from `Settings`: an unknown key is
answered with the closest allowed key or the list of allowed ones, a missing key is named, a type problem says
what is expected, and a bad value gets "(got ...)" appended unless the key holds a secret, anywhere below it, or
the validator raised `Complete`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from runner.problems import KeyPath, pydantic_message, validation_problems
from runner.settings.errors import Complete, SettingsProblem, show
from runner.settings.model import Settings
from runner.settings.reader import YamlReader
from runner.settings.values import unwrap


def _field_at(loc: KeyPath) -> tuple[type[BaseModel] | None, Any]:
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
        current = unwrap(annotation)
    return owner, annotation


def allowed_keys(loc: KeyPath) -> list[str] | None:
    """The keys the mapping at `loc` may have (`()`: the sections), or None when `loc` is not a mapping."""
    _, annotation = _field_at(loc)
    model = unwrap(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return None


def _is_secret(loc: KeyPath) -> bool:
    return any(unwrap(_field_at(loc[:end])[1]) is SecretStr for end in range(1, len(loc) + 1))


def _message(item: Mapping[str, Any], loc: KeyPath) -> str:
    kind = item["type"]
    error = (item.get("ctx") or {}).get("error")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = allowed_keys(loc[:-1]) or []
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            return f'unknown key "{key}"; did you mean "{close[0]}"?'
        return f'unknown key "{key}"' + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return f'missing required key "{loc[-1]}"'
    if isinstance(error, Complete):
        return str(error)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
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
        message = pydantic_message(item)
    value = item.get("input")
    if not _is_secret(loc) and not isinstance(value, BaseModel):
        message += f" (got {show(value)})"
    return message


def settings_problems(err: ValidationError, reader: YamlReader) -> list[SettingsProblem]:
    """The problems of `err`, raised validating what `reader` read, at their place in its file."""
    # include_input stays on: the input is only shown for non-secret scalar keys, by `_message`
    return validation_problems(
        err.errors(include_url=False),
        reader.file,
        position=reader.position,
        word=_message,
        # a value whose interpolation failed is reported already; an unknown key still is one
        skip=lambda path, kind: kind != "extra_forbidden" and reader.tainted_at(path),
    )


__all__ = ["allowed_keys", "settings_problems"]
