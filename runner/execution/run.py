"""One execution of one rule: windows → search each → alerts → drop known ids → write → state → record.

The order of the last steps is what makes executions safe to repeat: alerts are written create-only under ids that
depend only on the events and the rule, and the rule's state (the start of its last complete execution) advances
only after every window was searched and its alerts acknowledged. An execution that fails or is killed part-way
leaves the state where it was, so the next one searches the same time again (as catch-up windows) and the alerts it
already wrote come back as duplicates, not as new alerts. A rule's first execution writes its state before its
first search (`pending_since`), so even the first window is pending until it is covered.

An execution runs in two steps (`Execution.begin`: state, plan, pending first window; `Execution.finish`: windows,
alerts, state, record), so that the rules due together can have their single windows searched in one request in
between (`batch.execute_many`); `execute` runs both steps for one rule. Each step splits once more where a group
writes together: `begin` is `prepare` (state, plan) then `pending_recorded`, and `finish` is `search` (windows,
alerts) then `complete` (state, record), so that the group's pending states, and its completions, can each be one
write (told `saved`, the execution skips its own).

The windows and their requests come from the execution's plan (`execution_plan.plan`, shared with hunt and explain), each
answer is judged by the one classifier (`answer.checked`), and every attempt made again (searches, alert writes,
state writes) follows the one retry policy (`retry.RetryPolicy`).

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
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from runner.alerts import Alert, AlertContext, remove_field
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
from runner.execution.answer import MalformedAnswer, checked
from runner.execution.execution_plan import ExecutionPlan, PlanMode, plan
from runner.execution.retry import Deadline, RetryPolicy
from runner.execution.status import ExecutionStatus, WindowStatus
from runner.execution.windows import Window
from runner.ruletypes import Request, ResultKey, RuleSearch, prepare

log = logging.getLogger("runner.execution")


class _Outcome(Enum):
    """What became of a window, for the execution's loop."""

    DONE = "done"  # covered
    PENDING = "pending"  # to search again next execution
    FATAL = "fatal"  # the query is bad: every window fails the same way

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
    status: WindowStatus = WindowStatus.PENDING


@dataclass
class ExecutionRecord:
    """What an execution did: Kibana's status, messages and metrics, plus our per-window detail."""

    uuid: str
    rule_id: str
    rule_name: str
    started_at: str
    status: ExecutionStatus = ExecutionStatus.RUNNING
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
        """The record as stored and printed: statuses as their plain strings."""
        data = asdict(self)
        data["status"] = str(self.status)
        for window in data["windows"]:
            window["status"] = str(window["status"])
        return data


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
    execution = Execution(rule, backend, started_at=started_at, options=options, manual=manual, sleep=sleep)
    execution.begin()
    return execution.finish()


