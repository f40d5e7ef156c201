"""One execution of one rule: windows → search each → alerts → drop known ids → write → state → record.

The order of the last steps is what makes executions safe to repeat: alerts are written create-only under ids that
depend only on the events and the rule, and the rule's state (the start of its last complete execution) advances
only after every window was searched and its alerts acknowledged. An execution that fails or is killed part-way
leaves the state where it was, so the next one searches the same time again (as catch-up windows) and the alerts it
already wrote come back as duplicates, not as new alerts.
"""

from __future__ import annotations

import json
import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from runner.alerts import KIBANA_VERSION, Alert, AlertContext, build_alerts
from runner.backends import (
    Backend,
    BackendError,
    IndexNotFound,
    QueryError,
    ShardFailures,
    StateNotSaved,
    TransientError,
    WriteError,
    build_request,
    iso,
)
from runner.catalog import Rule
from runner.execution.windows import Window, plan_windows

log = logging.getLogger("runner.execution")

SUCCEEDED = "succeeded"
PARTIAL_FAILURE = "partial failure"
FAILED = "failed"
_DONE, _PENDING, _FATAL = "done", "pending", "fatal"
MAX_SIGNALS_WARNING = "This rule reached the maximum alert limit for the rule execution. Some alerts were not created."


@dataclass(frozen=True)
class ExecutionOptions:
    """What an execution needs besides the rule and the backend (from settings)."""

    space_id: str = "default"
    alerts_index: str | None = None  # default: Kibana's alias for the space
    retries: int = 3
    retry_backoff: float = 0.5  # seconds, doubled each attempt
    public_base_url: str | None = None
    timeout: float | None = None  # seconds; past it no window or retry starts (what is left stays pending)
    max_window_splits: int = 3  # a search returning `size` results is searched again in halves, this deep at most
    kibana_version: str = KIBANA_VERSION  # `kibana.version` of the alerts (Kibana mode: the cluster's Kibana's)

    @property
    def index(self) -> str:
        return self.alerts_index or f".alerts-security.alerts-{self.space_id}"


@dataclass
class WindowResult:
    start: str
    end: str
    hits: int = 0
    alerts: int = 0
    created: int = 0
    duplicates: int = 0
    searches: int = 0  # more than one when the window was split to recover truncated results
    status: str = "pending"  # searched | no index | failed | timed out


@dataclass
class ExecutionRecord:
    """What an execution did: Kibana's status, messages and metrics, plus our per-window detail."""

    uuid: str
    rule_id: str
    rule_name: str
    started_at: str
    status: str = "running"
    finished_at: str | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    windows: list[WindowResult] = field(default_factory=list)
    gap: dict[str, Any] | None = None
    duration_ms: float = 0.0
    search_ms: float = 0.0
    write_ms: float = 0.0
    hits: int = 0
    alerts_created: int = 0
    duplicates: int = 0
    state_advanced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def execute(
    rule: Rule,
    backend: Backend,
    *,
    started_at: datetime,
    options: ExecutionOptions = ExecutionOptions(),
    manual: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionRecord:
    """Run `rule` once as if scheduled at `started_at` (or, `manual`, as a one-off run without catch-up)."""
    started_at = started_at.astimezone(timezone.utc)
    record = ExecutionRecord(str(uuidlib.uuid4()), rule.rule_id, rule.name, started_at.isoformat())
    began = time.perf_counter()
    deadline = _Deadline(options.timeout)
    state: dict[str, Any] | None = None
    try:
        if _execute(rule, backend, started_at, options, manual, sleep, record, deadline) and not manual:
            state = {"previous_started_at": started_at.isoformat(), "execution_uuid": record.uuid}
    except BackendError as err:  # the state could not be read: nothing more we can do in this execution
        record.errors.append(f"the backend failed: {err}")
    except Exception as err:  # noqa: BLE001 - one rule's bug must not stop the service; it is reported, not hidden
        log.exception("rule %s: execution crashed", rule.rule_id)
        record.errors.append(f"An error occurred during rule execution: message: \"{err}\"")
    record.state_advanced = state is not None
    _finish(record, began)
    try:
        backend.complete_execution(rule.rule_id, state, record.to_dict())
    except StateNotSaved as err:
        record.state_advanced = False
        record.errors.append(f"the rule's state was not saved ({err}): its next execution searches this time again")
        _finish(record, began)
        try:
            backend.complete_execution(rule.rule_id, None, record.to_dict())
        except BackendError as again:
            log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, again)
    except BackendError as err:
        log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, err)
    return record


def _finish(record: ExecutionRecord, began: float) -> None:
    record.finished_at = datetime.now(timezone.utc).isoformat()
    record.duration_ms = (time.perf_counter() - began) * 1000
    record.status = FAILED if record.errors else PARTIAL_FAILURE if record.warnings else SUCCEEDED
    record.message = _message(record)


