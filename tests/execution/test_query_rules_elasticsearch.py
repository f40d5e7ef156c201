"""A corpus query rule's executions on the Elasticsearch backend against the loopback stub: the `_field_caps` the
translation reads, the `_search` pages Kibana's executor sends (bodies as sent: `search_after` from the last hit,
until an empty page), the alerts written once, and what faults do (a 400 fails the rule at once, shard failures and
overload are retried and never taken for a searched window). Client behaviour, not an integration test."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from runner.backends.elasticsearch import ElasticsearchBackend
from runner.catalog import Rule, load_rule_file
from runner.execution import ExecutionStatus, execute
from tests.backends.es_stub import Recorded, Reply, Stub, bulk_ack, error_body
from tests.conftest import shared_path
from tests.execution.test_elasticsearch_faults import (
    ALIAS,
    OPTIONS,
    Sleeps,
    T,
    _backend,
    alert_bulks,
    bulk_ids,
    no_known_ids,
    state,
    states,
)

PROCESS = ".ds-logs-endpoint.events.process-default-2026.01.15-000001"
RULE_SEARCH = "/auditbeat-.*logs-endpoint.*/_search"
CAPS = "/auditbeat-.*logs-endpoint.*/_field_caps"


def sudoers_rule() -> Rule:
    [path] = shared_path("detection-rules").rglob("privilege_escalation_echo_nopasswd_sudoers.toml")
    return load_rule_file(path)


def caps(_request: Recorded) -> Reply:
    """What a cluster with Elastic Defend's templates reports for the fields the rule names (keyword, date)."""
    def one(kind: str) -> dict[str, Any]:
        return {kind: {"type": kind, "metadata_field": False, "searchable": True, "aggregatable": True}}
    fields = {name: one("keyword") for name in ("event.category", "event.type", "process.args")}
    fields.update({name: one("date") for name in ("event.ingested", "@timestamp")})
    return Reply(200, {"indices": [PROCESS], "fields": fields})


def alert_id(rule: Rule, found: dict[str, Any]) -> str:
    """Kibana's id of a hit's alert: sha256(_index + _id + String(_version) + "<space>:<rule id>")."""
    return hashlib.sha256(f"{found['_index']}{found['_id']}undefineddefault:{rule.uuid}".encode()).hexdigest()


def hit(n: int) -> dict[str, Any]:
    ingested = 1768470960000 + n  # 2026-01-15T09:56:00Z + n ms
    return {"_index": PROCESS, "_id": f"h{n}", "_score": None,
            "_source": {"@timestamp": "2026-01-15T09:56:00.000Z", "event": {"category": ["process"], "type": ["start"]},
                        "process": {"name": "bash", "args": ["echo", "NOPASSWD: ALL"]}},
            "sort": [ingested, 1768470960000]}


