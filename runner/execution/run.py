"""One execution of one rule: windows → search each → alerts → drop known ids → write → state → record.

The order of the last steps is what makes executions safe to repeat: alerts are written create-only under ids that
depend only on the events and the rule, and the rule's state (the start of its last complete execution) advances
only after every window was searched and its alerts acknowledged. An execution that fails or is killed part-way
leaves the state where it was, so the next one searches the same time again (as catch-up windows) and the alerts it
already wrote come back as duplicates, not as new alerts.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from runner.alerts import AlertContext, build_alerts
from runner.backends import Backend, BackendError, IndexNotFound, QueryError, TransientError, build_request, iso
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
    status: str = "pending"  # searched | no index | failed


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
    try:
        _execute(rule, backend, started_at, options, manual, sleep, record)
    except BackendError as err:  # state or record storage failed: nothing more we can do in this execution
        record.errors.append(f"the backend failed: {err}")
    except Exception as err:  # noqa: BLE001 - one rule's bug must not stop the service; it is reported, not hidden
        log.exception("rule %s: execution crashed", rule.rule_id)
        record.errors.append(f"An error occurred during rule execution: message: \"{err}\"")
    record.finished_at = datetime.now(timezone.utc).isoformat()
    record.duration_ms = (time.perf_counter() - began) * 1000
    record.status = FAILED if record.errors else PARTIAL_FAILURE if record.warnings else SUCCEEDED
    record.message = _message(record)
    try:
        backend.record_execution(record.to_dict())
    except BackendError as err:
        log.error("rule %s: the execution record could not be stored: %s", rule.rule_id, err)
    return record


def _execute(
    rule: Rule,
    backend: Backend,
    started_at: datetime,
    options: ExecutionOptions,
    manual: bool,
    sleep: Callable[[float], None],
    record: ExecutionRecord,
) -> None:
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
        outcome = _run_window(rule, backend, window, started_at, options, manual, sleep, record, result)
        if outcome != _DONE:
            complete = False
        if outcome == _FATAL:
            break  # the same query fails the same way on every window
    if complete and not manual:
        backend.save_rule_state(rule.rule_id, {"previous_started_at": started_at.isoformat(),
                                               "execution_uuid": record.uuid})
        record.state_advanced = True


def _run_window(
    rule: Rule,
    backend: Backend,
    window: Window,
    started_at: datetime,
    options: ExecutionOptions,
    manual: bool,
    sleep: Callable[[float], None],
    record: ExecutionRecord,
    result: WindowResult,
) -> str:
    """Search one window and write its alerts: `_DONE`, `_PENDING` (to search again) or `_FATAL` (the query is bad)."""
    request = build_request(rule, window.start, window.end)
    began = time.perf_counter()
    try:
        response = _with_retries(lambda: backend.eql_search(request), options, sleep)
    except IndexNotFound as err:
        result.status = "no index"
        record.warnings.append(
            "This rule is attempting to query data from Elasticsearch indices listed in the \"Index patterns\" "
            f"section of the rule definition, however no index matching: {list(request.index)} was found. ({err})"
        )
        return _DONE
    except QueryError as err:
        result.status = "failed"
        record.errors.append(err.reason)
        return _FATAL
    except TransientError as err:
        result.status = "failed"
        record.errors.append(f"the search for window {window} failed after {options.retries + 1} attempts: {err}; "
                             "the window stays pending for the next execution")
        return _PENDING
    finally:
        record.search_ms += (time.perf_counter() - began) * 1000
    hits = response.get("hits", {})
    if "events" not in hits and "sequences" not in hits:
        result.status = "failed"
        record.errors.append("eql query response should have either `sequences` or `events` but had neither")
        return _PENDING
    total = int((hits.get("total") or {}).get("value", len(hits.get("events") or hits.get("sequences") or [])))
    result.hits = total
    record.hits += total
    context = AlertContext(
        rule=rule,
        space_id=options.space_id,
        execution_uuid=record.uuid,
        now=datetime.now(timezone.utc),
        execution_type="manual" if manual else "scheduled",
        intended_timestamp=started_at if manual else None,
        alerts_index=options.index,
        public_base_url=options.public_base_url,
    )
    alerts = build_alerts(response, context)
    result.alerts = len(alerts)
    began = time.perf_counter()
    try:
        known = backend.existing_alert_ids([a.id for a in alerts]) if alerts else set()
        fresh = [a for a in alerts if a.id not in known]
        written = _with_retries(lambda: backend.create_alerts(options.index, [(a.id, a.source) for a in fresh]),
                                options, sleep) if fresh else None
    except BackendError as err:
        result.status = "failed"
        record.errors.append(f"alerts of window {window} were not written: {err}; the window stays pending")
        return _PENDING
    finally:
        record.write_ms += (time.perf_counter() - began) * 1000
    created = len(written.created) if written else 0
    duplicates = len(known) + (len(written.duplicates) if written else 0)
    result.created, result.duplicates = created, duplicates
    record.alerts_created += created
    record.duplicates += duplicates
    if response.get("shard_failures"):
        # what came back is written (ids make that safe), but the window was not fully searched: search it again
        result.status = "failed"
        record.errors.append(
            "The EQL query failed to run successfully due to unavailable shards: "
            f"{response['shard_failures']}; the window stays pending for the next execution"
        )
        return _PENDING
    result.status = "searched"
    if total >= rule.params.max_signals and MAX_SIGNALS_WARNING not in record.warnings:
        record.warnings.append(MAX_SIGNALS_WARNING)
    return _DONE


def _with_retries(call: Callable[[], Any], options: ExecutionOptions, sleep: Callable[[float], None]) -> Any:
    delay = options.retry_backoff
    for attempt in range(options.retries + 1):
        try:
            return call()
        except TransientError:
            if attempt == options.retries:
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
