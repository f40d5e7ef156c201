"""Kibana's checks of a source value against the ECS type of its field (`factories/utils/ecs_types_validators/`).

What Kibana keeps in an alert, value by value (`traverse_and_mutate_doc.ts` asks these for the types it checks):

- `long`: a number, or a string JavaScript's `Number()` reads as one and holding no space (`"24 "` is not a long);
- `float`, `scaled_float`: a number, or a string `Number()` reads (`"24 "`, `""` and `"0x1f"` are; `"12ms"` is not);
- `ip`: a string `ipaddr.js` takes for an IPv4 or IPv6 address (its lenient forms too: `127.1`, `0x7f.0.0.1`,
  `2130706433`, zone ids) or an IPv4/IPv6 CIDR range;
- `date`: a number, a string `Number()` reads, or a string moment.js parses strictly as ISO 8601 (`2015`,
  `2015-01`, `2015-W01-1`, `2015-001`, `20150101T1210`, `2015-01-01 12:10:30,5+05:30`, ...) or as `yyyy-MM-DDT`;
  month, day, week, hour (24 only as 24:00), minute and second must exist;
- `boolean`: `true`, `false`, `"true"`, `"false"` or `""` (`"True"` is not).

A JSON `true` is never a number here (Python's `bool` is an `int`; JavaScript's `typeof true` is `"boolean"`).
Each check is JavaScript's, reproduced on the JSON values Python holds; the IP and date parsers are the libraries'
rules for strings, not Python's (`ipaddress` refuses `127.1`, `datetime.fromisoformat` takes what moment refuses).
Dates without an offset are read as UTC (moment reads them in the Kibana server's time zone; that only matters for
the year ±275,760 limit of JavaScript dates).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from runner.alerts.paths import is_number, js_number

# ---- numbers: `Number(string)` ---------------------------------------------------------------------------------------


def js_numeric_string(text: str) -> bool:
    """Whether `Number(text)` is a number, not NaN (blank reads as 0, `0x1f` and `Infinity` are numbers)."""
    return not math.isnan(js_number(text))


def is_valid_numeric(value: Any) -> bool:
    """`isValidNumericType`: a number (NaN too: its `typeof` is `"number"`), or a string `Number()` reads."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    if kind is str:
        return js_numeric_string(value)
    return is_number(value) or (isinstance(value, str) and js_numeric_string(value))


