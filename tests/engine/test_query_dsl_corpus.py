"""Every DSL of the KQL spec compiles with the Query DSL evaluator, and runs over documents without an error.

Ground truth: ../shared/kql-spec (corpus.ndjson: the DSL Kibana builds for every KQL string of the rule corpus, with
no field information and with ECS fields; kibana-tests.ndjson: Kibana's kuery unit tests). The `request_ecs` DSL is
compiled against the ECS mapping (runner.ecs), the unmapped `request`/`dsl` against an empty (dynamic) mapping, and
Kibana's test DSL against a mapping made from Kibana's 12-field stub. Each miss is listed with its reason, so that a
change shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from runner.ecs import ecs_mapping
from runner.engine import QueryDslError, UnsupportedQuery, compile_dsl
from runner.eql import IndexMapping
from tests.conftest import shared_path

NOW = datetime(2026, 3, 15, tzinfo=UTC)

# the rule's KQL `gcp.audit.service_data.policy_delta.binding_deltas:{...}` makes Kibana send a `nested` query, but
# neither ECS nor (in reference/integration-mappings) a GCP mapping makes that path `nested`: Elasticsearch fails
# such a search with "[nested] failed to find nested object under path", and so does the evaluator
CORPUS_ERRORS = {
    "rules/integrations/gcp/persistence_gcp_service_account_impersonation_role_grant.toml": (
        QueryDslError, "failed to find nested object under path [gcp.audit.service_data.policy_delta.binding_deltas]"
    ),
}

# Kibana's stub fields as an Elasticsearch mapping (scripted fields have no mapping: Kibana sends scripts)
KIBANA_STUB_MAPPING: dict[str, Any] = {
    "properties": {
        "bytes": {"type": "long"},
        "ssl": {"type": "boolean"},
        "@timestamp": {"type": "date"},
        "extension": {"type": "text"},
        "machine": {"properties": {"os": {"type": "text", "fields": {
            "raw": {"type": "text"}, "keyword": {"type": "keyword"}}}}},
        "nestedField": {"type": "nested", "properties": {
            "child": {"type": "text"},
            "nestedChild": {"type": "nested", "properties": {"doublyNestedChild": {"type": "text"}}},
        }},
    }
}
# a scripted field's query is a painless or expression script, which rule-runner cannot run; a nested query on a
# path the stub does not make nested (`machine`) fails in Elasticsearch too, and so does `*:200` expanded by Kibana to
# a non-lenient `match` on every field, the boolean `ssl` included (BooleanFieldMapper cannot parse "200")
KIBANA_TEST_ERRORS = {
    'kuery/functions/is.test.ts#should return an ES bool query with a sub-query for each field when fieldName is "*"': (
        QueryDslError, "match: failed to create query: Failed to parse value [200] as only [true] or [false]"),
    "kuery/functions/is.test.ts#should support scripted fields": (UnsupportedQuery, "[script] queries are not evaluated"),
    "kuery/functions/range.test.ts#should support scripted fields": (
        UnsupportedQuery, "[script] queries are not evaluated"),
    "kuery/functions/utils/get_full_field_name_node.test.ts#should skip error checking if no index pattern is passed "
    "in": (QueryDslError, "[nested] nested object under path [machine] is not of nested type"),
}

DOCUMENTS: list[dict[str, Any]] = [
    {},
    {"event": {"category": "process", "action": "exec", "outcome": "success"}, "process": {"name": "cmd.exe",
     "args": ["-c", "whoami"], "pid": 4}, "host": {"os": {"type": "windows"}}, "@timestamp": "2026-03-14T10:00:00Z"},
    {"event.dataset": "aws.cloudtrail", "event.provider": "iam.amazonaws.com", "source": {"ip": "10.1.2.3"},
     "destination": {"ip": "8.8.8.8", "port": 53}, "user_agent": {"original": "S3 Browser 1"},
     "message": "Invoke-WebRequest http://x/y.ps1"},
    {"gcp": {"audit": {"service_data": {"policy_delta": {"binding_deltas": [{"action": "ADD", "role": "x"}]}}}},
     "nestedField": [{"child": "foo", "nestedChild": [{"doublyNestedChild": "foo"}]}], "bytes": 200,
     "extension": "jpg", "machine": {"os": "osx"}, "threat": {"enrichments": [{"indicator": {"type": "ipv4-addr"}}]}},
]


def _rows(name: str) -> Iterator[dict[str, Any]]:
    with shared_path("kql-spec", name).open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _outcome(query: dict[str, Any], mapping: Any) -> Exception | None:
    try:
        predicate = compile_dsl(query, mapping, now=NOW)
    except QueryDslError as error:
        return error
    for doc in DOCUMENTS:
        predicate(doc)  # runs over every shape without raising
    return None


@pytest.mark.parametrize("profile", ["ecs", "unmapped"])
def test_every_corpus_dsl_compiles(profile: str) -> None:
    mapping = IndexMapping.from_body(ecs_mapping()) if profile == "ecs" else None
    main, alternative = ("request_ecs", "dsl_ecs") if profile == "ecs" else ("request", "dsl")
    compiled = 0
    misses: dict[str, str] = {}
    for row in _rows("corpus.ndjson"):
        query = row.get(main, row.get(alternative))
        assert query is not None, f"{row['file']}: Kibana rejects this KQL in the {profile} profile"
        error = _outcome(query, mapping)
        expected = CORPUS_ERRORS.get(row["file"])
        if error is None and expected is None:
            compiled += 1
        elif error is not None and expected is not None and type(error) is expected[0] and expected[1] in str(error):
            continue
        else:
            misses[row["file"]] = repr(error) if error is not None else "compiled, but an error was expected"
    assert not misses, "\n".join(f"{file}: {why}" for file, why in misses.items())
    assert compiled == 800  # 801 rows, one expected error


def test_every_kibana_test_dsl_compiles() -> None:
    compiled = 0
    misses: dict[str, str] = {}
    for row in _rows("kibana-tests.ndjson"):
        query = row.get("request", row.get("dsl"))
        if not row.get("gradable") or query is None:
            continue  # Kibana rejects the KQL: no DSL to run
        error = _outcome(query, KIBANA_STUB_MAPPING)
        expected = KIBANA_TEST_ERRORS.get(row["id"])
        if error is None and expected is None:
            compiled += 1
        elif not (error is not None and expected is not None and type(error) is expected[0]
                  and expected[1] in str(error)):
            misses[row["id"]] = repr(error) if error is not None else "compiled, but an error was expected"
    assert not misses, "\n".join(f"{test}: {why}" for test, why in misses.items())
    assert compiled == 103  # 107 rows with DSL, 4 expected errors


def _rule_query(file: str, key: str = "request_ecs") -> dict[str, Any]:
    for row in _rows("corpus.ndjson"):
        if row["file"] == file:
            return dict(row.get(key) or row[key.replace("request", "dsl")])
    raise AssertionError(f"{file} is not in the corpus")


def test_corpus_rules_match_their_events_and_not_the_near_misses() -> None:
    mapping = IndexMapping.from_body(ecs_mapping())
    # event.action:(network_flow or flow_started) and destination.port:* and network.packets <= 2 and
    # source.ip:(10.0.0.0/8 or 172.16.0.0/12 or 192.168.0.0/16)
    scan = compile_dsl(_rule_query("rules/network/discovery_potential_syn_port_scan_detected.toml"), mapping, now=NOW)
    hit = {"event": {"action": "network_flow"}, "destination": {"port": 22}, "network": {"packets": 1},
           "source": {"ip": "172.16.4.2"}}
    assert scan(hit)
    assert not scan({**hit, "source": {"ip": "172.32.0.1"}})  # outside 172.16.0.0/12
    assert not scan({**hit, "network": {"packets": "3"}})
    assert not scan({**hit, "event": {"action": "Network_Flow"}})  # keyword: exact case
    assert not scan({key: value for key, value in hit.items() if key != "destination"})  # destination.port:*
    assert scan({**hit, "event": {"action": ["dns", "flow_started"]}})  # any value of an array
    # ... dns.question.name:(* and not localhost): present, and not that value
    dns = compile_dsl(_rule_query(
        "rules/cross-platform/command_and_control_uncommon_dns_request_via_bun_or_nodejs.toml"), mapping, now=NOW)
    event = {"event": {"category": "network", "action": "lookup_requested"}, "host": {"os": {"type": "linux"}},
             "process": {"name": "node"}, "dns": {"question": {"name": "evil.example"}}}
    assert dns(event)
    assert not dns({**event, "dns": {"question": {"name": "localhost"}}})
    assert not dns({**event, "dns": {}})
    assert not dns({**event, "process": {"name": "node.EXE"}})
    # client.user.email:("system:anonymous" or "system:unauthenticated" or not *)
    gke = compile_dsl(_rule_query("rules/integrations/gcp/execution_gcp_gke_anonymous_pod_create_update_patch.toml"),
                      mapping, now=NOW)
    pod = {"data_stream": {"dataset": "gcp.audit"}, "service": {"name": "k8s.io"},
           "event": {"action": "io.k8s.core.v1.pods.create"}}
    assert gke(pod)  # no client.user.email at all
    assert gke({**pod, "client": {"user": {"email": "system:anonymous"}}})
    assert not gke({**pod, "client": {"user": {"email": "alice@example.com"}}})
    # the same rule without field information: text fields mapped at their first value, match_phrase on them
    unmapped = compile_dsl(_rule_query(
        "rules/integrations/gcp/execution_gcp_gke_anonymous_pod_create_update_patch.toml", "request"), None, now=NOW)
    assert unmapped({**pod, "client": {"user": {"email": "system:anonymous"}}})
    assert not unmapped({**pod, "client": {"user": {"email": "alice@example.com"}}})
