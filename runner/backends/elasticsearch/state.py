"""Rule state and execution records in the cluster, so that a runner needs no local disk.

One document per rule in the state index (id = rule_id: the start of its last complete execution), one per
execution in the executions index (id = execution uuid), both written by one bulk request at the end of an
execution. Reads are real-time GETs, so no refresh is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from runner.backends.elasticsearch.errors import classify, error_cause
from runner.backends.elasticsearch.mappings import EXECUTIONS_MAPPING, STATE_MAPPING
from runner.backends.errors import StateNotSaved, TransientError


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
        writer), which spares a round trip per execution."""
        if rule_id in self._known:
            known = self._known[rule_id]
            return dict(known) if known is not None else None
        try:
            state: dict[str, Any] | None = dict(self.client.get(index=self.state_index, id=rule_id).body["_source"])
        except NotFoundError:
            state = None
        except (ApiError, TransportError) as error:
            raise classify(error, f"reading the state of rule {rule_id}") from None
        self._known[rule_id] = state
        return dict(state) if state is not None else None

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        """The new state (if any) and the execution record in one bulk request, the state first."""
        operations: list[Mapping[str, Any]] = []
        document = None
        if state is not None:
            document = {**state, "rule_id": rule_id, "updated_at": datetime.now(timezone.utc).isoformat()}
            operations.extend(({"index": {"_index": self.state_index, "_id": rule_id}}, document))
        operations.extend(({"index": {"_index": self.executions_index, "_id": str(record["uuid"])}}, dict(record)))
        try:
            items = self.client.bulk(operations=operations).body.get("items") or []
        except (ApiError, TransportError) as error:
            failure = classify(error, f"saving the state and execution record of rule {rule_id}")
            raise (StateNotSaved(str(failure)) if state is not None else failure) from None
        results = [next(iter(item.values()), {}) for item in items]
        if state is not None:
            if not results or not 200 <= results[0].get("status", 0) < 300:
                self._known.pop(rule_id, None)  # unknown now: read it again next time
                raise StateNotSaved(f"saving the state of rule {rule_id}: {_item_error(results[:1])}")
            self._known[rule_id] = document
        if len(results) < len(operations) // 2 or not 200 <= results[-1].get("status", 0) < 300:
            raise TransientError(f"recording execution {record.get('uuid')}: {_item_error(results[-1:])}")


def _item_error(results: list[Mapping[str, Any]]) -> str:
    if not results:
        return "no item in the bulk response"
    error = results[0].get("error") or {}
    return f"HTTP {results[0].get('status')} {error.get('type', '')}: {error.get('reason', '')}"


__all__ = ["ClusterState"]
