"""The ECS field definitions (ECS 9.4.0): every field's name and Elasticsearch type, as the schema publishes them.

`ecs_fields.json` holds, for each field of ECS's flat listing, its type and the mapping parameters a mapping needs
(`multi_fields` as `fields`, `ignore_above`, `scaling_factor`), taken from the `@elastic/ecs` npm package
(Apache-2.0):

    npm pack @elastic/ecs && tar xzf elastic-ecs-*.tgz
    node -e 'const f=require("./package/generated/ecs_flat.js").EcsFlat; ...'   # type, multi_fields, ignore_above

Two readers use them: the embedded store and the standalone alerts index map events and alerts as Elastic's index
templates would (`runner.ecs.mapping`), and alert building removes source values that do not fit the type Kibana's
alerts index gives their field (`runner.alerts.ecs_conformance`). The data is loaded once and never changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("runner.ecs").joinpath("ecs_fields.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def ecs_version() -> str:
    """The ECS release the definitions come from."""
    return str(_data()["ecs_version"])


@lru_cache(maxsize=1)
def ecs_fields() -> Mapping[str, Mapping[str, Any]]:
    """Every ECS field by dotted name: `{"type": ..., and mapping parameters}`. Read-only; shared by all callers."""
    return MappingProxyType({name: MappingProxyType(spec) for name, spec in _data()["fields"].items()})


__all__ = ["ecs_fields", "ecs_version"]
