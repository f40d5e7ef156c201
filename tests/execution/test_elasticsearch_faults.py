"""Executions on the Elasticsearch backend against the loopback stub: the same path as the embedded backend
(windows → search → alerts → known ids → bulk create → state), and what faults do to it: overload and 5xx retried
with backoff, timeouts and lost connections leaving the window pending, partial results not taken for a search,
per-item rejections re-sent alone, a bad query failing at once. Client behaviour, not an integration test."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from tests.backends.es_stub import Recorded, Reply, Stub, error_body, example

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
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.close()


@pytest.fixture()
def backend(tmp_path: Path, stub: Stub) -> ElasticsearchBackend:
    return _backend(tmp_path, stub.url)


def state(stub: Stub, previous: str | None = None) -> None:
    """No state yet (or `previous`), and state and record writes acknowledged."""
    if previous is None:
        stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    else:
        stub.always("GET", "/rule-runner-state/_doc/.*",
                    Reply(200, {"found": True, "_source": {"previous_started_at": previous}}))
    stub.always("PUT", "/rule-runner-state/_doc/.*", Reply(200, {"result": "updated"}))
    stub.always("PUT", "/rule-runner-executions/_doc/.*", Reply(201, {"result": "created"}))


def no_known_ids(request: Recorded) -> Reply:
    return Reply(200, {"hits": {"hits": []}})


def created(request: Recorded, statuses: dict[int, int] | None = None) -> Reply:
    items = []
    for n, action in enumerate(request.ndjson[::2]):
        status = (statuses or {}).get(n, 201)
        item: dict[str, Any] = {"_index": ".internal.alerts-security.alerts-default-000001",
                                "_id": action["create"]["_id"], "status": status}
        if status == 429:
            item["error"] = example("21")["item_threadpool_queue_full"]["index"]["error"]
        items.append({"create": item})
    return Reply(200, {"took": 1, "errors": bool(statuses), "items": items})


def bulk_ids(stub: Stub) -> list[list[str]]:
    return [[line["create"]["_id"] for line in r.ndjson[::2]] for r in stub.sent("PUT", "/_bulk")]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_seed_rule_end_to_end_writes_the_expected_sequence_alerts(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", created)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == SUCCEEDED and record.alerts_created == 30 and record.state_advanced
    [ids] = bulk_ids(stub)
    assert len(ids) == len(set(ids)) == 30
    [bulk] = stub.sent("PUT", "/_bulk")
    shells = [doc for doc in bulk.ndjson[1::2] if "kibana.alert.group.index" not in doc]
    found = sorted([a["id"] for a in s["kibana.alert.ancestors"] if a["type"] == "event"] for s in shells)
    assert found == sorted(s["events"] for s in EXPECTED["sequences"])
    saved = stub.sent("PUT", "/rule-runner-state/_doc/.*")[0].json
    assert saved["previous_started_at"] == T.isoformat()
    [recorded] = stub.sent("PUT", "/rule-runner-executions/_doc/.*")
    assert recorded.json["status"] == SUCCEEDED and recorded.json["alerts_created"] == 30


def test_rerunning_the_window_writes_nothing_new(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub, previous=T.isoformat())
    response = seed_response()
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", Reply(200, response))

    def all_known(request: Recorded) -> Reply:
        return Reply(200, {"hits": {"hits": [{"_id": i} for i in request.json["query"]["ids"]["values"]]}})

    stub.always("POST", f"/{ALIAS}/_search", all_known)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == SUCCEEDED and record.alerts_created == 0 and record.duplicates == 30
    assert not stub.sent("PUT", "/_bulk")


def test_overload_then_success_is_retried_with_backoff(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.expect("POST", ".*/_eql/search", Reply(429, example("22")["response"]))
    stub.expect("POST", ".*/_eql/search", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", created)
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
    assert not stub.sent("PUT", "/rule-runner-state/_doc/.*")


def test_connection_lost_before_the_write_writes_nothing_and_keeps_the_window(backend: ElasticsearchBackend,
                                                                               stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", Reply(drop=True))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and record.alerts_created == 0 and not record.state_advanced
    assert "30 alerts of window" in record.message and "were not written" in record.message
    assert len(stub.sent("PUT", "/_bulk")) == 3  # first attempt and two retries, each after a fresh pre-search
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
    assert not first.sent("PUT", "/rule-runner-state/_doc/.*")

    second = Stub()
    try:
        state(second)  # the state never advanced: none recorded, as before the first run
        second.always("POST", ".*/_eql/search", Reply(200, seed_response()))
        second.always("POST", f"/{ALIAS}/_search", no_known_ids)
        second.always("PUT", "/_bulk", created)
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
    stub.expect("PUT", "/_bulk", lambda request: created(request, {3: 429, 7: 429}))
    stub.always("PUT", "/_bulk", created)
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
    stub.always("PUT", "/rule-runner-executions/_doc/.*", Reply(401, error_body(401, "security_exception", "x")))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == FAILED and "authentication failed" in record.message
    assert not stub.sent("POST", ".*/_eql/search")
