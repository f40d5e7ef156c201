"""Timestamps as Kibana writes and reads them.

Written: JavaScript `Date.toISOString()`, UTC with milliseconds (`2024-05-01T12:05:03.120Z`).
Read (`kibana.alert.original_time`, Kibana `getValidDateFromDoc`): the hit's `fields["@timestamp"][0]` when `fields`
has the key, else `_source["@timestamp"]`; a number is epoch milliseconds, a string is parsed by moment as ISO 8601,
and a string that is not ISO is tried as a number of epoch milliseconds (the fields API formats `epoch_millis` dates
as strings).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.alerts.paths import is_number, js_number
from runner.catalog import iso

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MS = 8.64e15  # the range of a JavaScript Date
# moment's ISO 8601 forms: calendar dates (extended or basic) with optional time, fraction and offset
_ISO = re.compile(
    r"^\s*(?P<year>[+-]\d{6}|\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?|(?P<bmonth>\d{2})(?P<bday>\d{2}))?"
    r"(?:[T ](?P<hour>\d{2})(?::?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?)?\s*$"
)


def original_time(hit: Mapping[str, Any]) -> str | None:
    """`kibana.alert.original_time` for an alert built from this hit (None: Kibana leaves the field out)."""
    return original_time_of(hit.get("_source"), hit.get("fields"))


def original_time_of(source: Any, fields: Any) -> str | None:
    """`original_time` of a hit with this `_source` and these `fields`."""
    if isinstance(fields, dict) and fields.get("@timestamp") is not None:
        values = fields["@timestamp"]
        value = values[0] if isinstance(values, list) and values else None
    else:
        value = source.get("@timestamp") if isinstance(source, dict) else None
    if type(value) is str and _CANONICAL.match(value):
        # already as `toISOString()` writes it (Elastic Defend's form): valid dates come back unchanged
        try:
            datetime.fromisoformat(value[:-1])
            return value
        except ValueError:
            pass
    parsed = parse_date(value)
    return iso(parsed) if parsed is not None else None


_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


def parse_date(value: Any) -> datetime | None:
    """A timestamp read the way moment reads it, or None when it is not a valid date."""
    if is_number(value):
        return _from_epoch_ms(float(value))
    if not isinstance(value, str):
        return None
    parsed = _parse_iso(value)
    if parsed is not None:
        return parsed
    # moment would also hand a non-ISO string to JavaScript's `Date` parser before this; its formats are the
    # engine's own and are not reproduced ("2024/05/01" gives no original time here)
    return _from_epoch_ms(js_number(value))


def _from_epoch_ms(ms: float) -> datetime | None:
    if not math.isfinite(ms) or abs(ms) > _MAX_MS:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=math.trunc(ms))
    except OverflowError:
        return None


def _parse_iso(text: str) -> datetime | None:
    match = _ISO.match(text)
    if not match:
        return None
    g = match.groupdict()
    try:
        year = int(g["year"])
        month = int(g["month"] or g["bmonth"] or 1)
        day = int(g["day"] or g["bday"] or 1)
        hour, minute, second = int(g["hour"] or 0), int(g["minute"] or 0), int(g["second"] or 0)
        millis = int((g["fraction"] or "0")[:3].ljust(3, "0"))  # moment keeps milliseconds, truncated
        if hour == 24 and minute == second == millis == 0:
            moment = datetime(year, month, day, tzinfo=UTC) + timedelta(days=1)
        else:
            moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    offset = g["offset"]
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment -= sign * delta
    # without an offset moment uses the Kibana server's local time zone; Kibana servers run in UTC (inferred)
    return moment


__all__ = ["iso", "original_time", "original_time_of", "parse_date"]
