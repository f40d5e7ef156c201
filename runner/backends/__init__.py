"""Where searches run and alerts go: the embedded store, or Elasticsearch, behind one interface (`Backend`).

`open_backend` opens the configured one; `describe` says what it is without opening it. Everything above this
layer uses these names only, never a backend's own package.
"""

from runner.backends.base import Access, Backend, IngestResult, WriteResult
from runner.backends.configured import BackendInfo, describe, open_backend, templates
from runner.backends.embedded.files import FileEvents
from runner.backends.embedded.memory import MemoryEvents
from runner.backends.embedded.time_order import REORDER_BUFFER
from runner.backends.errors import (
    AccessError,
    BackendError,
    CannotOpen,
    IncompleteAnswer,
    IndexNotFound,
    NoStore,
    QueryError,
    RecordNotStored,
    Rejected,
    StateBusy,
    StateNotSaved,
    StorageDamaged,
    TransientError,
    WriteError,
)
from runner.backends.json_text import read_json
from runner.backends.kibana import KibanaClient
from runner.backends.local_search import TemplateVerifier
from runner.backends.request import EqlRequest, SearchRequest

__all__ = [
    "Access",
    "AccessError",
    "Backend",
    "BackendError",
    "BackendInfo",
    "CannotOpen",
    "EqlRequest",
    "FileEvents",
    "IncompleteAnswer",
    "IndexNotFound",
    "IngestResult",
    "KibanaClient",
    "MemoryEvents",
    "NoStore",
    "QueryError",
    "REORDER_BUFFER",
    "RecordNotStored",
    "Rejected",
    "SearchRequest",
    "StateBusy",
    "StateNotSaved",
    "StorageDamaged",
    "TemplateVerifier",
    "TransientError",
    "WriteError",
    "WriteResult",
    "describe",
    "open_backend",
    "read_json",
    "templates",
]
