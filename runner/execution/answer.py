"""Judging a search's answer: complete or not, and what it found.

The one classifier of `_eql/search` response bodies, for executions and hunts alike. An answer is taken only when it
evaluated the whole range: Elasticsearch marks an incomplete one in three ways (`shard_failures`, `is_partial: true`,
`timed_out: true`), each an `IncompleteAnswer` (a `TransientError`: retried, and never taken for a searched window);
a body without `hits.events` or `hits.sequences` is a `MalformedAnswer`. Results are events or sequences; the count
and the identity of a result (its events' `_index` and `_id`) are read here and nowhere else.
"""

from __future__ import annotations

import json
from typing import Any

from runner.alerts import NEITHER_EVENTS_NOR_SEQUENCES
from runner.backends import BackendError, IncompleteAnswer


class MalformedAnswer(BackendError):
    """A response without events or sequences."""


def checked(response: dict[str, Any]) -> dict[str, Any]:
    """The response of a search that evaluated the whole range; raises `IncompleteAnswer` for an answer marked
    incomplete (retried like overload) and `MalformedAnswer` for one without results of either kind."""
    failures = response.get("shard_failures")
    if failures:
        raise IncompleteAnswer(json.dumps(failures, default=str)[:2000], shard_failures=True)
    marks = [key for key in ("is_partial", "timed_out") if response.get(key) is True]
    if marks:
        raise IncompleteAnswer(f"the answer says {' and '.join(f'{key}: true' for key in marks)}",
                               shard_failures=False)
    hits = response.get("hits")
    # as the alerts are built: a key whose value is null counts as absent
    if not isinstance(hits, dict) or (hits.get("events") is None and hits.get("sequences") is None):
        raise MalformedAnswer(NEITHER_EVENTS_NOR_SEQUENCES)
    return response


def result_count(response: dict[str, Any]) -> int:
    """The number of results (events or sequences) of a checked response."""
    hits = response["hits"]
    return len(hits.get("events") or hits.get("sequences") or [])


ResultKey = tuple[Any, ...]


def result_keys(response: dict[str, Any]) -> set[ResultKey]:
    """Each result of a checked response by identity: an event's `(_index, _id)`, a sequence's tuple of those."""
    hits = response["hits"]
    if "events" in hits:
        return {(e.get("_index"), e.get("_id")) for e in hits["events"]}
    return {tuple((e.get("_index"), e.get("_id")) for e in s.get("events", [])) for s in hits["sequences"]}


__all__ = ["MalformedAnswer", "ResultKey", "checked", "result_count", "result_keys"]