def _execute(
    rule: Rule,
    backend: Backend,
    started_at: datetime,
    options: ExecutionOptions,
    manual: bool,
    sleep: Callable[[float], None],
    record: ExecutionRecord,
    deadline: _Deadline,
) -> bool:
    """Every window of the execution; True when each one was searched and its alerts written."""
    params = rule.params
    state = backend.rule_state(rule.rule_id) or {}
    previous = None if manual else _instant(state.get("previous_started_at"))
    plan = plan_windows(from_=params.from_, to=params.to, interval=params.interval, started_at=started_at,
                        previous_started_at=previous)
    if plan.gap is not None:
        record.errors.append(plan.gap.message())
        record.gap = {"gte": iso(plan.gap.start), "lte": iso(plan.gap.end),
                      "duration_s": round(plan.gap.duration.total_seconds())}
    # Kibana applies exception lists it manages; a file-based runner has none of their items. Elastic Defend's
    # endpoint list is not a detection exception in Kibana either, so only the others are worth a warning.
    lists = [item.list_id for item in params.exceptions_list if item.type != "endpoint"]
    if lists:
        record.warnings.append(f"The following exceptions won't be applied to rule execution: {', '.join(lists)}")
    complete = True
    for window in plan.windows:
        result = WindowResult(iso(window.start), iso(window.end))
        record.windows.append(result)
        if deadline.passed():
            result.status = "timed out"
            record.errors.append(f"the execution timed out after {options.timeout:g}s before window {window}; "
                                 "the window stays pending for the next execution")
            complete = False
            continue
        run = _WindowRun(rule, backend, window, started_at, options, manual, sleep, record, result, deadline)
        outcome = run.run()
        if outcome != _DONE:
            complete = False
        if outcome == _FATAL:
            break  # the same query fails the same way on every window
    return complete


class _Deadline:
    """The execution's time budget (None: unbounded)."""

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def passed(self, after: float = 0.0) -> bool:
        return self.at is not None and time.monotonic() + after >= self.at


@dataclass
class _WindowRun:
    """One window: search (split when truncated) → alerts → drop known ids → write what is left, with retries."""

    rule: Rule
    backend: Backend
    window: Window
    started_at: datetime
    options: ExecutionOptions
    manual: bool
    sleep: Callable[[float], None]
    record: ExecutionRecord
    result: WindowResult
    deadline: _Deadline

    def run(self) -> str:
        """`_DONE`, `_PENDING` (to search again) or `_FATAL` (the query is bad)."""
        record, result = self.record, self.result
        began = time.perf_counter()
        try:
            responses, cut = self._search(self.window.start, self.window.end, 0)
        except IndexNotFound as err:
            result.status = "no index"
            record.warnings.append(
                "This rule is attempting to query data from Elasticsearch indices listed in the \"Index patterns\" "
                f"section of the rule definition, however no index matching: {self.rule.params.index_patterns} was "
                f"found. ({err})"
            )
            return _DONE
        except QueryError as err:
            result.status = "failed"
            record.errors.append(err.reason)
            return _FATAL
        except ShardFailures as err:
            result.status = "failed"
            record.errors.append(f"The EQL query failed to run successfully due to unavailable shards: {err}; the "
                                 "window stays pending for the next execution")
            return _PENDING
        except TransientError as err:
            result.status = "failed"
            record.errors.append(f"the search for window {self.window} failed: {err}; the window stays pending "
                                 "for the next execution")
            return _PENDING
        except _Malformed as err:
            result.status = "failed"
            record.errors.append(str(err))
            return _PENDING
        finally:
            record.search_ms += (time.perf_counter() - began) * 1000
        alerts, hits = self._alerts(responses)
        result.hits, result.alerts = hits, len(alerts)
        record.hits += hits
        began = time.perf_counter()
        try:
            written = self._write(alerts)
        finally:
            record.write_ms += (time.perf_counter() - began) * 1000
        if not written:
            return _PENDING
        result.status = "searched"
        size = self.rule.params.max_signals
        if len(responses) == 1:
            if cut and MAX_SIGNALS_WARNING not in record.warnings:
                record.warnings.append(MAX_SIGNALS_WARNING)
        else:
            record.warnings.append(
                f"The search of window {self.window} returned {size} results, its size (max_signals): EQL has no "
                f"pagination, so it was searched again in {len(responses) - 1} narrower windows to recover the rest"
                + ("; some of them also returned that many, so results may still be missing" if cut else "")
            )
        return _DONE

    # ---- search --------------------------------------------------------------------------------------------------

    def _search(self, start: datetime, end: datetime, depth: int) -> tuple[list[dict[str, Any]], bool]:
        """The responses for `[start, end]` and, when one returned `size` results, for its halves (they overlap, at
        least on the cut, both bounds being inclusive; alert ids make that harmless). True if a response that could
        not be split further was cut."""
        request = build_request(self.rule, start, end)
        response = _with_retries(lambda: _checked(self.backend.eql_search(request)), self.options, self.sleep,
                                 self.deadline)
        self.result.searches += 1
        responses = [response]
        size = request.body["size"]
        if size == 0 or _count(response) < size:
            return responses, False
        middle = start + (end - start) / 2
        middle -= timedelta(microseconds=middle.microsecond % 1000)  # requests carry milliseconds
        if depth >= self.options.max_window_splits or not start < middle < end or self.deadline.passed():
            return responses, True
        # a sequence lasts at most maxspan: the lower half reaches that far past the cut, so that every sequence
        # lies whole in one half (without maxspan, one crossing the cut is found only if the wider search kept it)
        maxspan = getattr(getattr(self.rule.query, "maxspan", None), "millis", None)
        reach = min(end, middle + timedelta(milliseconds=maxspan)) if maxspan else middle
        cut = False
        for low, high in ((start, reach), (middle, end)):
            more, cut_here = self._search(low, high, depth + 1)
            responses.extend(more)
            cut = cut or cut_here
        return responses, cut

    def _alerts(self, responses: list[dict[str, Any]]) -> tuple[list[Alert], int]:
        """The alerts of every response, each id once, and the number of distinct results."""
        context = AlertContext(
            rule=self.rule,
            space_id=self.options.space_id,
            execution_uuid=self.record.uuid,
            now=datetime.now(timezone.utc),
            execution_type="manual" if self.manual else "scheduled",
            intended_timestamp=self.started_at if self.manual else None,
            alerts_index=self.options.index,
            public_base_url=self.options.public_base_url,
            kibana_version=self.options.kibana_version,
        )
        if len(responses) == 1:
            return build_alerts(responses[0], context), _count(responses[0])
        alerts: list[Alert] = []
        seen: set[str] = set()
        results: set[tuple] = set()
        for response in responses:
            results.update(_result_keys(response))
            for alert in build_alerts(response, context):
                if alert.id not in seen:
                    seen.add(alert.id)
                    alerts.append(alert)
        return alerts, len(results)

    # ---- write ---------------------------------------------------------------------------------------------------

    def _write(self, alerts: list[Alert]) -> bool:
        """Write the alerts not written yet; True when every one is acknowledged (created, or found written).

        Each attempt looks the candidates up again: an attempt whose acknowledgement was lost may have written
        them after all."""
        result, record = self.result, self.record
        remaining = alerts
        delay = self.options.retry_backoff
        for attempt in range(self.options.retries + 1):
            fresh: list[Alert] = remaining
            try:
                known = self.backend.existing_alert_ids([a.id for a in remaining]) if remaining else set()
                result.duplicates += len(known)
                fresh = [a for a in remaining if a.id not in known]
                if fresh:
                    written = self.backend.create_alerts(self.options.index, [(a.id, a.source) for a in fresh])
                    result.created += len(written.created)
                    result.duplicates += len(written.duplicates)
                self._count_written()
                return True
            except WriteError as err:
                result.created += len(err.created)
                result.duplicates += len(err.duplicates)
                done = set(err.created) | set(err.duplicates)
                remaining = [a for a in fresh if a.id not in done]
                failure: BackendError = err
                retryable = err.retryable
            except TransientError as err:
                remaining, failure, retryable = fresh, err, True
            except BackendError as err:
                remaining, failure, retryable = fresh, err, False
            if not retryable or attempt == self.options.retries or self.deadline.passed(delay):
                break
            self.sleep(delay)
            delay *= 2
        self._count_written()
        result.status = "failed"
        record.errors.append(f"{len(remaining)} alerts of window {self.window} were not written: {failure}; the "
                             "window stays pending")
        return False

    def _count_written(self) -> None:
        self.record.alerts_created += self.result.created
        self.record.duplicates += self.result.duplicates


