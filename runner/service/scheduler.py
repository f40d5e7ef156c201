"""The service: every enabled rule on its interval, with APScheduler.

One interval job per interval: the rules that share an interval are due at the same instants, and each run of their
job executes them together (`execute_many`: the searches of their windows sent as one `search_many`, which the
embedded store answers from one read of the window, rather than one read per rule). `max_instances=1` (a rule never
overlaps itself: nor does its group) and coalescing (runs missed while one was running, or while the process was
down, collapse into one: the windows of the next execution catch up on the time). The executions' own steps run on
a thread pool of `max_concurrent_executions` workers, shared by all the jobs. Each job's first run is at start plus
a random jitter, so that services started together do not all hit the backend in the same second. One job per
interval rather than a coalescing step in front of per-rule jobs: the rules of an interval are due at exactly the
same instants by construction, with no window of time to wait in; the price is that a run of the group waits for its
slowest rule, which the next run's catch-up windows make up for, as they do for a single slow rule. Stopping lets running executions finish
and starts no new one; an execution interrupted anyway (SIGKILL, power loss) is covered by the next start's windows,
because the rule's state only advances after a complete execution.

Start-up waits for the backend (and, when configured, for the Kibana that gives the rules their uuids): a cluster
that is down, overloaded or not ready (no alerts index yet) when the service starts is tried again with backoff,
one log line per attempt, until it answers or the service is stopped, so that a service started with its cluster
(a Compose stack, a reboot) does not exit and lose the time.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor as Pool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# APScheduler 3 ships no type information (no py.typed): its names are Any here (pyproject.toml's mypy overrides)
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from runner.backends import Backend, BackendError
from runner.catalog import Rule
from runner.execution import ExecutionOptions, ExecutionRecord, ExecutionStatus, RetryPolicy, execute_many
from runner.ruletypes import runnable

log = logging.getLogger("runner.service")
_DEFAULT_OPTIONS = ExecutionOptions()  # frozen: one instance serves every default

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def log_execution(rule: Rule, record: ExecutionRecord) -> None:
    """One line per execution: rule, windows, hits, alerts, duration, status."""
    windows = ", ".join(f"{w.start}..{w.end}" for w in record.windows) or "-"
    level = (logging.ERROR if record.status == ExecutionStatus.FAILED else
             logging.WARNING if record.status == ExecutionStatus.PARTIAL_FAILURE else logging.INFO)
    log.log(
        level,
        "rule=%s name=%r windows=[%s] hits=%d alerts=%d duplicates=%d%s duration_ms=%d status=%s%s",
        rule.rule_id, rule.name, windows, record.hits, record.alerts_created, record.duplicates,
        f" failed_alerts={record.alerts_failed}" if record.alerts_failed else "", round(record.duration_ms),
        record.status,
        f" message={record.message!r}" if record.status != ExecutionStatus.SUCCEEDED else "",
        extra={"execution": record.to_dict()},
    )


class Service:
    """The scheduler around `execute`. `start()` returns at once; `run_forever()` blocks until a signal."""

    def __init__(
        self,
        rules: Sequence[Rule],
        backend: Backend,
        *,
        options: ExecutionOptions = _DEFAULT_OPTIONS,
        max_concurrent_executions: int = 4,
        first_run_jitter: timedelta = timedelta(seconds=10),
        misfire_grace_time: timedelta = timedelta(seconds=60),
        clock: Clock = _now,
        on_execution: Callable[[Rule, ExecutionRecord], None] = log_execution,
        link_rules: Callable[[Sequence[Rule]], Sequence[Rule]] | None = None,
    ) -> None:
        self.rules = [rule for rule in rules if rule.enabled and runnable(rule)]
        self.link_rules = link_rules  # a start-up step after the backend's: the rules as they will run
        self.backend = backend
        self.options = options
        self.clock = clock
        self.on_execution = on_execution
        self.first_run_jitter = first_run_jitter
        self.workers = max_concurrent_executions
        self.misfire_grace_time = misfire_grace_time
        self._stopped = threading.Event()
        self._pool = Pool(max_workers=max(1, max_concurrent_executions))
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max_concurrent_executions)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(misfire_grace_time.total_seconds()) or None},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def start(self) -> None:
        now = self.clock()
        jitter = self.first_run_jitter.total_seconds()
        groups: dict[float, list[Rule]] = {}
        for rule in self.rules:
            groups.setdefault(rule.params.interval_delta.total_seconds(), []).append(rule)
        for seconds, rules in groups.items():
            first = now + timedelta(seconds=random.uniform(0, jitter) if jitter > 0 else 0)
            self.scheduler.add_job(
                self.run_rules, IntervalTrigger(seconds=seconds, start_date=first, timezone=UTC),
                args=[rules], id=f"every {seconds:g}s", name=f"{len(rules)} rule(s) every {seconds:g}s",
                next_run_time=first,
            )
        self.scheduler.start()
        log.info("scheduled %d rules (%s backend, %d workers)", len(self.rules), self.backend.name, self.workers)

    def run_rules(self, rules: Sequence[Rule]) -> list[ExecutionRecord]:
        """One execution of each rule, as if scheduled now, together (`execute_many`)."""
        if self._stopped.is_set():
            return []
        return execute_many(rules, self.backend, started_at=self.clock(), pool=self._pool, options=self.options,
                            on_execution=self.on_execution)

    def stop(self, wait: bool = True) -> None:
        """No new executions; with `wait`, the running ones finish first."""
        self._stopped.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        self._pool.shutdown(wait=wait)

    def start_backend(self, stop: threading.Event) -> bool:
        """Start the backend (then `link_rules`), trying again after every failure (with backoff up to
        `STARTUP_MAX_BACKOFF`, one log line per attempt) until it starts or `stop` is set; True when it started."""
        policy = RetryPolicy(retries=None, backoff=max(self.options.retry_backoff, 1.0),
                             max_backoff=STARTUP_MAX_BACKOFF)
        attempts = [0]

        def attempt() -> None:
            attempts[0] += 1
            self.backend.start()
            if self.link_rules is not None:
                self.rules = list(self.link_rules(self.rules))

        def wait(seconds: float) -> None:
            if stop.wait(seconds):
                raise _Stopped

        def retrying(error: BaseException, seconds: float) -> None:
            log.error("the service did not start (attempt %d, %s backend): %s; trying again in %gs", attempts[0],
                      self.backend.name, error, seconds)

        try:
            policy.call(attempt, sleep=wait, retry_on=(BackendError,), on_retry=retrying)
        except _Stopped:
            return False
        if attempts[0] > 1:
            log.info("the service started at attempt %d", attempts[0])
        return True

    def run_forever(self, health_file: Path | None = None) -> None:
        """Start the backend (waiting for it, see `start_backend`), then schedule the rules and block until SIGINT or
        SIGTERM; then stop gracefully. With `health_file`, the file's time is renewed every `HEALTH_EVERY` seconds
        while the scheduler runs (a container health check reads it), and the file is removed on the way out."""
        stop = threading.Event()

        def handle(signum: int, _frame: Any) -> None:
            log.info("received %s: no new executions; waiting for the running ones", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        beat = 0.0
        try:
            if not self.start_backend(stop):
                return
            self.start()
            while True:
                if health_file is not None and self.scheduler.running and time.monotonic() - beat >= HEALTH_EVERY:
                    _touch(health_file)
                    beat = time.monotonic()
                if stop.wait(1.0):
                    break
        finally:
            if health_file is not None:
                health_file.unlink(missing_ok=True)
            self.stop(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("stopped")

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("rules %s: a run was skipped (due %s); the next run's windows catch up", event.job_id,
                        event.scheduled_run_time)
        elif event.exception is not None:
            log.error("rules %s: the job raised %r", event.job_id, event.exception)


HEALTH_EVERY = 30.0  # seconds
STARTUP_MAX_BACKOFF = 60.0  # seconds between start-up attempts, at most


class _Stopped(Exception):
    """The service was asked to stop while it waited for its backend."""


def _touch(path: Path) -> None:
    try:
        path.write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")
    except OSError as err:
        log.warning("cannot write the health file %s: %s", path, err)


def run_once(
    rules: Sequence[Rule],
    backend: Backend,
    *,
    now: datetime,
    options: ExecutionOptions = _DEFAULT_OPTIONS,
    max_concurrent_executions: int = 4,
    on_execution: Callable[[Rule, ExecutionRecord], None] = log_execution,
) -> list[tuple[Rule, ExecutionRecord]]:
    """Every enabled rule once, as if scheduled at `now`, together (`execute_many`); results in rule order."""
    chosen = [rule for rule in rules if rule.enabled and runnable(rule)]
    with Pool(max_workers=max(1, max_concurrent_executions)) as pool:
        records = execute_many(chosen, backend, started_at=now, pool=pool, options=options,
                               on_execution=on_execution)
    return list(zip(chosen, records, strict=True))


__all__ = ["Service", "log_execution", "run_once"]
