"""The time windows of one execution, computed as Kibana's `getRuleRangeTuples` does.

An execution starting at `started_at` searches `[from, to]` resolved against that instant (`now-9m` .. `now`). When the
previous execution started longer ago than the look-back covers, Kibana adds up to four catch-up windows, each one
interval earlier than the last, searched oldest first; whatever those do not cover is a gap, reported as a failure
with its range. Kibana keeps `previousStartedAt` in its task manager; we persist it per rule in the state store, so a
restart is a gap to cover rather than a silent loss.

A rule's state says where the next execution resumes (`resume_from`): `previous_started_at`, the start of its last
complete execution; or, before any execution completed, `pending_since`, the start of its first window, written
before that window's first search. So a first execution that fails leaves its window pending like any other, and the
next execution searches it as a catch-up window rather than behaving as a first run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.catalog import DateMath, iso, parse_duration

MAX_CATCH_UP = 4  # Kibana's MAX_RULE_GAP_RATIO


@dataclass(frozen=True, slots=True)
class Window:
    """One search range, both ends inclusive (Kibana's range filter is `gte`/`lte`)."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{iso(self.start)} .. {iso(self.end)}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Time no window of this execution covers, between the previous execution and this one."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def message(self) -> str:
        millis = round(self.duration.total_seconds() * 1000)
        return (
            f"{humanize(self.duration)} ({millis}ms) were not queried between this rule execution and the last "
            "execution, so signals may have been missed. Consider increasing your look behind time or running "
            f"the rule more often (not queried: {iso(self.start)} .. {iso(self.end)})"
        )


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """The windows to search, oldest first, and the gap left over (if any)."""

    windows: tuple[Window, ...]
    gap: Gap | None


def plan_windows(
    *, from_: str, to: str, interval: str, started_at: datetime, previous_started_at: datetime | None
) -> WindowPlan:
    """Kibana's windows for an execution starting at `started_at` (aware datetimes)."""
    start = DateMath.parse(from_).resolve(started_at)
    end = DateMath.parse(to).resolve(started_at)
    windows = [Window(start, end)]
    if previous_started_at is None:  # the first execution, and manual runs
        return WindowPlan(tuple(windows), None)
    step = parse_duration(interval)
    gap = (started_at - previous_started_at) - (end - start)
    if gap <= timedelta(0) or step <= timedelta(0):
        return WindowPlan(tuple(windows), None)
    catch_up = min(math.ceil(gap / step), MAX_CATCH_UP)
    windows += [Window(start - k * step, end - k * step) for k in range(1, catch_up + 1)]
    remaining = gap - catch_up * step
    leftover = Gap(previous_started_at, previous_started_at + remaining) if remaining > timedelta(0) else None
    return WindowPlan(tuple(reversed(windows)), leftover)


def resume_from(state: Mapping[str, Any] | None, *, to: str, started_at: datetime) -> datetime | None:
    """The `previous_started_at` to plan an execution starting at `started_at` from, given the rule's saved state:
    the last complete execution's start; for a rule whose first window is still pending, the start an execution
    would have had for its `to` to fall on `pending_since` (the windows then reach back to that instant); None for
    a rule without state (a first execution)."""
    if not state:
        return None
    previous = instant(state.get("previous_started_at"))
    if previous is not None:
        return previous
    pending = instant(state.get("pending_since"))
    if pending is None:
        return None
    return pending + (started_at - DateMath.parse(to).resolve(started_at))


def instant(value: Any) -> datetime | None:
    """An aware datetime from a saved ISO 8601 string (UTC when it has no offset); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def humanize(value: timedelta) -> str:
    """moment's `duration.humanize()`: "a few seconds", "11 minutes", "an hour", "2 days"."""
    seconds = value.total_seconds()
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if seconds < 45:
        return "a few seconds"
    if seconds < 90:
        return "a minute"
    if minutes < 45:
        return f"{round(minutes)} minutes"
    if minutes < 90:
        return "an hour"
    if hours < 22:
        return f"{round(hours)} hours"
    if hours < 36:
        return "a day"
    if days < 26:
        return f"{round(days)} days"
    if days < 45:
        return "a month"
    if days < 320:
        return f"{round(days / 30.4)} months"
    if days < 548:
        return "a year"
    return f"{round(days / 365)} years"


__all__ = ["MAX_CATCH_UP", "Gap", "Window", "WindowPlan", "humanize", "instant", "plan_windows", "resume_from"]
