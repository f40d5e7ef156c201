"""Elasticsearch date parsing and printing: named formats and Java `DateTimeFormatter` patterns → epoch nanoseconds.

A `date` field stores milliseconds and a `date_nanos` field nanoseconds; both are kept here as integer epoch
nanoseconds so one ordering serves both. The default format is `strict_date_optional_time||epoch_millis`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeAlias

DEFAULT_FORMAT = "strict_date_optional_time||epoch_millis"
NANOS_PER_MILLI = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Parser = Callable[[object], "int | None"]
# A parsed value: epoch nanoseconds and the smallest field the text specified ("year" ... "second", or "exact").
Parsed: TypeAlias = "tuple[int, str] | None"
RangeParser = Callable[[object], Parsed]
_PRECISIONS = ("year", "month", "day", "hour", "minute", "second")

_ISO = re.compile(
    r"(?P<year>[+-]?\d{4,9})"
    r"(?:-(?P<month>\d{1,2})"
    r"(?:-(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{1,2})"
    r"(?::(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})"
    r"(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\Z"
)
_STRICT_ISO = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2})"
    r"(?::(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})"
    r"(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\Z"
)


def _zone_offset(zone: str | None) -> timedelta:
    if not zone or zone == "Z":
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return sign * timedelta(hours=hours, minutes=minutes)


def _to_nanos(
    year: int, month: int, day: int, hour: int, minute: int, second: int, nanos: int, offset: timedelta
) -> int | None:
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    delta = moment - offset - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + nanos


def _next_period(year: int, month: int, day: int, hour: int, minute: int, second: int, precision: str) -> tuple[int, int, int, int, int, int]:
    """The start of the period after the one a partial date names (2017 → 2018-01-01, 2017-08 → 2017-09-01...)."""
    if precision == "year":
        return (year + 1, 1, 1, 0, 0, 0)
    if precision == "month":
        return (year + 1, 1, 1, 0, 0, 0) if month == 12 else (year, month + 1, 1, 0, 0, 0)
    step = {"day": timedelta(days=1), "hour": timedelta(hours=1), "minute": timedelta(minutes=1)}.get(
        precision, timedelta(seconds=1)
    )
    moment = datetime(year, month, day, hour, minute, second) + step
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _parsed(groups: dict[str, Any], year: int) -> Parsed:
    fraction = groups.get("fraction") or ""
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    parts = (
        year,
        int(groups.get("month") or 1),
        int(groups.get("day") or 1),
        int(groups.get("hour") or 0),
        int(groups.get("minute") or 0),
        int(groups.get("second") or 0),
    )
    value = _to_nanos(*parts, nanos, _zone_offset(groups.get("zone")))
    if value is None:
        return None
    if fraction:
        return value, "exact"
    precision = "year"
    for name in ("month", "day", "hour", "minute", "second"):
        if groups.get(name):
            precision = name
    return value, precision


_EPOCH_NAIVE = datetime(1970, 1, 1)
_MICRO = timedelta(microseconds=1)


_SECONDS: dict[str, int] = {}
_MILLIS = {f"{i:03d}": i * 1_000_000 for i in range(1000)}


def iso_millis_nanos(value: str) -> int | None:
    """Epoch nanos of an ISO date; `yyyy-MM-ddTHH:mm:ss.SSSZ` (the shape of nearly every event timestamp) takes two
    dictionary lookups once its second has been seen."""
    if len(value) == 24 and value[19] == "." and value[23] == "Z":
        seconds = _SECONDS.get(value[:19])
        millis = _MILLIS.get(value[20:23])
        if seconds is not None and millis is not None:
            return seconds + millis
    parsed = fast_iso(value)
    return None if parsed is None else parsed[0]


def fast_iso(value: str) -> Parsed:
    """`yyyy-MM-ddTHH:mm:ss[.fraction]Z`, the shape nearly every event timestamp has, without a regex.

    Events come many to a second, so the seconds are remembered (a small cache, cleared when it fills up)."""
    if len(value) < 20 or value[-1] != "Z" or value[10] != "T" or value[19:20] not in (".", "Z"):
        return None
    head = value[:19]
    nanos = _SECONDS.get(head)
    if nanos is None:
        try:
            moment = datetime.fromisoformat(head)
        except ValueError:
            return None
        if len(_SECONDS) >= 65_536:
            _SECONDS.clear()
        nanos = _SECONDS[head] = ((moment - _EPOCH_NAIVE) // _MICRO) * 1000
    if len(value) == 20:
        return nanos, "second"
    fraction = value[20:-1]
    if not fraction.isdigit() or len(fraction) > 9 or not fraction.isascii():
        return None
    return nanos + int(fraction.ljust(9, "0")), "exact"


def _iso_parser(pattern: re.Pattern[str]) -> RangeParser:
    def parse(value: object) -> Parsed:
        if not isinstance(value, str):
            return None
        fast = fast_iso(value)
        if fast is not None:
            return fast
        match = pattern.match(value)
        if match is None:
            return None
        groups = match.groupdict()
        return _parsed(groups, int(groups["year"]))

    return parse


def _epoch_parser(unit_nanos: int) -> RangeParser:
    number = re.compile(r"-?\d+(?:\.\d+)?\Z")

    def parse(value: object) -> Parsed:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value * unit_nanos, "exact"
        if isinstance(value, float):
            return round(value * unit_nanos), "exact"
        if isinstance(value, str) and number.match(value):
            if "." in value:
                whole, fraction = value.split(".")
                sign = -1 if whole.startswith("-") else 1
                frac_nanos = int((fraction + "0" * 18)[:18]) * unit_nanos // 10**18
                return int(whole) * unit_nanos + sign * frac_nanos, "exact"
            return int(value) * unit_nanos, "exact"
        return None

    return parse


# Java DateTimeFormatter pattern letters we support, as regex fragments and the field they fill.
_PATTERN_LETTERS: dict[str, tuple[str, str]] = {
    "yyyy": (r"(?P<year>\d{4})", "year"),
    "uuuu": (r"(?P<year>\d{4})", "year"),
    "yy": (r"(?P<year2>\d{2})", "year2"),
    "MM": (r"(?P<month>\d{2})", "month"),
    "M": (r"(?P<month>\d{1,2})", "month"),
    "dd": (r"(?P<day>\d{2})", "day"),
    "d": (r"(?P<day>\d{1,2})", "day"),
    "HH": (r"(?P<hour>\d{2})", "hour"),
    "H": (r"(?P<hour>\d{1,2})", "hour"),
    "mm": (r"(?P<minute>\d{2})", "minute"),
    "m": (r"(?P<minute>\d{1,2})", "minute"),
    "ss": (r"(?P<second>\d{2})", "second"),
    "s": (r"(?P<second>\d{1,2})", "second"),
    "SSSSSSSSS": (r"(?P<fraction>\d{9})", "fraction"),
    "SSSSSS": (r"(?P<fraction>\d{6})", "fraction"),
    "SSS": (r"(?P<fraction>\d{3})", "fraction"),
    "XXX": (r"(?P<zone>Z|[+-]\d{2}:\d{2})", "zone"),
    "XX": (r"(?P<zone>Z|[+-]\d{4})", "zone"),
    "X": (r"(?P<zone>Z|[+-]\d{2}(?:\d{2})?)", "zone"),
    "ZZZZZ": (r"(?P<zone>Z|[+-]\d{2}:\d{2})", "zone"),
    "Z": (r"(?P<zone>[+-]\d{4})", "zone"),
    "xxx": (r"(?P<zone>[+-]\d{2}:\d{2})", "zone"),
    "xx": (r"(?P<zone>[+-]\d{4})", "zone"),
}
_LETTER_RUN = re.compile(r"([A-Za-z])\1*")


def _pattern_parser(pattern: str) -> RangeParser:
    """A parser for a Java `DateTimeFormatter` pattern such as `dd-MM-yyyy` or `yyyy/MM/dd HH:mm:ss`."""
    regex: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"unterminated quote in date format [{pattern}]")
            regex.append(re.escape(pattern[i + 1 : end] or "'"))
            i = end + 1
            continue
        if ch == "[" or ch == "]":
            # optional sections: accept their content as optional
            regex.append("(?:" if ch == "[" else ")?")
            i += 1
            continue
        if ch.isalpha():
            run = _LETTER_RUN.match(pattern, i)
            assert run is not None
            letters = run.group(0)
            if letters not in _PATTERN_LETTERS:
                raise ValueError(f"unsupported date format letters [{letters}] in [{pattern}]")
            regex.append(_PATTERN_LETTERS[letters][0])
            i = run.end()
            continue
        regex.append(re.escape(ch))
        i += 1
    compiled = re.compile("".join(regex) + r"\Z")

    def parse(value: object) -> Parsed:
        if not isinstance(value, str):
            return None
        match = compiled.match(value)
        if match is None:
            return None
        groups = match.groupdict()
        year = int(groups["year"]) if groups.get("year") else (
            2000 + int(groups["year2"]) if groups.get("year2") else 1970
        )
        return _parsed(groups, year)

    return parse


_NAMED: dict[str, Callable[[], RangeParser]] = {
    "strict_date_optional_time": lambda: _iso_parser(_STRICT_ISO),
    "strict_date_optional_time_nanos": lambda: _iso_parser(_STRICT_ISO),
    "date_optional_time": lambda: _iso_parser(_ISO),
    "strict_date_time": lambda: _iso_parser(_STRICT_ISO),
    "date_time": lambda: _iso_parser(_ISO),
    "strict_date_time_no_millis": lambda: _iso_parser(_STRICT_ISO),
    "date_time_no_millis": lambda: _iso_parser(_ISO),
    "strict_date": lambda: _pattern_parser("yyyy-MM-dd"),
    "date": lambda: _pattern_parser("yyyy-MM-dd"),
    "strict_date_hour_minute_second": lambda: _pattern_parser("yyyy-MM-dd'T'HH:mm:ss"),
    "date_hour_minute_second": lambda: _pattern_parser("yyyy-MM-dd'T'HH:mm:ss"),
    "basic_date": lambda: _pattern_parser("yyyyMMdd"),
    "epoch_millis": lambda: _epoch_parser(NANOS_PER_MILLI),
    "epoch_second": lambda: _epoch_parser(1_000_000_000),
    "iso8601": lambda: _iso_parser(_ISO),
}


@lru_cache(maxsize=256)
def _range_parser(formats: str | None) -> RangeParser:
    spec = formats or DEFAULT_FORMAT
    parsers: list[RangeParser] = []
    for name in spec.split("||"):
        name = name.strip()
        if name.startswith("8"):
            name = name[1:]
        factory = _NAMED.get(name)
        parsers.append(factory() if factory else _pattern_parser(name))
    # a JSON number is epoch millis whatever the format says
    epoch_millis = _epoch_parser(NANOS_PER_MILLI)

    def parse(value: object) -> Parsed:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return epoch_millis(value)
        for parser in parsers:
            result = parser(value)
            if result is not None:
                return result
        return None

    return parse


@lru_cache(maxsize=256)
def date_parser(formats: str | None = None) -> Parser:
    """A parser for a mapping's `format` (`a||b||c`; the first format that parses a value wins) → epoch nanos."""
    parse = _range_parser(formats)

    def nanos(value: object) -> int | None:
        result = parse(value)
        return None if result is None else result[0]

    return nanos


