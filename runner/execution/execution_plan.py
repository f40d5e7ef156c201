"""The plan of one execution: which windows it searches and with which requests, computed in one place.

`plan()` turns a rule, its saved state and the execution's start into everything decided before the first search:
where the execution resumes (`resume_from`: the last complete execution's start, or the pending first window), the
windows Kibana would search (`plan_windows`: the look-back, catch-up windows, the gap), and the request of each
window, which the rule's type builds (`runner.ruletypes`: its `RuleSearch`, prepared once per execution).
`execute`, `hunt` and `explain` all plan through it, so what `explain` prints is what `run` searches. Three modes:

- scheduled: resumes from the saved state; a rule without one is on its first execution (`first`), whose window is
  recorded pending (`pending_state`) before it is searched;
- manual: one window for the rule's look-back at the given instant, no catch-up, the state neither read nor moved;
- hunt: no window at all, one request over all the input (the rule's own filters still apply).

A window whose search returned `size` results is searched again in halves (`halves`, with `request` for each) when
its type has no pagination (EQL); the type decides where it is cut, the execution how deep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from runner.catalog import Rule, iso
from runner.execution.windows import Gap, Window, instant, plan_windows, resume_from
from runner.ruletypes import Request, RuleSearch, prepare


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
    requests: tuple[Request, ...]
    search: RuleSearch  # the rule's search for this execution: its type's requests and answers
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

    def searches(self) -> Iterator[tuple[Window, Request]]:
        """Each window with its request, oldest first."""
        return zip(self.windows, self.requests, strict=True)

    def request(self, window: Window) -> Request:
        """The request over `window` (a window of this plan, or a part of one)."""
        return self.search.request(window.start, window.end)

    def halves(self, window: Window) -> tuple[Window, Window] | None:
        """`window` cut in two where its type searches a truncated window again (`RuleSearch.halves`); None when it
        is not cut (too narrow, or a type that pages instead)."""
        parts = self.search.halves(window.start, window.end)
        return None if parts is None else (Window(*parts[0]), Window(*parts[1]))


def plan(
    rule: Rule,
    *,
    started_at: datetime,
    state: Mapping[str, Any] | None = None,
    mode: PlanMode = PlanMode.SCHEDULED,
    search: RuleSearch | None = None,
) -> ExecutionPlan:
    """The plan of `rule`'s execution starting at `started_at` (aware), given its saved `state` (scheduled mode);
    `search`: the rule's search prepared with the fields of its indices (default: prepared without field
    information, as a request shown offline is)."""
    params = rule.params
    search = search if search is not None else prepare(rule)
    if mode is PlanMode.HUNT:
        return ExecutionPlan(rule, started_at, mode, (), (search.request(None, None),), search)
    previous = resume_from(state, to=params.to, started_at=started_at) if mode is PlanMode.SCHEDULED else None
    pending = (instant(state.get("pending_since"))
               if mode is PlanMode.SCHEDULED and state and "previous_started_at" not in state else None)
    windows = plan_windows(from_=params.from_, to=params.to, interval=params.interval, started_at=started_at,
                           previous_started_at=previous)
    requests = tuple(search.request(window.start, window.end) for window in windows.windows)
    return ExecutionPlan(rule, started_at, mode, windows.windows, requests, search, windows.gap, previous, pending)


__all__ = ["ExecutionPlan", "PlanMode", "plan"]
