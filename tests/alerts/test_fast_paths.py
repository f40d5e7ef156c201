"""The fast paths against the step-by-step algorithms they replace, on many random documents.

- `alert_source_copy(source)` against `alert_source(copy.deepcopy(source))`, the paths each removes for not fitting
  ECS included (on random events, and on events made of values that fit ECS or not: strings in objects, objects in
  keywords, ports, IPs, dates, booleans, nested fields, dotted keys through keywords, keys with empty parts);
- `sequence_common(blocks)` (root by root, cached key orders) against `object_array_intersection` of the same blocks
  (Kibana's algorithm step by step), key order included;
- `compile_copier` and `copy_json` against `copy.deepcopy`.

The random documents mix what makes the algorithms differ: dotted keys beside nested objects, keys that read as array
indices, empty values, arrays of objects, `event`/`data_stream` as values, the alert's own keys, booleans next to
numbers, NaN. Only public functions are called: the blocks come from `documents.sequence_blocks`, as alerts get them.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from runner.alerts import object_array_intersection
from runner.alerts.copying import NotPlainJson, compile_copier, copy_json
from runner.alerts.documents import sequence_blocks
from runner.alerts.intersection_fast import Block, sequence_common
from runner.alerts.layout import CallPlan
from runner.alerts.source import NAMESPACES, NAMESPACES_8_16, alert_source
from runner.alerts.source_fast import SourceNotes, alert_source_copy
from tests.alerts.support import SEQUENCE_QUERY, make_context, write_rule

TOP_KEYS = ["host", "process", "user", "event", "data_stream", "file", "source", "destination", "labels", "tags",
            "@timestamp", "message", "host.name", "process.name", "process.parent.name", "event.kind",
            "event.category", "event.action", "data_stream.type", "kibana", "kibana.alert.uuid", "signal",
            "threshold_result", "a.0", "0", "x.y.z", "dns", "user.name"]
INNER_KEYS = ["name", "id", "pid", "kind", "category", "type", "os", "parent", "args", "ip", "port", "a.b", "1x",
              "0", "entity_id", "", "full"]
SCALARS: list[Any] = ["a", "b", "-", "null", "", "web-1", 0, 1, 2, 1.0, 2.5, True, False, None, 443]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        return {rng.choice(INNER_KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if roll < 0.45:
        items = [rng.choice(SCALARS) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.2:
            items.append({"k": rng.choice(SCALARS)} if rng.random() < 0.7 else {})
        if rng.random() < 0.1:
            items.append([])
        return items
    if roll < 0.47:
        return math.nan
    return rng.choice(SCALARS)


def random_source(rng: random.Random, *, odd: bool) -> dict[str, Any]:
    """An event `_source`: mostly ECS-like nested objects; with `odd`, anything from the key lists."""
    source: dict[str, Any] = {"@timestamp": rng.choice(["2024-05-01T12:00:00.000Z", "2024-05-01T12:00:01.500Z",
                                                        "not a date", 1714564800000])}
    source["host"] = {"name": rng.choice(["web-1", "web-2"]), "os": {"type": "linux", "family": rng.choice(["a", "b"])},
                      "ip": rng.sample(["10.0.0.1", "10.0.0.2", "::1"], rng.randint(1, 3))}
    source["event"] = {"category": [rng.choice(["process", "network"])], "type": ["start"],
                       "action": rng.choice(["exec", "fork"]), "kind": "event"}
    source["process"] = {"name": rng.choice(["sh", "bash"]), "pid": rng.choice([1, 2]),
                         "args": rng.sample(["-c", "x", "x"], rng.randint(0, 3)),
                         "parent": {"name": rng.choice(["apt", "cron"]), "pid": 1}}
    for _ in range(rng.randint(0, 6 if odd else 2)):
        key = rng.choice(TOP_KEYS) if odd else rng.choice(["user", "file", "message", "labels"])
        source[key] = _value(rng, 0 if odd else 1)
    return source


def variant(rng: random.Random, source: dict[str, Any], *, odd: bool) -> dict[str, Any]:
    """Another event of the same sequence: a copy with a few values changed, removed or added."""
    result = copy.deepcopy(source)
    for _ in range(rng.randint(0, 4)):
        target = result
        while True:
            keys = list(target)
            if not keys:
                break
            key = rng.choice(keys)
            if isinstance(target[key], dict) and target[key] and rng.random() < 0.6:
                target = target[key]
                continue
            roll = rng.random()
            if roll < 0.4:
                target[key] = _value(rng, 2)
            elif roll < 0.6:
                del target[key]
            else:
                target[rng.choice(TOP_KEYS if odd else INNER_KEYS)] = _value(rng, 2)
            break
    return result


def _dump(value: Any) -> str:
    """JSON with key order kept (NaN as JSON's `NaN`)."""
    return json.dumps(value, default=repr)


# paths where ECS has fields of every kind the check tells apart, and paths it does not have (with empty parts too)
ECS_KEYS = ["user", "user.name", "service", "process.parent", "process.parent.pid", "source.ip", "source.port",
            "source", "event.duration", "event", "@timestamp", "agent.name", "agent.name.first", "host.ip",
            "dll.code_signature.trusted", "threat.enrichments", "threat", "client.geo.location", "labels",
            "user.risk.calculated_score", "host.cpu.usage", "data_stream", "", ".agent", "host..name", "custom"]
ECS_INNER = ["name", "ip", "port", "pid", "parent", "enrichments", "indicator", "trusted", "duration", "geo",
             "location", "", "a.b", "name.first", "x"]
ECS_SCALARS: list[Any] = ["SYSTEM", "ssh", "12ms", "22", "24 ", "", "not-an-ip", "10.0.0.1", "::1", "10.0.0.0/8",
                          "127.1", "2024-05-01T12:00:00Z", "2015-W01-1", "2015-02-30", "true", "True", 22, 1.5,
                          True, False, None, math.nan]


def _ecs_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.35:
        return {rng.choice(ECS_INNER): _ecs_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if roll < 0.55:
        items = [rng.choice(ECS_SCALARS) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.4:
            items.append(_ecs_value(rng, depth + 1) if depth < 3 else {})
        if rng.random() < 0.2:
            items.append([rng.choice(ECS_SCALARS), []])
        return items
    return rng.choice(ECS_SCALARS)


def test_alert_source_copy_is_alert_source_on_a_copy() -> None:
    for seed in range(1400):
        rng = random.Random(seed)
        if seed < 400:
            source = random_source(rng, odd=seed % 2 == 0)
        else:
            source = {rng.choice(ECS_KEYS): _ecs_value(rng, 0) for _ in range(rng.randint(1, 8))}
        before = _dump(source)
        namespaces = NAMESPACES_8_16 if seed % 3 == 0 else NAMESPACES  # data_stream.* copied from 8.19 and 9.1 on
        reference_removed: list[str] = []
        reference = _dump(alert_source(copy.deepcopy(source), reference_removed, namespaces))
        for notes in (None, SourceNotes()):
            removed: list[str] = []
            fast = alert_source_copy(source, notes, removed, namespaces)
            assert _dump(source) == before, seed  # the source is left alone
            assert _dump(fast) == reference, seed
            assert removed == reference_removed, seed


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CallPlan]:
    directory: Path = tmp_path_factory.mktemp("rules")
    rule = write_rule(directory, query=SEQUENCE_QUERY)
    return {
        "default": CallPlan(make_context(rule), sequences=True),
        "url": CallPlan(make_context(rule, public_base_url="https://k", space_id="s"), sequences=True),
    }


def _blocks(events: list[dict[str, Any]], plan: CallPlan) -> list[Block]:
    return sequence_blocks(events, plan)[2]


def test_sequence_common_is_the_reference_intersection(plans: dict[str, CallPlan]) -> None:
    # one process: the cached key orders of earlier sequences serve later ones, as in a service
    for seed in range(800):
        rng = random.Random(seed)
        odd = seed % 3 == 0
        first = random_source(rng, odd=odd)
        sources = [first] + [variant(rng, first, odd=odd) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        events = [{"_index": f"logs-{i % 2}", "_id": f"e{seed}-{i}", "_source": s} for i, s in enumerate(sources)]
        plan = plans["url" if seed % 4 == 0 else "default"]
        blocks = _blocks(events, plan)
        reference_blocks = _blocks(events, plan)  # the reference may write into its blocks: its own
        fast, _ = sequence_common(blocks, plan)
        reference = object_array_intersection([block.document for block in reference_blocks])
        assert _dump(fast) == _dump(reference), seed


def test_the_fast_path_is_taken_for_plain_events(plans: dict[str, CallPlan]) -> None:
    rng = random.Random(1)
    first = random_source(rng, odd=False)
    events = [{"_index": "logs", "_id": f"e{i}", "_source": s} for i, s in enumerate([first, variant(rng, first,
                                                                                                     odd=False)])]
    blocks = _blocks(events, plans["default"])
    assert not any(block.reference_only for block in blocks)
    common, shares = sequence_common(blocks, plans["default"])
    assert common is not None and not shares  # computed root by root: every object in it is its own


def test_copies_are_deep_copies() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        value = {"a": random_source(rng, odd=True), "b": [_value(rng, 0) for _ in range(3)]}
        expected = _dump(copy.deepcopy(value))
        for copied in (compile_copier(value)(), copy_json(value)):
            assert _dump(copied) == expected, seed
            assert copied is not value and copied["a"] is not value["a"], seed


def test_what_is_not_json_is_deep_copied() -> None:
    value = {"a": (1, [2]), "b": [3]}
    copied = compile_copier(value)()
    assert copied == value and copied["a"][1] is not value["a"][1]
    with pytest.raises(NotPlainJson):
        copy_json(value)
