"""The ECS mapping the embedded store gives every index, as Elastic's index templates give data streams.

Elastic Defend and most integrations write into indices whose templates map the Elastic Common Schema, so a rule's
`cidrMatch(destination.ip, ...)` sees an `ip` field and `process.command_line` is a `wildcard` field. Fields outside
ECS are mapped dynamically from the documents, as Elasticsearch does. `ecs_fields.json` holds the ECS field types
(ECS 9.4.0), taken from the `@elastic/ecs` npm package (Apache-2.0):

    npm pack @elastic/ecs && tar xzf elastic-ecs-*.tgz
    node -e 'const f=require("./package/generated/ecs_flat.js").EcsFlat; ...'   # type, multi_fields, ignore_above
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def ecs_version() -> str:
    return str(_data()["ecs_version"])


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("runner.backends").joinpath("ecs_fields.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _body() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in sorted(_data()["fields"].items()):
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
                    leaf[key] = spec[key]
        existing = node.get(parts[-1])
        if existing is not None and "properties" in existing and "properties" in leaf:
            continue
        node[parts[-1]] = leaf if existing is None or "properties" not in existing else {**leaf, **existing}
    return {"properties": properties}


def ecs_mapping() -> dict[str, Any]:
    """A fresh copy of the ECS mapping body (`{"properties": {...}}`)."""
    return copy.deepcopy(_body())


__all__ = ["ecs_mapping", "ecs_version"]
