"""What a sequence shell keeps from its building blocks in Kibana 8.16 to 9.3: `objectPairIntersection` key by key.

The first cases are Kibana's own unit tests of those releases (`build_alert_group_from_sequence.test.ts` before
kibana#254830), here in Python; the others are what JavaScript makes of the same code (checked against it, with
lodash 4, when this module was written).
"""

from __future__ import annotations

import copy
from typing import Any

from runner.alerts.intersection_keywise import (
    UNDEFINED,
    block_view,
    keywise_array_intersection,
    keywise_pair_intersection,
)


def pair(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """As Kibana's tests compare (`toEqual` ignores undefined values), on copies (no two blocks share a container)."""
    result = keywise_pair_intersection(copy.deepcopy(a), copy.deepcopy(b))
    return None if result is None else _defined(result)


def _defined(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _defined(v) for k, v in value.items() if v is not UNDEFINED}
    return value


def array(*objects: dict[str, Any]) -> dict[str, Any] | None:
    result = keywise_array_intersection([copy.deepcopy(o) for o in objects])
    return None if result is None else _defined(result)


# ---- Kibana's unit tests --------------------------------------------------------------------------------------------

def test_identically_valued_arrays() -> None:
    assert pair({"field1": [1]}, {"field1": [1]}) == {"field1": [1]}


def test_arrays_with_differing_lengths() -> None:
    assert pair({"field1": 1}, {"field1": [1, 2, 3]}) == {"field1": [1]}
    assert pair({"field1": [3, 4, 5]}, {"field1": [1, 2, 3]}) == {"field1": [3]}
    assert pair({"field1": [3, 4, 5]}, {"field1": [1, 2, 3, 4]}) == {"field1": [3, 4]}


def test_numbers_and_strings_are_unequal() -> None:
    assert pair({"field1": 1, "field2": 1}, {"field1": 1, "field2": "1"}) == {"field1": 1}
    a = {"field1": 1, "field2": 1, "field3": "abcd", "field4": "abcd"}
    b = {"field1": 1, "field2": 100, "field3": "abcd", "field4": "wxyz"}
    assert pair(a, b) == {"field1": 1, "field3": "abcd"}


def test_null_values() -> None:
    assert pair({"field1": 1, "field2": "1", "field3": None},
                {"field1": None, "field2": None, "field3": None}) == {"field3": None}


def test_only_undefined_values_left_is_undefined() -> None:
    a = {"field1": 1, "field2": "1", "field3": UNDEFINED}
    b = {"field1": UNDEFINED, "field2": UNDEFINED, "field3": UNDEFINED}
    assert keywise_pair_intersection(a, b) is None


def test_arrays() -> None:
    a = {"array_field1": [1, 2], "array_field2": [1, 2]}
    b = {"array_field1": [1, 2], "array_field2": [3, 4]}
    assert pair(a, b) == {"array_field1": [1, 2], "array_field2": []}


def test_fields_not_in_both_are_stripped() -> None:
    assert pair({"field1": 1}, {"field2": 1}) is None


def test_objects_within_objects() -> None:
    a = {
        "container_field": {"field1": 1, "field2": 1, "field3": 10, "field5": 1, "field6": None, "array_field": [1, 2],
                            "nested_container_field": {"field1": 1, "field2": 1},
                            "nested_container_field2": {"field1": UNDEFINED}},
        "container_field_without_intersection": {"sub_field1": 1},
    }
    b = {
        "container_field": {"field1": 1, "field2": 2, "field4": 10, "field5": "1", "field6": None,
                            "array_field": [1, 2], "nested_container_field": {"field1": 1, "field2": 2},
                            "nested_container_field2": {"field1": UNDEFINED}},
        "container_field_without_intersection": {"sub_field2": 1},
    }
    assert pair(a, b) == {"container_field": {"field1": 1, "field6": None, "array_field": [1, 2],
                                              "nested_container_field": {"field1": 1}}}


A = {"field1": 1, "field2": 1, "field3": 10, "field5": 1, "field6": None, "array_field": [1, 2],
     "container_field": {"sub_field1": 1, "sub_field2": 1, "sub_field3": 10},
     "container_field_without_intersection": {"sub_field1": 1}}
B = {"field1": 1, "field2": 2, "field4": 10, "field5": "1", "field6": None, "array_field": [1, 2],
     "container_field": {"sub_field1": 1, "sub_field2": 2, "sub_field4": 10},
     "container_field_without_intersection": {"sub_field2": 1}}
C = {"field1": 1, "field2": 2, "field4": 10, "field5": "1", "array_field": [1, 2],
     "container_field": {"sub_field2": 2, "sub_field4": 10}, "container_field_without_intersection": {"sub_field2": 1}}


def test_objects_with_a_variety_of_fields() -> None:
    expected = {"field1": 1, "field6": None, "array_field": [1, 2], "container_field": {"sub_field1": 1}}
    assert pair(A, B) == expected and array(A, B) == expected


def test_three_or_more_objects() -> None:
    assert array(A, B, C) == {"field1": 1, "array_field": [1, 2]}


# ---- what JavaScript makes of it ------------------------------------------------------------------------------------

def test_dotted_and_nested_keys_never_meet() -> None:
    # the difference kibana#254830 (9.4) made: before, `user.email` and `user: {email}` are different keys
    assert pair({"user.email": "me@example.com"}, {"user": {"email": "me@example.com"}}) is None
    assert pair({"user.email": "me@example.com", "a": 1},
                {"user.email": "me@example.com", "a": 1}) == {"user.email": "me@example.com", "a": 1}


def test_arrays_of_objects_from_different_blocks_intersect_to_nothing() -> None:
    # containers are compared by identity, and no two blocks share one
    assert pair({"threat": [{"framework": "MITRE ATT&CK"}]}, {"threat": [{"framework": "MITRE ATT&CK"}]}) == \
        {"threat": []}
    assert pair({"f": ["a", {"x": 1}, "b", "a"]}, {"f": ["b", "a"]}) == {"f": ["a", "b"]}  # a's order, once each


def test_an_undefined_value_meeting_an_array_intersects_to_an_empty_array() -> None:
    # `key in b` holds for a key whose value is undefined: lodash intersection([undefined], [...]) is []
    assert keywise_pair_intersection({"host.asset.criticality": ["high"], "a": 1},
                                     {"host.asset.criticality": UNDEFINED, "a": 1}) == \
        {"host.asset.criticality": [], "a": 1}
    assert keywise_pair_intersection({"k": UNDEFINED, "a": 1}, {"k": ["x"], "a": 1}) == {"k": [], "a": 1}
    # undefined against undefined stays undefined (kept while folding, in its place)
    assert keywise_pair_intersection({"k": UNDEFINED, "a": 1}, {"k": UNDEFINED, "a": 1}) == {"k": UNDEFINED, "a": 1}


def test_names_every_object_inherits_are_in_every_object() -> None:
    # `"toString" in {}` is true, and its value a function: an array meeting it intersects to []
    assert pair({"toString": ["x"], "constructor": "y", "a": 1}, {"a": 1}) == {"toString": [], "a": 1}
    # an own `__proto__` is never copied (the assignment sets the result's prototype)
    assert pair({"__proto__": 1, "a": 1}, {"__proto__": 1, "a": 1}) == {"a": 1}


def test_undefined_values_are_left_out_of_the_result_but_top_level_ones_keep_their_place() -> None:
    blocks = [{"k": UNDEFINED, "n": {"u": UNDEFINED, "v": 1}, "a": 1}, {"k": UNDEFINED, "n": {"u": UNDEFINED, "v": 1},
                                                                         "a": 1}]
    assert keywise_array_intersection(blocks) == {"k": UNDEFINED, "n": {"v": 1}, "a": 1}


def test_a_block_as_javascript_holds_it() -> None:
    # lodash `merge(event, alertFields)`: the event's keys first, then every alert field, undefined ones included
    document = {"host": {"name": "h"}, "@timestamp": "now", "event.kind": "signal", "kibana.alert.uuid": "u"}
    view = block_view(document, ["host", "@timestamp"], ["@timestamp", "event.kind", "kibana.alert.url",
                                                         "kibana.alert.uuid"])
    assert list(view.items()) == [("host", {"name": "h"}), ("@timestamp", "now"), ("event.kind", "signal"),
                                  ("kibana.alert.url", UNDEFINED), ("kibana.alert.uuid", "u")]
