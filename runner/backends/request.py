"""The `_eql/search` request a backend takes: index patterns, query parameters and body.

The Elasticsearch backend sends it as it is, the embedded backend applies the same index patterns, filter and
options locally. Which request a rule's window needs is Kibana's detection-engine logic and is decided above the
backends, in `runner.execution.kibana_request`; a backend only consumes the result.
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

    def to_dict(self) -> dict[str, Any]:
        return {"index": list(self.index), "params": dict(self.params), "body": self.body}


__all__ = ["EqlRequest"]
