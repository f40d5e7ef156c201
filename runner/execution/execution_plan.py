"""The plan of one execution: which windows it searches and with which requests, computed in one place.

`plan()` turns a rule, its saved state and the execution's start into everything decided before the first search:
where the execution resumes (`resume_from`: the last complete execution's start, or the pending first window), the
windows Kibana would search (`plan_windows`: the look-back, catch-up windows, the gap), and the `_eql/search`
request of each window (`build_request`). `execute`, `hunt` and `explain` all plan through it, so what `explain`
prints is what `run` searches. Three modes:

- scheduled: resumes from the saved state; a rule without one is on its first execution (`first`), whose window is
  recorded pending (`pending_state`) before it is searched;
- manual: one window for the rule's look-back at the given instant, no catch-up, the state neither read nor moved;
- hunt: no window at all, one request over all the input (the rule's own filters still apply).

A window whose search returned `size` results is searched again in halves (`halves`, with `request` for each); the
plan decides where it is cut, the execution how deep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from runner.backends import EqlRequest
from runner.catalog import Rule, iso
from runner.execution.kibana_request import build_request, build_untimed_request
from runner.execution.windows import Gap, Window, instant, plan_windows, resume_from


class PlanMode(Enum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    HUNT = "hunt"


@dataclass(frozen=True)
class ExecutionPlan:
    """An execution's windows (oldest first) and their requests, `requests[i]` searching `windows[i]`; a hunt has
    no window and one request over all the input."""

    rule: Rule
    started_at: datetime
    mode: PlanMode
    windows: tuple[Window, ...]
    requests: tuple[EqlRequest, ...]
    gap: Gap | None = None  # time between the previous execution and this one that no window covers
    previous_started_at: datetime | None = None  # where the windows resume from (None: a first run, manual, a hunt)
    pending_since: datetime | None = None  # no execution completed yet: the first window pending since then

    @property
    def first(self) -> bool:
        """A scheduled execution with nothing to resume from: its first window must be recorded pending before any
        search, so that a failure cannot lose it."""
        return self.mode is PlanMode.SCHEDULED and self.previous_started_at is None

    def pending_state(self) -> dict[str, str]:
        """The state a first execution saves before its first search."""
        return {"pending_since": iso(self.windows[0].start)}

    def searches(self) -> Iterator[tuple[Window, EqlRequest]]:
        """Each window with its request, oldest first."""
        return zip(self.windows, self.requests, strict=True)

    def request(self, window: Window) -> EqlRequest:
        """The request over `window` (a window of this plan, or a part of one)."""
        return build_request(self.rule, window.start, window.end)

    def halves(self, window: Window) -> tuple[Window, Window] | None:
        """`window` cut in two at its middle (on a millisecond: requests carry milliseconds), the lower half
        reaching a sequence's `maxspan` past the cut so that every sequence lies whole in one half (without maxspan,
        one crossing the cut is found only if the wider search kept it); the halves overlap at least on the cut,
        both bounds being inclusive. None when the window is too narrow to cut."""
        start, end = window.start, window.end
        middle = start + (end - start) / 2
        middle -= timedelta(microseconds=middle.microsecond % 1000)
        if not start < middle < end:
            return None
        maxspan = getattr(getattr(self.rule.query, "maxspan", None), "millis", None)
        reach = min(end, middle + timedelta(milliseconds=maxspan)) if maxspan else middle
        return Window(start, reach), Window(middle, end)


def plan(
    rule: Rule,
    *,
    started_at: datetime,
    state: Mapping[str, Any] | None = None,
    mode: PlanMode = PlanMode.SCHEDULED,
) -> ExecutionPlan:
    """The plan of `rule`'s execution starting at `started_at` (aware), given its saved `state` (scheduled mode)."""
    params = rule.params
    if mode is PlanMode.HUNT:
        return ExecutionPlan(rule, started_at, mode, (), (build_untimed_request(rule),))
    previous = resume_from(state, to=params.to, started_at=started_at) if mode is PlanMode.SCHEDULED else None
    pending = (instant(state.get("pending_since"))
               if mode is PlanMode.SCHEDULED and state and "previous_started_at" not in state else None)
    windows = plan_windows(from_=params.from_, to=params.to, interval=params.interval, started_at=started_at,
                           previous_started_at=previous)
    requests = tuple(build_request(rule, window.start, window.end) for window in windows.windows)
    return ExecutionPlan(rule, started_at, mode, windows.windows, requests, windows.gap, previous, pending)


__all__ = ["ExecutionPlan", "PlanMode", "plan"]
