"""Values that do not fit the ECS mapping of Kibana's alerts index stay out of the alert, as Kibana leaves them out.

The oracle is Kibana's own unit tests: `traverse_and_mutate_doc.test.ts` (documents in, documents and removed fields
out) and the type validators' tests (`ecs_types_validators/*.test.ts`), replayed on both source builders (the
step-by-step `alert_source` and the one-pass `alert_source_copy`). Kibana's `removed` also lists the `kibana.*` and
`signal` keys it drops by design; ours lists only what did not fit ECS.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import build_alerts
from runner.alerts.ecs_conformance import (
    ANY,
    BOOLEAN,
    DATE,
    INVALID,
    IP,
    LEAF,
    LONG,
    NUMERIC,
    OBJECT,
    ecs_tree,
    path_rule,
)
from runner.alerts.ecs_types import is_valid_boolean, is_valid_date, is_valid_ip, is_valid_long, is_valid_numeric
from runner.alerts.source import alert_source
from runner.alerts.source_fast import alert_source_copy
from tests.alerts.support import SEQUENCE_QUERY, make_context, office_event, write_rule

# (document, expected result, expected removed paths): `traverse_and_mutate_doc.test.ts`, case by case
KIBANA_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("ECS compliant fields stay",
     {"client": {"nat": {"port": "3000", "ip": "127.0.0.2"}, "ip": ["127.0.0.1"]}},
     {"client": {"nat": {"port": "3000", "ip": "127.0.0.2"}, "ip": ["127.0.0.1"]}}, []),
    ("an object where ECS has a keyword",
     {"agent": {"name": {"first": "test-1", "second": "test-2"}, "type": "filebeat"}},
     {"agent": {"type": "filebeat"}}, ["agent.name"]),
    ("a keyword where ECS has an object",
     {"agent": "test", "message": "test message"}, {"message": "test message"}, ["agent"]),
    ("device is an object", {"device": "test", "message": "test message"}, {"message": "test message"}, ["device"]),
    ("arrays of objects where an object is expected",
     {"agent": [{"name": "agent-1"}, {"name": "agent-2"}], "message": "test message"},
     {"agent": [{"name": "agent-1"}, {"name": "agent-2"}], "message": "test message"}, []),
    ("conflicting fields in arrays of objects",
     {"agent": [{"name": "agent-1", "type": {"conflict": "conflict"}}, {"name": "agent-2"}], "message": "m"},
     {"agent": [{"name": "agent-1"}, {"name": "agent-2"}], "message": "m"}, ["agent.type"]),
    ("arrays of keywords where ECS has an object",
     {"agent": ["agent-1", "agent-2"], "message": "m"}, {"message": "m"}, ["agent", "agent"]),
    ("arrays of objects where ECS has a keyword",
     {"agent": {"name": [{"conflict": "agent-1"}, {"conflict": "agent-2"}], "type": "filebeat"}, "message": "m"},
     {"agent": {"type": "filebeat"}, "message": "m"}, ["agent.name", "agent.name"]),
    ("objects emptied in arrays go",
     {"agent": [{"name": {"conflict": "agent-1"}}, {"name": "test"}], "message": "m"},
     {"agent": [{"name": "test"}], "message": "m"}, ["agent.name"]),
    ("dotted keys through a keyword", {"agent.name.conflict": "some-value", "message": "m"}, {"message": "m"},
     ["agent.name.conflict"]),
    ("dotted keys through a keyword, in an array", {"agent.name.text": ["1"], "message": "m"}, {"message": "m"},
     ["agent.name.text"]),
    ("dotted keys through a keyword, an empty array (not reported)", {"agent.name.text": [], "message": "m"},
     {"message": "m"}, []),
    ("valid dotted keys stay",
     {"agent.name": "some name", "agent.build.original": "v10", "message": "m"},
     {"agent.name": "some name", "agent.build.original": "v10", "message": "m"}, []),
    ("fields outside ECS stay", {"non_ecs_object": {"field1": "value1"}, "message": "m"},
     {"non_ecs_object": {"field1": "value1"}, "message": "m"}, []),
    ("fields outside ECS inside ECS objects stay",
     {"agent": {"non_ecs_object": {"field1": "value1"}, "non_ecs_field": "value2"}, "message": "m"},
     {"agent": {"non_ecs_object": {"field1": "value1"}, "non_ecs_field": "value2"}, "message": "m"}, []),
    ("a valid IP", {"source": {"ip": "192.168.0.0", "name": "test source"}},
     {"source": {"ip": "192.168.0.0", "name": "test source"}}, []),
    ("an invalid IP", {"source": {"ip": "invalid-ip", "name": "test source"}}, {"source": {"name": "test source"}},
     ["source.ip"]),
    ("strings in a nested field",
     {"threat": {"enrichments": ["non-valid-threat-1", "non-valid-threat-2"], "indicator.port": 443}},
     {"threat": {"indicator.port": 443}}, ["threat.enrichments", "threat.enrichments"]),
    ("objects in a nested field", {"threat": {"enrichments": [{"indicator.as.number": 5}]}},
     {"threat": {"enrichments": [{"indicator.as.number": 5}]}}, []),
    ("an invalid date", {"event": {"created": True, "category": "start"}},
     {"event": {"category": "start"}, "kibana.alert.original_event.category": "start"}, ["event.created"]),
    ("string and number dates", {"event": {"created": "2020-12-12", "end": [2345562, "2022-10-12"]}},
     {"event": {"created": "2020-12-12", "end": [2345562, "2022-10-12"]},
      "kibana.alert.original_event.created": "2020-12-12",
      "kibana.alert.original_event.end": [2345562, "2022-10-12"]}, []),
    ("an invalid long", {"client": {"bytes": "non-valid"}}, {}, ["client.bytes"]),
    ("a long with a space", {"client": {"bytes": "24 "}}, {}, ["client.bytes"]),
    ("an invalid float", {"user.risk.calculated_score": "non-valid"}, {}, ["user.risk.calculated_score"]),
    ("an invalid scaled_float", {"host": {"cpu.usage": "non-valid"}}, {}, ["host.cpu.usage"]),
    ("a float with a space", {"user.risk.calculated_score": "24 "}, {"user.risk.calculated_score": "24 "}, []),
    ("a scaled_float with a space", {"host.cpu.usage": "24 "}, {"host.cpu.usage": "24 "}, []),
    ("a number in a string", {"host": {"cpu.usage": "1234"}}, {"host": {"cpu.usage": "1234"}}, []),
    ("arrays of numbers", {"user.risk.calculated_score": [458.3333, "45.3", 10, 0, -667.23]},
     {"user.risk.calculated_score": [458.3333, "45.3", 10, 0, -667.23]}, []),
    ("invalid booleans go one by one",
     {"dll.code_signature.trusted": ["conflict", "true", 5, "False", "ee", "True"]},
     {"dll.code_signature.trusted": ["true"]}, ["dll.code_signature.trusted"] * 5),
    ("True is no boolean", {"dll.code_signature.trusted": "True"}, {}, ["dll.code_signature.trusted"]),
    ("valid booleans", {"dll.code_signature.trusted": ["true", "false", True, False, ""]},
     {"dll.code_signature.trusted": ["true", "false", True, False, ""]}, []),
    ("valid booleans in arrays in arrays", {"dll.code_signature.trusted": [[True, False], ""]},
     {"dll.code_signature.trusted": [[True, False], ""]}, []),
    ("geo_points are not checked", {"client.location.geo": "invalid geo_point"},
     {"client.location.geo": "invalid geo_point"}, []),
    ("a geo_point array", {"client.geo.location": [0, 90]}, {"client.geo.location": [0, 90]}, []),
    ("a geo_point object", {"client": {"geo": {"location": {"lat": 41.12, "lon": -71.34}}}},
     {"client": {"geo": {"location": {"lat": 41.12, "lon": -71.34}}}}, []),
    ("kibana at the top goes", {"kibana": "test-value", "non_ecs_field": "value"}, {"non_ecs_field": "value"}, []),
    ("kibana.* at the top goes", {"kibana.test": "test-value", "non_ecs_field": "value"},
     {"non_ecs_field": "value"}, []),
    ("kibana_ prefixes stay", {"kibana_test_prefix": "test-value", "non_ecs_field": "value"},
     {"kibana_test_prefix": "test-value", "non_ecs_field": "value"}, []),
    ("mixed notation under event",
     {"event": {"field.subfield": "test", "field2.subfield": "test2"}},
     {"event": {"field.subfield": "test", "field2.subfield": "test2"},
      "kibana.alert.original_event.field.subfield": "test", "kibana.alert.original_event.field2.subfield": "test2"},
     []),
    # the examples
    ("the issue's values",
     {"user": "SYSTEM", "process": {"parent": "bash", "name": "sh"}, "service": "auditd",
      "source": {"ip": "not-an-ip", "port": "ssh"}, "event": {"duration": "12ms", "action": "exec"}},
     {"process": {"name": "sh"}, "event": {"action": "exec"}, "kibana.alert.original_event.action": "exec"},
     ["user", "process.parent", "service", "source.ip", "source.port", "event.duration"]),
    # the arrays inside an array are checked before its other elements (Kibana's `traverseArray`)
    ("arrays in arrays first", {"agent": [{"name": {"x": 1}}, ["bad"]]}, {}, ["agent", "agent.name"]),
    # a key with an empty part: Kibana's prefix check skips it (`host..name.x` goes through `host.name`)
    ("empty key parts", {"host": {"": {"name": {"x": 1}, "ip": "not-an-ip"}}},
     {"host": {"": {"ip": "not-an-ip"}}}, ["host..name.x"]),
]


@pytest.mark.parametrize("builder", ["reference", "one pass"])
@pytest.mark.parametrize(("document", "expected", "removed"), [case[1:] for case in KIBANA_CASES],
                         ids=[case[0] for case in KIBANA_CASES])
def test_kibana_traverse_and_mutate_doc_cases(builder: str, document: dict[str, Any], expected: dict[str, Any],
                                              removed: list[str]) -> None:
    got: list[str] = []
    if builder == "reference":
        result = alert_source(copy.deepcopy(document), got)
    else:
        result = alert_source_copy(document, None, got)
    assert result == expected
    assert got == removed


def test_rules_by_path() -> None:
    assert [path_rule(p) for p in ("user", "process.parent", "service", "threat.enrichments")] == [OBJECT] * 4
    assert [path_rule(p) for p in ("source.ip", "source.port", "event.duration", "@timestamp")] == \
        [IP, LONG, LONG, DATE]
    assert [path_rule(p) for p in ("host.cpu.usage", "dll.code_signature.trusted", "message", "tags")] == \
        [NUMERIC, BOOLEAN, LEAF, LEAF]
    # outside ECS, geo points, what Kibana's alerts index leaves out (constant_keyword, flattened, below nested, the
    # experimental fields), and paths through keywords
    assert [path_rule(p) for p in ("custom", "labels.x", "client.geo.location", "data_stream.type",
                                   "dll.pe.imports", "threat.enrichments.indicator.port", "faas.trigger")] == [ANY] * 7
    assert [path_rule(p) for p in ("agent.name.first", "host..name.x", ".host.name.x")] == [INVALID] * 3
    # the ECS tree gives the same rules
    node = ecs_tree().children["process"].children["parent"]
    assert (node.path, node.rule, node.children["pid"].rule) == ("process.parent", OBJECT, LONG)


def test_kibana_validator_cases() -> None:
    date: Any
    number: Any
    # is_valid_date_type.test.ts
    for date in ("2015-01-01T12:10:30.666Z", "2015-01-01T12:10:30.666", "2015-01-01T12:10:30Z", "2015-01-01T12:10:30",
                 "2015-01-01T12:10Z", "2015-01-01T12:10", "2015-01-01T12Z", "2015-01-01T12", "2015-01-01T",
                 "2015-01-01", "2015-01", "2015", 387497835948):
        assert is_valid_date(date), date
    for date in ("non-valid", True, [], "2022/12/12", "2015Z", "2015-01-", "2015-01-01T12: 10Z", "2015-20-20"):
        assert not is_valid_date(date), date
    # is_valid_numeric_type.test.ts
    for number in (6376723, -6376723, 637672363767236376723637672363767236376723, 0, 6.37e22, "6376723",
                   "-637672363767236376723637672363767236376723", "0", "63767236376723637672363.7672363767236376723",
                   "24 "):
        assert is_valid_numeric(number), number
    for number in ("non-valid", True, [], {}, "2015x", "-2015x", "201.2s", None):
        assert not is_valid_numeric(number), number
    # is_valid_ip_type.test.ts
    assert is_valid_ip("127.0.0.1") and is_valid_ip("2001:db8::")
    assert not any(map(is_valid_ip, ("2001:db8:://12", "localhost", "127.0.0.")))
    # is_valid_boolean_type: the five values, nothing else
    assert all(map(is_valid_boolean, ("true", "false", True, False, "")))
    assert not any(map(is_valid_boolean, ("True", 1, 0, None, "yes")))


def test_javascript_and_library_edges() -> None:
    # `Number()`: trimmed JavaScript whitespace, radix literals, Infinity; NaN is a number; a bool is not
    assert all(map(is_valid_numeric, ("\u00a024\u3000", "0x1f", "0b101", "-Infinity", ".5", "5.", "", math.nan)))
    assert not any(map(is_valid_numeric, ("1_000", "-0x1f", "1e", "\u0661", True)))
    assert is_valid_long("\t24") and not is_valid_long("2 4") and not is_valid_long(False)
    # ipaddr.js's lenient IPv4 forms, its octal rule, zone ids, CIDR ranges
    assert all(map(is_valid_ip, ("127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1", "fe80::1%eth0", "::ffff:1.2.3.4",
                                 "10.0.0.0/8", "::/0")))
    assert not any(map(is_valid_ip, ("08.0.0.1", "256.0.0.1", "1.2.3.4/33", "1:2:3:4:5:6:7:8:9", ":::", 167772161)))
    # moment's strict ISO 8601: weeks, ordinal days, basic form, 24:00, offsets; no overflow, no leading space
    assert all(map(is_valid_date, ("2015-W53-7", "2016-366", "20150101T121030,5+0530", "2015-01-01T24:00",
                                   "2015-01-01 12:10", "+002015-01-01", "2016-02-29")))
    assert not any(map(is_valid_date, ("2015-W53-8", "2016-W53-1", "2015-366", "2015-01-01T24:00:01",
                                       "2015-02-29", " 2015-01-01", "2015-01-01T12:10 Z", "+002015-001", "12ms",
                                       "+300000-01-01")))


def test_the_usual_timestamp_shape_is_read_like_any_other() -> None:
    # `is_valid_date` settles the usual `YYYY-MM-DDTHH:MM:SS(.f)Z` by one pattern: the same answers as reading it
    for year in (2023, 2024, 2100):
        for month in range(14):
            for day in range(33):
                for time in ("00:00:00Z", "23:59:59.999Z", "24:00:00Z", "24:00:00.001Z", "12:60:00Z", "12:00:60Z"):
                    text = f"{year}-{month:02d}-{day:02d}T{time}"
                    hour, minute, second = (int(part) for part in time[:8].split(":"))
                    fraction = time[9:-1] if "." in time else ""
                    ms = int(float("0." + fraction) * 1000) if fraction else 0
                    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
                    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                    expected = (1 <= month <= 12 and 1 <= day <= days[month - 1] and minute <= 59 and second <= 59
                                and (hour < 24 or (hour == 24 and minute == second == ms == 0)))
                    assert is_valid_date(text) == expected, text


def test_alerts_carry_what_was_removed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rule = write_rule(tmp_path)
    event = office_event(user="SYSTEM", source={"ip": "not-an-ip", "port": "ssh"})
    with caplog.at_level("DEBUG", logger="runner.alerts"):
        alert = build_alerts({"hits": {"events": [event]}}, make_context(rule))[0]
    assert alert.removed_fields == ("user", "source.ip", "source.port")
    assert "user" not in alert.source and "source" not in alert.source
    assert alert.source["process"]["name"] == "cmd.exe"  # the rest is copied as it was
    assert "removed from alert source as ECS non-compliant" in caplog.text and '"source.port"' in caplog.text


def test_sequence_blocks_are_cleaned_and_the_shell_shares_what_is_left(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, query=SEQUENCE_QUERY)
    first = office_event("e1", service="auditd")
    second = office_event("e2", service="auditd", process={"name": "sh", "pid": "not a pid"})
    alerts = build_alerts({"hits": {"sequences": [{"events": [first, second]}]}}, make_context(rule))
    shell, block1, block2 = alerts
    assert (shell.removed_fields, block1.removed_fields, block2.removed_fields) == \
        ((), ("service",), ("process.pid", "service"))
    assert "service" not in shell.source and "pid" not in block2.source["process"]
    assert shell.source["host"]["name"] == "ws-01"  # still shared
