"""What a backend reports when a search or a write does not succeed, classified for the execution.

The execution decides from the class alone: a `QueryError` fails the execution with Elasticsearch's message and is
not retried (the query will not get better); `IndexNotFound` is a warning (no data yet); `TransientError` is retried
and, when retries run out, leaves the window pending; `IncompleteAnswer` is a transient error too (an answer that says
it is not whole is never taken for a searched window); `AccessError` is a configuration problem worth its own message.
`NoStore` is a backend opened only to look (or to use what exists) where nothing was stored yet; `CannotOpen` is a
backend that cannot be opened as configured (a store path that cannot be opened or made): a configuration problem.
A `WriteError` says which alerts were written before the rest failed, which ones the index refused for their content
(`rejected`, with the field it named), and whether the outcome of the failed request is unknown (`unknown`: it may
have been applied although no answer came back). `StateNotSaved` is a state write that was refused; a
`TransientError` from a state write leaves its outcome unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


class IncompleteAnswer(TransientError):
    """A search answered (HTTP 200) but marked its answer incomplete: `shard_failures`, `is_partial: true` or
    `timed_out: true`. Its results are partial, so the window was not evaluated; `shard_failures` says whether shards
    failed (Kibana's "unavailable shards" message) or the answer was cut short otherwise."""

    def __init__(self, message: str, *, shard_failures: bool) -> None:
        super().__init__(message)
        self.shard_failures = shard_failures


class NoStore(BackendError):
    """Opened to look (or to use only what exists) where there is no store yet: nothing was ingested or run. Never
    answered by making an empty store."""


class CannotOpen(BackendError):
    """The configured backend cannot be opened: its store's path cannot be opened or made, or is not a store. A
    configuration problem, not a failure of the work."""


class StorageDamaged(BackendError):
    """The backend's storage is damaged (e.g. an embedded store file that is not a database, or corrupt): nothing
    read from it can be trusted and trying again cannot help. Said as it is, a failure of the work (exit 1)."""


class StateNotSaved(BackendError):
    """The store refused the rule's state: it was not saved, and the rule's next execution searches the same time
    again (which writes no alert twice)."""


class RecordNotStored(TransientError):
    """The rule's state (if any) was saved, but the execution record was not (worth trying again: both writes are
    idempotent)."""


class StateBusy(StateNotSaved, TransientError):
    """The store refused the rule's state for now (overload): it was not saved, and trying again may succeed."""


@dataclass(frozen=True)
class Rejected:
    """An alert the alerts index refused for its content (a mapping conflict: `document_parsing_exception`,
    `mapper_parsing_exception`): sending it again unchanged fails again. `field` is the field the refusal names
    (its full dotted path), when it names one."""

    id: str
    field: str | None
    reason: str


class WriteError(BackendError):
    """Some alerts were not written. `created` and `duplicates` (already written) were acknowledged before it
    happened; `rejected` were refused for their content; `retryable`: only overload or connection trouble stood in
    the way, so sending the rest may succeed; `unknown`: a request failed without an answer per alert, so some of its
    alerts may have been written after all (a lost acknowledgement)."""

    def __init__(self, message: str, *, created: Sequence[str], duplicates: Sequence[str], retryable: bool,
                 rejected: Sequence[Rejected] = (), unknown: bool = False) -> None:
        super().__init__(message)
        self.created = tuple(created)
        self.duplicates = tuple(duplicates)
        self.rejected = tuple(rejected)
        self.retryable = retryable
        self.unknown = unknown


__all__ = [
    "AccessError", "BackendError", "CannotOpen", "IncompleteAnswer", "IndexNotFound", "NoStore", "QueryError",
    "RecordNotStored", "Rejected", "StateBusy", "StateNotSaved", "StorageDamaged", "TransientError", "WriteError",
]
