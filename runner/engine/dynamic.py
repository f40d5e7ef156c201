"""The mapping an index would have after Elasticsearch indexed some documents with its default dynamic mapping."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from runner.engine.fields import dynamic_field_spec


def dynamic_mapping(sources: Iterable[Mapping[str, Any]], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`base` (a mapping body) plus the fields the `_source` documents would add dynamically, in document order.

    Dotted keys (`"process.pid"`) map like nested objects; an array maps as its first non-null element; null and
    empty arrays add nothing; an explicitly mapped field is left as it is.
    """
    body: dict[str, Any] = copy.deepcopy(dict(base)) if base else {}
    if "mappings" in body and isinstance(body["mappings"], dict):
        body = body["mappings"]
    properties = body.setdefault("properties", {})
    if str(body.get("dynamic", "true")).lower() in ("false", "strict"):
        return body
    for source in sources:
        _add_object(properties, source)
    return body


def _add_object(properties: dict[str, Any], obj: Mapping[str, Any]) -> None:
    for key, value in obj.items():
        node = properties.get(key)
        if node is not None and "." not in key:
            # the common cases, without the general walk: a field already mapped as a leaf, whose values can no
            # longer change the mapping (most fields, after the first documents); an object mapped as one
            if "properties" not in node:
                continue
            if type(value) is dict:
                _add_object(node["properties"], value)
                continue
        parts = str(key).split(".")
        target = properties
        for part in parts[:-1]:
            node = target.setdefault(part, {"properties": {}})
            if "properties" not in node:
                break  # a leaf already sits where an object would go; Elasticsearch would reject the document
            target = node["properties"]
        else:
            _add_value(target, parts[-1], value)


def _add_value(properties: dict[str, Any], name: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            if item is not None:
                _add_value(properties, name, item)
                return
        return
    if isinstance(value, Mapping):
        node = properties.setdefault(name, {"properties": {}})
        if "properties" in node:
            _add_object(node["properties"], value)
        return
    if name in properties:
        return
    spec = dynamic_field_spec(value)
    if spec is not None:
        properties[name] = spec


__all__ = ["dynamic_mapping"]