class Execution:
    """One execution of one rule in two steps, so that many rules' searches can be sent together: `begin` reads the
    state, plans the windows and records a first window pending; `finish` searches each window, writes its alerts,
    then saves the state and the record. Between the two, `answer(response)` may hand the execution the answer to
    its only window's request (`single_request`), searched with other rules' (`batch.execute_many`): the window's
    first attempt takes it as its search's outcome, and anything after it (a retry of a transient failure, the
    halves of a truncated window) searches on its own, so that an execution does exactly what it does alone."""

    def __init__(self, rule: Rule, backend: Backend, *, started_at: datetime,
                 options: ExecutionOptions = ExecutionOptions(), manual: bool = False,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rule, self.backend, self.options, self.manual, self.sleep = rule, backend, options, manual, sleep
        self.started_at = started_at.astimezone(UTC)
        self.record = ExecutionRecord(str(uuidlib.uuid4()), rule.rule_id, rule.name, self.started_at.isoformat())
        self.began = time.perf_counter()
        self.deadline = Deadline(options.timeout)
        self.planned: ExecutionPlan | None = None  # None after `begin`: the execution stopped there
        self.ended = False  # a failure ended the execution
        self._answer: dict[str, Any] | BackendError | None = None
        self._prepared: ExecutionPlan | None = None  # planned by `prepare`, not yet begun
        self._state: dict[str, Any] | None = None  # the rule's state as `prepare` read it
        self._pending: dict[str, Any] | None = None  # a first execution's pending state, until recorded
        self.new_state: dict[str, Any] | None = None  # what `search` leaves to save: the state, when it advances

    def restart_clock(self) -> None:
        """The execution timeout counted from now: a step of a batch (`batch.execute_many`) starts its execution's
        budget when it starts, so that time spent waiting for the other rules' steps (the shared search, the pool)
        is not taken for the execution's own."""
        self.deadline = Deadline(self.options.timeout)

    def begin(self) -> None:
        """Read the state and plan; a first execution records its window pending. A failure is recorded and ends
        the execution (`finish` then only completes it)."""
        self.prepare()
        self.pending_recorded(saved=False)

    def prepare(self) -> None:
        """The first part of `begin`: read the state and plan. A first execution's pending state (`pending`) is
        then to be recorded: by `pending_recorded`, or with other rules' in one write before it."""
        self._guarded(self._prepare)

    @property
    def pending(self) -> dict[str, Any] | None:
        """The state a first execution records before it searches (its window pending), while not yet recorded."""
        return None if self.ended else self._pending

    def pending_recorded(self, *, saved: bool) -> None:
        """The rest of `begin`: the pending state recorded (through the retry policy, unless `saved` already, with
        other rules' in one write), then the plan's gap and warnings noted."""
        if not self.ended and self._prepared is not None:
            self._guarded(lambda: self._begun(saved))

    @property
    def single_request(self) -> Request | None:
        """The request of the execution's only window, when it began well and has exactly one (no catch-up)."""
        if self.ended or self.planned is None or len(self.planned.requests) != 1:
            return None
        return self.planned.requests[0]

    def answer(self, response: dict[str, Any] | BackendError, search_ms: float) -> None:
        """What the backend answered (or raised) for `single_request`, searched with others in `search_ms`."""
        self._answer = response
        self.record.search_ms += search_ms

    def finish(self) -> ExecutionRecord:
        """Search every window and write its alerts, then save the state (when every window was covered) and the
        record."""
        self.search()
        return self.complete(saved=False)

    def search(self) -> None:
        """The first part of `finish`: search every window and write its alerts; the record is finished and the
        state to save (when every window was covered) is `new_state`, for `complete` or for one write with other
        rules' completions before it."""
        record = self.record
        state: dict[str, Any] | None = None
        if not self.ended and self.planned is not None:
            complete = self._guarded(self._windows)
            if complete and not self.manual:
                state = {"previous_started_at": self.started_at.isoformat(), "execution_uuid": record.uuid}
        record.state_advanced = state is not None
        self.new_state = state
        _finish(record, self.began)

    def complete(self, *, saved: bool) -> ExecutionRecord:
        """The rest of `finish`: the new state and the record saved (through the retry policy, unless `saved`
        already, with other rules' in one write)."""
        if not saved:
            _complete(self.rule, self.backend, self.new_state, self.record, self.options.retry, self.sleep,
                      self.began)
        return self.record

    def _guarded(self, step: Callable[[], bool]) -> bool:
        """`step()`, its failure recorded (and the execution ended) as the execution's error."""
        try:
            return step()
        except _NotStarted as err:  # the state could not be read or marked pending: nothing was searched
            self.record.errors.append(str(err))
        except BackendError as err:  # e.g. refused credentials: nothing more this execution can do
            self.record.errors.append(f"the backend failed: {err}")
        except Exception as err:
            log.exception("rule %s: execution crashed", self.rule.rule_id)
            self.record.errors.append(f"An error occurred during rule execution: message: \"{err}\"")
        self.ended = True
        return False

    def _prepare(self) -> bool:
        rule, backend, retry = self.rule, self.backend, self.options.retry
        try:
            state = retry.call(lambda: backend.rule_state(rule.rule_id), sleep=self.sleep, deadline=self.deadline)
        except BackendError as err:
            raise _NotStarted(f"the rule's state could not be read ({err}): nothing was searched") from None
        # the windows (the search the rule's type prepares with its indices' fields comes once they are pending)
        planned = plan(rule, started_at=self.started_at, state=state,
                       mode=PlanMode.MANUAL if self.manual else PlanMode.SCHEDULED)
        # a first execution: its window is pending from before its search, so that a failure cannot lose it
        self._pending = planned.pending_state() if planned.first else None
        self._prepared = planned
        self._state = state
        return True

    def _search_of(self, rule: Rule) -> RuleSearch:
        """The rule's search for this execution, prepared by its type with the fields of its indices (a query
        rule's `_field_caps`), through the retry policy."""
        try:
            return self.options.retry.call(lambda: prepare(rule, self.backend), sleep=self.sleep,
                                           deadline=self.deadline)
        except QueryError as err:
            raise _NotStarted(err.reason) from None
        except BackendError as err:
            raise _NotStarted(f"the fields of the rule's indices could not be read ({err}): nothing was "
                              "searched") from None

    def _begun(self, saved: bool) -> bool:
        rule, backend, record, planned = self.rule, self.backend, self.record, self._prepared
        assert planned is not None
        pending, self._pending = self._pending, None
        if pending is not None and not saved:
            try:
                self.options.retry.call(lambda: backend.save_rule_state(rule.rule_id, pending), sleep=self.sleep,
                                        deadline=self.deadline)
            except BackendError as err:
                raise _NotStarted(f"the rule's first window could not be recorded as pending ({err}): nothing was "
                                  "searched") from None
        if planned.gap is not None:
            record.errors.append(planned.gap.message())
            record.gap = {"gte": iso(planned.gap.start), "lte": iso(planned.gap.end),
                          "duration_s": round(planned.gap.duration.total_seconds())}
        # Kibana applies exception lists it manages; a file-based runner has none of their items. Elastic Defend's
        # endpoint list is not a detection exception in Kibana either, so only the others are worth a warning.
        lists = [item.list_id for item in rule.params.exceptions_list if item.type != "endpoint"]
        if lists:
            record.warnings.append(f"The following exceptions won't be applied to rule execution: {', '.join(lists)}")
        search = self._search_of(rule)  # the first window is pending by now: a failure here cannot lose it
        self.planned = plan(rule, started_at=self.started_at, state=self._state, mode=planned.mode, search=search)
        return True

    def _windows(self) -> bool:
        """Every window of the execution; True when each one was searched and its alerts written."""
        planned, record, options = self.planned, self.record, self.options
        assert planned is not None
        complete = True
        created: set[str] = set()  # ids this execution created, across its windows
        for window, request in planned.searches():
            result = WindowResult(iso(window.start), iso(window.end))
            record.windows.append(result)
            answer, self._answer = self._answer, None  # only the first window's first attempt (the only window)
            # the timeout stops new searches; a window whose answer is in hand (searched with other rules', however
            # long the batch took) is not one
            if answer is None and self.deadline.passed():
                result.status = WindowStatus.TIMED_OUT
                record.errors.append(f"the execution timed out after {options.timeout:g}s before window {window}; "
                                     "the window stays pending for the next execution")
                complete = False
                continue
            run = _WindowRun(self.rule, self.backend, planned, window, request, self.started_at, options,
                             self.manual, self.sleep, record, result, self.deadline, created, answer)
            outcome = run.run()
            if outcome is not _Outcome.DONE:
                complete = False
            if outcome is _Outcome.FATAL:
                break  # the same query fails the same way on every window
        return complete


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
    record.status = (ExecutionStatus.FAILED if record.errors else
                     ExecutionStatus.PARTIAL_FAILURE if record.warnings else ExecutionStatus.SUCCEEDED)
    record.message = _message(record)


@dataclass
class _WindowRun:
    """One window: search (split when truncated) → alerts → drop known ids → write what is left, with retries."""

    rule: Rule
    backend: Backend
    plan: ExecutionPlan
    window: Window
    request: Request
    started_at: datetime
    options: ExecutionOptions
    manual: bool
    sleep: Callable[[float], None]
    record: ExecutionRecord
    result: WindowResult
    deadline: Deadline
    created: set[str]  # ids this execution created (shared by its windows)
    # the answer to `request` already searched with other rules' (`Execution.answer`): the first attempt's outcome
    answer: dict[str, Any] | BackendError | None = None
    stripped: list[str] = field(default_factory=list)  # "<id>: [field] (reason)": written without that field
    refused: list[str] = field(default_factory=list)  # "<id>: reason": refused for their content, not written
    narrower: int = 0  # narrower windows searched because a window's answer was truncated (types without pages)
    counted: tuple[int, int] = (0, 0)  # created and duplicates of the window already added to the record

    def run(self) -> _Outcome:
        record, result = self.record, self.result
        try:
            if self.plan.search.pages:
                return self._pages()
            responses, cut = self._search(self.window, self.request, 0)
        except IndexNotFound as err:
            result.status = WindowStatus.NO_INDEX
            # Kibana's warning (`hasTimestampFields`), the patterns as JSON; what the backend said after it
            record.warnings.append(
                "This rule is attempting to query data from Elasticsearch indices listed in the \"Index patterns\" "
                f"section of the rule definition, however no index matching: "
                f"{json.dumps(self.rule.params.index_patterns)} was found. This warning will continue to appear "
                f"until a matching index is created or this rule is disabled. ({err})"
            )
            return _Outcome.DONE
        except QueryError as err:
            result.status = WindowStatus.FAILED
            record.errors.append(err.reason)
            return _Outcome.FATAL
        except IncompleteAnswer as err:
            result.status = WindowStatus.FAILED
            cause = "due to unavailable shards" if err.shard_failures else "because its answer was incomplete"
            record.errors.append(f"The {self.plan.search.title} failed to run successfully {cause}: {err}; the "
                                 "window stays pending for the next execution")
            return _Outcome.PENDING
        except TransientError as err:
            result.status = WindowStatus.FAILED
            record.errors.append(f"the search for window {self.window} failed: {err}; the window stays pending "
                                 "for the next execution")
            return _Outcome.PENDING
        except MalformedAnswer as err:
            result.status = WindowStatus.FAILED
            record.errors.append(str(err))
            return _Outcome.PENDING
        alerts, hits = self._alerts(responses)
        result.hits, result.alerts = hits, len(alerts)
        record.hits += hits
        _note_removed(record, alerts)
        if not self._written(alerts):
            return _Outcome.PENDING
        result.status = WindowStatus.SEARCHED
        size = self.rule.params.max_signals
        if not self.narrower:
            if cut and MAX_SIGNALS_WARNING not in record.warnings:
                record.warnings.append(MAX_SIGNALS_WARNING)
        else:
            record.warnings.append(
                f"The search of window {self.window} returned {size} results, its size (max_signals): EQL has no "
                f"pagination, so it was searched again in {self.narrower} narrower windows to recover the rest"
                + ("; some of them also returned that many, so results may still be missing" if cut else "")
            )
        return _Outcome.DONE

    def _pages(self) -> _Outcome:
        """A type that pages (query rules), as Kibana's `searchAfterAndBulkCreate`: each page's alerts written
        before the next page is asked for, until a page comes back empty; at most `max_signals` NEW alerts (not
        already written) per window, and Kibana's warning when more new ones were left. Errors of a search leave
        as `run` decides on them; a page whose alerts are not all acknowledged leaves the window pending."""
        record, result, search = self.record, self.result, self.plan.search
        left = self.rule.params.max_signals
        seen: set[ResultKey] = set()
        page: Request | None = self.request
        warned_tie = False
        try:
            while page is not None:
                if page is not self.request and self.deadline.passed():
                    result.status = WindowStatus.TIMED_OUT
                    record.errors.append(f"the execution timed out after {self.options.timeout:g}s while paging "
                                         f"window {self.window}; the window stays pending for the next execution")
                    return _Outcome.PENDING
                response = self._attempt(page)
                if not search.count(response):
                    break
                fresh = [key for key in search.keys(response) if key not in seen]
                seen.update(fresh)
                result.hits += len(fresh)
                record.hits += len(fresh)
                try:
                    alerts, cut = self._budget(self._alerts([response])[0], left)
                except BackendError as err:
                    result.status = WindowStatus.FAILED
                    record.errors.append(f"the alerts of window {self.window} could not be looked up: {err}; the "
                                         "window stays pending")
                    return _Outcome.PENDING
                result.alerts += len(alerts)
                _note_removed(record, alerts)
                created = result.created
                if not self._written(alerts, report=False):
                    return _Outcome.PENDING
                left -= result.created - created
                if cut:
                    if MAX_SIGNALS_WARNING not in record.warnings:
                        record.warnings.append(MAX_SIGNALS_WARNING)
                    break
                following = search.next_page(page, response)
                tied = search.tied(page, response) if following is not None and not warned_tie else None
                if tied is not None:  # said once per window
                    record.warnings.append(f"Window {self.window}: {tied}")
                    warned_tie = True
                page = following
        finally:
            self._report_refusals()
        result.status = WindowStatus.SEARCHED
        return _Outcome.DONE

    def _budget(self, alerts: list[Alert], left: int) -> tuple[list[Alert], bool]:
        """The page's alerts with at most `left` new ones (not written yet, by anyone): the known ones stay (they
        are counted as duplicates, as Kibana's persistence drops them before its budget), the new ones past the
        budget are left out. True when some were."""
        ids = [alert.id for alert in alerts]
        known = (self.options.retry.call(lambda: self.backend.existing_alerts(ids), sleep=self.sleep,
                                         deadline=self.deadline) if ids else {})
        kept: list[Alert] = []
        cut = False
        for alert in alerts:
            if alert.id in known or alert.id in self.created:
                kept.append(alert)
            elif left > 0:
                kept.append(alert)
                left -= 1
            else:
                cut = True
        return kept, cut

    def _written(self, alerts: list[Alert], *, report: bool = True) -> bool:
        """`_write`, timed; the refusals reported (`report`; a window that pages reports them once, at its end)."""
        began = time.perf_counter()
        try:
            return self._write(alerts)
        finally:
            self.record.write_ms += (time.perf_counter() - began) * 1000
            if report:
                self._report_refusals()

    # ---- search --------------------------------------------------------------------------------------------------

    def _attempt(self, request: Request) -> dict[str, Any]:
        """One request's checked answer, through the retry policy: the answer searched with other rules' for the
        window's first request (`Execution.answer`), else the rule's type's search call."""
        search = self.plan.search

        def attempt() -> dict[str, Any]:
            answer, self.answer = self.answer, None
            if search.no_index is not None:
                raise IndexNotFound(search.no_index)
            if answer is None:
                return checked(search.send(self.backend, request))
            if isinstance(answer, BackendError):
                raise answer
            return checked(answer)

        began = time.perf_counter()
        try:
            response = self.options.retry.call(attempt, sleep=self.sleep, deadline=self.deadline)
        finally:
            self.record.search_ms += (time.perf_counter() - began) * 1000
        self.result.searches += 1
        return response

    def _search(self, window: Window, request: Request, depth: int) -> tuple[list[dict[str, Any]], bool]:
        """The responses for `window` and, when one returned `size` results, for its halves (`ExecutionPlan.halves`:
        they overlap, alert ids make that harmless). True if a response that could not be split further was cut."""
        response = self._attempt(request)
        responses = [response]
        if not self.plan.search.truncated(request, response):
            return responses, False
        halves = self.plan.halves(window) if depth < self.options.max_window_splits else None
        if halves is None or self.deadline.passed():
            return responses, True
        cut = False
        for half in halves:
            self.narrower += 1
            more, cut_here = self._search(half, self.plan.request(half), depth + 1)
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
        search = self.plan.search
        if len(responses) == 1:
            return search.alerts(responses[0], context), search.count(responses[0])
        alerts: list[Alert] = []
        seen: set[str] = set()
        results: set[ResultKey] = set()
        for response in responses:
            results.update(search.keys(response))
            for alert in search.alerts(response, context):
                if alert.id not in seen:
                    seen.add(alert.id)
                    alerts.append(alert)
        return alerts, len(results)

    # ---- write ---------------------------------------------------------------------------------------------------

    def _write(self, alerts: list[Alert]) -> bool:
        """Write the alerts not written yet; True when every one is acknowledged (created, or found written) or,
        refused for its content even without the field the refusal named, recorded as failed.

        Each attempt looks the candidates up again: an attempt whose acknowledgement was lost may have written them
        after all (the alias is refreshed first, so that the look-up sees those writes). Attempts follow the
        execution's retry policy; alerts sent again only because a refused field was removed go at once."""
        remaining = alerts
        unknown = False  # the last attempt's outcome is unknown: refresh before the next look-up
        repaired: set[str] = set()  # alerts sent again without a field the alerts index refused

        def attempt() -> None:
            nonlocal remaining, unknown
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
                        self.result.duplicates += len(written.duplicates)
                    return
                except WriteError as err:
                    self._created(err.created)
                    self.result.duplicates += len(err.duplicates)
                    unknown = unknown or err.unknown
                    resend = self._repair(fresh, err.rejected, repaired)
                    done = {*err.created, *err.duplicates, *(r.id for r in err.rejected if r.id not in resend)}
                    remaining = [a for a in fresh if a.id not in done]
                    if not remaining:
                        return
                    if {a.id for a in remaining} <= resend:
                        continue  # only repaired alerts are left: send them again at once
                    raise (_TryAgain if err.retryable else _NotWritten)(err) from None
                except TransientError as err:
                    remaining = fresh
                    raise _TryAgain(err) from None
                except BackendError as err:
                    remaining = fresh
                    raise _NotWritten(err) from None

        try:
            self.options.retry.call(attempt, sleep=self.sleep, deadline=self.deadline, retry_on=(_TryAgain,))
        except _NotWritten as stopped:
            self._count_written()
            self.result.status = WindowStatus.FAILED
            self.record.errors.append(f"{len(remaining)} alerts of window {self.window} were not written: "
                                      f"{stopped.failure}; the window stays pending")
            return False
        self._count_written()
        return True

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
        """Add to the record what the window's writes acknowledged since the last count (a window that pages
        writes once per page)."""
        self.record.alerts_created += self.result.created - self.counted[0]
        self.record.duplicates += self.result.duplicates - self.counted[1]
        self.counted = (self.result.created, self.result.duplicates)


class _NotWritten(Exception):
    """An attempt at writing a window's alerts left some unwritten, for `failure`."""

    def __init__(self, failure: BackendError) -> None:
        super().__init__(str(failure))
        self.failure = failure


class _TryAgain(_NotWritten):
    """... and only overload or connection trouble stood in the way: another attempt may succeed."""


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
    "Execution",
    "ExecutionOptions",
    "ExecutionRecord",
    "WindowResult",
    "execute",
]