def is_valid_long(value: Any) -> bool:
    """`isValidLongType`: `isValidNumericType`, but a string holding a space is not a long."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    if isinstance(value, str) and " " in value:
        return False
    return is_valid_numeric(value)


def is_valid_boolean(value: Any) -> bool:
    """`isValidBooleanType`: one of `['true', 'false', true, false, '']` (JavaScript `includes`: same type)."""
    return type(value) is bool or (isinstance(value, str) and value in ("true", "false", ""))


# ---- IP addresses: ipaddr.js `isValid(ip) || IPv4.parseCIDR(ip) || IPv6.parseCIDR(ip)` -----------------------------

_V4_PART = r"(0?[0-9]+|0[xX][0-9a-fA-F]+)"
_V4_FOUR = re.compile(rf"{_V4_PART}\.{_V4_PART}\.{_V4_PART}\.{_V4_PART}")
_V4_THREE = re.compile(rf"{_V4_PART}\.{_V4_PART}\.{_V4_PART}")
_V4_TWO = re.compile(rf"{_V4_PART}\.{_V4_PART}")
_V4_LONG = re.compile(_V4_PART)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_OCTAL = re.compile(r"0[0-7]+")
_ZONE = r"%[0-9a-zA-Z]{1,}"
_ZONE_SEARCH = re.compile(_ZONE)
_V6_PART = r"(?:[0-9a-fA-F]+::?)+"
_V6_NATIVE = re.compile(rf"(::)?({_V6_PART})?([0-9a-fA-F]+)?(::)?({_ZONE})?")
_V6_DEPRECATED_TRANSITIONAL = re.compile(rf"(?:::)({_V4_PART}\.{_V4_PART}\.{_V4_PART}\.{_V4_PART}({_ZONE})?)")
_V6_TRANSITIONAL = re.compile(
    rf"((?:{_V6_PART})|(?:::)(?:{_V6_PART})?){_V4_PART}\.{_V4_PART}\.{_V4_PART}\.{_V4_PART}({_ZONE})?"
)
# `/^(.+)\/(\d+)$/`: JavaScript's `.` stops at any line terminator
_CIDR = re.compile(r"([^\n\r\u2028\u2029]+)/([0-9]+)")
_JS_INT_PREFIX = re.compile(r"[ \t\n\x0b\x0c\r\xa0\ufeff]*([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)")


class _Invalid(Exception):
    pass


def _parse_int_auto(text: str) -> int:
    """ipaddr.js `parseIntAuto`: hexadecimal with `0x`, octal with a leading 0 (digits 0-7 only), else decimal."""
    if _HEX.fullmatch(text):
        return int(text, 16)
    if text[0] == "0" and len(text) > 1 and text[1].isascii() and text[1].isdigit():
        if _OCTAL.fullmatch(text):
            return int(text, 8)
        raise _Invalid
    return int(text, 10)


def _js_parse_int(text: str) -> float:
    """JavaScript `parseInt(text)` (no radix) for the digit strings the IPv6 transitional form captures."""
    match = _JS_INT_PREFIX.match(text)
    if match is None:
        return math.nan
    sign, digits = match.groups()
    value = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 10)
    return -value if sign == "-" else value


def _ipv4_octets(text: str) -> list[int] | None:
    """ipaddr.js `IPv4.parser`: the four octets (unchecked), or None when the string has no IPv4 form."""
    match = _V4_FOUR.fullmatch(text)
    if match:
        return [_parse_int_auto(part) for part in match.groups()]
    match = _V4_LONG.fullmatch(text)
    if match:
        value = _parse_int_auto(match.group(1))
        if value > 0xFFFFFFFF or value < 0:
            raise _Invalid
        return [(value >> shift) & 0xFF for shift in (24, 16, 8, 0)]
    match = _V4_TWO.fullmatch(text)
    if match:
        value = _parse_int_auto(match.group(2))
        if value > 0xFFFFFF or value < 0:
            raise _Invalid
        return [_parse_int_auto(match.group(1)), (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF]
    match = _V4_THREE.fullmatch(text)
    if match:
        value = _parse_int_auto(match.group(3))
        if value > 0xFFFF or value < 0:
            raise _Invalid
        return [_parse_int_auto(match.group(1)), _parse_int_auto(match.group(2)), (value >> 8) & 0xFF, value & 0xFF]
    return None


def _ipv4_valid(text: str) -> bool:
    """`new IPv4(IPv4.parser(text))` succeeds."""
    try:
        octets = _ipv4_octets(text)
    except _Invalid:
        return False
    return octets is not None and all(0 <= octet <= 255 for octet in octets)


def _expand_ipv6(text: str, parts: int) -> list[float] | None:
    """ipaddr.js `expandIPv6`: the groups (NaN for a bad one), or None."""
    if text.find("::") != text.rfind("::"):
        return None
    zone = _ZONE_SEARCH.search(text)
    if zone:
        text = re.sub(r"%[^\n\r\u2028\u2029]+\Z", "", text, count=1)
    colons = text.count(":")
    if text[:2] == "::":
        colons -= 1
    if text[-2:] == "::":
        colons -= 1
    if colons >= parts:
        return None
    text = text.replace("::", ":" + "0:" * (parts - colons), 1)
    if text[:1] == ":":
        text = text[1:]
    if text[-1:] == ":":
        text = text[:-1]
    groups: list[float] = []
    for group in text.split(":"):
        groups.append(math.nan if len(group) > 4 else _js_parse_hex(group))
    return groups


def _js_parse_hex(text: str) -> float:
    """`parseInt(text, 16)`: the leading hexadecimal digits, NaN without any."""
    match = re.match(r"[0-9a-fA-F]+", text)
    return int(match.group(0), 16) if match else math.nan


def _ipv6_groups(text: str) -> list[float] | None:
    """ipaddr.js `IPv6.parser`: eight (or, when wrong, some other number of) groups, or None."""
    match = _V6_DEPRECATED_TRANSITIONAL.fullmatch(text)
    if match:
        return _ipv6_groups("::ffff:" + match.group(1))
    if _V6_NATIVE.fullmatch(text):
        return _expand_ipv6(text, 8)
    match = _V6_TRANSITIONAL.fullmatch(text)
    if match:
        zone = match.group(6) or ""
        address = match.group(1)
        if not address.endswith("::"):
            address = address[:-1]
        groups = _expand_ipv6(address + zone, 6)
        if groups is not None:
            octets = [_js_parse_int(match.group(n)) for n in (2, 3, 4, 5)]
            if not all(0 <= octet <= 255 for octet in octets):
                return None
            a, b, c, d = (int(octet) for octet in octets)
            return [*groups, a << 8 | b, c << 8 | d]
    return None


def _ipv6_valid(text: str) -> bool:
    """`new IPv6(IPv6.parser(text).parts)` succeeds: eight groups of 16 bits."""
    groups = _ipv6_groups(text)
    return groups is not None and len(groups) == 8 and all(0 <= group <= 0xFFFF for group in groups)


def _cidr(text: str, valid: Callable[[str], bool], bits: int) -> bool:
    match = _CIDR.fullmatch(text)
    return match is not None and 0 <= int(match.group(2)) <= bits and valid(match.group(1))


def _ip_uncached(text: str) -> bool:
    if ":" in text and _ipv6_valid(text):  # `IPv6.isValid` answers false at once without a colon
        return True
    return _ipv4_valid(text) or _cidr(text, _ipv4_valid, 32) or _cidr(text, _ipv6_valid, 128)


_IP_CACHE: dict[str, bool] = {}  # addresses repeat across events (hosts, servers): parsed once each


def is_valid_ip(value: Any) -> bool:
    """`isValidIpType`."""
    if not isinstance(value, str):
        return False
    known = _IP_CACHE.get(value)
    if known is None:
        if len(_IP_CACHE) >= 65536:
            _IP_CACHE.clear()
        known = _IP_CACHE[value] = _ip_uncached(value)
    return known


# ---- dates: moment(value, [ISO_8601, 'yyyy-MM-DDT'], true).isValid() -----------------------------------------------

_D = "[0-9]"
# moment's extendedIsoRegex and basicIsoRegex, less their `\s*`: in strict mode a skipped character (whitespace
# before the date or before `Z`) is left over, which makes the date invalid anyway
_EXTENDED = re.compile(
    rf"((?:[+-]{_D}{{6}}|{_D}{{4}})-(?:{_D}{_D}-{_D}{_D}|W{_D}{_D}-{_D}|W{_D}{_D}|{_D}{_D}{_D}|{_D}{_D}))"
    rf"(?:(T| )({_D}{_D}(?::{_D}{_D}(?::{_D}{_D}(?:[.,]{_D}+)?)?)?)([+-]{_D}{_D}(?::?{_D}{_D})?|Z)?)?"
)
_BASIC = re.compile(
    rf"((?:[+-]{_D}{{6}}|{_D}{{4}})(?:{_D}{_D}{_D}{_D}|W{_D}{_D}{_D}|W{_D}{_D}|{_D}{_D}{_D}|{_D}{_D}|))"
    rf"(?:(T| )({_D}{_D}(?:{_D}{_D}(?:{_D}{_D}(?:[.,]{_D}+)?)?)?)([+-]{_D}{_D}(?::?{_D}{_D})?|Z)?)?"
)
# the date forms moment's `isoDates` pick, and how they are read: only these parse strictly (a signed six-digit year
# in any other form is picked as a four-digit one, whose token then fails on the sign)
_DATE_FORMS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(pattern), kind, allow_time) for pattern, kind, allow_time in (
        (rf"([+-]{_D}{{6}})-({_D}{_D})-({_D}{_D})", "ymd", True),
        (rf"({_D}{{4}})-({_D}{_D})-({_D}{_D})", "ymd", True),
        (rf"({_D}{{4}})-W({_D}{_D})-({_D})", "wwd", True),
        (rf"({_D}{{4}})-W({_D}{_D})", "ww", False),
        (rf"({_D}{{4}})-({_D}{{3}})", "ordinal", True),
        (rf"({_D}{{4}})-({_D}{_D})", "ym", False),
        (rf"([+-]{_D}{{6}})({_D}{_D})({_D}{_D})", "ymd", True),
        (rf"({_D}{{4}})({_D}{_D})({_D}{_D})", "ymd", True),
        (rf"({_D}{{4}})W({_D}{_D})({_D})", "wwd", True),
        (rf"({_D}{{4}})W({_D}{_D})", "ww", False),
        (rf"({_D}{{4}})({_D}{{3}})", "ordinal", True),
        (rf"({_D}{{4}})({_D}{_D})", "ym", False),
        (rf"({_D}{{4}})", "y", False),
    )
)
_TIME = re.compile(rf"({_D}{_D}):?(?:({_D}{_D}):?(?:({_D}{_D})(?:[.,]({_D}+))?)?)?")
_OFFSET = re.compile(rf"([+-])({_D}{_D}):?({_D}{_D})?")
_ERA_YEAR_DATE = re.compile(rf"({_D}+)-({_D}{_D})-({_D}{_D})T")  # 'yyyy-MM-DDT': tokens /\d+/, /\d\d/, /\d\d/, T
_COMMON = re.compile(rf"({_D}{{4}})-({_D}{_D})-({_D}{_D})T({_D}{_D}):({_D}{_D}):({_D}{_D})(?:\.({_D}+))?Z")
# the usual shape with every part in range (February 29th aside): valid without reading the numbers
_COMMON_VALID = re.compile(
    rf"{_D}{{4}}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1{_D}|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    rf"T(?:[01]{_D}|2[0-3]):[0-5]{_D}:[0-5]{_D}(?:\.{_D}+)?Z"
)
_MAX_MS = 8.64e15  # the range of a JavaScript Date


def _leap(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


def _days_in_month(year: int, month: int) -> int:  # month 0-11
    return 29 if month == 1 and _leap(year) else (28 if month == 1 else 31 - (month % 7) % 2)


def _days_before_year(year: int) -> int:
    """Days from 1970-01-01 to January 1st of `year` (proleptic Gregorian, any year)."""
    y = year - 1
    return 365 * (year - 1970) + (y // 4 - y // 100 + y // 400) - (1969 // 4 - 1969 // 100 + 1969 // 400)


def _days_from_epoch(year: int, month: int, day: int) -> int:  # month 0-11, day may overflow the month
    days = _days_before_year(year)
    for m in range(month):
        days += _days_in_month(year, m)
    return days + day - 1


def _iso_weekday(days: int) -> int:
    """1 (Monday) .. 7 of a day counted from 1970-01-01 (a Thursday)."""
    return (days + 3) % 7 + 1


def _iso_weeks_in_year(year: int) -> int:
    jan1 = _iso_weekday(_days_before_year(year))
    return 53 if jan1 == 4 or (jan1 == 3 and _leap(year)) else 52


def _in_js_range(days: int, hour: int, minute: int, second: int, offset_minutes: int) -> bool:
    ms = (((days * 24 + hour) * 60 + minute - offset_minutes) * 60 + second) * 1000
    return -_MAX_MS <= ms <= _MAX_MS


_SAFE_YEARS = 270000  # every instant of a year closer to 1970 than this fits a JavaScript Date


def _valid_date(year: int, month: int, day: int, hour: int, minute: int, second: int, ms: int, offset: int) -> bool:
    """moment's `checkOverflow` and a JavaScript Date for the parts read (month 0-11)."""
    if not 0 <= month <= 11 or not 1 <= day <= _days_in_month(year, month):
        return False
    if not _valid_time(hour, minute, second, ms):
        return False
    return -_SAFE_YEARS < year < _SAFE_YEARS or _in_js_range(
        _days_from_epoch(year, month, day), hour, minute, second, offset)


