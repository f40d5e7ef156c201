"""Merging an event's `fields` into its `_source` before it becomes an alert (Kibana `source_fields_merging/`).

Kibana's `xpack.securitySolution.alertMergeStrategy`:
- `missingFields` (default): a value from `fields` is copied only where `_source` has none;
- `allFields`: values from `fields` replace primitive values of `_source` too;
- `noFields`: `_source` as it is.

`fields` values are always arrays (one element is unboxed). Never merged: `_ignored`, runtime-field names that start
with a dot or hold `..`, multi-fields (`host.name.keyword` when `host.name` is there), geo-points and other objects with
a `type`, and Kibana's ignore list. That list is `xpack.securitySolution.alertIgnoreFields` (empty by default, not
configurable here) plus the legacy `signal.*` alias fields; we ignore every `signal.` key, which gives the same alerts:
any `signal` key merged into a source would be dropped with the other top-level `signal` keys right after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from runner.alerts.paths import (
    MISSING,
    is_object_like,
    js_truthy,
    lodash_get,
    lodash_set,
    robust_get,
    robust_is_path_valid,
    robust_set,
)

MergeStrategy = Literal["missingFields", "allFields", "noFields"]
MERGE_STRATEGIES: tuple[MergeStrategy, ...] = ("missingFields", "allFields", "noFields")


def merge_fields(source: dict[str, Any], fields: Mapping[str, Any], strategy: MergeStrategy) -> dict[str, Any]:
    """The merged source. `source` is changed in place (pass a copy) and returned."""
    if strategy == "noFields" or not fields:
        return source
    if strategy == "missingFields":
        return _merge_missing(source, fields)
    if strategy == "allFields":
        return _merge_all(source, fields)
    raise ValueError(f"unknown merge strategy {strategy!r}; expected one of {', '.join(MERGE_STRATEGIES)}")


def _merge_missing(source: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    keys = list(fields)
    for key in keys:
        value = fields[key]
        if not isinstance(value, list):
            continue  # the fields API only returns arrays; anything else is not Elasticsearch's
        existing = robust_get(key, source)
        if existing is not None or not robust_is_path_valid(key, source):
            continue
        if not value or _is_nested_object(value) or _is_type_object(value):
            continue
        if _keep_entry(key, value, keys):
            robust_set(key, _unbox(value, existing), source)
    return source


def _merge_all(source: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    keys = list(fields)
    key_paths = _fields_key_as_array_map(source)
    for key in keys:
        value = fields[key]
        if not isinstance(value, list) or not _keep_entry(key, value, keys):
            continue
        path: str | list[str] = key_paths.get(key, key)
        existing = lodash_get(source, path)
        if (
            not value
            or (existing is MISSING and not _is_path_valid(path, source))
            or (_is_object_like_or_array_of_object_likes(existing) and not _is_nested_object(value)
                and not _is_type_object(value))
        ):
            continue
        if (
            existing is MISSING
            or not is_object_like(existing)
            or (isinstance(existing, list) and not any(is_object_like(v) for v in existing))
            or (_is_object_like_or_array_of_object_likes(existing) and _is_nested_object(value))
        ):
            lodash_set(source, path, _unbox(value, existing))
    return source


def _keep_entry(key: str, value: list[Any], keys: Sequence[str]) -> bool:
    """`filterFieldEntry`."""
    return not (
        key == "_ignored"  # elastic/elasticsearch#77152: EQL returns it among the fields
        or key.startswith(("signal.", "."))
        or ".." in key
        or _is_multi_field(key, keys)
        or _is_type_object(value)
    )


def _is_multi_field(key: str, keys: Sequence[str]) -> bool:
    parts = key.split(".")
    present = set(keys)
    return any(".".join(parts[: i + 1]) in present for i in range(len(parts) - 1))


def _is_type_object(value: list[Any]) -> bool:
    """`isTypeObject`: an element is an object with a truthy `type` (a geo-point, say)."""
    return any(isinstance(v, dict) and js_truthy(lodash_get(v, "type")) for v in value)


def _is_nested_object(value: list[Any]) -> bool:
    """`isNestedObject`: the first element is an object or array (and no element is a type object)."""
    return bool(value) and is_object_like(value[0]) and not _is_type_object(value)


def _is_object_like_or_array_of_object_likes(value: Any) -> bool:
    if isinstance(value, list):
        return any(is_object_like(v) for v in value)
    return is_object_like(value)


def _unbox(value: Any, existing: Any) -> Any:
    """`recursiveUnboxingFields`: one-element arrays become their element unless the source holds an array there."""
    if isinstance(value, list):
        mapped = [
            _unbox(v, existing[i] if isinstance(existing, list) and i < len(existing) else MISSING)
            for i, v in enumerate(value)
        ]
        if len(mapped) == 1 and not isinstance(existing, list):
            return mapped[0]
        return mapped
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key in value:
            lodash_set(result, key, _unbox(value[key], lodash_get(existing, key)))
        return result
    return value


def _is_path_valid(path: str | list[str], source: Mapping[str, Any]) -> bool:
    """`isPathValid` (allFields): every prefix of the path is absent or an object."""
    parts = path.split(".") if isinstance(path, str) else path
    if not parts:
        return False
    for i in range(len(parts)):
        prefix = parts[: i + 1]
        value = lodash_get(source, prefix)
        if value is None or value is MISSING:
            value = lodash_get(source, ".".join(prefix))
        if value is not MISSING and not isinstance(value, dict):
            return False
    return True


def _fields_key_as_array_map(source: Mapping[str, Any]) -> dict[str, list[str]]:
    """`buildFieldsKeyAsArrayMap`: every path of the source, by its dotted name, as the keys that spell it."""
    result: dict[str, list[str]] = {}

    def walk(value: Any, prefix: list[str]) -> None:
        if prefix:
            result[".".join(prefix)] = prefix
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, [*prefix, key])
        elif isinstance(value, list):
            if value and isinstance(value[0], dict):
                walk(value[0], prefix)
            else:
                for child in value:
                    walk(child, prefix)

    walk(source, [])
    return result


__all__ = ["MERGE_STRATEGIES", "MergeStrategy", "merge_fields"]
