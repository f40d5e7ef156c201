"""Executions on the Elasticsearch backend against the loopback stub: the same path as the embedded backend
(windows → search → alerts → known ids → bulk create → state), and what faults do to it: overload and 5xx retried
with backoff, timeouts and lost connections leaving the window pending, partial results not taken for a search,
per-item rejections re-sent alone, a bad query failing at once. Client behaviour, not an integration test."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.catalog import load_rule_file
from runner.engine import search
from runner.execution import FAILED, PARTIAL_FAILURE, SUCCEEDED, ExecutionOptions, execute
from runner.settings import load_settings
from tests.backends.es_stub import Recorded, Reply, Stub, bulk_ack, error_body, example, first_op

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 1, 15, 10, 5, tzinfo=timezone.utc)
ALIAS = ".alerts-security.alerts-default"
OPTIONS = ExecutionOptions(retries=2, retry_backoff=0.5)
EXPECTED = json.loads((ROOT / "samples" / "seed_rule.expected.json").read_text())


def seed_rule():
    return load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")


def seed_response() -> dict[str, Any]:
    """What Elasticsearch answers for the seed rule over the samples (its body, as the engine gives it)."""
    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    return search(docs, seed_rule().query, size=100)


@pytest.fixture()
def backend(tmp_path: Path, stub: Stub) -> ElasticsearchBackend:
    return _backend(tmp_path, stub.url)


def state(stub: Stub, previous: str | None = None) -> None:
    """No state yet (or `previous`); the end-of-execution bulk (state and record) acknowledged."""
    if previous is None:
        stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    else:
        stub.always("GET", "/rule-runner-state/_doc/.*",
                    Reply(200, {"found": True, "_source": {"previous_started_at": previous}}))
    stub.always("PUT", "/_bulk", bulk_ack, when=lambda request: first_op(request) == "index")


def no_known_ids(request: Recorded) -> Reply:
    return Reply(200, {"hits": {"hits": []}})


def alert_bulks(request: Recorded) -> bool:
    return first_op(request) == "create"


def bulk_ids(stub: Stub) -> list[list[str]]:
    return [[line["create"]["_id"] for line in r.ndjson[::2]] for r in stub.sent("PUT", "/_bulk") if alert_bulks(r)]


def saved(stub: Stub) -> list[dict[str, Any]]:
    """Documents written by the end-of-execution bulks, by index: (index, document)."""
    found = []
    for request in stub.sent("PUT", "/_bulk"):
        lines = request.ndjson
        for action, document in zip(lines[::2], lines[1::2]):
            if "index" in action:
                found.append((action["index"]["_index"], document))
    return found


def states(stub: Stub) -> list[dict[str, Any]]:
    return [doc for index, doc in saved(stub) if index == "rule-runner-state"]


def records(stub: Stub) -> list[dict[str, Any]]:
    return [doc for index, doc in saved(stub) if index == "rule-runner-executions"]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_seed_rule_end_to_end_writes_the_expected_sequence_alerts(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == SUCCEEDED and record.alerts_created == 30 and record.state_advanced
    [ids] = bulk_ids(stub)
    assert len(ids) == len(set(ids)) == 30
    [bulk] = [r for r in stub.sent("PUT", "/_bulk") if alert_bulks(r)]
    shells = [doc for doc in bulk.ndjson[1::2] if "kibana.alert.group.index" not in doc]
    found = sorted([a["id"] for a in s["kibana.alert.ancestors"] if a["type"] == "event"] for s in shells)
    assert found == sorted(s["events"] for s in EXPECTED["sequences"])
    [state_doc] = states(stub)
    assert state_doc["previous_started_at"] == T.isoformat()
    [recorded] = records(stub)
    assert recorded["status"] == SUCCEEDED and recorded["alerts_created"] == 30 and recorded["state_advanced"]
    # one bulk for the alerts, one for state + record: the state first
    assert [first_op(r) for r in stub.sent("PUT", "/_bulk")] == ["create", "index"]


def test_rerunning_the_window_writes_nothing_new(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub, previous=T.isoformat())
    response = seed_response()
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", Reply(200, response))

    def all_known(request: Recorded) -> Reply:
        return Reply(200, {"hits": {"hits": [{"_id": i} for i in request.json["query"]["ids"]["values"]]}})

    stub.always("POST", f"/{ALIAS}/_search", all_known)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == SUCCEEDED and record.alerts_created == 0 and record.duplicates == 30
    assert not bulk_ids(stub)


def test_overload_then_success_is_retried_with_backoff(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.expect("POST", ".*/_eql/search", Reply(429, example("22")["response"]))
    stub.expect("POST", ".*/_eql/search", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    sleeps = Sleeps()
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == SUCCEEDED and record.alerts_created == 30
    assert len(stub.sent("POST", ".*/_eql/search")) == 3 and sleeps == [0.5, 1.0]


def test_a_search_timing_out_leaves_the_window_pending(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response(), delay=1.5))  # request_timeout is 1s
    sleeps = Sleeps()
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == FAILED and not record.state_advanced and record.alerts_created == 0
    assert "ConnectionTimeout" in record.message and "stays pending" in record.message
    assert len(stub.sent("POST", ".*/_eql/search")) == 3 and sleeps == [0.5, 1.0]
    assert not states(stub) and records(stub)[0]["status"] == FAILED


def test_connection_lost_before_the_write_writes_nothing_and_keeps_the_window(backend: ElasticsearchBackend,
                                                                               stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", Reply(drop=True), when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and record.alerts_created == 0 and not record.state_advanced
    assert "30 alerts of window" in record.message and "were not written" in record.message
    assert len(bulk_ids(stub)) == 3  # first attempt and two retries, each after a fresh pre-search
    assert len(stub.sent("POST", f"/{ALIAS}/_search")) == 3


def test_cluster_gone_mid_run_then_back_loses_nothing(tmp_path: Path) -> None:
    """The cluster vanishes after the search (connection refused from then on): nothing is counted as written and
    the state stays. A runner started again (the cluster back) searches the same window and writes every alert."""
    first = Stub()
    state(first)

    def search_then_vanish(request: Recorded) -> Reply:
        first.vanish()  # this answer is the last one
        return Reply(200, seed_response(), close=True)

    first.always("POST", ".*/_eql/search", search_then_vanish)
    record = execute(seed_rule(), _backend(tmp_path, first.url), started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and record.alerts_created == 0 and not record.state_advanced
    assert "Connection" in record.message and "stays pending" in record.message
    assert not states(first)

    second = Stub()
    try:
        state(second)  # the state never advanced: none recorded, as before the first run
        second.always("POST", ".*/_eql/search", Reply(200, seed_response()))
        second.always("POST", f"/{ALIAS}/_search", no_known_ids)
        second.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
        again = execute(seed_rule(), _backend(tmp_path, second.url), started_at=T, options=OPTIONS, sleep=Sleeps())
        assert again.status == SUCCEEDED and again.alerts_created == 30 and again.state_advanced
        assert [(w.start, w.end) for w in again.windows] == [(w.start, w.end) for w in record.windows]
    finally:
        second.close()


def _backend(tmp_path: Path, url: str) -> ElasticsearchBackend:
    path = tmp_path / "runner.yaml"
    path.write_text(f"backend: elasticsearch\nelasticsearch:\n  hosts: {url}\n  request_timeout: 1s\n")
    return ElasticsearchBackend.from_settings(load_settings(path, env={}), KIBANA_VERSION)


def test_partial_results_are_not_taken_for_a_searched_window(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    partial = {"is_partial": True, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []},
               "shard_failures": [{"index": "logs-endpoint.events.network-default", "shard": 0,
                                   "reason": {"type": "no_shard_available_action_exception", "reason": "x"}}]}
    stub.always("POST", ".*/_eql/search", Reply(200, partial))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and not record.state_advanced
    assert "unavailable shards" in record.message and "no_shard_available_action_exception" in record.message
    assert len(stub.sent("POST", ".*/_eql/search")) == 3  # retried like overload


def test_per_item_rejections_are_resent_alone(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, {3: 429, 7: 429}), when=alert_bulks)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == SUCCEEDED and record.alerts_created == 30 and record.duplicates == 0
    first, second = bulk_ids(stub)
    assert len(first) == 30 and second == [first[3], first[7]]


def test_a_bad_query_fails_at_once_with_elasticsearchs_message(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(400, example("06")["full_body_shape_reconstructed"]))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and record.message == "Found 1 problem\nline 1:42: Unknown column [used]"
    assert len(stub.sent("POST", ".*/_eql/search")) == 1 and not record.state_advanced


def test_no_matching_index_is_a_warning_and_the_state_advances(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(404, example("08")["full_body_shape_reconstructed"]))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == PARTIAL_FAILURE and "no index matching" in record.message and record.state_advanced


def test_an_auth_failure_fails_the_execution_with_a_clear_message(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(401, error_body(401, "security_exception",
                                                                          "unable to authenticate user [runner]")))
    stub.always("PUT", "/_bulk", Reply(401, error_body(401, "security_exception", "x")))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and "authentication failed" in record.message
    assert not stub.sent("POST", ".*/_eql/search")


def test_a_state_write_refused_is_reported_and_the_record_says_so(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, {0: 403}))  # the state item refused
    stub.always("PUT", "/_bulk", bulk_ack)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and not record.state_advanced and "state was not saved" in record.message
    # the record is stored again as it should read
    assert records(stub)[-1]["state_advanced"] is False and records(stub)[-1]["status"] == FAILED
    # and the state is read again from the cluster next time (nothing cached for a write that failed)
    stub.requests.clear()
    execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert stub.sent("GET", "/rule-runner-state/_doc/.*")


def test_the_state_is_read_once_then_known(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    first = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    second = execute(seed_rule(), backend, started_at=T.replace(minute=10), options=OPTIONS, sleep=Sleeps())
    assert first.state_advanced and second.state_advanced
    assert len(stub.sent("GET", "/rule-runner-state/_doc/.*")) == 1
    # the second run's window starts where the first one's state says (no gap, no overlap beyond the look-back)
    assert second.windows[0].end == "2026-01-15T10:10:00.000Z" and len(second.windows) == 1
    # two requests per execution without hits besides the first read: the search and the state + record bulk
    assert len(stub.requests) == 1 + 2 + 2
