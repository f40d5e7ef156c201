"""The Elasticsearch backend's `search`, `search_many` and `field_caps` against the loopback stub: what the client sends
(path, query parameters, body) and how each answer is classified. The stub replays the bodies recorded in
tests/backends/es_responses/ (each says where its shape comes from); it is not a cluster, and these are not
integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import KIBANA_VERSION
from runner.backends import (
    AccessError,
    EqlRequest,
    IncompleteAnswer,
    QueryError,
    SearchRequest,
    TransientError,
)
from runner.backends.elasticsearch import ElasticsearchBackend
from runner.execution import RetryPolicy
from runner.execution.answer import checked
from runner.kql import FieldList
from runner.ruletypes.query import result_count, result_keys
from runner.settings import load_settings
from tests.backends.es_stub import Reply, Stub, error_body

RESPONSES = Path(__file__).parent / "es_responses"
INDEX = ("logs-endpoint.events.process-*", "winlogbeat-*")
# a query rule's request as Kibana's buildEventsSearchQuery makes it (the lead builds it; any body is sent as given)
BODY: dict[str, Any] = {
    "size": 100,
    "query": {"bool": {"filter": [
        {"bool": {"filter": [{"term": {"process.name": {"value": "cmd.exe"}}}]}},
        {"range": {"@timestamp": {"gte": "2026-01-15T09:56:00.000Z", "lte": "2026-01-15T10:05:00.000Z",
                                  "format": "strict_date_optional_time"}}},
    ]}},
    "fields": [{"field": "*", "include_unmapped": True}, {"field": "@timestamp", "format": "strict_date_optional_time"}],
    "sort": [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}],
    "track_total_hits": False,
    "search_after": [1768471200000],
    "runtime_mappings": {},
    "_source": True,
}


def recorded(name: str) -> Reply:
    data: dict[str, Any] = json.loads((RESPONSES / name).read_text(encoding="utf-8"))
    return Reply(data["status"], data["body"])


def backend_for(tmp_path: Path, stub: Stub) -> ElasticsearchBackend:
    path = tmp_path / "runner.yaml"
    path.write_text(f"backend: elasticsearch\nelasticsearch:\n  hosts: {stub.url}\n  request_timeout: 2s\n",
                    encoding="utf-8")
    return ElasticsearchBackend.from_settings(load_settings(path, env={}), KIBANA_VERSION)


SEARCH_PATH = "/logs-endpoint.events.process-\\*,winlogbeat-\\*/_search"


# ---- _search -----------------------------------------------------------------------------------------------------


def test_search_sends_the_request_as_given(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", SEARCH_PATH, recorded("search_sorted_page.json"))
    request = SearchRequest(INDEX, BODY)
    answer = backend_for(tmp_path, stub).search(request)
    [sent] = stub.sent("POST", ".*/_search")
    assert sent.path == "/logs-endpoint.events.process-*,winlogbeat-*/_search"
    assert sent.query == {"allow_no_indices": "true", "ignore_unavailable": "true"}
    assert sent.json == BODY  # every key as Kibana builds it, `_source` and `search_after` included
    assert request.body == BODY  # and the request is not changed by sending it
    assert result_count(checked(answer)) == 2
    assert result_keys(answer) == {(".ds-logs-endpoint.events.process-default-2026.01.15-000001", "cmd-1"),
                                   (".ds-logs-endpoint.events.process-default-2026.01.15-000001", "cmd-2")}


def test_search_params_are_the_requests_own(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", "/logs-\\*/_search", recorded("search_sorted_page.json"))
    backend_for(tmp_path, stub).search(SearchRequest(("logs-*",), {"query": {"match_all": {}}},
                                                     params={"allow_no_indices": False}))
    [sent] = stub.sent("POST", ".*/_search")
    assert sent.query == {"allow_no_indices": "false"}


def test_a_parsing_error_is_a_query_error_with_elasticsearchs_type_and_reason(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", SEARCH_PATH, recorded("search_unknown_query_400.json"))
    with pytest.raises(QueryError) as raised:
        backend_for(tmp_path, stub).search(SearchRequest(INDEX, {"query": {"kql": "process.name: cmd.exe"}}))
    assert (raised.value.es_type, raised.value.reason) == ("parsing_exception", "unknown query [kql]")


@pytest.mark.parametrize(("status", "kind", "expected"), [
    (429, "es_rejected_execution_exception", TransientError),
    (503, "search_phase_execution_exception", TransientError),
    (401, "security_exception", AccessError),
    (403, "security_exception", AccessError),
])
def test_search_failures_are_classified_as_eql_searches_are(tmp_path: Path, stub: Stub, status: int, kind: str,
                                                            expected: type) -> None:
    stub.always("POST", SEARCH_PATH, Reply(status, error_body(status, kind, "no")))
    with pytest.raises(expected) as raised:
        backend_for(tmp_path, stub).search(SearchRequest(INDEX, BODY))
    if expected is TransientError:
        assert str(raised.value).startswith("search on ['logs-endpoint.events.process-*', 'winlogbeat-*']: HTTP")


def test_429_then_success_is_retried_by_the_callers_policy(tmp_path: Path, stub: Stub) -> None:
    stub.expect("POST", SEARCH_PATH, Reply(429, error_body(429, "es_rejected_execution_exception",
                                                           "rejected execution of search")))
    stub.expect("POST", SEARCH_PATH, recorded("search_sorted_page.json"))
    backend = backend_for(tmp_path, stub)
    waits: list[float] = []
    answer = RetryPolicy(retries=3, backoff=0.5).call(lambda: checked(backend.search(SearchRequest(INDEX, BODY))),
                                                      sleep=waits.append)
    assert waits == [0.5] and result_count(answer) == 2
    assert len(stub.sent("POST", ".*/_search")) == 2 and stub.unanswered() == []


def test_shard_failures_stay_for_the_classifier_and_are_an_incomplete_answer(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", SEARCH_PATH, recorded("search_shard_failure.json"))
    answer = backend_for(tmp_path, stub).search(SearchRequest(INDEX, BODY))  # HTTP 200: the backend returns it
    with pytest.raises(IncompleteAnswer) as raised:
        checked(answer)
    assert raised.value.shard_failures is True and "node_not_connected_exception" in str(raised.value)


def test_a_timed_out_search_is_an_incomplete_answer(tmp_path: Path, stub: Stub) -> None:
    body = json.loads((RESPONSES / "search_sorted_page.json").read_text(encoding="utf-8"))["body"]
    stub.always("POST", SEARCH_PATH, Reply(200, {**body, "timed_out": True}))
    answer = backend_for(tmp_path, stub).search(SearchRequest(INDEX, BODY))
    with pytest.raises(IncompleteAnswer) as raised:
        checked(answer)
    assert raised.value.shard_failures is False


def test_search_many_mixes_eql_and_search_requests_one_by_one(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", SEARCH_PATH, recorded("search_sorted_page.json"))
    stub.always("POST", "/logs-\\*/_eql/search", Reply(200, {"hits": {"events": []}}))
    stub.always("POST", "/broken-\\*/_search", recorded("search_unknown_query_400.json"))
    answers = backend_for(tmp_path, stub).search_many([
        SearchRequest(INDEX, BODY),
        EqlRequest(("logs-*",), {"query": "process where true"}),
        SearchRequest(("broken-*",), {"query": {"kql": "x"}}),
        SearchRequest(INDEX, BODY),
    ])
    assert [type(a).__name__ for a in answers] == ["dict", "dict", "QueryError", "dict"]
    assert answers[1] == {"hits": {"events": []}}
    assert [r.path.rsplit("/", 1)[-1] for r in stub.requests] == ["_search", "search", "_search", "_search"]


# ---- _field_caps -------------------------------------------------------------------------------------------------


def test_field_caps_asks_as_kibanas_data_views_do(tmp_path: Path, stub: Stub) -> None:
    """Kibana's callFieldCapsApi (data_views/server/fetcher/lib/es_api.ts @ 012f5d98) as the query-rule translation
    sends it: `fields`, `ignore_unavailable`, `expand_wildcards=open`, `include_empty_fields`; `allow_no_indices`
    true (see runner/backends/elasticsearch/fields.py for why not Kibana's false).
    `fields` travels in the body, as both official clients (8.x) send it (a body field of the field_caps API)."""
    stub.always("POST", "/.*/_field_caps", recorded("field_caps_reference_example.json"))
    body = backend_for(tmp_path, stub).field_caps(INDEX, ["process.name", "process.command_line", "@timestamp"])
    [sent] = stub.sent("POST", ".*/_field_caps")
    assert sent.path == "/logs-endpoint.events.process-*,winlogbeat-*/_field_caps"
    assert sent.query == {"ignore_unavailable": "true", "expand_wildcards": "open", "include_empty_fields": "true",
                          "allow_no_indices": "true"}
    assert sent.json == {"fields": ["process.name", "process.command_line", "@timestamp"]}
    assert body == json.loads((RESPONSES / "field_caps_reference_example.json").read_text())["body"]  # as it came


def test_field_caps_sends_include_unmapped_only_when_asked(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", "/.*/_field_caps", Reply(200, {"indices": [], "fields": {}}))
    backend = backend_for(tmp_path, stub)
    backend.field_caps(INDEX, ["@timestamp"], include_unmapped=True)
    backend.field_caps(INDEX, ["@timestamp"])
    first, second = stub.sent("POST", ".*/_field_caps")
    assert first.query["include_unmapped"] == "true" and "include_unmapped" not in second.query


def test_field_caps_of_a_closed_index_is_an_empty_field_list_as_kibana_makes_it(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", "/.*/_field_caps", recorded("field_caps_index_closed_400.json"))
    assert backend_for(tmp_path, stub).field_caps(("logs-archive-2025",), ["*"]) == {"indices": [], "fields": {}}


@pytest.mark.parametrize(("status", "kind", "expected"), [
    (400, "illegal_argument_exception", QueryError),
    (429, "es_rejected_execution_exception", TransientError),
    (503, "no_shard_available_action_exception", TransientError),
    (403, "security_exception", AccessError),
])
def test_field_caps_failures_are_classified(tmp_path: Path, stub: Stub, status: int, kind: str,
                                            expected: type) -> None:
    stub.always("POST", "/.*/_field_caps", Reply(status, error_body(status, kind, "no")))
    with pytest.raises(expected):
        backend_for(tmp_path, stub).field_caps(INDEX, ["*"])


def test_the_field_list_read_from_an_answer(tmp_path: Path, stub: Stub) -> None:
    stub.always("POST", "/.*/_field_caps", recorded("field_caps_reference_example.json"))
    fields = FieldList.from_field_caps(backend_for(tmp_path, stub).field_caps(INDEX, ["rating", "title"]))
    rating, title = fields.find("rating"), fields.find("title")
    assert rating is not None and (rating.type, rating.es_types) == ("conflict", ("long", "keyword"))
    assert title is not None and (title.type, title.es_types) == ("string", ("text",))
