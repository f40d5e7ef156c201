"""What the execution and the commands need from a backend: one interface, whichever backend is configured.

Both backends answer a search with the body of Elasticsearch's response (`_eql/search` for an `EqlRequest`,
`_search` for a `SearchRequest`), so everything after the search is backend-agnostic; the commands (`ingest`, `alerts`, `explain`, `validate`, `run`) reach the store through the same
interface, so that no command knows which backend it talks to.

The lifecycle, in the manner of APScheduler 4's data stores and httpx's transports:

- **open**: `runner.backends.open_backend(settings, access=...)` makes the configured backend: the embedded store
  opened and checked, or the cluster's client made (no request yet). An `Access` says what the caller will do; a
  store that does not exist where the caller only looks is `NoStore`, cleanly, never a new empty store.
- **check** (`check()`): the backend is what it claims to be (`GET /` of a cluster: a server that is not
  Elasticsearch, or a version rule-runner cannot serve, is refused). Idempotent; a `TransientError` is worth trying
  again.
- **start** (`start()`): check, then prepare what writes need (the alerts target and the state indices of a
  cluster). Idempotent; the service tries it again until it passes, so it stays a step of its own, after opening.
- **close** (`close()`, or leaving a `with` block): connections and files released.

Every failure leaves a backend as one of the classes of `runner.backends.errors`: the storage's own exceptions
(`sqlite3`, the Elasticsearch client's) are translated at this boundary, and the caller decides by class.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self

from runner.backends.errors import BackendError
from runner.backends.request import EqlRequest, SearchRequest

# the field of a stored alert that names the execution that wrote it
EXECUTION_UUID = "kibana.alert.rule.execution.uuid"


class Access(enum.Enum):
    """What a command does with the backend it opens (the embedded store's file; a cluster is opened alike)."""

    WRITE = "write"  # writes: the store is made when there is none
    EXISTING = "existing"  # only a store that exists (`NoStore` otherwise), opened as for writing
    READ = "read"  # only looks: a store that exists (`NoStore` otherwise), never made or changed


@dataclass(frozen=True)
class WriteResult:
    """Which alert ids the backend acknowledged as written now, and which it already held (create-only writes)."""

    created: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    """Events stored by `ingest`: how many were added, how many were already there (same index and id), and where
    they went (for the command's summary line)."""

    added: int
    duplicates: int
    target: str


class Backend(Protocol):
    """The interface of both backends (`EmbeddedBackend`, `ElasticsearchBackend`); see the module docstring for the
    lifecycle. Methods raise the classes of `runner.backends.errors` only."""

    # the configured backend's name (`backend:` in the settings): "embedded" or "elasticsearch"
    name: str
    # what messages call it ("Elasticsearch", "the embedded store") and where it is, with its hosts or path
    title: str
    where: str
    # the Kibana release whose alert format alerts written here follow (`kibana.version`): where a Kibana reads
    # them, its own (known once the backend started), else the newest format rule-runner writes
    kibana_version: str
    # whether `search_many` answers the requests of one window from one read (the embedded store: worth sending
    # due rules' searches together) or one by one (Elasticsearch: its executions search concurrently on their own)
    shares_reads: bool
    # whether `save_rule_states` and `complete_executions` write a group in one transaction (the embedded store:
    # one commit, one fsync, for the rules run together) or one by one (Elasticsearch: its executions then write
    # concurrently on their own, as they would alone)
    groups_writes: bool

    def __enter__(self) -> Self: ...

    def __exit__(self, *_: object) -> None:
        """`close()`."""

    def check(self) -> None:
        """Make sure the backend is what it claims to be (idempotent), without changing anything."""

    def start(self) -> object:
        """Check, then make the backend ready for writes (idempotent): e.g. prepare a cluster's indices. Raises a
        `BackendError`; a `TransientError` is worth trying again."""

    def close(self) -> None:
        """Release connections and files."""

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        """The `_eql/search` response body; raises a `BackendError` subclass."""

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """The `_search` response body; raises a `BackendError` subclass. Index patterns that match no index give
        no hits (the request allows them), not an error: `field_caps` tells."""

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        """For each request, in order, what `eql_search` or `search` would give: the response body, or the
        `BackendError` it would raise. A backend may answer several at once (the embedded store reads a window
        shared by several requests once); the answers are the same as one by one."""

    def field_caps(self, index: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
        """The body of Elasticsearch's `_field_caps` answer for these index patterns and field names (patterns
        matching no index: no indices, no fields)."""

    def verify(self, request: EqlRequest | SearchRequest) -> None:
        """Check the request's query against the fields of the indices it searches, without searching: what the
        first search would meet. `IndexNotFound` when its index patterns match no index, `QueryError` when the
        query does not verify against those indices' mappings."""

    def existing_alerts(self, ids: Sequence[str]) -> dict[str, str | None]:
        """Which of these alert ids are already written (in any index the alerts alias covers), each with the
        execution uuid it was written by (`kibana.alert.rule.execution.uuid`; None if it has none)."""

    def refresh_alerts(self) -> None:
        """Make every write the alerts index applied visible to `existing_alerts`, including writes whose
        acknowledgement was lost."""

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteResult:
        """Create-only writes: an existing id is a duplicate. Returns only after the writes are acknowledged."""

    def list_alerts(self, *, rule_id: str | None = None,
                    include_building_blocks: bool = True) -> Iterator[dict[str, Any]]:
        """The stored alerts as `{"_index", "_id", "_source"}` (`_source` as written; `_index` where the backend
        holds it: the index written to, or on a cluster the concrete index behind the alias): those of `rule_id`
        (`kibana.alert.rule.rule_id`) when given, and without the building blocks of sequences (the alerts with a
        `kibana.alert.group.index`) unless `include_building_blocks`.

        Oldest first: an alert written by a later `create_alerts` call, with a later `@timestamp`, comes after the
        earlier one. Among alerts with the same `@timestamp` (one execution's), or written out of `@timestamp`
        order, the order is the backend's own (the embedded store lists them as written, Elasticsearch by
        `@timestamp`, then `kibana.alert.uuid`)."""

    def ingest(self, documents: Iterable[Mapping[str, Any]],
               on_bad: Callable[[Mapping[str, Any], str], None]) -> IngestResult:
        """Store `{"_index", "_id"?, "_source"}` events, create-only: an `_id` already stored in its index is a
        duplicate, left as it was, so ingesting the same documents again adds nothing (on a cluster: while the data
        stream's write index is the one that holds them; after a rollover the same `_id` is new to the new write
        index). A document the backend refuses (no `_index` or `_source`, a `@timestamp` it cannot read) goes to
        `on_bad` with the reason, and the rest are stored. A document without `_id`: the embedded store derives one
        from its content (again, nothing added), Elasticsearch makes a random one (added again)."""

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        """The rule's saved state, or None."""

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        """Replace the rule's state. Raises `StateNotSaved` if the store refused it (`StateBusy` if only for now),
        a `TransientError` if the outcome is unknown."""

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        """Save the rule's new state (None: it stays) and the execution record, in that order and in as few
        round trips as the backend allows; both writes are idempotent, so a call may be repeated. Raises
        `StateNotSaved` if the state was refused (the record may be stored anyway: the caller stores it again as it
        should read), a `TransientError` if the outcome is unknown, another `BackendError` if only the record was
        not stored."""

    def save_rule_states(self, states: Sequence[tuple[str, Mapping[str, Any]]]) -> list[BackendError | None]:
        """`save_rule_state` for each `(rule_id, state)`: for each, in order, None when it was saved, or the error
        `save_rule_state` would raise (the caller tries those again one by one). The embedded store saves them in
        one transaction (all, or none: each then has the error)."""

    def complete_executions(self, items: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]],
                            ) -> list[BackendError | None]:
        """`complete_execution` for each `(rule_id, state, record)`: for each, in order, None when its state (if
        any) and record were both saved, or the error `complete_execution` would raise (the caller completes those
        again one by one). The embedded store writes every state and record in one transaction (all, or none),
        which the caller sends only once each rule's alerts were acknowledged: a crash leaves every rule of the
        group either not advanced or advanced."""


__all__ = ["EXECUTION_UUID", "Access", "Backend", "IngestResult", "WriteResult"]
