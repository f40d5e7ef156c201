"""The plan of an execution: windows from the saved state, a request per window, the halves of a cut window, and a
hunt's one request without time range. `execute`, `hunt` and `explain` take their windows and requests from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.catalog import Rule, iso, load_rule_file
from runner.execution import PlanMode, Window, plan
from runner.execution.windows import plan_windows
from runner.ruletypes.eql import build_request
from runner.ruletypes.kibana import rule_filter

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def seed_rule() -> Rule:  # from now-9m to now, every 5m, a sequence with maxspan=5s
    return load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")


def test_a_rule_without_state_is_on_its_first_execution() -> None:
    planned = plan(seed_rule(), started_at=T, state=None)
    assert planned.first and planned.windows == (Window(T - 9 * M, T),) and planned.gap is None
    assert planned.previous_started_at is None and planned.pending_since is None
    assert planned.pending_state() == {"pending_since": iso(T - 9 * M)}


def test_windows_resume_from_the_last_complete_execution() -> None:
    rule = seed_rule()
    previous = T - 40 * M
    planned = plan(rule, started_at=T, state={"previous_started_at": previous.isoformat()})
    expected = plan_windows(from_="now-9m", to="now", interval="5m", started_at=T, previous_started_at=previous)
    assert not planned.first and planned.previous_started_at == previous and planned.pending_since is None
    assert (planned.windows, planned.gap) == (expected.windows, expected.gap) and len(planned.windows) == 5
    # each window with the request Kibana sends for it
    assert [request.to_dict() for request in planned.requests] == [
        build_request(rule, window.start, window.end).to_dict() for window in expected.windows]
    assert [window for window, _ in planned.searches()] == list(expected.windows)


def test_a_pending_first_window_is_searched_again_from_where_it_began() -> None:
    since = T - 20 * M
    planned = plan(seed_rule(), started_at=T, state={"pending_since": iso(since)})
    assert not planned.first and planned.pending_since == since and planned.previous_started_at == since
    assert planned.windows[0].start <= since and planned.gap is None and planned.windows[-1] == Window(T - 9 * M, T)


def test_a_manual_run_ignores_the_state() -> None:
    planned = plan(seed_rule(), started_at=T, state={"previous_started_at": (T - 40 * M).isoformat()},
                   mode=PlanMode.MANUAL)
    assert not planned.first and planned.windows == (Window(T - 9 * M, T),) and planned.gap is None
    assert planned.previous_started_at is None


def test_a_hunt_has_one_request_without_time_range() -> None:
    rule = seed_rule()
    planned = plan(rule, started_at=T, mode=PlanMode.HUNT)
    assert planned.windows == () and planned.requests == (build_request(rule),)
    timed = build_request(rule, T, T).to_dict()
    untimed = planned.requests[0].to_dict()
    # the same request, its filter without the time range (the rule's own filters still apply)
    assert untimed["body"].pop("filter") == {"bool": {"filter": [rule_filter([])]}}
    assert timed["body"].pop("filter")["bool"]["filter"][1:] == [rule_filter([])]
    assert untimed == timed


def test_halves_overlap_by_maxspan_and_are_cut_on_a_millisecond() -> None:
    planned = plan(seed_rule(), started_at=T)  # maxspan=5s
    window = Window(T - 9 * M, T + timedelta(microseconds=1500))
    halves = planned.halves(window)
    assert halves is not None
    low, high = halves
    middle = high.start
    assert middle.microsecond % 1000 == 0 and window.start < middle < window.end
    assert low == Window(window.start, middle + timedelta(seconds=5)) and high == Window(middle, window.end)
    assert planned.request(low).to_dict() == build_request(planned.rule, low.start, low.end).to_dict()


@pytest.mark.parametrize("width", [timedelta(0), timedelta(milliseconds=1)])
def test_a_window_too_narrow_is_not_cut(width: timedelta) -> None:
    planned = plan(seed_rule(), started_at=T)
    assert planned.halves(Window(T, T + width)) is None
