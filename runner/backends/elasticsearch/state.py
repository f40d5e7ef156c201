"""Rule state and execution records in the cluster, so that a runner needs no local disk.

One document per rule in the state index (id = rule_id), one per execution in the executions index (id = execution
uuid). The state is written before a rule's first search (the time it will cover is pending from then on) and at the
end of every complete execution, together with the execution record in one bulk request. Both writes are
idempotent (`index` under a fixed id), so a write whose outcome is unknown can simply be sent again. Reads are
real-time GETs, so no refresh is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from runner.backends.elasticsearch.errors import classify, error_cause
from runner.backends.elasticsearch.mappings import EXECUTIONS_MAPPING, STATE_MAPPING
from runner.backends.errors import RecordNotStored, StateBusy, StateNotSaved, TransientError


class ClusterState:
    def __init__(self, client: Elasticsearch, state_index: str, executions_index: str) -> None:
        self.client = client
        self.state_index = state_index
        self.executions_index = executions_index
        self._known: dict[str, dict[str, Any] | None] = {}

    def ensure(self) -> None:
        """Create both indices if they are missing (idempotent, safe when several runners start together)."""
        for index, mapping in ((self.state_index, STATE_MAPPING), (self.executions_index, EXECUTIONS_MAPPING)):
            try:
                if self.client.indices.exists(index=index):
                    continue
                self.client.indices.create(index=index, mappings=mapping,
                                           settings={"index.auto_expand_replicas": "0-1"})
            except ApiError as error:
                if error_cause(error.body)[0] != "resource_already_exists_exception":
                    raise classify(error, f"creating the index [{index}]") from None
            except TransportError as error:
                raise classify(error, f"creating the index [{index}]") from None

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        """The rule's state: read from the cluster once, then what this runner saved (it is the rule's only
        writer), which spares a round trip per execution. After a write whose outcome is unknown it is read again."""
        if rule_id in self._known:
            known = self._known[rule_id]
            return dict(known) if known is not None else None
        try:
            state: dict[str, Any] | None = dict(self.client.get(index=self.state_index, id=rule_id).body["_source"])
        except NotFoundError as error:
            if not _no_state(error.body):  # a 404 that is not Elasticsearch's answer for a missing document
                raise classify(error, f"reading the state of rule {rule_id}") from None
            state = None
        except (ApiError, TransportError) as error:
            raise classify(error, f"reading the state of rule {rule_id}") from None
        self._known[rule_id] = state
        return dict(state) if state is not None else None

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        """Replace the rule's state (one request)."""
        self.complete_execution(rule_id, state, None)

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None,
                           record: Mapping[str, Any] | None) -> None:
        """The new state (if any) and the execution record (if any) in one bulk request, the state first."""
        operations: list[Mapping[str, Any]] = []
        document = None
        if state is not None:
            document = {**state, "rule_id": rule_id, "updated_at": datetime.now(UTC).isoformat()}
            operations.extend(({"index": {"_index": self.state_index, "_id": rule_id}}, document))
        if record is not None:
            operations.extend(({"index": {"_index": self.executions_index, "_id": str(record["uuid"])}},
                               dict(record)))
        if not operations:
            return
        what = f"saving the state of rule {rule_id}" if record is None else \
            f"saving the state and execution record of rule {rule_id}"
        try:
            items = self.client.bulk(operations=operations).body.get("items") or []
        except (ApiError, TransportError) as error:
            failure = classify(error, what)
            if state is not None:
                self._known.pop(rule_id, None)  # it may have been saved: read it again next time
                if not isinstance(failure, TransientError):
                    raise StateNotSaved(str(failure)) from None
            raise failure from None
        results: list[dict[str, Any]] = [next(iter(item.values()), {}) for item in items]
        if state is not None:
            status = results[0].get("status", 0) if results else 0
            if not 200 <= status < 300:
                self._known.pop(rule_id, None)
                message = f"saving the state of rule {rule_id}: {_item_error(results[:1])}"
                raise (StateBusy(message) if status == 429 or status >= 500 else StateNotSaved(message))
            self._known[rule_id] = document
        if record is not None and (len(results) < len(operations) // 2
                                   or not 200 <= results[-1].get("status", 0) < 300):
            raise RecordNotStored(f"recording execution {record.get('uuid')}: {_item_error(results[-1:])}")


def _no_state(body: Any) -> bool:
    """Whether a GET's 404 is Elasticsearch saying there is no such state: the document (`found: false`) or the
    index (`index_not_found_exception`) does not exist. Any other 404 (a proxy, a server that is not
    Elasticsearch) must not pass for "no state", which would make the next execution a first one."""
    return isinstance(body, dict) and (body.get("found") is False
                                       or error_cause(body)[0] == "index_not_found_exception")


def _item_error(results: Sequence[Mapping[str, Any]]) -> str:
    if not results:
        return "no item in the bulk response"
    error = results[0].get("error") or {}
    return f"HTTP {results[0].get('status')} {error.get('type', '')}: {error.get('reason', '')}"


__all__ = ["ClusterState"]
