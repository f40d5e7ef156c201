"""Executions on the Elasticsearch backend against the loopback stub: the same path as the embedded backend
(windows → search → alerts → known ids → bulk create → state), and what faults do to it: overload and 5xx retried
with backoff, timeouts and lost connections leaving the window pending, partial results not taken for a search,
per-item rejections re-sent alone, a bad query failing at once. Client behaviour, not an integration test."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.catalog import load_rule_file
from runner.engine import search
from runner.execution import ExecutionOptions, ExecutionStatus, execute
from runner.settings import load_settings
from tests.backends.es_stub import Recorded, Reply, Stub, bulk_ack, error_body, example, first_op

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)
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


def state(stub: Stub, previous: str | None = None, *, saved: dict[str, Any] | None = None) -> None:
    """No state yet (or `previous`, or the `saved` document); the state and record bulks acknowledged."""
    if saved is not None:
        stub.always("GET", "/rule-runner-state/_doc/.*", Reply(200, {"found": True, "_source": saved}))
    elif previous is None:
        stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    else:
        stub.always("GET", "/rule-runner-state/_doc/.*",
                    Reply(200, {"found": True, "_source": {"previous_started_at": previous}}))
    stub.always("PUT", "/_bulk", bulk_ack, when=lambda request: first_op(request) == "index")


def refreshed(stub: Stub) -> None:
    """Refreshes of the alerts alias acknowledged."""
    stub.always("POST", f"/{ALIAS}/_refresh", Reply(200, {"_shards": {"total": 2, "successful": 2, "failed": 0}}))


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
        for action, document in zip(lines[::2], lines[1::2], strict=True):
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
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 30 and record.state_advanced
    [ids] = bulk_ids(stub)
    assert len(ids) == len(set(ids)) == 30
    [bulk] = [r for r in stub.sent("PUT", "/_bulk") if alert_bulks(r)]
    shells = [doc for doc in bulk.ndjson[1::2] if "kibana.alert.group.index" not in doc]
    found = sorted([a["id"] for a in s["kibana.alert.ancestors"] if a["type"] == "event"] for s in shells)
    assert found == sorted(s["events"] for s in EXPECTED["sequences"])
    # the window is recorded as pending before the first search, then the state advances with the record
    pending, state_doc = states(stub)
    assert pending["pending_since"] == "2026-01-15T09:56:00.000Z" and "previous_started_at" not in pending
    assert state_doc["previous_started_at"] == T.isoformat()
    [recorded] = records(stub)
    assert recorded["status"] == ExecutionStatus.SUCCEEDED and recorded["alerts_created"] == 30 and recorded["state_advanced"]
    # the pending mark, one bulk for the alerts, one for state + record: the state first
    assert [first_op(r) for r in stub.sent("PUT", "/_bulk")] == ["index", "create", "index"]
    assert [r.method for r in stub.requests].index("POST") > 1  # the pending mark went before the search


def test_rerunning_the_window_writes_nothing_new(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub, previous=T.isoformat())
    response = seed_response()
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search", Reply(200, response))

    def all_known(request: Recorded) -> Reply:
        return Reply(200, {"hits": {"hits": [{"_id": i} for i in request.json["query"]["ids"]["values"]]}})

    stub.always("POST", f"/{ALIAS}/_search", all_known)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 0 and record.duplicates == 30
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
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 30
    assert len(stub.sent("POST", ".*/_eql/search")) == 3 and sleeps == [0.5, 1.0]


def test_a_search_timing_out_leaves_the_window_pending(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response(), delay=1.5))  # request_timeout is 1s
    sleeps = Sleeps()
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced and record.alerts_created == 0
    assert "ConnectionTimeout" in record.message and "stays pending" in record.message
    assert len(stub.sent("POST", ".*/_eql/search")) == 3 and sleeps == [0.5, 1.0]
    assert [list(s) for s in states(stub)] == [["pending_since", "rule_id", "updated_at"]]  # never advanced
    assert records(stub)[0]["status"] == ExecutionStatus.FAILED


def test_connection_lost_before_the_write_writes_nothing_and_keeps_the_window(backend: ElasticsearchBackend,
                                                                               stub: Stub) -> None:
    state(stub)
    refreshed(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", Reply(drop=True), when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and record.alerts_created == 0 and not record.state_advanced
    assert "30 alerts of window" in record.message and "were not written" in record.message
    assert len(bulk_ids(stub)) == 3  # first attempt and two retries, each after a fresh pre-search
    assert len(stub.sent("POST", f"/{ALIAS}/_search")) == 3
    # no answer to a bulk: it may have been applied, so the alias is refreshed before each look-up that follows
    calls = [r.path.rsplit("/", 1)[-1] for r in stub.requests if ALIAS in r.path or alert_bulks(r)]
    assert calls == ["_search", "_bulk", "_refresh", "_search", "_bulk", "_refresh", "_search", "_bulk"]


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
    assert record.status == ExecutionStatus.FAILED and record.alerts_created == 0 and not record.state_advanced
    assert "Connection" in record.message and "stays pending" in record.message
    [pending] = states(first)  # never advanced: only the mark written before the search
    assert "previous_started_at" not in pending

    second = Stub()
    try:
        state(second, saved=pending)
        second.always("POST", ".*/_eql/search", Reply(200, seed_response()))
        second.always("POST", f"/{ALIAS}/_search", no_known_ids)
        second.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
        again = execute(seed_rule(), _backend(tmp_path, second.url), started_at=T, options=OPTIONS, sleep=Sleeps())
        assert again.status == ExecutionStatus.SUCCEEDED and again.alerts_created == 30 and again.state_advanced
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
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced
    assert "unavailable shards" in record.message and "no_shard_available_action_exception" in record.message
    assert len(stub.sent("POST", ".*/_eql/search")) == 3  # retried like overload


def test_per_item_rejections_are_resent_alone(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, {3: 429, 7: 429}), when=alert_bulks)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 30 and record.duplicates == 0
    first, second = bulk_ids(stub)
    assert len(first) == 30 and second == [first[3], first[7]]


def test_a_bad_query_fails_at_once_with_elasticsearchs_message(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(400, example("06")["full_body_shape_reconstructed"]))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and record.message == "Found 1 problem\nline 1:42: Unknown column [used]"
    assert len(stub.sent("POST", ".*/_eql/search")) == 1 and not record.state_advanced


def test_no_matching_index_is_a_warning_and_the_state_advances(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(404, example("08")["full_body_shape_reconstructed"]))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and "no index matching" in record.message and record.state_advanced


def test_an_auth_failure_fails_the_execution_with_a_clear_message(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(401, error_body(401, "security_exception",
                                                                          "unable to authenticate user [runner]")))
    stub.always("PUT", "/_bulk", Reply(401, error_body(401, "security_exception", "x")))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and "authentication failed" in record.message
    assert not stub.sent("POST", ".*/_eql/search")


def test_a_state_write_refused_is_reported_and_the_record_says_so(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    # the end-of-execution state item refused
    stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, {0: 403}),
                when=lambda request: "previous_started_at" in request.ndjson[1])
    stub.always("PUT", "/_bulk", bulk_ack)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced and "state was not saved" in record.message
    # the record is stored again as it should read
    assert records(stub)[-1]["state_advanced"] is False and records(stub)[-1]["status"] == ExecutionStatus.FAILED
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
    # two requests per execution without hits besides the first read and the first execution's pending mark: the
    # search and the state + record bulk
    assert len(stub.requests) == 1 + 1 + 2 + 2


# ---- issue 10: faults that used to lose a window, miscount or duplicate ------------------------------------------


def test_a_failed_first_execution_leaves_its_window_pending(backend: ElasticsearchBackend, stub: Stub) -> None:
    """The very first execution fails (503 on every search): its window was recorded as pending before the search,
    so the next execution searches it as a catch-up window instead of behaving as a first run."""
    state(stub)
    stub.expect("POST", ".*/_eql/search", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    stub.expect("POST", ".*/_eql/search", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    stub.expect("POST", ".*/_eql/search", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", _written_by_lost_bulks(stub, after_refresh=False))
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    first = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert first.status == ExecutionStatus.FAILED and not first.state_advanced and "stays pending" in first.message
    [pending] = states(stub)
    assert pending["pending_since"] == first.windows[0].start == "2026-01-15T09:56:00.000Z"

    later = T.replace(minute=10)
    second = execute(seed_rule(), backend, started_at=later, options=OPTIONS, sleep=Sleeps())
    assert second.status == ExecutionStatus.SUCCEEDED and second.state_advanced
    assert (second.alerts_created, second.duplicates) == (30, 30)  # the windows overlap: found again, not counted
    assert [(w.start, w.end) for w in second.windows] == [
        ("2026-01-15T09:56:00.000Z", "2026-01-15T10:05:00.000Z"),  # the first execution's window, caught up
        ("2026-01-15T10:01:00.000Z", "2026-01-15T10:10:00.000Z"),
    ]
    assert states(stub)[-1]["previous_started_at"] == later.isoformat()


@pytest.mark.parametrize("marks", [{"is_partial": True}, {"timed_out": True}, {"is_partial": True, "timed_out": True}])
def test_an_answer_marked_incomplete_is_never_taken_for_a_searched_window(backend: ElasticsearchBackend, stub: Stub,
                                                                         marks: dict[str, bool]) -> None:
    state(stub)
    incomplete = {**seed_response(), **marks}
    incomplete["hits"] = {"total": {"value": 0, "relation": "eq"}, "sequences": []}
    assert "shard_failures" not in incomplete
    stub.always("POST", ".*/_eql/search", Reply(200, incomplete))
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced and "stays pending" in record.message
    assert all(f"{key}: true" in record.message for key in marks)
    assert len(stub.sent("POST", ".*/_eql/search")) == 3  # retried like overload
    assert not [s for s in states(stub) if "previous_started_at" in s]


def _written_by_lost_bulks(stub: Stub, *, after_refresh: bool = True) -> Callable[[Recorded], Reply]:
    """The look-up's answer: every alert of an earlier create bulk, with the execution uuid it was written with
    (the bulks whose answer never came were applied), once the alias was refreshed (before that, none)."""

    def reply(request: Recorded) -> Reply:
        if after_refresh and not stub.sent("POST", f"/{ALIAS}/_refresh"):
            return no_known_ids(request)
        written = {}
        for bulk in stub.sent("PUT", "/_bulk"):
            if alert_bulks(bulk):
                for action, document in zip(bulk.ndjson[::2], bulk.ndjson[1::2], strict=True):
                    written[action["create"]["_id"]] = document["kibana.alert.rule.execution.uuid"]
        wanted = request.json["query"]["ids"]["values"]
        return Reply(200, {"hits": {"hits": [{"_id": i, "fields": {"kibana.alert.rule.execution.uuid": [written[i]]}}
                                              for i in wanted if i in written]}})

    return reply


def test_alerts_written_by_a_bulk_whose_answer_was_lost_count_as_created(backend: ElasticsearchBackend,
                                                                         stub: Stub) -> None:
    """The bulk was applied but its answer came too late (past the request timeout): the retry refreshes the alias,
    its look-up finds the alerts with this execution's uuid, and they count as created, not as duplicates; nothing is
    sent twice (after a rollover a second create would not conflict)."""
    state(stub)
    refreshed(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", _written_by_lost_bulks(stub))
    stub.always("PUT", "/_bulk", lambda request: Reply(200, bulk_ack(request).body, delay=1.5), when=alert_bulks)
    sleeps = Sleeps()
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == ExecutionStatus.SUCCEEDED and record.state_advanced
    assert (record.alerts_created, record.duplicates) == (30, 0)
    assert len(bulk_ids(stub)) == 1 and sleeps == [0.5]
    calls = [r.path.rsplit("/", 1)[-1] for r in stub.requests if ALIAS in r.path or alert_bulks(r)]
    assert calls == ["_search", "_bulk", "_refresh", "_search"]


def test_alerts_of_an_earlier_execution_stay_duplicates(backend: ElasticsearchBackend, stub: Stub) -> None:
    state(stub, previous=T.isoformat())
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))

    def by_another_execution(request: Recorded) -> Reply:
        return Reply(200, {"hits": {"hits": [{"_id": i, "fields": {"kibana.alert.rule.execution.uuid": ["other"]}}
                                              for i in request.json["query"]["ids"]["values"]]}})

    stub.always("POST", f"/{ALIAS}/_search", by_another_execution)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert (record.alerts_created, record.duplicates) == (0, 30)


def test_a_state_write_whose_answer_is_lost_is_sent_again(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(200, {"found": True, "_source": {
        "previous_started_at": T.replace(minute=0).isoformat()}}))
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    stub.expect("PUT", "/_bulk", Reply(drop=True))  # the end-of-execution bulk: no answer
    stub.always("PUT", "/_bulk", bulk_ack)
    sleeps = Sleeps()
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=sleeps)
    assert record.status == ExecutionStatus.SUCCEEDED and record.state_advanced and not record.errors
    assert len(stub.sent("PUT", "/_bulk")) == 2 and sleeps == [0.5]
    assert [s["previous_started_at"] for s in states(stub)] == [T.isoformat(), T.isoformat()]


def test_a_state_write_whose_outcome_stays_unknown_says_so(backend: ElasticsearchBackend, stub: Stub) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(200, {"found": True, "_source": {
        "previous_started_at": T.replace(minute=0).isoformat()}}))
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    stub.always("PUT", "/_bulk", Reply(drop=True))  # never an answer: applied or not, nobody knows
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.FAILED and not record.state_advanced
    assert "whether the rule's state was saved is unknown" in record.message
    assert "was not saved" not in record.message
    # first the state and record, three times; then the record as it should read, three times
    assert len(stub.sent("PUT", "/_bulk")) == 6
    # the runner forgot what it believed the state was: it reads it again from the cluster
    stub.requests.clear()
    backend.rule_state(seed_rule().rule_id)
    assert stub.sent("GET", "/rule-runner-state/_doc/.*")


def test_a_refused_field_is_removed_and_the_alert_sent_again(backend: ElasticsearchBackend, stub: Stub) -> None:
    """A bulk item refused for its content (a mapping conflict) never blocks its window: the alert is sent again
    without the field the refusal names; refused again, it is recorded as failed and the window is covered."""
    state(stub)
    stub.always("POST", ".*/_eql/search", Reply(200, seed_response()))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    sent_first: list[list[str]] = []

    def refuse(request: Recorded) -> Reply:
        ids = [line["create"]["_id"] for line in request.ndjson[::2]]
        reply = bulk_ack(request)
        items = reply.body["items"]
        if not sent_first:
            sent_first.append(ids)
            _refuse(items[0], "object mapping for [host] tried to parse field [host] as object, but found a "
                              "concrete value")
            _refuse(items[1], "[1:40] failed to parse field [host.name] of type [keyword] in document with id "
                              "'x'. Preview of field's value: '{a=1}'")
        else:  # the second one is refused again, for another field
            _refuse(items[ids.index(sent_first[0][1])], "failed to parse field [process.name] of type [keyword]")
        reply.body["errors"] = True
        return reply

    stub.always("PUT", "/_bulk", refuse, when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and record.state_advanced  # the window is covered
    assert (record.alerts_created, record.alerts_failed) == (29, 1)
    first, again = bulk_ids(stub)
    assert again == first[:2]  # sent again at once, the two refused ones only
    [resent_0, resent_1] = [r for r in stub.sent("PUT", "/_bulk") if alert_bulks(r)][1].ndjson[1::2]
    assert "host" not in resent_0 and "name" not in resent_1.get("host", {})
    assert record.failed_alerts[0]["id"] == first[1] and "process.name" in record.failed_alerts[0]["reason"]
    assert "written without it" in record.message and "were not written" in record.message


def _refuse(item: dict[str, Any], reason: str) -> None:
    result = item["create"]
    result["status"] = 400
    result["error"] = {"type": "document_parsing_exception", "reason": reason}


def test_an_event_with_values_that_do_not_fit_ecs_never_blocks_its_window(backend: ElasticsearchBackend,
                                                                          stub: Stub) -> None:
    """Values that conflict with the alerts index's ECS mapping are left out of the alert (as Kibana leaves them out)
    instead of failing its bulk item; the execution record names the fields."""
    state(stub)
    response = seed_response()
    event = response["hits"]["sequences"][0]["events"][0]["_source"]
    event["user"] = "SYSTEM"  # ECS: an object
    event["process"]["parent"] = "bash"  # ECS: an object
    event["event"]["duration"] = "12ms"  # ECS: a long
    stub.always("POST", ".*/_eql/search", Reply(200, response))
    stub.always("POST", f"/{ALIAS}/_search", no_known_ids)
    stub.always("PUT", "/_bulk", bulk_ack, when=alert_bulks)
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED and record.state_advanced and record.alerts_created == 30
    assert record.fields_removed == ["event.duration", "process.parent", "user"]
    [bulk] = [r for r in stub.sent("PUT", "/_bulk") if alert_bulks(r)]
    documents = bulk.ndjson[1::2]
    assert not any(doc.get("user") == "SYSTEM" or doc.get("process", {}).get("parent") == "bash"
                   or "duration" in doc.get("event", {}) for doc in documents)
    [block] = [doc for doc in documents if doc.get("kibana.alert.group.index") == 0
               and doc["kibana.alert.ancestors"][0]["id"] == response["hits"]["sequences"][0]["events"][0]["_id"]]
    assert "user" not in block and "parent" not in block["process"] and block["process"]["name"]


def test_a_record_refused_after_the_state_was_saved_is_not_reported_as_a_state_problem(
        backend: ElasticsearchBackend, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(200, {"found": True, "_source": {
        "previous_started_at": T.replace(minute=0).isoformat()}}))
    stub.always("POST", ".*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    stub.always("PUT", "/_bulk", lambda request: bulk_ack(request, {1: 429}))  # the record item, every time
    record = execute(seed_rule(), backend, started_at=T, options=OPTIONS, sleep=Sleeps())
    assert record.status == ExecutionStatus.SUCCEEDED and record.state_advanced and not record.errors
    assert len(stub.sent("PUT", "/_bulk")) == 3  # tried again, then given up: the record only is missing
    assert "the execution record could not be stored" in caplog.text and "recording execution" in caplog.text
