"""The embedded default: a local SQLite store searched by our own EQL engine."""

from runner.backends.embedded.backend import EmbeddedBackend, resolve_indices
from runner.backends.embedded.store import BadDocument, IngestResult, Store, StoreDamaged, StoreError, WriteResult

__all__ = ["BadDocument", "EmbeddedBackend", "IngestResult", "Store", "StoreDamaged", "StoreError", "WriteResult", "resolve_indices"]
