"""The order Elasticsearch puts events in: timestamp, then tiebreaker (missing last), then the order documents came in
(Elasticsearch's implicit `_shard_doc` tiebreaker; here the position in the stream, so a stream sorted by timestamp and
tiebreaker is already in order)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from runner.engine.dates import iso_millis_nanos
from runner.engine.field_types import DateType
from runner.engine.fields import MISSING, FieldReader
from runner.errors import RuleRunnerError


class OrderingError(RuleRunnerError):
    """A document whose timestamp or tiebreaker cannot order it (Elasticsearch: `invalid_argument_exception`)."""


def value_rank(value: Any) -> tuple[Any, ...]:
    """A total order over mixed scalar values: numbers, then strings, then booleans; null last."""
    if value is None:
        return (3,)
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


class Ordinal(NamedTuple):
    """Where an event sits in the stream; compares like Elasticsearch's `Ordinal` (plus load order), as a tuple."""

    timestamp: int  # epoch nanoseconds
    tiebreaker: tuple[Any, ...]
    position: int

    @property
    def millis(self) -> int:
        return self.timestamp // 1_000_000


_new_ordinal = tuple.__new__  # skips NamedTuple's Python-level constructor on the hot path


class OrdinalReader:
    """Reads the timestamp and tiebreaker of a document of one index."""

    __slots__ = ("_iso", "tiebreaker", "tiebreaker_field", "timestamp", "timestamp_field")

    def __init__(
        self,
        timestamp: FieldReader,
        tiebreaker: FieldReader | None,
        timestamp_field: str,
        tiebreaker_field: str | None,
    ) -> None:
        self.timestamp = timestamp
        self.tiebreaker = tiebreaker
        self.timestamp_field = timestamp_field
        self.tiebreaker_field = tiebreaker_field
        self._iso: bool | None = None  # a millisecond date with the default format: ISO strings take a fast path

    def _timestamp(self, source: dict[str, Any]) -> int | None:
        """The single date of the timestamp field, in epoch nanoseconds, or None."""
        reader = self.timestamp
        if self._iso is None and reader.ftype is not None:
            ftype = reader.ftype
            self._iso = isinstance(ftype, DateType) and ftype.format is None and not ftype.nanos
        if self._iso:
            raw = reader.get(source)
            if type(raw) is str:
                nanos = iso_millis_nanos(raw)
                if nanos is not None:
                    return nanos - nanos % 1_000_000
        values = reader.values(source)
        if len(values) != 1 or reader.family != "date":
            return None
        value: int = values[0]
        return value

    def event_key(self, source: dict[str, Any], position: int) -> tuple[Any, ...]:
        """The sort key of an event query's hit; events without a single timestamp sort last."""
        timestamp = self._timestamp(source)
        if timestamp is None:
            return (1, position)
        tiebreak: tuple[Any, ...] = (3,)
        if self.tiebreaker is not None:
            tb_values = self.tiebreaker.values(source)
            if len(tb_values) == 1:
                tiebreak = value_rank(tb_values[0])
        return (0, timestamp, tiebreak, position)

    def ordinal(self, doc: Mapping[str, Any], position: int, strict: bool) -> Ordinal | None:
        """The document's ordinal; None (or, when `strict`, an error) if its timestamp is missing or multi-valued."""
        source = doc["_source"]
        timestamp = self._timestamp(source)
        if timestamp is None:
            if not strict:
                return None
            raw = self.timestamp.get(source)
            shown = "null" if raw is MISSING else json.dumps(raw)
            raise OrderingError(
                f"Expected timestamp field [{self.timestamp_field}] to be mapped as [date] or [date_nanos] and to "
                f"hold a single value but got [{shown}] (document [{doc.get('_id')}] of index [{doc.get('_index')}])"
            )
        tiebreak: tuple[Any, ...] = (3,)
        if self.tiebreaker is not None:
            tb_values = self.tiebreaker.values(source)
            if len(tb_values) > 1:
                raise OrderingError(
                    f"Expected tiebreaker field [{self.tiebreaker_field}] to hold a single comparable value but got "
                    f"[{json.dumps(self.tiebreaker.get(source))}] (document [{doc.get('_id')}] of index "
                    f"[{doc.get('_index')}])"
                )
            if tb_values:
                tiebreak = value_rank(tb_values[0])
        return _new_ordinal(Ordinal, (timestamp, tiebreak, position))


__all__ = ["OrderingError", "Ordinal", "OrdinalReader", "value_rank"]
