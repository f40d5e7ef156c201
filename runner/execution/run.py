"""One execution of one rule: windows → search each → alerts → drop known ids → write → state → record.

The order of the last steps is what makes executions safe to repeat: alerts are written create-only under ids that
depend only on the events and the rule, and the rule's state (the start of its last complete execution) advances
only after every window was searched and its alerts acknowledged. An execution that fails or is killed part-way
leaves the state where it was, so the next one searches the same time again (as catch-up windows) and the alerts it
already wrote come back as duplicates, not as new alerts. A rule's first execution writes its state before its
first search (`pending_since`), so even the first window is pending until it is covered.

Faults, and what they do:
- an answer marked incomplete (`shard_failures`, `is_partial`, `timed_out`) is retried like overload and never
  taken for a searched window;
- a write whose outcome is unknown (a lost acknowledgement) is followed by a refresh of the alerts alias before the
  next look-up of known ids, so that the look-up finds what was written; alerts it finds that this execution wrote
  count as created, not as duplicates;
- an alert the alerts index refuses for its content (a mapping conflict) is sent once more without the field the
  refusal names; if it is refused again it is recorded as failed, with the reason, and never blocks its window;
- the state write at the end is retried within the execution; when its outcome stays unknown, the record says so.
"""

from __future__ import annotations

import json
import logging
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.alerts import Alert, AlertContext, build_alerts
from runner.alerts.paths import remove_field
from runner.backends import (
    Backend,
    BackendError,
    IncompleteAnswer,
    IndexNotFound,
    QueryError,
    RecordNotStored,
    Rejected,
    StateNotSaved,
    TransientError,
    WriteError,
)
from runner.catalog import Rule, iso
from runner.execution.kibana_request import build_request
from runner.execution.retry import Deadline, RetryPolicy
from runner.execution.windows import Window, plan_windows, resume_from

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

    @property
    def index(self) -> str:
        return self.alerts_index or f".alerts-security.alerts-{self.space_id}"

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(retries=self.retries, backoff=self.retry_backoff)


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
    alerts_failed: int = 0  # refused by the alerts index for their content, even without the field it named
    failed_alerts: list[dict[str, str]] = field(default_factory=list)  # {"id", "window", "reason"}, the first 100
    # fields left out of alerts because their values do not fit ECS (as Kibana leaves them out), each path once
    fields_removed: list[str] = field(default_factory=list)
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
    started_at = started_at.astimezone(UTC)
    record = ExecutionRecord(str(uuidlib.uuid4()), rule.rule_id, rule.name, started_at.isoformat())
    began = time.perf_counter()
    deadline = Deadline(options.timeout)
    state: dict[str, Any] | None = None
    try:
        if _execute(rule, backend, started_at, options, manual, sleep, record, deadline) and not manual:
            state = {"previous_started_at": started_at.isoformat(), "execution_uuid": record.uuid}
    except _NotStarted as err:  # the state could not be read or marked pending: nothing was searched
        record.errors.append(str(err))
    except BackendError as err:  # e.g. refused credentials: nothing more this execution can do
        record.errors.append(f"the backend failed: {err}")
    except Exception as err:
        log.exception("rule %s: execution crashed", rule.rule_id)
        record.errors.append(f"An error occurred during rule execution: message: \"{err}\"")
    record.state_advanced = state is not None
    _finish(record, began)
    _complete(rule, backend, state, record, options.retry, sleep, began)
    return record


def _complete(rule: Rule, backend: Backend, state: dict[str, Any] | None, record: ExecutionRecord,
              retry: RetryPolicy, sleep: Callable[[float], None], began: float) -> None:
    """Save the new state (if any) and the record, trying again while the outcome is unknown; if the state was not
    saved, or may not have been, the record says so and is stored again as it should read."""
    try:
        retry.call(lambda: backend.complete_execution(rule.rule_id, state, record.to_dict()), sleep=sleep)
        return
    except StateNotSaved as err:
        problem = f"the rule's state was not saved ({err}): its next execution searches this time again"
    except RecordNotStored as err:
        log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, err)
        return
    except TransientError as err:
        if state is None:
            log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, err)
            return
        problem = (f"whether the rule's state was saved is unknown ({err}): if it was not, its next execution "
                   "searches this time again, which writes no alert twice")
    except BackendError as err:
        log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, err)
        return
    record.state_advanced = False
    record.errors.append(problem)
    _finish(record, began)
    try:
        retry.call(lambda: backend.complete_execution(rule.rule_id, None, record.to_dict()), sleep=sleep)
    except BackendError as again:
        log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, again)