def page(hits: list[dict[str, Any]]) -> dict[str, Any]:
    return {"took": 3, "timed_out": False, "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None, "hits": hits}}


@pytest.fixture()
def backend(tmp_path: Path, stub: Stub) -> ElasticsearchBackend:
    return _backend(tmp_path, stub.url)


def _backend_for(stub: Stub) -> ElasticsearchBackend:
    import tempfile

    return _backend(Path(tempfile.mkdtemp()), stub.url)


def test_pages_until_an_empty_one_and_writes_each_alert_once(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", CAPS, caps)
    stub.expect("POST", RULE_SEARCH, Reply(200, page([hit(n) for n in range(100)])))
    stub.expect("POST", RULE_SEARCH, Reply(200, page([hit(100)])))
    stub.expect("POST", RULE_SEARCH, Reply(200, page([])))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    rule = sudoers_rule().with_overrides(max_signals=200)
    record = execute(rule, backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED, record.message
    assert (record.hits, record.alerts_created, record.windows[0].searches) == (101, 101, 3)
    assert [len(ids) for ids in bulk_ids(stub)] == [100, 1]  # each page's alerts written before the next page
    [asked] = stub.sent("POST", CAPS)
    assert asked.json["fields"] == ["event.category", "event.type", "process.args", "event.ingested", "@timestamp"]
    assert asked.query == {"allow_no_indices": "true", "expand_wildcards": "open", "ignore_unavailable": "true",
                           "include_empty_fields": "true"}
    first, second, third = (r.json for r in stub.sent("POST", RULE_SEARCH))
    assert stub.sent("POST", RULE_SEARCH)[0].query == {"allow_no_indices": "true", "ignore_unavailable": "true"}
    assert list(first) == ["size", "query", "fields", "runtime_mappings", "sort"] and first["size"] == 100
    assert first["sort"] == [{"event.ingested": {"order": "asc", "unmapped_type": "date"}},
                             {"@timestamp": {"order": "asc", "unmapped_type": "date"}}]
    assert second["search_after"] == hit(99)["sort"] and third["search_after"] == hit(100)["sort"]
    # the KQL translated against the keyword fields: `term` and `wildcard`, not `match`
    kql = str(first["query"]["bool"]["filter"][0])
    assert "'term': {'process.args': {'value': 'echo'}}" in kql and "'wildcard': {'process.args'" in kql
    assert "'match'" not in kql and "'match_phrase'" not in kql
    assert states(stub)[-1]["previous_started_at"] == T.isoformat()


def test_max_signals_counts_new_alerts_only(backend: ElasticsearchBackend, stub: Stub) -> None:
    rule = sudoers_rule()  # max_signals 100
    known = alert_id(rule, hit(100))
    state(stub)
    stub.always("POST", CAPS, caps)
    stub.expect("POST", RULE_SEARCH, Reply(200, page([hit(n) for n in range(100)])))
    stub.expect("POST", RULE_SEARCH, Reply(200, page([hit(100), hit(101)])))

    def lookup(request: Recorded) -> Reply:
        return Reply(200, {"hits": {"hits": [{"_id": i, "_source": {}} for i in request.json["query"]["ids"]["values"]
                                             if i == known]}})

    stub.always("POST", f"/{ALIAS}/_search", lookup)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(rule, backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    # the second page: h100 already written (no new alert, no budget used), h101 new but past the budget
    assert (record.alerts_created, record.duplicates, record.windows[0].searches) == (100, 1, 2)
    assert record.status == ExecutionStatus.PARTIAL_FAILURE
    assert record.warnings == ["This rule reached the maximum alert limit for the rule execution. Some alerts were "
                               "not created."]
    assert [len(ids) for ids in bulk_ids(stub)] == [100]


def test_a_query_elasticsearch_refuses_fails_the_rule_at_once(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", CAPS, caps)
    stub.always("POST", RULE_SEARCH, Reply(400, error_body(400, "search_phase_execution_exception",
                                                           "all shards failed")))
    record = execute(sudoers_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced
    assert "all shards failed" in record.message
    assert len(stub.sent("POST", RULE_SEARCH)) == 1  # not retried


def test_shard_failures_and_overload_are_retried_never_taken(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", CAPS, caps)
    failed = page([hit(1)])
    failed["_shards"] = {"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": [
        {"shard": 0, "index": PROCESS, "node": "n1", "reason": {"type": "node_not_connected_exception", "reason": "x"}}]}
    stub.expect("POST", RULE_SEARCH, Reply(200, failed))
    stub.expect("POST", RULE_SEARCH, Reply(429, error_body(429, "es_rejected_execution_exception", "busy")))
    stub.expect("POST", RULE_SEARCH, Reply(200, page([hit(1)])))
    stub.expect("POST", RULE_SEARCH, Reply(200, page([])))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    sleeps = Sleeps()
    record = execute(sudoers_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == ExecutionStatus.SUCCEEDED, record.message
    assert record.alerts_created == 1 and sleeps == [0.5, 1.0]
    assert len(stub.sent("POST", RULE_SEARCH)) == 4


def test_fields_that_cannot_be_read_leave_the_window_pending(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", CAPS, Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    record = execute(sudoers_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced
    assert "fields of the rule's indices could not be read" in record.message
    assert not stub.sent("POST", RULE_SEARCH)


def test_text_and_keyword_fields_translate_as_field_caps_reports_them(backend: ElasticsearchBackend,
                                                                      stub: Stub) -> None:
    # host.os.type:linux and data_stream.dataset:"system.syslog" and process.name:kernel and message:"bpf_probe_..."
    [path] = shared_path("detection-rules").rglob("persistence_bpf_probe_write_user.toml")
    rule = load_rule_file(path)
    syslog = ".ds-logs-system.syslog-default-2026.01.15-000001"

    def fields(_request: Recorded) -> Reply:
        def one(kind: str) -> dict[str, Any]:
            return {kind: {"type": kind, "metadata_field": False, "searchable": True, "aggregatable": kind != "text"}}
        found = {"host.os.type": one("keyword"), "process.name": one("keyword"), "message": one("text"),
                 # constant_keyword reports its family type, keyword (elasticsearch#58483)
                 "data_stream.dataset": one("keyword"), "event.ingested": one("date"),
                 "@timestamp": one("date")}
        return Reply(200, {"indices": [syslog], "fields": found})

    state(stub)
    stub.always("POST", "/logs-system.syslog-\\*/_field_caps", fields)
    hit = {"_index": syslog, "_id": "s1", "_score": None, "sort": [1768470960000, 1768470960000],
           "_source": {"@timestamp": "2026-01-15T09:56:00.000Z", "message": "bpf_probe_write_user: pid 88",
                       "process": {"name": "kernel"}, "host": {"os": {"type": "linux"}}}}
    stub.expect("POST", "/logs-system.syslog-\\*/_search", Reply(200, page([hit])))
    stub.expect("POST", "/logs-system.syslog-\\*/_search", Reply(200, page([])))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(rule, backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 1, record.message
    kql = str(stub.sent("POST", "/logs-system.syslog-\\*/_search")[0].json["query"]["bool"]["filter"][0])
    # text: match_phrase (quoted), analyzed by the cluster; keyword fields: term
    assert "'match_phrase': {'message': 'bpf_probe_write_user'}" in kql
    assert "'term': {'process.name': {'value': 'kernel'}}" in kql
    assert "'term': {'data_stream.dataset': {'value': 'system.syslog'}}" in kql


def test_a_cluster_block_while_recovering_leaves_the_window_pending(backend: ElasticsearchBackend, stub: Stub) -> None:
    # a 503 cluster_block_exception ("state not recovered", "no master") is the cluster's state, not "no index":
    # taken for an empty field list, the window would be marked searched without a search (Kibana's callFieldCapsApi
    # empties the list for closed indices, a 4xx)
    state(stub)
    stub.always("POST", CAPS, Reply(503, error_body(503, "cluster_block_exception",
                                                    "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered];")))
    record = execute(sudoers_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced
    assert len(stub.sent("POST", CAPS)) == 3 and not stub.sent("POST", RULE_SEARCH)  # retried, never searched
    closed = Stub()
    try:
        state(closed)
        closed.always("POST", CAPS, Reply(400, error_body(400, "index_closed_exception", "closed")))
        record = execute(sudoers_rule(), _backend_for(closed), started_at=T, options=OPTIONS, sleep=Sleeps())
        assert record.state_advanced and "no index matching" in record.warnings[0]  # a closed index: no fields
    finally:
        closed.close()
