"""The embedded default: a local SQLite store searched by our own EQL engine."""

from runner.backends.embedded.backend import EmbeddedBackend, resolve_indices
from runner.backends.embedded.store import BadDocument, Store, StoreBusy, StoreDamaged, StoreError

__all__ = ["BadDocument", "EmbeddedBackend", "Store", "StoreBusy", "StoreDamaged", "StoreError", "resolve_indices"]
