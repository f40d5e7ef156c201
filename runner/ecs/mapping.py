"""The ECS mapping the embedded store gives every index, as Elastic's index templates give data streams (an index
template matching the index is merged over it: `runner.ecs.templates`).

Elastic Defend and most integrations write into indices whose templates map the Elastic Common Schema, so a rule's
`cidrMatch(destination.ip, ...)` sees an `ip` field and `process.command_line` is a `wildcard` field. Fields outside
ECS are mapped dynamically from the documents, as Elasticsearch does. The standalone alerts index starts from the same
mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runner.ecs.fields import ecs_fields


@lru_cache(maxsize=1)
def _body() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in sorted(ecs_fields().items()):
        node = properties
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
        leaf: dict[str, Any] = {}
        kind = spec["type"]
        if kind == "object":
            leaf = {"properties": {}}  # an object whose sub-fields are mapped dynamically
        else:
            leaf = {"type": kind}
            for key in ("fields", "ignore_above", "scaling_factor"):
                if key in spec:
                    leaf[key] = copy.deepcopy(spec[key])
        existing = node.get(parts[-1])
        if existing is not None and "properties" in existing and "properties" in leaf:
            continue
        node[parts[-1]] = leaf if existing is None or "properties" not in existing else {**leaf, **existing}
    return {"properties": properties}


def ecs_mapping() -> dict[str, Any]:
    """A fresh copy of the ECS mapping body (`{"properties": {...}}`)."""
    return copy.deepcopy(_body())


def ecs_body() -> Mapping[str, Any]:
    """The ECS mapping body itself, to read and never change (`ecs_mapping` gives a copy to change)."""
    return _body()


__all__ = ["ecs_mapping"]