class _NotStarted(BackendError):
    """The execution could not begin: its state could not be read, or its first window not marked pending."""


def _finish(record: ExecutionRecord, began: float) -> None:
    record.finished_at = datetime.now(UTC).isoformat()
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
    deadline: Deadline,
) -> bool:
    """Every window of the execution; True when each one was searched and its alerts written."""
    params = rule.params
    retry = options.retry
    try:
        state = retry.call(lambda: backend.rule_state(rule.rule_id), sleep=sleep, deadline=deadline)
    except BackendError as err:
        raise _NotStarted(f"the rule's state could not be read ({err}): nothing was searched") from None
    previous = None if manual else resume_from(state, to=params.to, started_at=started_at)
    plan = plan_windows(from_=params.from_, to=params.to, interval=params.interval, started_at=started_at,
                        previous_started_at=previous)
    if not manual and previous is None:
        # a first execution: its window is pending from now on, so that a failure cannot lose it
        pending = {"pending_since": iso(plan.windows[0].start)}
        try:
            retry.call(lambda: backend.save_rule_state(rule.rule_id, pending), sleep=sleep, deadline=deadline)
        except BackendError as err:
            raise _NotStarted(f"the rule's first window could not be recorded as pending ({err}): nothing was "
                              "searched") from None
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
    created: set[str] = set()  # ids this execution created, across its windows
    for window in plan.windows:
        result = WindowResult(iso(window.start), iso(window.end))
        record.windows.append(result)
        if deadline.passed():
            result.status = "timed out"
            record.errors.append(f"the execution timed out after {options.timeout:g}s before window {window}; "
                                 "the window stays pending for the next execution")
            complete = False
            continue
        run = _WindowRun(rule, backend, window, started_at, options, manual, sleep, record, result, deadline,
                         created)
        outcome = run.run()
        if outcome != _DONE:
            complete = False
        if outcome == _FATAL:
            break  # the same query fails the same way on every window
    return complete


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
    deadline: Deadline
    created: set[str]  # ids this execution created (shared by its windows)
    stripped: list[str] = field(default_factory=list)  # "<id>: [field] (reason)": written without that field
    refused: list[str] = field(default_factory=list)  # "<id>: reason": refused for their content, not written

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
        except IncompleteAnswer as err:
            result.status = "failed"
            cause = "due to unavailable shards" if err.shard_failures else "because its answer was incomplete"
            record.errors.append(f"The EQL query failed to run successfully {cause}: {err}; the window stays "
                                 "pending for the next execution")
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
        _note_removed(record, alerts)
        began = time.perf_counter()
        try:
            written = self._write(alerts)
        finally:
            record.write_ms += (time.perf_counter() - began) * 1000
            self._report_refusals()
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
        response = self.options.retry.call(lambda: _checked(self.backend.eql_search(request)), sleep=self.sleep,
                                           deadline=self.deadline)
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
            now=datetime.now(UTC),
            execution_type="manual" if self.manual else "scheduled",
            intended_timestamp=self.started_at if self.manual else None,
            alerts_index=self.options.index,
            public_base_url=self.options.public_base_url,
            kibana_version=self.backend.kibana_version,
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
        """Write the alerts not written yet; True when every one is acknowledged (created, or found written) or,
        refused for its content even without the field the refusal named, recorded as failed.

        Each attempt looks the candidates up again: an attempt whose acknowledgement was lost may have written them
        after all (the alias is refreshed first, so that the look-up sees those writes)."""
        result, record = self.result, self.record
        remaining = alerts
        delays = self.options.retry.delays()
        unknown = False  # the last attempt's outcome is unknown: refresh before the next look-up
        repaired: set[str] = set()  # alerts sent again without a field the alerts index refused
        failure: BackendError | None = None
        while True:
            fresh = remaining
            try:
                if unknown:
                    self.backend.refresh_alerts()
                    unknown = False
                known = self.backend.existing_alerts([a.id for a in remaining]) if remaining else {}
                self._found(known)
                fresh = [a for a in remaining if a.id not in known]
                if fresh:
                    written = self.backend.create_alerts(self.options.index, [(a.id, a.source) for a in fresh])
                    self._created(written.created)
                    result.duplicates += len(written.duplicates)
                self._count_written()
                return True
            except WriteError as err:
                self._created(err.created)
                result.duplicates += len(err.duplicates)
                unknown = unknown or err.unknown
                resend = self._repair(fresh, err.rejected, repaired)
                done = {*err.created, *err.duplicates, *(r.id for r in err.rejected if r.id not in resend)}
                remaining = [a for a in fresh if a.id not in done]
                failure, retryable = err, err.retryable
                if not remaining:
                    self._count_written()
                    return True
                if {a.id for a in remaining} <= resend:
                    continue  # only repaired alerts are left: send them again at once
            except TransientError as err:
                remaining, failure, retryable = fresh, err, True
            except BackendError as err:
                remaining, failure, retryable = fresh, err, False
            wait = next(delays, None) if retryable else None
            if wait is None or self.deadline.passed(wait):
                break
            self.sleep(wait)
        self._count_written()
        result.status = "failed"
        record.errors.append(f"{len(remaining)} alerts of window {self.window} were not written: {failure}; the "
                             "window stays pending")
        return False

    def _found(self, known: Mapping[str, str | None]) -> None:
        """Count the alerts a look-up found written: by this execution and not counted yet (a write whose
        acknowledgement was lost), they were created; by another execution, or found again, they are duplicates."""
        for alert_id, execution in known.items():
            if execution == self.record.uuid and alert_id not in self.created:
                self._created((alert_id,))
            else:
                self.result.duplicates += 1

    def _created(self, ids: tuple[str, ...] | list[str]) -> None:
        self.result.created += len(ids)
        self.created.update(ids)

    def _repair(self, fresh: list[Alert], rejected: tuple[Rejected, ...], repaired: set[str]) -> set[str]:
        """For each alert refused for its content: the first time, remove the field the refusal names and return
        its id (to send again); otherwise record it as failed. Alerts are rebuilt from the events by every
        execution, so a removed field is only missing from this copy."""
        by_id = {alert.id: alert for alert in fresh}
        resend: set[str] = set()
        for refusal in rejected:
            alert = by_id.get(refusal.id)
            if (alert is not None and refusal.id not in repaired and refusal.field is not None
                    and remove_field(alert.source, refusal.field)):
                repaired.add(refusal.id)
                resend.add(refusal.id)
                self.stripped.append(f"{refusal.id}: [{refusal.field}] ({refusal.reason})")
                continue
            self.record.alerts_failed += 1
            if len(self.record.failed_alerts) < 100:
                self.record.failed_alerts.append({"id": refusal.id, "window": str(self.window),
                                                  "reason": refusal.reason})
            self.refused.append(f"{refusal.id}: {refusal.reason}")
        return resend

    def _report_refusals(self) -> None:
        """One warning per kind for the window's alerts the alerts index refused for their content."""
        if self.stripped:
            self.record.warnings.append(
                f"{len(self.stripped)} alerts of window {self.window} had a field the alerts index refused and were "
                f"written without it: {_first(self.stripped)}")
        if self.refused:
            self.record.warnings.append(
                f"{len(self.refused)} alerts of window {self.window} were not written: the alerts index refused "
                f"them even without the field it named: {_first(self.refused)}")

    def _count_written(self) -> None:
        self.record.alerts_created += self.result.created
        self.record.duplicates += self.result.duplicates


class _Malformed(BackendError):
    """A response without events or sequences."""


def _checked(response: dict[str, Any]) -> dict[str, Any]:
    """The response of a search that evaluated the whole window. An answer marked incomplete in any of the three ways
    Elasticsearch marks it (`shard_failures`, `is_partial`, `timed_out`) is retried like overload."""
    failures = response.get("shard_failures")
    if failures:
        raise IncompleteAnswer(json.dumps(failures, default=str)[:2000], shard_failures=True)
    marks = [key for key in ("is_partial", "timed_out") if response.get(key) is True]
    if marks:
        raise IncompleteAnswer(f"the answer says {' and '.join(f'{key}: true' for key in marks)}",
                               shard_failures=False)
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


def _note_removed(record: ExecutionRecord, alerts: list[Alert]) -> None:
    removed = {path for alert in alerts for path in alert.removed_fields}
    if removed:
        record.fields_removed = sorted(removed.union(record.fields_removed))[:100]


def _first(items: list[str], shown: int = 3) -> str:
    return "; ".join(items[:shown]) + (f"; and {len(items) - shown} more" if len(items) > shown else "")


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
