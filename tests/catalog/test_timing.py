"""Durations and Kibana date math."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.catalog import DateMath, TimingError, format_duration, parse_duration
from runner.errors import RuleRunnerError

NOW = datetime(2026, 3, 31, 14, 37, 21, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5m", timedelta(minutes=5)), ("30s", timedelta(seconds=30)), ("1h", timedelta(hours=1)),
     ("2d", timedelta(days=2)), ("250ms", timedelta(milliseconds=250)), ("60m", timedelta(hours=1))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5", "m", "5x", "-5m", "0m", "5 m m", "", "1.5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimingError, match="invalid duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (300, 3600, 90, 86400, 0.25)] == ["5m", "1h", "90s", "1d", "250ms"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-9m", NOW - timedelta(minutes=9)),
        ("now+1h", NOW + timedelta(hours=1)),
        ("now-7205m", NOW - timedelta(minutes=7205)),
        ("now/d", datetime(2026, 3, 31, tzinfo=UTC)),
        ("now-1d/d", datetime(2026, 3, 30, tzinfo=UTC)),
        ("now/h", datetime(2026, 3, 31, 14, tzinfo=UTC)),
        ("now-1M", datetime(2026, 2, 28, 14, 37, 21, 123456, tzinfo=UTC)),  # calendar month, day clamped
        ("now-1y/M", datetime(2025, 3, 1, tzinfo=UTC)),
        ("now/s", NOW.replace(microsecond=0)),
        ("2026-01-01T00:00:00Z||+1d", datetime(2026, 1, 2, tzinfo=UTC)),
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC)),
    ],
)
def test_date_math(text: str, expected: datetime) -> None:
    assert DateMath.parse(text).resolve(NOW) == expected


@pytest.mark.parametrize("text", ["later", "now-", "now-9x", "now/q", "", "now-9m trailing"])
def test_bad_date_math(text: str) -> None:
    with pytest.raises(TimingError, match="invalid date math"):
        DateMath.parse(text)


def test_timing_errors_are_ours_not_value_errors() -> None:
    assert issubclass(TimingError, RuleRunnerError) and not issubclass(TimingError, ValueError)
