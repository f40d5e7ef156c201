"""A caller of a growing batch (what `hunt` does): maps each document, per index, just before handing it over."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from runner.engine import LiveMapping
from runner.eql import Schema


class Growing:
    """A caller of a growing batch: maps each document (per index, from `base`) just before handing it over."""

    def __init__(self, base: Mapping[str, Any] | None) -> None:
        self.base = base
        self.live: dict[str, LiveMapping] = {}
        self.schema = Schema()

    def stream(self, documents: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for doc in documents:
            index = doc["_index"]
            live = self.live.get(index)
            if live is None:
                live = self.live[index] = LiveMapping(self.base)
                self.schema.indices[index] = live.mapping
            live.extend(doc["_source"])
            yield doc

    def final(self) -> dict[str, Any]:
        """The final mapping bodies (a fresh copy: what `search()` is given)."""
        return {index: copy.deepcopy(live.body) for index, live in self.live.items()}
