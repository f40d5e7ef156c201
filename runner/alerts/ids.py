"""Kibana's alert `_id` formulas (kibana-eql-execution.md §4.1): sha256 hex digests of concatenated strings (UTF-8).

The same event(s), rule and space always give the same id, so an overlapping window re-finds an alert under the id it
was first written with and the create-only write turns it into a duplicate rather than a second alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from runner.alerts.paths import MISSING, js_string

Ancestor = Mapping[str, Any]


def rule_key(space_id: str, rule_uuid: str) -> str:
    """The rule part of an event alert id: `<space>:<rule saved-object id>`."""
    return f"{space_id}:{rule_uuid}"


def event_alert_id(index: str, doc_id: str, space_id: str, rule_uuid: str, version: Any = MISSING) -> str:
    """`generateId(_index, _id, String(_version), "<space>:<rule uuid>")` for a single-event alert.

    EQL responses carry no `_version`, so Kibana hashes `String(undefined)`, the literal "undefined" (inferred from
    the code, kibana-eql-execution.md §4.1: needed to reproduce Kibana's ids); a hit that does carry one is hashed as
    JavaScript prints it.
    """
    text = index + doc_id + js_string(version) + rule_key(space_id, rule_uuid)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ancestry_string(ancestors: Sequence[Ancestor]) -> str:
    return "".join(_part(a.get("id", MISSING)) + _part(a.get("index", MISSING)) for a in ancestors)


def _part(value: Any) -> str:
    return value if type(value) is str else js_string(value)  # ids and indices are strings but for odd hits


def building_block_ids(ancestors_per_block: Sequence[Sequence[Ancestor]], rule_uuid: str) -> list[str]:
    """`generateBuildingBlockIds`: block i is `sha256(base + str(i))`, base covering every block of the sequence.

    `base` = for each block, its ancestors' `id + index`, then the rule uuid; so an event that appears in two
    different sequences gets a different building-block id in each.
    """
    base = "".join(_ancestry_string(ancestors) + rule_uuid for ancestors in ancestors_per_block)
    return [hashlib.sha256((base + str(i)).encode("utf-8")).hexdigest() for i in range(len(ancestors_per_block))]


def shell_alert_id(ancestors: Sequence[Ancestor], rule_uuid: str) -> str:
    """`generateAlertId` of the sequence shell: its ancestors' `id + index` (building blocks have index ""), then the
    rule uuid."""
    return hashlib.sha256((_ancestry_string(ancestors) + rule_uuid).encode("utf-8")).hexdigest()


__all__ = ["building_block_ids", "event_alert_id", "rule_key", "shell_alert_id"]
