"""Durations (`interval = "5m"`) and Kibana date math (`from = "now-9m"`, `now/d`).

Kibana resolves a rule's `from` and `to` with `@kbn/datemath` against the execution's start (`forceNow`), without
rounding up; calendar units (`M`, `y`) move by calendar months and years, the others by fixed lengths, and `/unit`
rounds down to the start of that unit, all in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from runner.dateunits import add_months, round_down
from runner.errors import RuleRunnerError

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class TimingError(RuleRunnerError):
    """A duration or a date-math expression that does not parse; the message says what is expected.

    One of our errors, not a `ValueError`: a caller catching `ValueError` (a bug, or a standard parse failing) does
    not catch it by accident. Pydantic turns only `ValueError`s into validation errors, so each validator that
    parses a duration or date math (`catalog/model.py`, `settings/values.py`) catches it and raises a `ValueError`
    with its message, there and nowhere else."""


def parse_duration(text: str) -> timedelta:
    """`"5m"` → 5 minutes. Kibana's rule intervals are a positive integer and one of `s m h d` (`ms` is accepted too)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimingError(f"invalid duration [{text}]: expected a whole number and a unit, one of ms, s, m, h, d (e.g. 5m)")
    value = int(match.group(1))
    if value <= 0:
        raise TimingError(f"invalid duration [{text}]: it must be greater than zero")
    return timedelta(seconds=value * _DURATION_UNITS[match.group(2)])


def iso(moment: datetime) -> str:
    """JavaScript's `toISOString()` of an aware datetime (UTC, milliseconds): how Kibana writes instants, in
    requests (the window) and in alerts alike."""
    u = moment.astimezone(UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}."
            f"{u.microsecond // 1000:03d}Z")


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling: 300 s → `5m`."""
    millis = round(value.total_seconds() * 1000)
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if millis % (seconds * 1000) == 0:
            return f"{millis // (seconds * 1000)}{unit}"
    return f"{millis}ms"


_UNITS = ("y", "M", "w", "d", "h", "H", "m", "s", "ms")
_OPERATION = re.compile(r"([+-])(\d*)(ms|[yMwdhHms])|/(ms|[yMwdhHms])")


@dataclass(frozen=True, slots=True)
class DateMath:
    """A parsed expression: an anchor (`now`, or an ISO date before `||`) and operations applied left to right."""

    text: str
    anchor: datetime | None  # None: now
    operations: tuple[tuple[str, int, str], ...]  # ("+" | "-" | "/", amount, unit)

    @classmethod
    def parse(cls, text: str) -> DateMath:
        if not isinstance(text, str) or not text.strip():
            raise TimingError("invalid date math []: expected now, now-9m, now/d or an ISO date")
        raw = text.strip()
        if raw.startswith("now"):
            anchor, rest = None, raw[3:]
        elif "||" in raw:
            head, rest = raw.split("||", 1)
            anchor = _iso(head, text)
        else:
            return cls(text, _iso(raw, text), ())
        operations: list[tuple[str, int, str]] = []
        position = 0
        while position < len(rest):
            match = _OPERATION.match(rest, position)
            if match is None:
                raise TimingError(
                    f"invalid date math [{text}]: cannot read [{rest[position:]}]; expected +N<unit>, -N<unit> or "
                    f"/<unit> with a unit among {', '.join(_UNITS)}"
                )
            if match.group(4):
                operations.append(("/", 1, match.group(4)))
            else:
                operations.append((match.group(1), int(match.group(2) or 1), match.group(3)))
            position = match.end()
        return cls(text, anchor, tuple(operations))

    def resolve(self, now: datetime) -> datetime:
        """The instant this expression names when the execution starts at `now` (an aware datetime)."""
        value = (self.anchor or now).astimezone(UTC)
        for op, amount, unit in self.operations:
            value = round_down(value, unit) if op == "/" else _add(value, amount if op == "+" else -amount, unit)
        return value


# execution starts at which `from` and `to` are compared: the turn of a year (a Monday), the instant before it, and
# an ordinary moment; rounding (`now/d`, `now/M`) makes the order of the two depend on the start, fixed offsets do not
_SAMPLE_STARTS = (
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2023, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    datetime(2024, 7, 17, 13, 37, 42, 500000, tzinfo=UTC),
)


def empty_window(from_: str, to: str) -> str | None:
    """Why a rule's window `[from, to]` would be empty (`from` not earlier than `to`), or None when it is not."""
    empty = [start for start in _SAMPLE_STARTS
             if DateMath.parse(from_).resolve(start) >= DateMath.parse(to).resolve(start)]
    if not empty:
        return None
    if len(empty) == len(_SAMPLE_STARTS):
        return f"from [{from_}] is not earlier than to [{to}]: every window would be empty"
    start = empty[0]
    return (f"from [{from_}] is not earlier than to [{to}] for an execution starting at {iso(start)} (from "
            f"{iso(DateMath.parse(from_).resolve(start))}, to {iso(DateMath.parse(to).resolve(start))}): its window "
            "would be empty")


def _iso(text: str, whole: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimingError(f"invalid date math [{whole}]: [{text}] is not an ISO 8601 date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _add(value: datetime, amount: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        return add_months(value, amount * (12 if unit == "y" else 1))
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return value + timedelta(seconds=amount * seconds)


__all__ = ["DateMath", "TimingError", "empty_window", "format_duration", "iso", "parse_duration"]
