"""What the execution needs from a backend. Both backends answer a search with the body of an `_eql/search`
response, so everything after the search is backend-agnostic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runner.backends.request import EqlRequest


class WriteOutcome(Protocol):
    created: tuple[str, ...]
    duplicates: tuple[str, ...]


class Backend(Protocol):
    name: str

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        """The response body; raises a `BackendError` subclass."""

    def existing_alert_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these alert ids are already written (in any index the alerts alias covers)."""

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteOutcome:
        """Create-only writes: an existing id is a duplicate. Returns only after the writes are acknowledged."""

    def rule_state(self, rule_id: str) -> dict[str, Any] | None: ...

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None: ...

    def record_execution(self, record: Mapping[str, Any]) -> None: ...


__all__ = ["Backend", "WriteOutcome"]
