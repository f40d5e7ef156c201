"""The Kibana client (runner/backends/kibana.py) against the loopback stub: the `_find` requests it sends (space,
base path, filter, paging, headers), what it reads from the answers, and how failures are classified."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.backends import AccessError, TransientError
from runner.backends.kibana import API_VERSION, CHUNK, KibanaClient
from runner.settings import KibanaSettings
from tests.backends.es_stub import Recorded, Reply, Stub, refused_url

SECRET = "kibana-key-never-shown"
FIND = "/api/detection_engine/rules/_find"


def client(url: str, **settings: Any) -> KibanaClient:
    credentials = {} if "username" in settings else {"api_key": SECRET}
    return KibanaClient(KibanaSettings.model_validate({"url": url, **credentials, **settings},
                                                      context={"base": Path.cwd()}))


def rule_ids_in(request: Recorded) -> list[str]:
    """The rule ids of a `_find` filter, as Kibana's KQL reads them."""
    kql = request.query["filter"]
    prefix = "alert.attributes.params.ruleId: ("
    assert kql.startswith(prefix) and kql.endswith(")"), kql
    terms = kql[len(prefix):-1].split(" OR ")
    return [term[1:-1].replace('\\"', '"').replace("\\\\", "\\") for term in terms]


def answer(installed: dict[str, str]) -> Callable[[Recorded], Reply]:
    """Kibana's `_find` over the `installed` rules (rule_id → id), paged as asked: what a scripted reply can know."""
    def reply(request: Recorded) -> Reply:
        wanted = [rule_id for rule_id in rule_ids_in(request) if rule_id in installed]
        page, per_page = int(request.query["page"]), int(request.query["per_page"])
        data = [{"id": installed[r], "rule_id": r, "name": r, "type": "eql"} for r in wanted]
        return Reply(200, {"page": page, "perPage": per_page, "total": len(data),
                           "data": data[(page - 1) * per_page:page * per_page]})
    return reply


def test_finds_the_installed_rules_in_one_request(stub: Stub) -> None:
    stub.always("GET", FIND, answer({"r1": "uuid-1", "r3": "uuid-3"}))
    with client(stub.url) as kibana:
        assert kibana.installed_rule_uuids(["r1", "r2", "r3"]) == {"r1": "uuid-1", "r3": "uuid-3"}
    [request] = stub.requests
    assert request.path == FIND
    assert request.query == {"filter": 'alert.attributes.params.ruleId: ("r1" OR "r2" OR "r3")', "page": "1",
                             "per_page": str(CHUNK)}
    assert request.headers["elastic-api-version"] == API_VERSION == "2023-10-31"
    assert request.headers["authorization"] == f"ApiKey {SECRET}"


def test_the_space_and_kibanas_base_path_prefix_the_api(stub: Stub) -> None:
    stub.always("GET", "/kbn/s/soc" + FIND, answer({"r1": "uuid-1"}))
    with client(stub.url + "/kbn", username="elastic", password="pw") as kibana:
        assert kibana.installed_rule_uuids(["r1"], "soc") == {"r1": "uuid-1"}
    [request] = stub.requests
    assert request.headers["authorization"] == "Basic ZWxhc3RpYzpwdw=="  # elastic:pw


def test_many_rule_ids_are_asked_in_chunks_and_pages_are_followed(stub: Stub) -> None:
    installed = {f"rule-{n:03d}": f"uuid-{n:03d}" for n in range(0, 120, 2)}
    stub.always("GET", FIND, answer(installed))
    with client(stub.url) as kibana:
        found = kibana.installed_rule_uuids([f"rule-{n:03d}" for n in range(120)])
    assert found == installed
    assert [len(rule_ids_in(r)) for r in stub.requests] == [CHUNK, CHUNK, 120 - 2 * CHUNK]
    # a chunk whose answer comes in two pages (Kibana's per_page below the chunk, say)
    stub.requests.clear()
    half = {"page": 1, "perPage": 1, "total": 2, "data": [{"id": "uuid-a", "rule_id": "a"}]}
    rest = {"page": 2, "perPage": 1, "total": 2, "data": [{"id": "uuid-b", "rule_id": "b"}]}
    stub.expect("GET", FIND, Reply(200, half), when=lambda r: r.query["page"] == "1")
    stub.expect("GET", FIND, Reply(200, rest), when=lambda r: r.query["page"] == "2")
    with client(stub.url) as kibana:
        assert kibana.installed_rule_uuids(["a", "b"]) == {"a": "uuid-a", "b": "uuid-b"}
    assert [r.query["page"] for r in stub.requests] == ["1", "2"]