def _milliseconds(fraction: str | None) -> int:
    """moment's `parseMs`: `toInt(('0.' + input) * 1000)`."""
    return int(float("0." + fraction) * 1000) if fraction else 0


def _moment_iso(text: str) -> bool:
    """`moment(text, ISO_8601, true).isValid()`."""
    match = _EXTENDED.fullmatch(text) or _BASIC.fullmatch(text)
    if match is None:
        return False
    date_part, _, time_part, offset_part = match.groups()
    for pattern, kind, allow_time in _DATE_FORMS:  # noqa: B007 (the form found is read after the loop)
        found = pattern.search(date_part)  # moment picks the first form found anywhere in the date part
        if found:
            break
    else:
        return False
    if time_part is not None and not allow_time:
        return False
    if pattern.fullmatch(date_part) is None:
        return False  # a form picked inside a longer date part: its first token does not read the sign
    hour = minute = second = ms = 0
    if time_part is not None:
        time = _TIME.fullmatch(time_part)
        assert time is not None  # the ISO patterns only let times of this shape through
        hour = int(time.group(1))
        minute = int(time.group(2) or 0)
        second = int(time.group(3) or 0)
        ms = _milliseconds(time.group(4))
    offset = 0
    if offset_part is not None and offset_part != "Z":
        offset_match = _OFFSET.fullmatch(offset_part)
        assert offset_match is not None  # the ISO patterns only let offsets of this shape through
        sign, hours, minutes = offset_match.groups()
        offset = (int(hours) * 60 + int(minutes or 0)) * (1 if sign == "+" else -1)
    parts = found.groups()
    year = int(parts[0])
    if kind in ("ymd", "ym", "y"):
        month = int(parts[1]) - 1 if kind != "y" else 0
        day = int(parts[2]) if kind == "ymd" else 1
        return _valid_date(year, month, day, hour, minute, second, ms, offset)
    if kind == "ordinal":
        ordinal = int(parts[1])
        if not 1 <= ordinal <= (366 if _leap(year) else 365):
            return False
        return _valid_time(hour, minute, second, ms) and _in_js_range(
            _days_before_year(year) + ordinal - 1, hour, minute, second, offset)
    week = int(parts[1])
    weekday = int(parts[2]) if kind == "wwd" else 1
    if not 1 <= week <= _iso_weeks_in_year(year) or not 1 <= weekday <= 7:
        return False
    # the Monday of ISO week 1 is the one of the week holding January 4th
    jan4 = _days_before_year(year) + 3
    days = jan4 - (_iso_weekday(jan4) - 1) + (week - 1) * 7 + weekday - 1
    return _valid_time(hour, minute, second, ms) and _in_js_range(days, hour, minute, second, offset)


