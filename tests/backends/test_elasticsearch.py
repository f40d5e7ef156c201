"""The Elasticsearch backend against a loopback stub that replays recorded bodies: what the client sends (headers,
paths, bodies), and how each answer is classified. Not an integration test: see tests/integration/."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends import (
    AccessError,
    IndexNotFound,
    IngestResult,
    QueryError,
    StateNotSaved,
    TransientError,
    WriteError,
)
from runner.backends.elasticsearch import (
    AlertsIndexMissing,
    ElasticsearchBackend,
    data_stream_of,
    ingest_events,
    make_client,
)
from runner.backends.elasticsearch.alerts_index import TEMPLATE_PRIORITY
from runner.backends.elasticsearch.mappings import alerts_mapping
from runner.catalog import Rule, load_rule_file
from runner.ruletypes.eql import build_request
from runner.settings import Settings, load_settings
from tests.backends.es_stub import INFO, Recorded, Reply, Stub, bulk_ack, error_body, example, refused_url
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 15, 9, 56, tzinfo=UTC)
END = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)
COMPAT_JSON = "application/vnd.elasticsearch+json; compatible-with=8"


def settings_for(tmp_path: Path, url: str, extra: str = "", env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "runner.yaml"
    path.write_text(
        "backend: elasticsearch\n"
        f"elasticsearch:\n  hosts: {url}\n  username: runner\n  password: ${{ES_PASSWORD}}\n  request_timeout: 2s\n"
        f"{extra}",
        encoding="utf-8",
    )
    return load_settings(path, env={"ES_PASSWORD": "s3cret-pw", **(env or {})})


def backend_for(tmp_path: Path, stub: Stub, extra: str = "") -> ElasticsearchBackend:
    return ElasticsearchBackend.from_settings(settings_for(tmp_path, stub.url, extra), KIBANA_VERSION)


def seed_rule() -> Rule:
    return load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")


# ---- the client ------------------------------------------------------------------------------------------------------


def test_every_request_asks_for_8x_compatibility_with_basic_auth(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("POST", "/.*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "events": []}}))
    backend = backend_for(tmp_path, stub)
    backend.eql_search(build_request(seed_rule(), START, END))
    [search] = stub.sent("POST", "/.*/_eql/search")
    # 8.x servers refuse compatible-with=9; 9.x servers accept compatible-with=8 (REST API compatibility)
    assert search.headers["accept"] == COMPAT_JSON
    assert search.headers["content-type"] == COMPAT_JSON
    assert search.headers["authorization"] == "Basic " + base64.b64encode(b"runner:s3cret-pw").decode()


def test_api_key_authentication(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    path = tmp_path / "runner.yaml"
    path.write_text(f"backend: elasticsearch\nelasticsearch:\n  hosts: {stub.url}\n  api_key: ${{KEY}}\n")
    settings = load_settings(path, env={"KEY": "a2V5LWlkOmtleQ=="})
    backend = ElasticsearchBackend.from_settings(settings, KIBANA_VERSION)
    backend.client.info()
    assert stub.requests[-1].headers["authorization"] == "ApiKey a2V5LWlkOmtleQ=="
    assert "a2V5LWlkOmtleQ" not in json.dumps(settings.redacted())


def test_tls_verification_is_on_by_default(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "https://es.example:9200")
    assert settings.elasticsearch is not None and settings.elasticsearch.verify_certs
    client = make_client(settings.elasticsearch)
    [node] = client.transport.node_pool.all()
    assert node.config.verify_certs is True and node.config.scheme == "https"


def test_the_eql_request_is_kibanas_body_as_it_is(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", "/.*/_eql/search", Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"},
                                                                  "sequences": []}}))
    request = build_request(seed_rule(), START, END)
    backend_for(tmp_path, stub).eql_search(request)
    [sent] = stub.requests
    assert sent.path == "/logs-endpoint.events.*/_eql/search"
    assert sent.query == {"allow_no_indices": "true"}
    assert sent.json == request.body and "case_sensitive" not in sent.json


def test_an_unsupported_server_version_is_refused(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, {**INFO, "version": {"number": "7.17.9"}}))
    with pytest.raises(AccessError, match=r"7\.17\.9 is not supported"):
        backend_for(tmp_path, stub).start()


# ---- search errors ---------------------------------------------------------------------------------------------------


def _search_error(tmp_path: Path, stub: Stub, reply: Reply) -> Exception:
    stub.always("POST", "/.*/_eql/search", reply)
    with pytest.raises(Exception) as caught:
        backend_for(tmp_path, stub).eql_search(build_request(seed_rule(), START, END))
    assert len(stub.requests) == 1  # the transport never retries: retries with backoff are the execution's
    return caught.value


def test_verification_error_keeps_elasticsearchs_message(tmp_path: Path, stub: Stub) -> None:
    body = example("06")["full_body_shape_reconstructed"]
    error = _search_error(tmp_path, stub, Reply(400, body))
    assert isinstance(error, QueryError) and error.es_type == "verification_exception"
    assert error.reason == "Found 1 problem\nline 1:42: Unknown column [used]"


def test_parsing_error_keeps_elasticsearchs_message(tmp_path: Path, stub: Stub) -> None:
    recorded = example("07")
    body = recorded.get("response") or recorded.get("full_body") or recorded.get("body")
    assert body is not None, sorted(recorded)
    error = _search_error(tmp_path, stub, Reply(400, body))
    assert isinstance(error, QueryError) and error.es_type == "parsing_exception"
    assert error.reason.startswith("line ")


@pytest.mark.parametrize("case", [0, 1])
def test_a_pattern_matching_nothing_is_index_not_found(tmp_path: Path, stub: Stub, case: int) -> None:
    recorded = example("08")
    if case == 0:
        body = recorded["full_body_shape_reconstructed"]
    else:  # security on: the top-level type says it, the root cause the verification problem
        body = error_body(404, "index_not_found_exception", "no such index [logs-endpoint.events.*]")
        body["error"]["root_cause"] = [{"type": "verification_exception",
                                        "reason": "Found 1 problem\nline -1:-1: Unknown index [*,-*]"}]
    assert isinstance(_search_error(tmp_path, stub, Reply(404, body)), IndexNotFound)


@pytest.mark.parametrize(("status", "kind", "expected"), [
    (401, "security_exception", AccessError),
    (403, "security_exception", AccessError),
    (429, "circuit_breaking_exception", TransientError),
    (500, "search_phase_execution_exception", TransientError),
    (503, "unavailable_shards_exception", TransientError),
])
def test_status_classes(tmp_path: Path, stub: Stub, status: int, kind: str, expected: type) -> None:
    error = _search_error(tmp_path, stub, Reply(status, error_body(status, kind, "stub reason")))
    assert isinstance(error, expected) and "stub reason" in str(error)


def test_recorded_429_bodies_are_transient(tmp_path: Path, stub: Stub) -> None:
    for name in ("22", "23"):
        recorded = example(name)
        body = recorded.get("response") or recorded.get("response_shape")
        stub.requests.clear()
        error = _search_error(tmp_path, stub, Reply(429, body))
        assert isinstance(error, TransientError)
        stub._always.clear()


def test_a_timeout_is_transient(tmp_path: Path, stub: Stub) -> None:
    error = _search_error(tmp_path, stub, Reply(200, {}, delay=3.0))  # request_timeout is 2s
    assert isinstance(error, TransientError) and "ConnectionTimeout" in str(error)


def test_a_dropped_connection_is_transient(tmp_path: Path, stub: Stub) -> None:
    assert isinstance(_search_error(tmp_path, stub, Reply(drop=True)), TransientError)


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    backend = ElasticsearchBackend.from_settings(settings_for(tmp_path, refused_url()), KIBANA_VERSION)
    with pytest.raises(TransientError, match="Connection"):
        backend.eql_search(build_request(seed_rule(), START, END))


# ---- alert writes ----------------------------------------------------------------------------------------------------


def _alerts(n: int) -> list[tuple[str, dict[str, Any]]]:
    return [(f"id-{i}", {"@timestamp": "2026-01-15T10:05:00.000Z", "kibana.alert.uuid": f"id-{i}"}) for i in range(n)]


def _bulk_reply(statuses: list[int]) -> Callable[[Recorded], Reply]:
    """A `_bulk` answer with these item statuses, in order."""
    return lambda request: bulk_ack(request, dict(enumerate(statuses)))


def test_bulk_create_writes_through_the_alias_and_classifies_items(tmp_path: Path, stub: Stub) -> None:
    stub.expect("PUT", "/_bulk", _bulk_reply([201, 409, 201]))
    result = backend_for(tmp_path, stub).create_alerts(".alerts-security.alerts-default", _alerts(3))
    assert result.created == ("id-0", "id-2") and result.duplicates == ("id-1",)
    [bulk] = stub.sent("PUT", "/_bulk")
    assert bulk.query == {"refresh": "wait_for", "require_alias": "true"}
    assert bulk.headers["content-type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    lines = bulk.ndjson
    assert lines[0] == {"create": {"_index": ".alerts-security.alerts-default", "_id": "id-0"}}
    assert lines[1] == _alerts(1)[0][1] and len(lines) == 6


def test_the_recorded_mixed_bulk_response(tmp_path: Path, stub: Stub) -> None:
    recorded = example("20")
    ids = [line["create"]["_id"] for line in recorded["request_ndjson"][::2]]
    stub.expect("PUT", "/_bulk", Reply(200, recorded["response"]))
    result = backend_for(tmp_path, stub).create_alerts("alerts", [(i, {"a": 1}) for i in ids])
    statuses = [item["create"]["status"] for item in recorded["response"]["items"]]
    assert len(result.created) == statuses.count(201) and len(result.duplicates) == statuses.count(409)


def test_per_item_429_is_retryable_and_reports_what_was_written(tmp_path: Path, stub: Stub) -> None:
    stub.expect("PUT", "/_bulk", _bulk_reply([201, 429, 409]))
    with pytest.raises(WriteError) as caught:
        backend_for(tmp_path, stub).create_alerts("alerts", _alerts(3))
    assert caught.value.retryable and caught.value.created == ("id-0",) and caught.value.duplicates == ("id-2",)


def test_a_rejected_document_is_not_retryable_and_never_counted(tmp_path: Path, stub: Stub) -> None:
    stub.expect("PUT", "/_bulk", _bulk_reply([201, 400]))
    with pytest.raises(WriteError, match="document_parsing_exception") as caught:
        backend_for(tmp_path, stub).create_alerts("alerts", _alerts(2))
    assert not caught.value.retryable and caught.value.created == ("id-0",)


def test_a_request_level_429_keeps_earlier_chunks(tmp_path: Path, stub: Stub) -> None:
    stub.expect("PUT", "/_bulk", _bulk_reply([201] * 500))
    stub.expect("PUT", "/_bulk", Reply(429, example("22")["response"]))
    with pytest.raises(WriteError) as caught:
        backend_for(tmp_path, stub).create_alerts("alerts", _alerts(700))
    assert caught.value.retryable and len(caught.value.created) == 500
    assert [len(r.ndjson) for r in stub.sent("PUT", "/_bulk")] == [1000, 400]


def test_known_ids_are_looked_up_across_the_alias(tmp_path: Path, stub: Stub) -> None:
    stub.expect("POST", "/.alerts-security.alerts-default/_search",
                Reply(200, {"hits": {"hits": [
                    {"_id": "id-1", "_index": ".internal.alerts-security.alerts-default-000002",
                     "fields": {"kibana.alert.rule.execution.uuid": ["e-1"]}},
                    {"_id": "id-2", "_index": ".internal.alerts-security.alerts-default-000001"}]}}))
    known = backend_for(tmp_path, stub).existing_alerts(["id-0", "id-1", "id-2"])
    assert known == {"id-1": "e-1", "id-2": None}  # each with the execution that wrote it, when it says
    [search] = stub.requests
    assert search.json == {"query": {"ids": {"values": ["id-0", "id-1", "id-2"]}}, "size": 3, "_source": False,
                           "fields": ["kibana.alert.rule.execution.uuid"], "track_total_hits": False}
    assert search.query == {"ignore_unavailable": "true", "allow_no_indices": "true"}


# ---- start: alerts target and state indices --------------------------------------------------------------------------


INFO_8 = {**INFO, "version": {**INFO["version"], "number": "8.19.3"}}


def test_kibana_mode_needs_kibanas_alias(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.expect("HEAD", "/_alias/.alerts-security.alerts-default", Reply(404))
    with pytest.raises(AlertsIndexMissing, match="Kibana creates it"):
        backend_for(tmp_path, stub).start()
    assert not stub.sent("PUT", ".*")  # never creates Kibana's indices


def test_kibana_mode_takes_the_version_of_the_clusters_kibana(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.expect("HEAD", "/_alias/.alerts-security.alerts-default", Reply(200))
    stub.always("HEAD", "/rule-runner-(state|executions)", Reply(200))
    backend = backend_for(tmp_path, stub)
    assert backend.kibana_version == KIBANA_VERSION  # until the cluster is known
    backend.start()
    assert backend.kibana_version == "9.5.2"


def test_kibana_mode_takes_the_version_of_an_8_19_clusters_kibana(tmp_path: Path, stub: Stub,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    # 8.19 writes alerts in a format of its own (no 9.2 or 9.4 formats): written as 8.19 writes them
    stub.always("GET", "/", Reply(200, INFO_8))
    stub.expect("HEAD", "/_alias/.alerts-security.alerts-default", Reply(200))
    stub.always("HEAD", "/rule-runner-(state|executions)", Reply(200))
    backend = backend_for(tmp_path, stub)
    with caplog.at_level(logging.INFO, logger="runner.backends.elasticsearch"):
        backend.start()
    assert backend.kibana_version == "8.19.3" and not stub.unanswered()
    assert "written as Kibana 8.19.3 writes them" in caplog.text
    assert "Kibana 8.19.3's alert format has none of these later changes: missing sequence events left out" \
        in caplog.text


def test_kibana_mode_refuses_a_cluster_whose_kibanas_alerts_are_not_reproduced(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, {**INFO, "version": {**INFO["version"], "number": "8.15.5"}}))
    with pytest.raises(AccessError, match=r"Kibana \(8\.15\) writes alerts in a format rule-runner does not "
                                          r"reproduce: before 8\.16 .* Upgrade the stack to 8\.16 or later"):
        backend_for(tmp_path, stub).start()
    assert [r.method for r in stub.requests] == ["GET"]  # nothing prepared


@pytest.mark.parametrize("info", [INFO, INFO_8], ids=["9.x", "8.19"])
def test_standalone_mode_creates_template_write_index_and_state(tmp_path: Path, stub: Stub,
                                                                info: dict[str, Any]) -> None:
    stub.always("GET", "/", Reply(200, info))
    stub.expect("PUT", "/_index_template/rule-runner-alerts-default-template", Reply(200, {"acknowledged": True}))
    stub.expect("HEAD", "/_alias/rule-runner-alerts-default", Reply(404))
    stub.expect("PUT", "/rule-runner-alerts-default-000001", Reply(200, {"acknowledged": True}))
    stub.expect("HEAD", "/rule-runner-state", Reply(404))
    stub.expect("PUT", "/rule-runner-state", Reply(200, {"acknowledged": True}))
    stub.expect("HEAD", "/rule-runner-executions", Reply(200))
    backend = backend_for(tmp_path, stub, "alerts:\n  mode: standalone\n")
    assert backend.start().version == info["version"]["number"] and not stub.unanswered()
    template = stub.sent("PUT", "/_index_template/.*")[0].json
    assert template["index_patterns"] == ["rule-runner-alerts-default-*"] and template["priority"] == TEMPLATE_PRIORITY
    # no Kibana in standalone mode: the alerts say the version whose format they follow, whatever the cluster's
    assert backend.kibana_version == KIBANA_VERSION and template["_meta"]["kibana_version"] == KIBANA_VERSION
    assert template["template"]["mappings"] == alerts_mapping()
    assert template["template"]["mappings"]["dynamic"] is False
    created = stub.sent("PUT", "/rule-runner-alerts-default-000001")[0].json
    assert created == {"aliases": {"rule-runner-alerts-default": {"is_write_index": True}}}


def test_standalone_start_is_idempotent_when_another_runner_won_the_race(tmp_path: Path, stub: Stub) -> None:
    stub.always("GET", "/", Reply(200, INFO))
    stub.expect("PUT", "/_index_template/.*", Reply(200, {"acknowledged": True}))
    stub.expect("HEAD", "/_alias/.*", Reply(404))
    stub.expect("PUT", "/rule-runner-alerts-default-000001",
                Reply(400, error_body(400, "resource_already_exists_exception", "index already exists")))
    stub.expect("HEAD", "/rule-runner-state", Reply(404))
    stub.expect("PUT", "/rule-runner-state",
                Reply(400, error_body(400, "resource_already_exists_exception", "index already exists")))
    stub.expect("HEAD", "/rule-runner-executions", Reply(200))
    backend_for(tmp_path, stub, "alerts:\n  mode: standalone\n").start()
    assert not stub.unanswered()


def test_alerts_mapping_maps_kibana_and_ecs_fields() -> None:
    mapping = alerts_mapping()
    alert = mapping["properties"]["kibana"]["properties"]["alert"]["properties"]
    assert alert["rule"]["properties"]["uuid"]["type"] == "keyword"
    assert alert["original_time"] == {"type": "date"}
    assert mapping["properties"]["process"]["properties"]["command_line"]["type"] == "wildcard"
    assert mapping["properties"]["@timestamp"]["type"] == "date"


# ---- state in the cluster ----------------------------------------------------------------------------------------------


def test_rule_state_and_record_in_one_bulk(tmp_path: Path, stub: Stub) -> None:
    backend = backend_for(tmp_path, stub)
    stub.expect("GET", "/rule-runner-state/_doc/r1", Reply(404, {"_index": "rule-runner-state", "_id": "r1",
                                                                "found": False}))
    assert backend.rule_state("r1") is None
    stub.expect("PUT", "/_bulk", bulk_ack)
    backend.complete_execution("r1", {"previous_started_at": "2026-01-15T10:05:00+00:00"},
                               {"uuid": "u-1", "rule_id": "r1", "status": "succeeded"})
    lines = stub.sent("PUT", "/_bulk")[0].ndjson
    assert lines[0] == {"index": {"_index": "rule-runner-state", "_id": "r1"}}
    assert lines[1]["previous_started_at"] == "2026-01-15T10:05:00+00:00" and lines[1]["rule_id"] == "r1"
    assert lines[2] == {"index": {"_index": "rule-runner-executions", "_id": "u-1"}} and lines[3]["status"] == "succeeded"
    assert backend.rule_state("r1") == lines[1]  # known without asking again
    assert len(stub.sent("GET", ".*")) == 1
    stub.expect("PUT", "/_bulk", bulk_ack)
    backend.complete_execution("r1", None, {"uuid": "u-2", "rule_id": "r1", "status": "failed"})
    assert [next(iter(line)) for line in stub.sent("PUT", "/_bulk")[1].ndjson[::2]] == ["index"]
    assert stub.sent("PUT", "/_bulk")[1].ndjson[0]["index"]["_index"] == "rule-runner-executions"


def test_a_refused_state_item_is_state_not_saved(tmp_path: Path, stub: Stub) -> None:
    stub.expect("PUT", "/_bulk", lambda request: bulk_ack(request, {0: 429}))
    with pytest.raises(StateNotSaved):
        backend_for(tmp_path, stub).complete_execution("r1", {"previous_started_at": "x"}, {"uuid": "u"})


def test_state_read_failure_is_classified(tmp_path: Path, stub: Stub) -> None:
    stub.expect("GET", "/rule-runner-state/_doc/r1", Reply(503, error_body(503, "unavailable_shards_exception", "x")))
    with pytest.raises(TransientError):
        backend_for(tmp_path, stub).rule_state("r1")


# ---- ingest ----------------------------------------------------------------------------------------------------------


def test_backing_indices_map_to_their_data_stream() -> None:
    assert data_stream_of(".ds-logs-endpoint.events.process-default-2026.01.15-000001") == \
        "logs-endpoint.events.process-default"
    assert data_stream_of("logs-endpoint.events.network-default") == "logs-endpoint.events.network-default"


def test_ingest_creates_into_data_streams(tmp_path: Path, stub: Stub) -> None:
    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines()][:3]
    stub.expect("PUT", "/_bulk", _bulk_reply([201, 409, 400]))
    stub.expect("POST", "/.*/_refresh", Reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}))
    bad = []
    result = ingest_events(backend_for(tmp_path, stub).client, docs, lambda doc, why: bad.append(why))
    assert (result.added, result.duplicates, len(bad)) == (1, 1, 1) and "document_parsing_exception" in bad[0]
    assert result == IngestResult(1, 1, ", ".join(sorted({data_stream_of(doc["_index"]) for doc in docs})))
    lines = stub.sent("PUT", "/_bulk")[0].ndjson
    assert lines[0]["create"]["_index"] == data_stream_of(docs[0]["_index"])
    assert lines[0]["create"]["_id"] == docs[0]["_id"] and lines[1] == docs[0]["_source"]


def test_shared_examples_are_there() -> None:
    shared_path("reference", "es-examples")


def test_alerts_are_read_back_a_page_at_a_time(tmp_path: Path, stub: Stub) -> None:
    def page(request: Recorded) -> Reply:
        start = request.json.get("search_after", [0, ""])[0]
        hits = [{"_index": "i", "_id": f"a{n}", "_source": {"n": n}, "sort": [n, f"a{n}"]}
                for n in range(start + 1, min(start + 3, 5) + 1)]
        return Reply(200, {"hits": {"hits": hits}})

    stub.always("POST", "/.alerts-security.alerts-default/_search", page)
    backend = backend_for(tmp_path, stub)
    found = list(backend.list_alerts(rule_id="r1", include_building_blocks=False, page=3))
    assert [a["_id"] for a in found] == ["a1", "a2", "a3", "a4", "a5"]
    first = stub.requests[0].json
    assert first["query"] == {"bool": {"filter": [{"term": {"kibana.alert.rule.rule_id": "r1"}}],
                                       "must_not": [{"exists": {"field": "kibana.alert.group.index"}}]}}
    assert first["sort"] == [{"@timestamp": "asc"}, {"kibana.alert.uuid": "asc"}]
    assert stub.requests[1].json["search_after"] == [3, "a3"]
