"""The configured backend: the one place that reads `backend:` from the settings.

`open_backend` opens the backend the settings name (see `runner.backends.base` for the lifecycle), and `describe`
says what the commands need to know of it before or without opening it (its name and where it is, whether it is
reached over the network, its connection settings for `explain`, its retry settings). A new backend is added here
and nowhere else above this layer: the commands and the execution only see the `Backend` interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.alerts import KIBANA_VERSION
from runner.backends.base import Access, Backend
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.backends.embedded import EmbeddedBackend
from runner.backends.errors import CannotOpen
from runner.ecs import TemplateError, Templates, load_templates
from runner.settings import Settings


@dataclass(frozen=True)
class BackendInfo:
    """The configured backend, as the commands refer to it without opening it."""

    name: str  # `backend:` ("embedded", "elasticsearch")
    title: str  # what messages call it: "Elasticsearch", "the embedded store"
    where: str  # "Elasticsearch (https://es:9200)", "the embedded store data/store.db"
    # reached over the network: a command that does not need it (`validate` without `--backend`) leaves it alone
    remote: bool
    connection: dict[str, Any] | None  # the connection settings, secrets redacted (`explain`); None: no connection
    max_retries: int | None  # the backend's own retry settings; None: the execution's defaults
    retry_backoff: float | None  # seconds


def describe(settings: Settings) -> BackendInfo:
    """What the commands need to know of the configured backend, without opening it."""
    if settings.backend == "elasticsearch":
        es = settings.elasticsearch
        assert es is not None  # Settings requires the section for this backend
        return BackendInfo(name=settings.backend, title=ElasticsearchBackend.title,
                           where=ElasticsearchBackend.where_of(es), remote=True,
                           connection=settings.redacted().get("elasticsearch"), max_retries=es.max_retries,
                           retry_backoff=es.retry_backoff.total_seconds())
    return BackendInfo(name=settings.backend, title=EmbeddedBackend.title,
                       where=EmbeddedBackend.where_of(settings.embedded.path), remote=False, connection=None,
                       max_retries=None, retry_backoff=None)


def open_backend(settings: Settings, *, access: Access = Access.WRITE, kibana_version: str = KIBANA_VERSION) -> Backend:
    """The configured backend, opened for `access` (not checked or started: see `Backend.check` and `start`).
    Raises `NoStore` (nothing stored yet, when `access` only uses what exists), `StorageDamaged`, `CannotOpen` (the
    embedded store's path), or an `AccessError` (a client that cannot be configured; the message does not repeat
    which backend: `describe(settings).where` says it)."""
    if settings.backend == "elasticsearch":
        return ElasticsearchBackend.from_settings(settings, kibana_version)
    return EmbeddedBackend.open(settings.embedded.path, access, templates=templates(settings))


def templates(settings: Settings) -> Templates:
    """The index templates of the embedded engine: the shipped ones and the directory `embedded.templates` names.
    `CannotOpen` (a configuration problem) naming the file that is not a template."""
    try:
        return load_templates(settings.embedded.templates)
    except TemplateError as error:
        raise CannotOpen(f"embedded.templates: {error}") from None


__all__ = ["BackendInfo", "describe", "open_backend", "templates"]