def test_rule_ids_are_quoted_for_kql(stub: Stub) -> None:
    odd = 'my "quoted" rule\\x'
    stub.always("GET", FIND, answer({odd: "uuid-odd"}))
    with client(stub.url) as kibana:
        assert kibana.installed_rule_uuids([odd]) == {odd: "uuid-odd"}
    assert stub.requests[0].query["filter"] == 'alert.attributes.params.ruleId: ("my \\"quoted\\" rule\\\\x")'


@pytest.mark.parametrize(("reply", "kind", "expected"), [
    (Reply(503, {"statusCode": 503, "error": "Service Unavailable", "message": "Kibana server is not ready yet"}),
     TransientError, "HTTP 503: Kibana server is not ready yet"),
    (Reply(429, {"statusCode": 429, "message": "Too Many Requests"}), TransientError, "HTTP 429"),
    (Reply(401, {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception] unable to "
                                                                      "authenticate"}),
     AccessError, "HTTP 401: [security_exception] unable to authenticate; check kibana.api_key"),
    (Reply(403, {"statusCode": 403, "error": "Forbidden", "message": "missing [rules-read]"}),
     AccessError, "needs read access to the Security app's rules in space 'default'"),
    (Reply(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}),
     AccessError, "is kibana.url Kibana's address, and is alerts.space_id ('default') one of its spaces?"),
    (Reply(400, {"status_code": 400, "message": "filter is not valid KQL"}), AccessError,
     "HTTP 400: filter is not valid KQL"),
    (Reply(200, ["not", "an", "object"]), AccessError, "not the detection engine API's"),
    (Reply(200, {"hits": {"hits": []}}), AccessError, "not the detection engine API's (no data and total"),
    (Reply(200, {"total": 1, "data": [{"name": "no ids"}]}), AccessError, "a rule without rule_id or id"),
], ids=["503", "429", "401", "403", "404", "400", "not-an-object", "not-kibana", "no-ids"])
def test_failures_are_classified(stub: Stub, reply: Reply, kind: type, expected: str) -> None:
    stub.always("GET", FIND, reply)
    with client(stub.url) as kibana, pytest.raises(kind) as caught:
        kibana.installed_rule_uuids(["r1"])
    message = str(caught.value)
    assert message.startswith(f"Kibana ({stub.url}): ") and expected in message
    assert SECRET not in message


def test_an_unreachable_or_silent_kibana_is_worth_retrying(stub: Stub) -> None:
    url = refused_url()
    with client(url) as kibana, pytest.raises(TransientError, match=r"cannot connect"):
        kibana.installed_rule_uuids(["r1"])
    stub.always("GET", FIND, Reply(200, {"total": 0, "data": []}, delay=2))
    with client(stub.url, request_timeout="200ms") as kibana, \
            pytest.raises(TransientError, match=r"no answer within 0.2s \(kibana.request_timeout\)"):
        kibana.installed_rule_uuids(["r1"])


def test_tls_failure_is_a_configuration_problem(stub: Stub) -> None:
    # the stub speaks plain HTTP: a TLS handshake with it fails
    https = stub.url.replace("http://", "https://")
    with client(https) as kibana, pytest.raises(AccessError, match=r"TLS failed: .*check kibana.ca_certs"):
        kibana.installed_rule_uuids(["r1"])


def test_two_rules_with_one_rule_id_are_refused(stub: Stub) -> None:
    twice = {"total": 2, "data": [{"id": "uuid-1", "rule_id": "r1"}, {"id": "uuid-2", "rule_id": "r1"}]}
    stub.always("GET", FIND, Reply(200, twice))
    with client(stub.url) as kibana, pytest.raises(AccessError, match=r"two rules with rule_id r1 .*"
                                                                       r"set rules.overrides.r1.uuid"):
        kibana.installed_rule_uuids(["r1"])
