"""What the execution needs from a backend. Both backends answer a search with the body of an `_eql/search`
response, so everything after the search is backend-agnostic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from runner.backends.request import EqlRequest

# the field of a stored alert that names the execution that wrote it
EXECUTION_UUID = "kibana.alert.rule.execution.uuid"


class WriteOutcome(Protocol):
    created: tuple[str, ...]
    duplicates: tuple[str, ...]


class Backend(Protocol):
    name: str
    # the Kibana release whose alert format alerts written here follow (`kibana.version`): where a Kibana reads
    # them, its own (known once the backend started), else the newest format rule-runner writes
    kibana_version: str

    def start(self) -> object:
        """Make the backend ready (idempotent): e.g. check the cluster and prepare its indices. Raises a
        `BackendError`; a `TransientError` is worth trying again."""

    def close(self) -> None:
        """Release connections and files."""

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        """The response body; raises a `BackendError` subclass."""

    def existing_alerts(self, ids: Sequence[str]) -> dict[str, str | None]:
        """Which of these alert ids are already written (in any index the alerts alias covers), each with the
        execution uuid it was written by (`kibana.alert.rule.execution.uuid`; None if it has none)."""

    def refresh_alerts(self) -> None:
        """Make every write the alerts index applied visible to `existing_alerts`, including writes whose
        acknowledgement was lost."""

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteOutcome:
        """Create-only writes: an existing id is a duplicate. Returns only after the writes are acknowledged."""

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        """The rule's saved state, or None."""

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        """Replace the rule's state. Raises `StateNotSaved` if the store refused it, a `TransientError` if the
        outcome is unknown."""

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        """Save the rule's new state (None: it stays) and the execution record, in that order and in as few
        round trips as the backend allows; both writes are idempotent, so a call may be repeated. Raises
        `StateNotSaved` if the state was refused (the record may be stored anyway: the caller stores it again as it
        should read), a `TransientError` if the outcome is unknown, another `BackendError` if only the record was
        not stored."""


__all__ = ["EXECUTION_UUID", "Backend", "WriteOutcome"]