def _valid_time(hour: int, minute: int, second: int, ms: int) -> bool:
    """`checkOverflow` of the time: 24 only as 24:00:00.000."""
    return hour <= 24 and not (hour == 24 and (minute or second or ms)) and minute <= 59 and second <= 59


def _moment_era_year(text: str) -> bool:
    """`moment(text, 'yyyy-MM-DDT', true).isValid()`: ES's `yyyy-MM-dd'T'`, which ISO 8601 in moment lacks."""
    match = _ERA_YEAR_DATE.fullmatch(text)
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    if year > 300000:  # beyond any JavaScript Date (and cheap to refuse before the arithmetic)
        return False
    return _valid_date(year, month - 1, day, 0, 0, 0, 0, 0)


def is_valid_date(value: Any) -> bool:
    """`isValidDateType`: what reads as a number is a date (epoch milliseconds), else a strict ISO 8601 string."""
    kind = type(value)
    if kind is str:
        if _COMMON_VALID.fullmatch(value):
            return True
        common = _COMMON.fullmatch(value)
        if common:  # the usual `2024-05-01T12:00:00.000Z` (which `Number()` never reads)
            year, month, day, hour, minute, second = map(int, common.groups()[:6])
            return _valid_date(year, month - 1, day, hour, minute, second, _milliseconds(common.group(7)), 0)
    if is_valid_numeric(value):
        return True
    return isinstance(value, str) and (_moment_iso(value) or _moment_era_year(value))


__all__ = ["is_valid_boolean", "is_valid_date", "is_valid_ip", "is_valid_long", "is_valid_numeric",
           "js_numeric_string"]
