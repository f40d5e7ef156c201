"""`size`, `result_position` and `| head N` / `| tail N`, combined the way Elasticsearch combines them.

Elasticsearch turns the request `size` into a default limit of the same kind as the query's first head/tail pipe,
placed just below it (`q | tail 2` with size 50 is `tail 2` of `tail 50` of `q`); a query without pipes gets
`head size` or `tail size` from `result_position`. The chain is then applied to the results in ascending order,
and a tail keeps the last N while still answering in ascending order.

Only the first limit of the chain decides what must be kept while results stream in, so `Window` holds at most that
many results, whatever the number of matches.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from runner.eql import nodes as n

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limit:
    kind: str  # "head" or "tail"
    count: int


def limit_chain(query: n.Query, size: int, result_position: str, samples: bool = False) -> list[Limit]:
    """The limits Elasticsearch applies, innermost first."""
    pipes = [Limit(p.kind, p.count) for p in query.pipes]
    if samples:
        # samples take `size` as a head limit, whatever result_position says
        return [Limit("head", size), *pipes]
    if pipes:
        return [Limit(pipes[0].kind, size), *pipes]
    return [Limit(result_position, size)]


def apply_chain(items: list[T], chain: list[Limit]) -> list[T]:
    for limit in chain:
        if limit.count == 0:
            return []
        items = items[: limit.count] if limit.kind == "head" else items[-limit.count :]
    return items


class Window(Generic[T]):
    """Keeps the items the first limit of a chain can return, by an ordering key, as they arrive in any order."""

    def __init__(self, chain: list[Limit]) -> None:
        self.chain = chain
        first = chain[0]
        self._tail = first.kind == "tail"
        self._capacity = first.count
        # a min-heap whose top is the kept item that goes first: the smallest key for tail, the largest for head
        self._heap: list[tuple[Any, T]] = []
        self._counter = itertools.count()

    def add(self, key: Any, item: T) -> None:
        if self._capacity == 0:
            return
        unique = (key, next(self._counter))
        rank = unique if self._tail else _Reversed(unique)
        if len(self._heap) < self._capacity:
            heapq.heappush(self._heap, (rank, item))
        elif self._heap[0][0] < rank:
            heapq.heapreplace(self._heap, (rank, item))

    def __len__(self) -> int:
        return len(self._heap)

    def results(self) -> list[T]:
        """The kept items in ascending key order, with the whole chain applied."""
        unwrap: Callable[[Any], Any] = (lambda rank: rank) if self._tail else (lambda rank: rank.key)
        ordered = sorted(self._heap, key=lambda entry: unwrap(entry[0]))
        return apply_chain([item for _, item in ordered], self.chain)


class _Reversed:
    """Inverts the order of a key, so a min-heap keeps the smallest keys (head)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        less: bool = other.key < self.key
        return less


__all__ = ["Limit", "Window", "apply_chain", "limit_chain"]
