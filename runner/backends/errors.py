"""What a backend reports when a search or a write does not succeed, classified for the execution.

The execution decides from the class alone: a `QueryError` fails the execution with Elasticsearch's message and is
not retried (the query will not get better); `IndexNotFound` is a warning (no data yet); `TransientError` is retried
and, when retries run out, leaves the window pending; `AccessError` is a configuration problem worth its own message.
"""

from __future__ import annotations

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


__all__ = ["AccessError", "BackendError", "IndexNotFound", "QueryError", "TransientError"]
