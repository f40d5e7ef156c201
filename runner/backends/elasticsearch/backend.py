"""The Elasticsearch backend: the rule's request as Kibana sends it, alerts written exactly once, state in the cluster.

Opening makes the client and sends nothing; `check()` asks the server who it is (`GET /`), `start()` checks and
prepares the alerts target and the state indices. Searches are sent as they are given: `eql_search` (an `EqlRequest`:
`POST /<index>/_eql/search`), `search` (a `SearchRequest`: `POST /<index>/_search`), `search_many` either kind one by
one; `field_caps` is the raw `_field_caps` answer a query rule's field list is read from. Every client error leaves as
a class of `runner.backends.errors` (`classify`); an answer that says it is incomplete (`shard_failures`,
`_shards.failed`, `timed_out`) is an HTTP 200 and stays for the caller's classifier (`runner.execution.answer`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Self

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from runner.alerts import UnsupportedKibanaVersion, format_for, kibana_version_for, lacking
from runner.backends.base import IngestResult, WriteResult
from runner.backends.elasticsearch.alerts_index import AlertsTarget, ensure_alerts_target
from runner.backends.elasticsearch.client import ClusterInfo, cluster_info, make_client
from runner.backends.elasticsearch.errors import classify
from runner.backends.elasticsearch.fields import field_caps, index_mappings
from runner.backends.elasticsearch.ingest import ingest_events
from runner.backends.elasticsearch.state import ClusterState
from runner.backends.elasticsearch.writes import create_alerts, existing_ids, refresh
from runner.backends.errors import AccessError, BackendError, IndexNotFound
from runner.backends.local_search import run_query, verify_search
from runner.backends.request import EqlRequest, SearchRequest
from runner.eql import Schema
from runner.settings import ElasticsearchSettings, Settings

log = logging.getLogger("runner.backends.elasticsearch")


class ElasticsearchBackend:
    """Searches, alert writes and state against one cluster. `start()` once before writes (idempotent)."""

    name = "elasticsearch"
    title = "Elasticsearch"
    shares_reads = False  # `search_many` searches one by one: executions search concurrently on their own
    groups_writes = False  # `save_rule_states`/`complete_executions` write one by one: executions write on their own

    def __init__(self, client: Elasticsearch, alerts: AlertsTarget, state: ClusterState, kibana_version: str,
                 where: str = "Elasticsearch") -> None:
        self.client = client
        self.alerts = alerts
        self.state = state
        self.where = where
        # `kibana.version` of the alerts: as given (standalone mode), the cluster's Kibana's once started (Kibana mode)
        self.kibana_version = kibana_version
        self.cluster: ClusterInfo | None = None
        self._schemas: dict[tuple[str, ...], Schema] = {}  # `verify`: the fields of each set of index patterns

    @classmethod
    def from_settings(cls, settings: Settings, kibana_version: str) -> ElasticsearchBackend:
        """The backend of the `elasticsearch:` settings: the client made, nothing sent. An `AccessError` when the
        client cannot be configured."""
        es = settings.elasticsearch
        assert es is not None  # Settings requires the section for this backend
        target = AlertsTarget(settings.alerts.mode, settings.alerts.index_name)
        client = make_client(es)
        return cls(client, target, ClusterState(client, es.state_index, es.executions_index), kibana_version,
                   where=cls.where_of(es))

    @staticmethod
    def where_of(settings: ElasticsearchSettings) -> str:
        """What messages call the configured cluster: "Elasticsearch (https://es1:9200, https://es2:9200)"."""
        return f"Elasticsearch ({', '.join(settings.hosts)})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def check(self) -> None:
        """`GET /`: the server is Elasticsearch, of a version rule-runner serves (else an `AccessError`); before its
        answers are believed (another server's 404 would pass for "no such document")."""
        self.cluster = cluster_info(self.client)

    def start(self) -> ClusterInfo:
        """Check the cluster and prepare the alerts target and the state indices (idempotent: start-up tries it
        again after a failure). In Kibana mode the alerts take the cluster's Kibana's version, and so its format
        (`runner.alerts.versions`); a cluster whose Kibana's format rule-runner does not write is refused (an
        `AccessError`) before anything is prepared."""
        self.cluster = cluster = cluster_info(self.client)  # `check()`
        if self.alerts.mode == "kibana":
            try:
                self.kibana_version = kibana_version_for(cluster.version)
            except UnsupportedKibanaVersion as error:
                raise AccessError(str(error)) from None
        ensure_alerts_target(self.client, self.alerts, self.kibana_version)
        self.state.ensure()
        log.info("Elasticsearch %s (cluster %s): alerts to [%s] (%s mode, written as Kibana %s writes them), "
                 "state in [%s] and [%s]", self.cluster.version, self.cluster.name, self.alerts.alias,
                 self.alerts.mode, self.kibana_version, self.state.state_index, self.state.executions_index)
        if older := lacking(format_for(self.kibana_version)):
            log.info("Kibana %s's alert format has none of these later changes: %s", self.kibana_version, older)
        return self.cluster

    def close(self) -> None:
        self.client.close()

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        try:
            body: dict[str, Any] = self.client.eql.search(index=list(request.index), **request.params,
                                                          **request.body).body
        except (ApiError, TransportError) as error:
            raise classify(error, f"EQL search on {list(request.index)}") from None
        return body

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """`POST /<index>/_search?<params>` with the request's body, exactly as given (Kibana's query rule request)."""
        try:
            body: dict[str, Any] = self.client.search(index=list(request.index), body=dict(request.body),
                                                      **request.params).body
        except (ApiError, TransportError) as error:
            raise classify(error, f"search on {list(request.index)}") from None
        return body

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        """Each request (`_eql/search` or `_search`) sent on its own, one after the other, exactly as `eql_search` or
        `search` (no new HTTP behaviour: `_msearch` would change how a failure and a retry look); a request's failure
        is its answer and does not stop the others."""
        answers: list[dict[str, Any] | BackendError] = []
        for request in requests:
            try:
                answers.append(self.search(request) if isinstance(request, SearchRequest) else self.eql_search(request))
            except BackendError as error:
                answers.append(error)
        return answers

    def field_caps(self, index: Sequence[str], fields: Sequence[str], *,
                   include_unmapped: bool = False) -> dict[str, Any]:
        """The `_field_caps` response body for `fields` (names or wildcards) of the indices `index` resolves to, as
        Kibana's data views ask for it (`runner.backends.elasticsearch.fields.field_caps`; `include_unmapped` as the
        detection engine's timestamp check asks): patterns matching no index give `{"indices": [], "fields": {}}`."""
        return field_caps(self.client, index, fields, include_unmapped=include_unmapped)

    def verify(self, request: EqlRequest | SearchRequest) -> None:
        """The query verified against the fields `_field_caps` reports for the request's index patterns (one
        request per set of patterns): an EQL query by the engine's verifier, which reproduces Elasticsearch's; a
        `_search` query (a query rule's, translated against those fields already) compiled by the engine's Query
        DSL evaluator with each index's fields, for what Elasticsearch refuses (a `nested` path that is not nested,
        a value a field's type cannot parse); clauses the evaluator does not run are Elasticsearch's to run."""
        schema = self._schemas.get(request.index)
        if schema is None:
            schema = self._schemas[request.index] = Schema.from_mappings(index_mappings(self.client, request.index))
        if not schema:
            raise IndexNotFound(f"no such index [{','.join(request.index)}]")
        if isinstance(request, SearchRequest):
            verify_search(request.body, schema, unsupported=False)
        else:
            run_query((), request.body, schema)

    def ingest(self, documents: Iterable[Mapping[str, Any]],
               on_bad: Callable[[Mapping[str, Any], str], None]) -> IngestResult:
        """Events into the data streams their indices belong to (`ingest_events`)."""
        return ingest_events(self.client, documents, on_bad=on_bad, nowhere=self.title)

    def existing_alerts(self, ids: Sequence[str]) -> dict[str, str | None]:
        return existing_ids(self.client, self.alerts.alias, ids)

    def refresh_alerts(self) -> None:
        refresh(self.client, self.alerts.alias)

    def create_alerts(self, index: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteResult:
        return create_alerts(self.client, index, alerts)

    def list_alerts(self, *, rule_id: str | None = None, include_building_blocks: bool = True,
                    page: int = 1000) -> Iterator[dict[str, Any]]:
        """The alerts behind the alias, oldest first (`rule-runner alerts`), a page at a time."""
        filters: list[dict[str, Any]] = []
        if rule_id is not None:
            filters.append({"term": {"kibana.alert.rule.rule_id": rule_id}})
        must_not = [] if include_building_blocks else [{"exists": {"field": "kibana.alert.group.index"}}]
        query = {"bool": {"filter": filters, "must_not": must_not}}
        after: list[Any] | None = None
        while True:
            try:
                body = self.client.search(
                    index=self.alerts.alias, query=query, size=page, search_after=after,
                    sort=[{"@timestamp": "asc"}, {"kibana.alert.uuid": "asc"}], ignore_unavailable=True,
                    allow_no_indices=True,
                ).body
            except (ApiError, TransportError) as error:
                raise classify(error, f"reading alerts from [{self.alerts.alias}]") from None
            hits = body["hits"]["hits"]
            for hit in hits:
                yield {"_index": hit["_index"], "_id": hit["_id"], "_source": hit["_source"]}
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def rule_state(self, rule_id: str) -> dict[str, Any] | None:
        return self.state.rule_state(rule_id)

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        self.state.save_rule_state(rule_id, state)

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        self.state.complete_execution(rule_id, state, record)

    def save_rule_states(self, states: Sequence[tuple[str, Mapping[str, Any]]]) -> list[BackendError | None]:
        """One by one, exactly as `save_rule_state` (no new HTTP behaviour): a request per rule."""
        return [_failure(partial(self.save_rule_state, rule_id, state)) for rule_id, state in states]

    def complete_executions(self, items: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]],
                            ) -> list[BackendError | None]:
        """One by one, exactly as `complete_execution` (no new HTTP behaviour): a bulk request per rule."""
        return [_failure(partial(self.complete_execution, rule_id, state, record)) for rule_id, state, record in items]


def _failure(write: Callable[[], None]) -> BackendError | None:
    try:
        write()
    except BackendError as error:
        return error
    return None


__all__ = ["ElasticsearchBackend"]
