"""Elasticsearch's failures, as the classes the execution decides from (`runner.backends.errors`).

400 is the request's fault (a query Elasticsearch refuses: never retried); 404 on a search is an index pattern that
matches nothing; 401/403 and TLS failures are configuration problems; 429, 5xx, timeouts and lost connections are
worth retrying. The message keeps Elasticsearch's own type and reason, which is what a user searches for.
"""

from __future__ import annotations

from typing import Any

from elastic_transport import TlsError, TransportError
from elasticsearch import ApiError, UnsupportedProductError

from runner.backends.errors import AccessError, BackendError, IndexNotFound, QueryError, TransientError


def error_cause(body: Any) -> tuple[str, str]:
    """(type, reason) of an error response body: the top-level cause, else the first root cause."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return "error", error
    if not isinstance(error, dict):
        return "error", str(body)[:500] if body else "no error body"
    kind, reason = error.get("type"), error.get("reason")
    roots = error.get("root_cause") or []
    root = roots[0] if roots and isinstance(roots[0], dict) else {}
    return str(kind or root.get("type") or "error"), str(reason or root.get("reason") or "")


def _mentions_missing_index(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    causes = [error, *[c for c in error.get("root_cause") or [] if isinstance(c, dict)]]
    return any(c.get("type") == "index_not_found_exception" or "Unknown index" in str(c.get("reason", "")) for c in causes)


def classify(error: Exception, what: str) -> BackendError:
    """The backend error for a failed call; `what` names the call (`"EQL search on [logs-*]"`)."""
    if isinstance(error, UnsupportedProductError):
        return AccessError(f"{what}: the server did not identify itself as Elasticsearch ({error})")
    if isinstance(error, ApiError):
        status = error.meta.status if error.meta is not None else 0
        kind, reason = error_cause(error.body)
        if status == 401:
            return AccessError(f"{what}: authentication failed (HTTP 401 {kind}: {reason}); check elasticsearch "
                               "username/password or api_key")
        if status == 403:
            return AccessError(f"{what}: not permitted (HTTP 403 {kind}: {reason})")
        if status == 404 and _mentions_missing_index(error.body):
            return IndexNotFound(reason)
        if status == 429 or status >= 500 or status in (408, 0):
            return TransientError(f"{what}: HTTP {status} {kind}: {reason}")
        return QueryError(kind, reason)
    if isinstance(error, TransportError):
        detail = getattr(error, "message", None) or str(error)  # str() of a ConnectionError is only "Connection error"
        if isinstance(error, TlsError):
            return AccessError(f"{what}: TLS failed: {detail}; check elasticsearch.ca_certs and the server's "
                               "certificate")
        return TransientError(f"{what}: {type(error).__name__}: {detail}")
    raise error  # not a client error: a bug, which must not pass for Elasticsearch's failure


__all__ = ["classify", "error_cause"]
