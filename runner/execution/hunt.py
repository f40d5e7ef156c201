"""Hunting: rules over events held in memory, offline. The whole input is one window: each rule's own filters
apply, the time range does not, and each rule answers at most `max_signals` results, as one execution would.

Each rule's request comes from its plan (`plan(..., mode=PlanMode.HUNT)`) and each answer is judged by the
execution's classifier (`answer.checked`), so a hunt searches what an execution would, without the time range.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from runner.alerts import Alert, AlertContext, build_alerts
from runner.backends import BackendError, EqlRequest, IndexNotFound, QueryError
from runner.catalog import Rule
from runner.eql import Query
from runner.execution.answer import checked, result_count
from runner.execution.execution_plan import PlanMode, plan
from runner.execution.status import HuntStatus


class Events(Protocol):
    """What a hunt searches: events from files (`FileEvents`) or held in memory (`MemoryEvents`)."""

    count: int

    def batchable(self, request: EqlRequest, query: Query) -> bool: ...

    def eql_search_many(self, items: Sequence[tuple[EqlRequest, Query]]) -> list[dict[str, Any] | BackendError]: ...

    def eql_search(self, request: EqlRequest) -> dict[str, Any]: ...


@dataclass
class HuntResult:
    rule: Rule
    status: HuntStatus = HuntStatus.OK
    message: str = ""
    hits: int = 0
    alerts: list[Alert] = field(default_factory=list)
    alert_count: int = 0


def hunt(
    rules: Sequence[Rule],
    events: Events,
    *,
    space_id: str = "default",
    alerts_index: str | None = None,
    now: datetime | None = None,
    on_rule: Callable[[HuntResult], None] | None = None,
) -> list[HuntResult]:
    """Every rule over `events`, in order; one failing rule never stops the others."""
    now = now or datetime.now(UTC)
    context = _Context(space_id, alerts_index, now, str(uuid.uuid4()))
    requests = [plan(rule, started_at=now, mode=PlanMode.HUNT).requests[0] for rule in rules]
    # event queries the in-memory store can batch go in one pass; the others one at a time
    batch = [(i, query) for i, (rule, request) in enumerate(zip(rules, requests, strict=True))
             if (query := rule.query) is not None and events.batchable(request, query)]
    answers: dict[int, dict[str, Any] | BackendError] = {}
    if batch:
        found = events.eql_search_many([(requests[i], query) for i, query in batch])
        answers = dict(zip((i for i, _ in batch), found, strict=True))
    results = []
    for number, (rule, request) in enumerate(zip(rules, requests, strict=True)):
        answer = answers.get(number)
        if answer is None:
            try:
                answer = events.eql_search(request)
            except BackendError as error:
                answer = error
        result = _result(rule, answer, context)
        results.append(result)
        if on_rule is not None:
            on_rule(result)
    return results


@dataclass(frozen=True)
class _Context:
    space_id: str
    alerts_index: str | None
    now: datetime
    execution: str


def _result(rule: Rule, answer: dict[str, Any] | BackendError, context: _Context) -> HuntResult:
    result = HuntResult(rule)
    if not isinstance(answer, BackendError):
        try:
            answer = checked(answer)
        except BackendError as error:
            answer = error
    if isinstance(answer, IndexNotFound):
        result.status = HuntStatus.NO_INDEX
        return result
    if isinstance(answer, QueryError):
        result.status, result.message = HuntStatus.FAILED, f"{answer.es_type}: {answer.reason}"
        return result
    if isinstance(answer, BackendError):
        result.status, result.message = HuntStatus.FAILED, str(answer)
        return result
    result.hits = result_count(answer)
    if result.hits:
        result.alerts = build_alerts(answer, AlertContext(
            rule=rule, execution_uuid=context.execution, now=context.now, space_id=context.space_id,
            execution_type="manual", intended_timestamp=context.now, alerts_index=context.alerts_index))
        result.alert_count = len(result.alerts)
    if result.hits >= rule.params.max_signals:
        result.status = HuntStatus.MAX_SIGNALS
        result.message = f"reached max_signals ({rule.params.max_signals}); more may match"
    return result


__all__ = ["Events", "HuntResult", "hunt"]
