"""The body of an Elasticsearch `_eql/search` response, which both backends answer with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def event_hit(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"_index": doc["_index"], "_id": doc.get("_id"), "_source": doc["_source"]}


def missing_event() -> dict[str, Any]:
    """The placeholder Elasticsearch puts where a missing-event stage (`![...]`) sits in a sequence."""
    return {"_index": "", "_id": "", "_source": {}, "missing": True}


def sequence_hit(join_keys: tuple[Any, ...] | None, events: list[Mapping[str, Any] | None]) -> dict[str, Any]:
    hit: dict[str, Any] = {}
    if join_keys:
        hit["join_keys"] = list(join_keys)
    hit["events"] = [missing_event() if doc is None else event_hit(doc) for doc in events]
    return hit


def response_body(hits: dict[str, list[dict[str, Any]]], took: int) -> dict[str, Any]:
    (results,) = hits.values()
    return {
        "is_partial": False,
        "is_running": False,
        "took": took,
        "timed_out": False,
        "hits": {"total": {"value": len(results), "relation": "eq"}, **hits},
    }


__all__ = ["event_hit", "missing_event", "response_body", "sequence_hit"]
