"""What every command starts from: the settings, the consoles, logging, the rules and the backend.

The consoles print text as it is: no rich markup, no emoji codes, no highlighting. Rule names, messages, reasons,
file names and errors are foreign text (`Unknown column [flow.final]` must not lose its brackets to markup), so
nothing printed is interpreted; our own emphasis is a `style=` or a `rich.text.Text`. On a terminal the output is as
wide as the terminal; to a pipe or a file lines are not wrapped (rich would wrap at 80 columns), so a table row stays
one line for grep and less.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console, ConsoleDimensions

from runner.alerts import KIBANA_VERSION
from runner.backends import (
    Access,
    Backend,
    BackendError,
    BackendInfo,
    KibanaClient,
    NoStore,
    StorageDamaged,
    describe,
    open_backend,
    templates,
)
from runner.catalog import Catalog, Rule, UuidSource, load_rules
from runner.ecs import Templates
from runner.errors import RuleRunnerError
from runner.execution import ExecutionOptions
from runner.service import KibanaLink, link_kibana_rules, select_rules
from runner.settings import Settings, SettingsError, load_settings

log = logging.getLogger("runner.cli")
_LISTED = 50  # rule ids named in the "not installed in Kibana" warning; the rest are counted
PIPE_WIDTH = 4096  # the width of output that does not go to a terminal: wide enough that no row wraps


class _Console(Console):
    """A console that prints foreign text literally and does not wrap what goes to a pipe or a file."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and "COLUMNS" not in os.environ and not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = _Console()
err = _Console(stderr=True)  # messages stay one line each: grep-able


class CommandError(RuleRunnerError):
    """A command cannot do its job; the message says why, the exit status is `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    settings: Settings

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
            err.print(f"error: {error} (rule skipped)")
        chosen = self.settings.rules
        rules = select_rules(catalog, selects=chosen.selects, overrides=chosen.overrides).enabled
        if not rules:
            where = ", ".join(str(p) for p in (paths or chosen.paths))
            raise CommandError(f"no enabled EQL rule to run (rule paths: {where})", code=1)
        return rules

    def kibana_link(self, rules: Sequence[Rule]) -> KibanaLink | None:
        """With `kibana.url`: the rules with the ids of the rules installed in Kibana under their rule_ids (one
        lookup for all, in the space `alerts.space_id`); None without it. Raises the backend's error: a
        `TransientError` (Kibana unreachable, starting, overloaded) is worth retrying, an `AccessError` is not."""
        kibana = self.settings.kibana
        if kibana.url is None:
            return None
        with KibanaClient(kibana) as client:
            space = self.settings.alerts.space_id
            return link_kibana_rules(rules, lambda rule_ids: client.installed_rule_uuids(rule_ids, space))

    def with_kibana_uuids(self, rules: Sequence[Rule]) -> tuple[Rule, ...]:
        """Start-up step of `run`: `kibana_link`, with one log line saying what it found and one warning listing the
        rules Kibana does not have (their alerts keep the default uuid and link to no Kibana rule)."""
        link = self.kibana_link(rules)
        if link is None:
            return tuple(rules)
        kibana, space = self.settings.kibana.url, self.settings.alerts.space_id
        linked = sum(1 for rule in link.rules if rule.uuid_source is UuidSource.KIBANA)
        pinned = sum(1 for rule in link.rules if rule.uuid_source is UuidSource.OVERRIDE)
        log.info("Kibana (%s, space %s): %d rule(s) linked to the rule installed with their rule_id, %d not "
                 "installed, %d with their uuid set in rules.overrides", kibana, space, linked,
                 len(link.not_installed), pinned)
        if link.not_installed:
            shown = ", ".join(link.not_installed[:_LISTED])
            more = len(link.not_installed) - _LISTED
            log.warning("%d rule(s) not installed in Kibana (%s, space %s) keep the default uuid (a uuid5 of the "
                        "rule_id), so their alerts link to no Kibana rule: %s%s", len(link.not_installed), kibana,
                        space, shown, f" and {more} more (explain RULE_ID shows each)" if more > 0 else "")
        return link.rules

    def linked_rules(self, rules: Sequence[Rule]) -> tuple[Rule, ...]:
        """`with_kibana_uuids` for a command that runs once: tried again on failures that may pass, like the cluster
        (`cluster`); then a failure of the work (exit 1), since a guessed uuid would give alert ids and rule links
        that differ from Kibana's."""

        def retrying(error: BaseException, seconds: float) -> None:
            log.warning("%s; trying again in %gs", error, seconds)

        try:
            return self.options().retry.call(lambda: self.with_kibana_uuids(rules), on_retry=retrying)
        except BackendError as error:
            raise CommandError(f"cannot read the rules' ids from Kibana, so rule-runner does not start (its alerts "
                               f"would not match Kibana's rules): {error}", code=1) from None

    def templates(self) -> Templates:
        """The embedded engine's index templates (shipped, and `embedded.templates`); a file that is not a template
        is a configuration error (exit 2) naming it."""
        try:
            return templates(self.settings)
        except BackendError as error:
            raise CommandError(str(error), code=2) from None

    def open_backend(self, access: Access = Access.WRITE) -> Backend:
        """The configured backend, opened for `access`; not checked, not started. Raises the backend's error
        (`NoStore` when `access` only uses what exists and nothing was stored yet); `opening_failed` words the
        others."""
        return open_backend(self.settings, access=access, kibana_version=KIBANA_VERSION)

    def backend(self, *, start: bool = True, check: bool = False, access: Access = Access.WRITE) -> Backend:
        """The configured backend, opened for `access` (`NoStore` passes through); with `start`, ready (checked
        and prepared: the cluster's alerts and state indices), else with `check` checked (`GET /` of a cluster).
        Without either the caller starts it (the service waits for its cluster). A failure that may pass (a refused
        or reset connection, overload) is tried again with the configured backoff; a backend that cannot be reached
        or used is a failure of the work (exit 1), one that cannot be opened as configured exit 2 (a damaged store:
        exit 1)."""
        try:
            backend = self.open_backend(access)
        except NoStore:
            raise
        except BackendError as error:
            raise opening_failed(error, describe(self.settings)) from None
        if not (start or check):
            return backend

        def retrying(error: BaseException, seconds: float) -> None:
            log.warning("%s: %s; trying again in %gs", backend.where, error, seconds)

        try:
            self.options().retry.call(backend.start if start else backend.check, on_retry=retrying)
        except BackendError as error:
            backend.close()
            raise CommandError(f"{backend.where}: {error}", code=1) from None
        return backend

    def options(self) -> ExecutionOptions:
        alerts, scheduler, backend = self.settings.alerts, self.settings.scheduler, describe(self.settings)
        options = ExecutionOptions(space_id=alerts.space_id, alerts_index=alerts.index_name,
                                   timeout=scheduler.execution_timeout.total_seconds(),
                                   max_window_splits=scheduler.max_window_splits,
                                   public_base_url=self.settings.kibana.links_base_url)
        if backend.max_retries is not None and backend.retry_backoff is not None:  # else the execution's defaults
            options = replace(options, retries=backend.max_retries, retry_backoff=backend.retry_backoff)
        return options


