"""Calendar arithmetic of date math, shared by Kibana's (rule windows: `runner.catalog.timing`) and Elasticsearch's
(`range` bounds: `runner.engine.query_dsl.datemath`): rounding down to a unit and moving by calendar months.

Both work on the wall clock of the datetime given (its own `tzinfo`), so a caller in a time zone rounds to that
zone's days. Below every layer: both date maths import it, neither imports the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def round_down(moment: datetime, unit: str) -> datetime:
    """`moment` rounded down to the start of its `unit` (y M w d h H m s ms); weeks start on Monday (ISO weeks, as
    moment's `isoWeek` and Java's `DateFormatters` week rounding)."""
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start - timedelta(days=start.weekday())
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in ("h", "H"):
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    if unit == "s":
        return moment.replace(microsecond=0)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months, the day clamped to the target month's last (Java's `plusMonths`,
    moment's `add`)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    following = datetime(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


__all__ = ["add_months", "round_down"]
