"""Rule state and execution records in the cluster, so that a runner needs no local disk.

One document per rule in the state index (id = rule_id: the start of its last complete execution), one per
execution in the executions index (id = execution uuid). Reads are real-time GETs, so no refresh is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from runner.backends.elasticsearch.errors import classify, error_cause
from runner.backends.elasticsearch.mappings import EXECUTIONS_MAPPING, STATE_MAPPING


class ClusterState:
    def __init__(self, client: Elasticsearch, state_index: str, executions_index: str) -> None:
        self.client = client
        self.state_index = state_index
        self.executions_index = executions_index

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
        try:
            return dict(self.client.get(index=self.state_index, id=rule_id).body["_source"])
        except NotFoundError:
            return None
        except (ApiError, TransportError) as error:
            raise classify(error, f"reading the state of rule {rule_id}") from None

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        document = {**state, "rule_id": rule_id, "updated_at": datetime.now(timezone.utc).isoformat()}
        try:
            self.client.index(index=self.state_index, id=rule_id, document=document)
        except (ApiError, TransportError) as error:
            raise classify(error, f"saving the state of rule {rule_id}") from None

    def record_execution(self, record: Mapping[str, Any]) -> None:
        try:
            self.client.index(index=self.executions_index, id=str(record["uuid"]), document=dict(record))
        except (ApiError, TransportError) as error:
            raise classify(error, f"recording execution {record.get('uuid')}") from None


__all__ = ["ClusterState"]
