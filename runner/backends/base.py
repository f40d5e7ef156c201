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

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        """The state the rule's last complete execution saved, or None."""

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        """Save the rule's new state (None: it stays) and the execution record, in that order and in as few
        round trips as the backend allows. Raises `StateNotSaved` if the state was not saved (the record may be
        stored anyway: the caller stores it again as it should read), another `BackendError` if only the record
        was not."""


__all__ = ["Backend", "WriteOutcome"]
