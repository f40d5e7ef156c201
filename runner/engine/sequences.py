"""Sequences, with Elasticsearch's state machine, in one pass over events in timestamp order.

Per join key there is at most one pending sequence per stage: an event of stage s takes the pending sequence of the
previous positive stage for its key (the newest one; older ones are gone) and moves it to stage s, so a newer
partial sequence replaces an older one. Within one event, stages are tried from the last to the first, so an event
that fits two consecutive stages extends an older sequence before it starts a new one. `maxspan` is measured from the
first positive event (a span equal to maxspan is allowed); an `until` event of the same key at or after a sequence's
last event, and before the current one, ends it. A transition refused by maxspan or until drops the pending sequence.

Missing events (`![...]`) follow Elasticsearch's check of each completed candidate: a matching event strictly between
two positive events (by millisecond timestamp, same key) discards it; the latest matching event before it (leading
stages) and the first after it (trailing stages) are compared with `maxspan`. Trailing checks wait for later events,
or for the end of the stream.

Memory is bounded by the open sequences, keys and kept results, not by the number of events: pending sequences older
than `maxspan` and bookkeeping that can no longer matter are swept as the stream advances (every 4,096 events fed,
and whenever the pending sequences doubled since the last sweep, so that a matcher fed rarely still holds only what is
open within its `maxspan`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from runner.engine.limits import Limit, Window
from runner.engine.ordering import Ordinal, value_rank

_SWEEP_EVERY = 4096
_SWEEP_MIN = 256


@dataclass(slots=True)
class SequenceMatch:
    key: tuple[Any, ...]
    start: Ordinal
    last: Ordinal
    events: list[Any]  # per stage: the document, or None for a missing-event placeholder
    doomed: bool = False  # an in-between missing event was found; dropped when it completes
    last_leading: int | None = None  # ms of the latest leading missing event before the start


@dataclass(slots=True)
class _Hits:
    """The latest millisecond timestamp a missing stage matched for a key, and the latest one before it."""

    last: int
    previous: int | None = None

    def add(self, ms: int) -> None:
        if ms > self.last:
            self.previous = self.last
            self.last = ms

    def latest_before(self, ms: int) -> int | None:
        if self.last < ms:
            return self.last
        if self.previous is not None and self.previous < ms:
            return self.previous
        return None


@dataclass(slots=True)
class _Awaiting:
    sequence: SequenceMatch
    reference: int | None  # ms the first trailing event is measured from (None: accepted once anything decides)


def key_rank(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(value_rank(v) for v in key)


@dataclass(slots=True)
class SequenceMatcher:
    """Feeds on (ordinal, per-stage keys) in ordinal order; `results()` gives the completed sequences to return."""

    missing: list[bool]
    maxspan: int | None  # nanoseconds
    chain: list[Limit]
    window: Window[Any] = field(init=False)
    positives: list[int] = field(init=False)
    previous_positive: dict[int, int] = field(init=False)
    leading: list[int] = field(init=False)
    trailing: list[int] = field(init=False)
    between: dict[int, list[int]] = field(init=False)  # positive stage -> missing stages right before it
    pending: dict[tuple[int, tuple[Any, ...]], SequenceMatch] = field(default_factory=dict)
    untils: dict[tuple[Any, ...], Ordinal] = field(default_factory=dict)
    hits: dict[tuple[int, tuple[Any, ...]], _Hits] = field(default_factory=dict)
    awaiting: dict[tuple[Any, ...], list[_Awaiting]] = field(default_factory=dict)
    _fed: int = 0
    _now: int = 0
    _sweep_at: int = 256  # sweep once there are more pending sequences than this (see `feed`)

    def __post_init__(self) -> None:
        self.window = Window(self.chain)
        self.positives = [i for i, m in enumerate(self.missing) if not m]
        first, last = self.positives[0], self.positives[-1]
        self.leading = list(range(first))
        self.trailing = list(range(last + 1, len(self.missing)))
        self.previous_positive = {}
        self.between = {}
        for before, after in itertools.pairwise(self.positives):
            self.previous_positive[after] = before
            self.between[after] = list(range(before + 1, after))

    @property
    def maxspan_ms(self) -> int | None:
        return None if self.maxspan is None else self.maxspan // 1_000_000

    # ---- feeding ---------------------------------------------------------------------------------------------------

    def feed(self, doc: Any, ordinal: Ordinal, stage_keys: list[list[tuple[Any, ...]] | None], until_keys: list[tuple[Any, ...]] | None) -> None:
        self._now = ordinal.timestamp
        ms = ordinal.millis
        for stage, keys in enumerate(stage_keys):
            if keys and self.missing[stage]:
                for key in keys:
                    self._missing_hit(stage, key, ms)
        for stage in reversed(self.positives):
            keys = stage_keys[stage]
            if keys:
                for key in keys:
                    self._match(stage, key, ordinal, doc)
        if until_keys:
            for key in until_keys:
                self.untils[key] = ordinal
        self._fed += 1
        if self._fed % _SWEEP_EVERY == 0 or len(self.pending) > self._sweep_at:
            self._sweep()
            # the next sweep when the pending sequences double (at least _SWEEP_MIN): memory follows the sequences
            # still open within maxspan, not what came since the last sweep, at an amortised constant cost per event
            self._sweep_at = max(_SWEEP_MIN, 2 * len(self.pending)) if self.maxspan is not None else 1 << 62

    def _missing_hit(self, stage: int, key: tuple[Any, ...], ms: int) -> None:
        slot = (stage, key)
        found = self.hits.get(slot)
        if found is None:
            self.hits[slot] = _Hits(ms)
        else:
            found.add(ms)
        if stage in self.trailing:
            waiting = self.awaiting.get(key)
            if waiting:
                still = []
                for entry in waiting:
                    if entry.sequence.last.millis < ms:
                        self._decide_trailing(entry, ms)
                    else:
                        still.append(entry)
                if still:
                    self.awaiting[key] = still
                else:
                    del self.awaiting[key]

    def _match(self, stage: int, key: tuple[Any, ...], ordinal: Ordinal, doc: Any) -> None:
        if stage == self.positives[0]:
            events: list[Any] = [None] * len(self.missing)
            events[stage] = doc
            sequence = SequenceMatch(key, ordinal, ordinal, events)
            if self.leading:
                latest = None
                for missing_stage in self.leading:
                    found = self.hits.get((missing_stage, key))
                    before = found.latest_before(ordinal.millis) if found is not None else None
                    if before is not None and (latest is None or before > latest):
                        latest = before
                sequence.last_leading = latest
        else:
            pending = self.pending.pop((self.previous_positive[stage], key), None)
            if pending is None:
                return
            sequence = pending
            if self.maxspan is not None and ordinal.timestamp - sequence.start.timestamp > self.maxspan:
                return
            until = self.untils.get(key)
            if until is not None and sequence.last <= until:
                return
            for missing_stage in self.between[stage]:
                found = self.hits.get((missing_stage, key))
                if found is not None:
                    hit = found.latest_before(ordinal.millis)
                    if hit is not None and hit > sequence.last.millis:
                        sequence.doomed = True
            sequence.events[stage] = doc
            sequence.last = ordinal
        if stage == self.positives[-1]:
            self._complete(sequence)
        else:
            self.pending[(stage, key)] = sequence

    # ---- completion and the missing-event decision -----------------------------------------------------------------

    def _complete(self, sequence: SequenceMatch) -> None:
        if sequence.doomed:
            return
        if not self.leading and not self.trailing:
            self._accept(sequence)
            return
        if not self.trailing:
            if sequence.last_leading is None or self._far(sequence.last_leading, sequence.last.millis):
                self._accept(sequence)
            return
        if self.leading:
            if sequence.last_leading is None:
                self._accept(sequence)
                return
            reference = sequence.last_leading
        else:
            reference = sequence.start.millis
        self.awaiting.setdefault(sequence.key, []).append(_Awaiting(sequence, reference))

    def _decide_trailing(self, entry: _Awaiting, first_trailing: int) -> None:
        if entry.reference is None or self._far(entry.reference, first_trailing):
            self._accept(entry.sequence)

    def _far(self, earlier: int, later: int) -> bool:
        limit = self.maxspan_ms
        return limit is not None and later - earlier > limit

    def _accept(self, sequence: SequenceMatch) -> None:
        self.window.add((sequence.last, key_rank(sequence.key)), sequence)

    # ---- memory ----------------------------------------------------------------------------------------------------

    def _sweep(self) -> None:
        if self.maxspan is None:
            return
        horizon = self._now - self.maxspan
        self.pending = {slot: s for slot, s in self.pending.items() if s.start.timestamp >= horizon}
        live_keys = {key for _, key in self.pending}
        self.untils = {key: u for key, u in self.untils.items() if key in live_keys}
        horizon_ms = horizon // 1_000_000
        self.hits = {slot: h for slot, h in self.hits.items() if h.last >= horizon_ms}
        now_ms = self._now // 1_000_000
        limit = self.maxspan_ms or 0
        for key in list(self.awaiting):
            still = []
            for entry in self.awaiting[key]:
                # a trailing event from now on would be further than maxspan: the answer is known
                if entry.reference is not None and now_ms - entry.reference > limit:
                    self._accept(entry.sequence)
                else:
                    still.append(entry)
            if still:
                self.awaiting[key] = still
            else:
                del self.awaiting[key]

    def finish(self) -> list[SequenceMatch]:
        """End of the stream: candidates still waiting for a trailing missing event saw none, so they are accepted."""
        for waiting in self.awaiting.values():
            for entry in waiting:
                self._accept(entry.sequence)
        self.awaiting.clear()
        return self.window.results()


__all__ = ["SequenceMatch", "SequenceMatcher", "key_rank"]
