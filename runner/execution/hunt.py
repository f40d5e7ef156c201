"""Hunting: rules over events held in memory, offline. The whole input is one window: each rule's own filters
apply, the time range does not, and each rule answers at most `max_signals` results, as one execution would.

Each rule's request comes from its plan (`plan(..., mode=PlanMode.HUNT)`, its type's search prepared with the
fields of the events: a query rule's KQL is translated against them) and each answer is judged by the execution's
classifier (`answer.checked`), so a hunt searches what an execution would, without the time range. Every rule's
request goes to the events in one `search_many`, EQL and query rules alike: the events answer what they can from
one pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from runner.alerts import Alert, AlertContext
from runner.backends import BackendError, IndexNotFound, QueryError
from runner.catalog import Rule
from runner.execution.answer import checked
from runner.execution.execution_plan import PlanMode, plan
from runner.execution.status import HuntStatus
from runner.ruletypes import Request, RuleSearch, prepare


class Events(Protocol):
    """What a hunt searches: events from files (`FileEvents`) or held in memory (`MemoryEvents`)."""

    count: int

    def search_many(self, requests: Sequence[Request]) -> list[dict[str, Any] | BackendError]: ...

    def field_caps(self, index: Sequence[str], fields: Sequence[str]) -> dict[str, Any]: ...


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
    results: list[HuntResult | None] = [None] * len(rules)
    searches: dict[int, RuleSearch] = {}
    for number, rule in enumerate(rules):
        try:
            searches[number] = prepare(rule, events)
        except BackendError as error:  # e.g. a KQL query its indices' fields cannot translate
            results[number] = _result(rule, None, error, context, rule.params.max_signals)
    numbers = list(searches)
    requests = [plan(rules[i], started_at=now, mode=PlanMode.HUNT, search=searches[i]).requests[0] for i in numbers]
    answers = events.search_many(requests) if requests else []
    found = dict(zip(numbers, answers, strict=True))
    sizes = {number: int(request.body.get("size", rules[number].params.max_signals))
             for number, request in zip(numbers, requests, strict=True)}
    out = []
    for number, rule in enumerate(rules):
        result = results[number]
        if result is None:
            search = searches[number]
            answer = IndexNotFound(search.no_index) if search.no_index is not None else found[number]
            result = _result(rule, search, answer, context, sizes[number])
        out.append(result)
        if on_rule is not None:
            on_rule(result)
    return out


@dataclass(frozen=True)
class _Context:
    space_id: str
    alerts_index: str | None
    now: datetime
    execution: str


def _result(rule: Rule, search: RuleSearch | None, answer: dict[str, Any] | BackendError,
            context: _Context, size: int) -> HuntResult:
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
    assert search is not None  # a rule without a search has its error as its answer
    result.hits = search.count(answer)
    if result.hits:
        result.alerts = search.alerts(answer, AlertContext(
            rule=rule, execution_uuid=context.execution, now=context.now, space_id=context.space_id,
            execution_type="manual", intended_timestamp=context.now, alerts_index=context.alerts_index))
        result.alert_count = len(result.alerts)
    if result.hits >= size:  # the answer's size: max_signals (a query rule's, at most Elasticsearch's result window)
        result.status = HuntStatus.MAX_SIGNALS
        limit = (f"max_signals ({size})" if size == rule.params.max_signals else
                 f"{size:,} results, the most one answer holds (max_signals {rule.params.max_signals:,})")
        result.message = f"reached {limit}; more may match"
    return result


__all__ = ["Events", "HuntResult", "hunt"]
