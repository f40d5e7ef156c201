"""Date bounds of `range` and `term` queries on date fields, as Elasticsearch's DateMathParser reads them.

A bound is `now`, a date in the query's `format` (else the field's), or either followed by math: `now-5m`,
`now/d`, `2026-01-01||+1M/d`. `bound(text, round_up=...)` answers epoch nanoseconds:
- a date written without a time, read with `round_up` (the `gt` and `lte` bounds, and the upper end of a `term`),
  takes Elasticsearch's round-up defaults: the missing hour, minute, second and fraction at their maximum
  (23:59:59.999999999), the missing month and day at 1 — so `lte: "2026-03"` ends at 2026-03-01T23:59:59.999...;
  read without `round_up`, the missing fields are 0 (and 1);
- `/unit` rounds down to the start of the unit, or, with `round_up`, to the unit's last millisecond (`gt`/`lte`);
- `time_zone` applies to a date written without an offset and to the rounding and the math (`now/d` in the zone);
  a date that names its own offset keeps it. Kibana sends `"Zulu"`, the IANA alias of UTC.
Units: y, M, w, d, h/H, m, s. A week starts on Monday. A JSON number is epoch milliseconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runner.dateunits import add_months, round_down
from runner.engine.dates import parse_date
from runner.errors import RuleRunnerError

NANOS_PER_MILLI = 1_000_000
NANOS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROUND_UP_FILL = {
    "year": 86_400 * NANOS_PER_SECOND - 1,
    "month": 86_400 * NANOS_PER_SECOND - 1,
    "day": 86_400 * NANOS_PER_SECOND - 1,
    "hour": 3_600 * NANOS_PER_SECOND - 1,
    "minute": 60 * NANOS_PER_SECOND - 1,
    "second": NANOS_PER_SECOND - 1,
    "exact": 0,
}
_OWN_OFFSET = re.compile(r".*T.*(?:Z|[+-]\d{2}(?::?\d{2})?)\Z|.*\s[+-]\d{4}\Z")
_MATH = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_EPOCH_TEXT = re.compile(r"-?\d+(?:\.\d+)?\Z")
_FIXED = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?\Z")


class DateMathError(RuleRunnerError, ValueError):
    """A bound Elasticsearch's date parser rejects (the search fails with a parse exception)."""


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """A `time_zone` parameter: an IANA id (`Europe/Paris`, `Zulu`), `Z`, `UTC`, or an offset (`+01:00`)."""
    if name in ("Z", "UTC", "utc", "GMT"):
        return UTC
    fixed = _FIXED.match(name)
    if fixed is not None:
        sign = -1 if fixed.group(1) == "-" else 1
        delta = timedelta(hours=int(fixed.group(2)), minutes=int(fixed.group(3) or 0))
        return timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DateMathError(f"failed to parse time_zone [{name}]: unknown time zone") from None


def _as_datetime(nanos: int, tz: tzinfo) -> tuple[datetime, int]:
    """An instant as an aware datetime in `tz` (microseconds) and the nanoseconds below the microsecond."""
    micros, rest = divmod(nanos, 1000)
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(tz), rest


def _nanos(moment: datetime, rest: int = 0) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NANOS_PER_SECOND + delta.microseconds * 1000 + rest


def _local_to_utc(nanos_as_utc: int, tz: tzinfo) -> int:
    """A wall-clock time (parsed as if UTC) read in `tz` instead."""
    naive = (_EPOCH + timedelta(microseconds=nanos_as_utc // 1000)).replace(tzinfo=None)
    offset = naive.replace(tzinfo=tz).utcoffset() or timedelta(0)
    return nanos_as_utc - int(offset.total_seconds()) * NANOS_PER_SECOND


def _plus(moment: datetime, amount: int, unit: str) -> datetime:
    if unit == "y":
        return add_months(moment, 12 * amount)
    if unit == "M":
        return add_months(moment, amount)
    step = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "H": timedelta(hours=1),
            "m": timedelta(minutes=1), "s": timedelta(seconds=1)}[unit]
    if unit in ("w", "d"):
        # calendar days in the zone (wall clock), as ZonedDateTime.plusDays
        naive = moment.replace(tzinfo=None) + step * amount
        tz = moment.tzinfo
        return naive.replace(tzinfo=tz)
    return (moment.astimezone(UTC) + step * amount).astimezone(moment.tzinfo)


def _apply_math(nanos: int, math: str, round_up: bool, tz: tzinfo, text: str) -> int:
    moment, rest = _as_datetime(nanos, tz)
    position = 0
    while position < len(math):
        step = _MATH.match(math, position)
        if step is None:
            raise DateMathError(f"failed to parse date field [{text}]: unsupported date math [{math[position:]}]")
        position = step.end()
        if step.group(4):
            unit = step.group(4)
            rest = 0
            start = round_down(moment, unit)
            if round_up:
                following = _plus(start, 1, unit)
                moment = following - timedelta(milliseconds=1)
            else:
                moment = start
            continue
        amount = int(step.group(2)) * (-1 if step.group(1) == "-" else 1)
        moment = _plus(moment, amount, step.group(3))
    return _nanos(moment, rest)


def bound(
    value: object, *, round_up: bool, formats: str | None, time_zone: str | None, now_nanos: int
) -> int:
    """Epoch nanoseconds of one range bound (see the module's docstring); `DateMathError` when it cannot be read."""
    tz = zone(time_zone) if time_zone else UTC
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise DateMathError(f"failed to parse date field [{value}]")
    if isinstance(value, (int, float)):
        return round(value * NANOS_PER_MILLI)
    text = str(value)
    if text.startswith("now"):
        return _apply_math(now_nanos, text[3:], round_up, tz, text)
    anchor, _, math = text.partition("||")
    parsed = parse_date(anchor, formats)
    if parsed is None:
        raise DateMathError(
            f"failed to parse date field [{anchor}] with format [{formats or 'strict_date_optional_time||epoch_millis'}]"
        )
    nanos, precision = parsed
    epoch = precision == "exact" and _EPOCH_TEXT.match(anchor) is not None
    if time_zone and not epoch and _OWN_OFFSET.match(anchor) is None:
        nanos = _local_to_utc(nanos, tz)
    if math:
        return _apply_math(nanos, math, round_up, tz, text)
    if round_up:
        nanos += _ROUND_UP_FILL[precision]
    return nanos


__all__ = ["DateMathError", "bound", "zone"]
