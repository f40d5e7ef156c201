"""Samples, as Elasticsearch assembles them.

The keys of a sample are the `sample by` keys followed by each stage's own `by` keys, joined by position. A key
(tuple of values) qualifies when every stage has an event with it; keys are visited in ascending order (null first),
like a composite aggregation. For each key, each stage contributes its first `stages + max_samples_per_key - 1`
events (index name order, then load order), and a depth-first walk picks distinct events, one per stage, until
`max_samples_per_key` samples are found. Samples need no timestamp.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from runner.engine.limits import Limit, apply_chain
from runner.engine.ordering import value_rank


@dataclass(slots=True)
class SampleCollector:
    stages: int
    max_samples_per_key: int
    chain: list[Limit]
    # (stage, key) -> first events, kept sorted by (index, position)
    buckets: dict[tuple[int, tuple[Any, ...]], list[tuple[tuple[str, int], Any]]] = field(default_factory=dict)

    @property
    def per_key(self) -> int:
        return self.stages + self.max_samples_per_key - 1

    def feed(self, doc: Any, index: str, position: int, stage_keys: list[list[tuple[Any, ...]] | None]) -> None:
        order = (index, position)
        for stage, keys in enumerate(stage_keys):
            if not keys:
                continue
            for key in keys:
                bucket = self.buckets.setdefault((stage, key), [])
                if len(bucket) >= self.per_key and order >= bucket[-1][0]:
                    continue
                bisect.insort(bucket, (order, doc), key=lambda entry: entry[0])
                if len(bucket) > self.per_key:
                    bucket.pop()

    def results(self) -> list[tuple[tuple[Any, ...], list[Any]]]:
        keys = {key for stage, key in self.buckets if stage == 0}
        candidates = [k for k in keys if all((s, k) in self.buckets for s in range(1, self.stages))]
        candidates.sort(key=_composite_rank)
        wanted = _first_count(self.chain)
        samples: list[tuple[tuple[Any, ...], list[Any]]] = []
        for key in candidates:
            if wanted is not None and len(samples) >= wanted:
                break
            lists = [[doc for _, doc in self.buckets[(s, key)]] for s in range(self.stages)]
            for found in _walk(lists, self.max_samples_per_key):
                samples.append((key, found))
        return apply_chain(samples, self.chain)


def _first_count(chain: list[Limit]) -> int | None:
    first = chain[0]
    return first.count if first.kind == "head" else None


def _composite_rank(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # a composite aggregation orders each source ascending with the missing bucket first
    return tuple((0,) if v is None else (1, *value_rank(v)) for v in key)


def _walk(lists: list[list[Any]], wanted: int) -> list[list[Any]]:
    """Depth-first combinations of one document per stage, never the same document twice in a sample."""
    found: list[list[Any]] = []
    partial: list[Any] = []

    def visit(stage: int) -> bool:
        for doc in lists[stage]:
            if any(doc is taken for taken in partial):
                continue
            partial.append(doc)
            if stage == len(lists) - 1:
                found.append(list(partial))
                if len(found) >= wanted:
                    return True
            elif visit(stage + 1):
                return True
            partial.pop()
        return False

    visit(0)
    return found


__all__ = ["SampleCollector"]
