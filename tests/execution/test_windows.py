"""Kibana's windows: look-back, catch-up after missed runs, and the gap left over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.catalog import iso
from runner.execution.windows import Gap, Window, humanize, plan_windows

T = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_first_run_is_one_window() -> None:
    plan = plan_windows(from_="now-9m", to="now", interval="5m", started_at=T, previous_started_at=None)
    assert plan.windows == (Window(T - 9 * M, T),) and plan.gap is None


def test_on_time_and_late_runs_within_the_look_back_need_no_catch_up() -> None:
    for late in (1, 5, 9):  # a 9m look-back covers up to 9 minutes between starts
        plan = plan_windows(from_="now-9m", to="now", interval="5m", started_at=T, previous_started_at=T - late * M)
        assert len(plan.windows) == 1 and plan.gap is None


def test_catch_up_windows_oldest_first() -> None:
    # 20 minutes since the last start, 9m look-back: an 11 minute gap, ceil(11/5) = 3 catch-up windows
    plan = plan_windows(from_="now-9m", to="now", interval="5m", started_at=T, previous_started_at=T - 20 * M)
    assert plan.windows == (
        Window(T - 24 * M, T - 15 * M), Window(T - 19 * M, T - 10 * M), Window(T - 14 * M, T - 5 * M), Window(T - 9 * M, T),
    )
    assert plan.gap is None


def test_residual_gap_after_four_catch_ups() -> None:
    # Kibana's example: interval 5m, from now-9m, last run 40 minutes ago: gap 31m, 4 catch-ups, 11 minutes lost
    previous = T - 40 * M
    plan = plan_windows(from_="now-9m", to="now", interval="5m", started_at=T, previous_started_at=previous)
    assert len(plan.windows) == 5 and plan.windows[0] == Window(T - 29 * M, T - 20 * M)
    assert plan.gap == Gap(previous, previous + 11 * M)
    assert plan.gap.message().startswith("11 minutes (660000ms) were not queried between this rule execution")


def test_iso_and_humanize() -> None:
    assert iso(datetime(2026, 3, 31, 14, 37, 21, 123456, tzinfo=UTC)) == "2026-03-31T14:37:21.123Z"
    assert [humanize(timedelta(seconds=s)) for s in (10, 60, 660, 3600, 7200, 86400 * 3)] == [
        "a few seconds", "a minute", "11 minutes", "an hour", "2 hours", "3 days"]