def opening_failed(error: BackendError, backend: BackendInfo) -> CommandError:
    """A backend that could not be opened: a damaged store is a failure of the work (exit 1), anything else a
    configuration problem (exit 2: a store path that cannot be opened, a client that cannot be configured). A remote
    backend's message names it and where it is (a store's errors name its path already)."""
    message = f"{backend.where}: {error}" if backend.remote else str(error)
    return CommandError(message, code=1 if isinstance(error, StorageDamaged) else 2)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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
    # and every failed request as a node "put on timeout": a single node is used anyway, and our retries say it once
    logging.getLogger("elastic_transport.node_pool").setLevel(max(logging.ERROR, root.level))


# how far `--now` may lie ahead of this machine's clock: clocks of machines that exchange timestamps disagree by
# seconds, rarely minutes; an hour ahead is a mistake (a typo, local time written as UTC)
NOW_SKEW = timedelta(minutes=5)


def parse_instant(text: str | None) -> datetime:
    """`--now` (of `run --once` and `explain`): an ISO 8601 instant with its time zone (`Z` or an offset), at most
    `NOW_SKEW` ahead of the clock; absent: the current time. Without a zone the instant is ambiguous (UTC? local?)
    and a guess would move every window by hours; a future start would mark time not yet seen as searched (the
    rule's state advances to it), so both are refused."""
    clock = datetime.now(UTC)
    if text is None:
        return clock
    example = "e.g. 2026-01-15T10:05:00Z, or 2026-01-15T11:05:00+01:00"
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CommandError(f"--now: [{text}] is not an ISO 8601 date and time ({example})") from None
    if value.tzinfo is None:
        raise CommandError(f"--now: [{text}] has no time zone: add Z for UTC or the offset ({example})")
    if value - clock > NOW_SKEW:
        ahead = value - clock
        raise CommandError(f"--now: [{text}] is {_duration(ahead)} in the future (this machine's clock says "
                           f"{clock.isoformat(timespec='seconds')}; at most {_duration(NOW_SKEW)} ahead is allowed for "
                           "clock skew): a start in the future would mark time not yet seen as searched")
    return value


def _duration(delta: timedelta) -> str:
    """The two largest units: "2 days 3 hours", "1 hour 59 minutes", "5 minutes", "40 seconds"."""
    left, parts = int(delta.total_seconds()), []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count > 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"


__all__ = ["NOW_SKEW", "PIPE_WIDTH", "CommandError", "Context", "err", "opening_failed", "out", "parse_instant",
           "setup_logging"]
