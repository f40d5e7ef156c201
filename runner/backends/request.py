"""The requests a backend takes: `_eql/search` (`EqlRequest`) and `_search` (`SearchRequest`), each its index
patterns, query parameters and body.

The Elasticsearch backend sends them as they are; the embedded backend applies the same index patterns, query and
options locally. Which request a rule's window needs is Kibana's detection-engine logic and is decided above the
backends, by the rule's type (`runner.ruletypes`); a backend only consumes the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EqlRequest:
    """`POST /<index>/_eql/search?<params>` with `body`."""

    index: tuple[str, ...]
    body: dict[str, Any]
    params: dict[str, Any] = field(default_factory=lambda: {"allow_no_indices": True})

    endpoint = "_eql/search"

    def to_dict(self) -> dict[str, Any]:
        return {"index": list(self.index), "params": dict(self.params), "body": self.body}


@dataclass(frozen=True)
class SearchRequest:
    """`POST /<index>/_search?<params>` with `body` (Kibana's `buildEventsSearchQuery`: `allow_no_indices` and
    `ignore_unavailable`, so that patterns matching nothing give no hits rather than an error)."""

    index: tuple[str, ...]
    body: dict[str, Any]
    params: dict[str, Any] = field(default_factory=lambda: {"allow_no_indices": True, "ignore_unavailable": True})

    endpoint = "_search"

    def to_dict(self) -> dict[str, Any]:
        return {"index": list(self.index), "params": dict(self.params), "body": self.body}


__all__ = ["EqlRequest", "SearchRequest"]