def parse_date(value: object, formats: str | None = None) -> tuple[int, str] | None:
    """A date in a field's formats as (epoch nanos, precision): the smallest field the text named (`year` ...
    `second`) or `exact` (a fraction or an epoch number); None when no format parses it. Offsets written in the
    text are applied; a text without one is read as UTC."""
    return _range_parser(formats)(value)


def date_range(value: object, formats: str | None = None) -> tuple[int, int] | None:
    """The epoch-nanos interval a date literal names, rounded like Elasticsearch's date math: a value written to the
    second covers that whole second, a day covers the day, and so on; an exact value is a point."""
    result = _range_parser(formats)(value)
    if result is None:
        return None
    low, precision = result
    if precision == "exact":
        return low, low
    moment = _EPOCH + timedelta(microseconds=low // 1000)
    # the bounds are computed in the literal's own offset-free fields, then shifted like the start was
    start_fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    following = _next_period(*start_fields, precision)
    high = _to_nanos(*following, 0, timedelta(0))
    start = _to_nanos(*start_fields, 0, timedelta(0))
    if high is None or start is None:
        return low, low
    return low, low + (high - start) - 1


def format_iso(nanos: int, precision_nanos: bool = False) -> str:
    """Elasticsearch's default rendering of a date: `2022-05-04T12:00:00.000Z` (9 fraction digits for nanos)."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    moment = _EPOCH + timedelta(seconds=seconds)
    fraction = f"{rest:09d}" if precision_nanos else f"{rest // NANOS_PER_MILLI:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction}Z"


_FORMAT_LETTERS: dict[str, Callable[[datetime, int], str]] = {
    "yyyy": lambda d, ns: f"{d.year:04d}",
    "uuuu": lambda d, ns: f"{d.year:04d}",
    "yy": lambda d, ns: f"{d.year % 100:02d}",
    "MM": lambda d, ns: f"{d.month:02d}",
    "M": lambda d, ns: str(d.month),
    "dd": lambda d, ns: f"{d.day:02d}",
    "d": lambda d, ns: str(d.day),
    "HH": lambda d, ns: f"{d.hour:02d}",
    "H": lambda d, ns: str(d.hour),
    "mm": lambda d, ns: f"{d.minute:02d}",
    "m": lambda d, ns: str(d.minute),
    "ss": lambda d, ns: f"{d.second:02d}",
    "s": lambda d, ns: str(d.second),
    "SSSSSSSSS": lambda d, ns: f"{ns:09d}",
    "SSSSSS": lambda d, ns: f"{ns // 1000:06d}",
    "SSS": lambda d, ns: f"{ns // 1_000_000:03d}",
    "XXX": lambda d, ns: "Z",
    "XX": lambda d, ns: "Z",
    "X": lambda d, ns: "Z",
    "ZZZZZ": lambda d, ns: "Z",
    "Z": lambda d, ns: "+0000",
    "xxx": lambda d, ns: "+00:00",
    "xx": lambda d, ns: "+0000",
}


def format_date(nanos: int, formats: str | None = None, precision_nanos: bool = False) -> str:
    """A date as Elasticsearch prints it with a field's (first) format, in UTC."""
    first = (formats or DEFAULT_FORMAT).split("||")[0].strip()
    if first.startswith("8"):
        first = first[1:]
    if first == "epoch_millis":
        return str(nanos // NANOS_PER_MILLI)
    if first == "epoch_second":
        return str(nanos // 1_000_000_000)
    if first in _NAMED and first not in ("strict_date", "date", "basic_date"):
        return format_iso(nanos, precision_nanos)
    pattern = {"strict_date": "yyyy-MM-dd", "date": "yyyy-MM-dd", "basic_date": "yyyyMMdd"}.get(first, first)
    seconds, rest = divmod(nanos, 1_000_000_000)
    moment = _EPOCH + timedelta(seconds=seconds)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            out.append(pattern[i + 1 : end] or "'")
            i = end + 1
        elif ch in "[]":
            i += 1
        elif ch.isalpha():
            run = _LETTER_RUN.match(pattern, i)
            assert run is not None
            writer = _FORMAT_LETTERS.get(run.group(0))
            out.append(writer(moment, rest) if writer else run.group(0))
            i = run.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


__all__ = [
    "DEFAULT_FORMAT",
    "NANOS_PER_MILLI",
    "date_parser",
    "date_range",
    "fast_iso",
    "format_date",
    "format_iso",
    "iso_millis_nanos",
    "parse_date",
]
