"""Alert ids: Kibana's sha256 formulas (kibana-eql-execution.md §4.1), pinned by literal digests so that a formula change shows."""

from __future__ import annotations

import hashlib

from runner.alerts import building_block_ids, event_alert_id, shell_alert_id

RULE_UUID = "00000000-0000-4000-8000-000000000001"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_event_alert_id_hashes_index_id_undefined_version_and_space_rule_key() -> None:
    expected = sha("eql_test" + "1" + "undefined" + f"default:{RULE_UUID}")
    assert event_alert_id("eql_test", "1", "default", RULE_UUID) == expected
    assert expected == "f6d3dd50b70573a7b471b271940a227e568f0e9ff878f1b5b9d2da9247ba1fd2"


def test_event_alert_id_hashes_a_version_as_javascript_prints_it() -> None:
    assert event_alert_id("i", "d", "default", RULE_UUID, version=3) == sha("id3" + f"default:{RULE_UUID}")


def test_event_alert_id_depends_on_the_space() -> None:
    assert event_alert_id("i", "d", "default", RULE_UUID) != event_alert_id("i", "d", "other", RULE_UUID)
    assert event_alert_id("i", "d", "other", RULE_UUID) == sha("id" + "undefined" + f"other:{RULE_UUID}")


def test_building_block_ids_hash_every_block_ancestry_plus_position() -> None:
    blocks = [
        [{"id": "1", "type": "event", "index": "eql_test", "depth": 0}],
        [{"id": "2", "type": "event", "index": "eql_test", "depth": 0}],
    ]
    base = "1" + "eql_test" + RULE_UUID + "2" + "eql_test" + RULE_UUID
    ids = building_block_ids(blocks, RULE_UUID)
    assert ids == [sha(base + "0"), sha(base + "1")]
    assert ids == [
        "cb4a9c85357672800a9761caa51edda884be051ccfc2b259c779e9ce4e48e977",
        "3cbd66480baeda7f807aa107074213758a1df8d350ad4a23bbee5e205cc88a23",
    ]


def test_the_same_event_gets_another_building_block_id_in_another_sequence() -> None:
    first = building_block_ids([[{"id": "1", "index": "i"}], [{"id": "2", "index": "i"}]], RULE_UUID)
    second = building_block_ids([[{"id": "2", "index": "i"}], [{"id": "3", "index": "i"}]], RULE_UUID)
    assert first[1] != second[0]


def test_building_block_ids_include_an_alert_parents_own_ancestors() -> None:
    ancestors = [{"id": "e", "index": "logs", "depth": 0, "type": "event"},
                 {"id": "a", "index": ".alerts", "depth": 1, "type": "signal", "rule": "r"}]
    assert building_block_ids([ancestors], RULE_UUID) == [sha("e" + "logs" + "a" + ".alerts" + RULE_UUID + "0")]


def test_shell_id_hashes_its_ancestors_then_the_rule() -> None:
    ancestors = [
        {"id": "E1", "type": "event", "index": "logs-a", "depth": 0},
        {"id": "BB0", "type": "signal", "index": "", "depth": 1, "rule": RULE_UUID},
        {"id": "E2", "type": "event", "index": "logs-b", "depth": 0},
        {"id": "BB1", "type": "signal", "index": "", "depth": 1, "rule": RULE_UUID},
    ]
    assert shell_alert_id(ancestors, RULE_UUID) == sha("E1logs-aBB0E2logs-bBB1" + RULE_UUID)
