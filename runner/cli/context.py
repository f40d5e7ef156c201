"""What every command starts from: the settings, the console, logging, the rules and the backend."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from runner.alerts import KIBANA_VERSION
from runner.backends import Backend, BackendError
from runner.backends.elasticsearch import ElasticsearchBackend, cluster_info
from runner.backends.embedded import EmbeddedBackend, Store, StoreError
from runner.catalog import Catalog, Rule, load_rules
from runner.errors import RuleRunnerError
from runner.execution import ExecutionOptions
from runner.service import select_rules
from runner.settings import Settings, SettingsError, load_settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay one line each: grep-able


class CommandError(RuleRunnerError):
    """A command cannot do its job; the message says why, the exit status is `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    settings: Settings
    kibana_version: str = KIBANA_VERSION  # of the alerts; Kibana mode: the cluster's Kibana's, once it is checked

    @classmethod
    def load(cls, config: str | None) -> Context:
        try:
            settings = load_settings(config)
        except SettingsError as error:
            raise CommandError(f"configuration error:\n{error}") from None
        setup_logging(settings)
        return cls(settings)

    def rules(self, paths: list[str] | None = None) -> Catalog:
        return load_rules(paths if paths else self.settings.rules.paths)

    def runnable_rules(self, paths: list[str] | None = None) -> tuple[Rule, ...]:
        """The enabled EQL rules the configuration selects, overrides applied; bad rule files are reported (and
        skipped), no rule at all is an error."""
        catalog = self.rules(paths)
        for error in catalog.errors:
            err.print(f"error: {error} (rule skipped)", markup=False)
        chosen = self.settings.rules
        rules = select_rules(catalog, selects=chosen.selects, overrides=chosen.overrides).enabled
        if not rules:
            where = ", ".join(str(p) for p in (paths or chosen.paths))
            raise CommandError(f"no enabled EQL rule to run (rule paths: {where})", code=1)
        return rules

    def store(self, *, create: bool = True) -> Store | None:
        path = self.settings.embedded.path
        if not create and not Path(path).exists():
            return None
        try:
            return Store(path)
        except StoreError as error:
            raise CommandError(str(error)) from None

    def backend(self) -> Backend:
        """The configured backend, ready: the embedded store opened, or the cluster checked and prepared."""
        if self.settings.backend == "elasticsearch":
            return self.cluster()
        store = self.store()
        assert store is not None
        return EmbeddedBackend(store)

    def cluster(self, *, prepare: bool = True) -> ElasticsearchBackend:
        """The Elasticsearch backend, its cluster checked; with `prepare`, the alerts and state indices too."""
        hosts = ", ".join(self.settings.elasticsearch.hosts) if self.settings.elasticsearch else "?"
        try:
            backend = ElasticsearchBackend.from_settings(self.settings, KIBANA_VERSION)
        except BackendError as error:
            raise CommandError(f"Elasticsearch ({hosts}): {error}") from None
        try:
            if prepare:
                backend.start()
                self.kibana_version = backend.kibana_version
            else:
                backend.cluster = cluster_info(backend.client)
        except BackendError as error:
            backend.close()
            raise CommandError(f"Elasticsearch ({hosts}): {error}") from None
        return backend

    def options(self) -> ExecutionOptions:
        alerts, scheduler, es = self.settings.alerts, self.settings.scheduler, self.settings.elasticsearch
        retries = {}
        if self.settings.backend == "elasticsearch" and es is not None:
            retries = {"retries": es.max_retries, "retry_backoff": es.retry_backoff.total_seconds()}
        return ExecutionOptions(space_id=alerts.space_id, alerts_index=alerts.index_name,
                                timeout=scheduler.execution_timeout.total_seconds(),
                                max_window_splits=scheduler.max_window_splits, kibana_version=self.kibana_version,
                                **retries)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
        }
        execution = getattr(record, "execution", None)
        if execution is not None:
            entry["execution"] = execution
        if record.exc_info:
            entry["error.stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.logging.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.logging.level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    # the client logs every request at INFO: the execution's one line per run says what matters
    logging.getLogger("elastic_transport").setLevel(max(logging.WARNING, root.level))


def parse_instant(text: str | None) -> datetime:
    """`--now`: an ISO 8601 instant (UTC when no offset is given); absent: the current time."""
    if text is None:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--now: [{text}] is not an ISO 8601 date and time (e.g. 2026-01-15T10:05:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


__all__ = ["CommandError", "Context", "err", "out", "parse_instant", "setup_logging"]
