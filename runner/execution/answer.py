"""Judging a search's answer: complete or not, and what it found.

The one classifier of `_eql/search` and `_search` response bodies, for executions and hunts alike. An answer is taken
only when it evaluated the whole range: Elasticsearch marks an incomplete EQL answer in three ways (`shard_failures`,
`is_partial: true`, `timed_out: true`) and an incomplete `_search` answer in two (`_shards.failed` above 0, with the
failures in `_shards.failures`; `timed_out: true`), each an `IncompleteAnswer` (a `TransientError`: retried, and never
taken for a searched window); a body without `hits.events` or `hits.sequences` (EQL) or `hits.hits` (`_search`) is a
`MalformedAnswer`. (Kibana's query rule writes the alerts of a page with failed shards and reports the run failed,
`createErrorsFromShard`; here, as for EQL, the window stays pending and is searched again, which writes no alert
twice.) A `_search` answer whose only failures are shards without a mapping for the sort field is complete, as Kibana
counts it. What an answer found (how many results, which) is read by the rule's type (`RuleSearch.count` and
`keys` in `runner.ruletypes`), whose answers they are.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runner.alerts import NEITHER_EVENTS_NOR_SEQUENCES
from runner.backends import BackendError, IncompleteAnswer

NO_HITS = "search response should have `hits.hits` but had none"
# a shard that failed only because the sort field is unmapped in its index: Kibana counts the answer a success
# (createSearchAfterReturnTypeFromResponse in the detection engine's rule_types/utils/utils.ts: every failure's reason
# includes "No mapping found for [@timestamp] in order to sort on" or the same for the timestamp override); such a
# shard holds no document with that timestamp, which the window's range filter requires
_UNMAPPED_SORT = re.compile(r"No mapping found for \[[^\]]*\] in order to sort on")


class MalformedAnswer(BackendError):
    """A response without events or sequences."""


def checked(response: dict[str, Any]) -> dict[str, Any]:
    """The response of a search that evaluated the whole range; raises `IncompleteAnswer` for an answer marked
    incomplete (retried like overload) and `MalformedAnswer` for one without results of either kind."""
    failures = response.get("shard_failures")
    if failures:
        raise IncompleteAnswer(json.dumps(failures, default=str)[:2000], shard_failures=True)
    shards = response.get("_shards")  # a `_search` answer: `{"total", "successful", "skipped", "failed", "failures"?}`
    if isinstance(shards, dict) and isinstance(shards.get("failed"), int) and shards["failed"] > 0:
        failures = shards.get("failures")
        if not (failures and isinstance(failures, list) and all(_unmapped_sort(f) for f in failures)):
            detail = failures or f"{shards['failed']} of {shards.get('total', '?')} shards failed"
            raise IncompleteAnswer(json.dumps(detail, default=str)[:2000], shard_failures=True)
    marks = [key for key in ("is_partial", "timed_out") if response.get(key) is True]
    if marks:
        raise IncompleteAnswer(f"the answer says {' and '.join(f'{key}: true' for key in marks)}",
                               shard_failures=False)
    hits = response.get("hits")
    if _is_search(response):
        if not isinstance(hits, dict) or not isinstance(hits.get("hits"), list):
            raise MalformedAnswer(NO_HITS)
        return response
    # as the alerts are built: a key whose value is null counts as absent
    if not isinstance(hits, dict) or (hits.get("events") is None and hits.get("sequences") is None):
        raise MalformedAnswer(NEITHER_EVENTS_NOR_SEQUENCES)
    return response


def _unmapped_sort(failure: Any) -> bool:
    reason = failure.get("reason") if isinstance(failure, dict) else None
    text = reason.get("reason") if isinstance(reason, dict) else None
    return isinstance(text, str) and _UNMAPPED_SORT.search(text) is not None


def _is_search(response: dict[str, Any]) -> bool:
    """A `_search` answer (`_shards`, `hits.hits`) rather than an `_eql/search` one (`hits.events`/`sequences`)."""
    hits = response.get("hits")
    if isinstance(hits, dict) and ("events" in hits or "sequences" in hits):
        return False
    return "_shards" in response or (isinstance(hits, dict) and "hits" in hits)


__all__ = ["NO_HITS", "MalformedAnswer", "checked"]
