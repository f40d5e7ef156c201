"""Hunting: rules over events held in memory, offline. The whole input is one window: each rule's own filters
apply, the time range does not, and each rule answers at most `max_signals` results, as one execution would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from runner.alerts import Alert, AlertContext, build_alerts
from runner.backends import IndexNotFound, QueryError, build_request
from runner.backends.embedded.memory import MemoryEvents
from runner.backends.request import rule_filter
from runner.catalog import Rule


@dataclass
class HuntResult:
    rule: Rule
    status: str = "ok"  # ok | max signals | no index | failed
    message: str = ""
    hits: int = 0
    alerts: list[Alert] = field(default_factory=list)
    alert_count: int = 0


def hunt(
    rules: Sequence[Rule],
    events: MemoryEvents,
    *,
    space_id: str = "default",
    alerts_index: str | None = None,
    now: datetime | None = None,
    on_rule: Callable[[HuntResult], None] | None = None,
) -> list[HuntResult]:
    """Every rule over `events`, in order; one failing rule never stops the others."""
    now = now or datetime.now(timezone.utc)
    execution = str(uuid.uuid4())
    results = []
    for rule in rules:
        result = HuntResult(rule)
        request = build_request(rule, now, now)
        filters = [item.model_dump(mode="json") for item in rule.params.filters]
        request.body["filter"] = {"bool": {"filter": [rule_filter(filters)]}}  # no time range: all the input
        try:
            response: dict[str, Any] = events.eql_search(request)
            found = response["hits"].get("events") or response["hits"].get("sequences") or []
            result.hits = len(found)
            if found:
                result.alerts = build_alerts(response, AlertContext(
                    rule=rule, execution_uuid=execution, now=now, space_id=space_id, execution_type="manual",
                    intended_timestamp=now, alerts_index=alerts_index))
                result.alert_count = len(result.alerts)
            if result.hits >= rule.params.max_signals:
                result.status = "max signals"
                result.message = f"reached max_signals ({rule.params.max_signals}); more may match"
        except IndexNotFound:
            result.status = "no index"
        except QueryError as error:
            result.status, result.message = "failed", f"{error.es_type}: {error.reason}"
        results.append(result)
        if on_rule is not None:
            on_rule(result)
    return results


__all__ = ["HuntResult", "hunt"]
