"""Where searches run and alerts go: the embedded store, or Elasticsearch."""

from runner.backends.base import Backend, WriteOutcome
from runner.backends.errors import (
    AccessError,
    BackendError,
    IncompleteAnswer,
    IndexNotFound,
    QueryError,
    RecordNotStored,
    Rejected,
    StateBusy,
    StateNotSaved,
    TransientError,
    WriteError,
)
from runner.backends.request import EqlRequest

__all__ = [
    "AccessError",
    "Backend",
    "BackendError",
    "EqlRequest",
    "IncompleteAnswer",
    "IndexNotFound",
    "QueryError",
    "RecordNotStored",
    "Rejected",
    "StateBusy",
    "StateNotSaved",
    "TransientError",
    "WriteError",
    "WriteOutcome",
]