class _Malformed(BackendError):
    """A response without events or sequences."""


def _checked(response: dict[str, Any]) -> dict[str, Any]:
    """The response of a search that evaluated the whole window; partial results are retried like overload."""
    failures = response.get("shard_failures")
    if failures:
        raise ShardFailures(json.dumps(failures, default=str)[:2000])
    hits = response.get("hits")
    if not isinstance(hits, dict) or ("events" not in hits and "sequences" not in hits):
        raise _Malformed("eql query response should have either `sequences` or `events` but had neither")
    return response


def _count(response: dict[str, Any]) -> int:
    hits = response["hits"]
    return len(hits.get("events") or hits.get("sequences") or [])


def _result_keys(response: dict[str, Any]) -> set[tuple]:
    hits = response["hits"]
    if "events" in hits:
        return {(e.get("_index"), e.get("_id")) for e in hits["events"]}
    return {tuple((e.get("_index"), e.get("_id")) for e in s.get("events", [])) for s in hits["sequences"]}


def _with_retries(call: Callable[[], Any], options: ExecutionOptions, sleep: Callable[[float], None],
                  deadline: _Deadline) -> Any:
    delay = options.retry_backoff
    for attempt in range(options.retries + 1):
        try:
            return call()
        except TransientError:
            if attempt == options.retries or deadline.passed(delay):
                raise
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _message(record: ExecutionRecord) -> str:
    if record.errors:
        return ", ".join(record.errors)
    if record.warnings:
        return "\n\n".join(record.warnings)
    return "Rule execution completed successfully"


__all__ = [
    "FAILED",
    "PARTIAL_FAILURE",
    "SUCCEEDED",
    "ExecutionOptions",
    "ExecutionRecord",
    "WindowResult",
    "execute",
]
