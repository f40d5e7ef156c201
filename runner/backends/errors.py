"""What a backend reports when a search or a write does not succeed, classified for the execution.

The execution decides from the class alone: a `QueryError` fails the execution with Elasticsearch's message and is
not retried (the query will not get better); `IndexNotFound` is a warning (no data yet); `TransientError` is retried
and, when retries run out, leaves the window pending; `AccessError` is a configuration problem worth its own message. A `WriteError` says which alerts were written
before the rest failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.errors import RuleRunnerError


class BackendError(RuleRunnerError):
    """Root of backend failures."""


class QueryError(BackendError):
    """Elasticsearch refused the request (HTTP 400): `parsing_exception`, `verification_exception`, ..."""

    def __init__(self, es_type: str, reason: str) -> None:
        self.es_type = es_type
        self.reason = reason
        super().__init__(f"{es_type}: {reason}")


class IndexNotFound(BackendError):
    """No index matches the rule's index patterns (Elasticsearch: 404 `index_not_found_exception`)."""


class AccessError(BackendError):
    """Authentication or privileges (401/403)."""


class TransientError(BackendError):
    """Worth retrying: overload (429), server errors (5xx), timeouts, lost connections, a busy local store."""


class ShardFailures(TransientError):
    """A search answered with `shard_failures`: its results are partial, so the window was not evaluated."""


class StateNotSaved(BackendError):
    """The rule's state could not be saved at the end of an execution: its next execution searches the same time
    again (which writes no alert twice)."""


class WriteError(BackendError):
    """Some alerts were not written. `created` and `duplicates` (already written) were acknowledged before it
    happened; `retryable`: only overload or connection trouble stood in the way, so sending the rest may succeed."""

    def __init__(self, message: str, *, created: Sequence[str], duplicates: Sequence[str], retryable: bool) -> None:
        super().__init__(message)
        self.created = tuple(created)
        self.duplicates = tuple(duplicates)
        self.retryable = retryable


__all__ = [
    "AccessError", "BackendError", "IndexNotFound", "QueryError", "ShardFailures", "StateNotSaved", "TransientError",
    "WriteError",
]
