"""What a sequence shell keeps from its building blocks: Kibana's `objectArrayIntersection` (kibana-eql-execution.md §3.2 step 5).

Most cases are Kibana's own unit tests (`build_alert_group_from_sequence.test.ts`), here in Python.
"""

from __future__ import annotations

from runner.alerts import object_array_intersection, object_pair_intersection


def test_identical_arrays_are_kept() -> None:
    assert object_pair_intersection({"field1": [1]}, {"field1": [1]}) == {"field1": [1]}


def test_a_value_and_an_array_intersect_as_arrays() -> None:
    assert object_pair_intersection({"field1": 1}, {"field1": [1, 2, 3]}) == {"field1": [1]}


def test_arrays_intersect_elementwise_in_first_array_order() -> None:
    assert object_pair_intersection({"f": [3, 4, 5]}, {"f": [1, 2, 3]}) == {"f": [3]}
    assert object_pair_intersection({"f": [3, 4, 5]}, {"f": [1, 2, 3, 4]}) == {"f": [3, 4]}


def test_disjoint_arrays_leave_an_empty_array() -> None:
    a = {"array_field1": [1, 2], "array_field2": [1, 2]}
    b = {"array_field1": [1, 2], "array_field2": [3, 4]}
    assert object_pair_intersection(a, b) == {"array_field1": [1, 2], "array_field2": []}


def test_numbers_and_strings_are_unequal() -> None:
    assert object_pair_intersection({"f1": 1, "f2": 1}, {"f1": 1, "f2": "1"}) == {"f1": 1}
    assert object_pair_intersection({"f": [1, "1", True]}, {"f": ["1", 1.0]}) == {"f": [1, "1"]}
    assert object_pair_intersection({"f": True}, {"f": 1}) is None


def test_null_is_equal_only_to_null() -> None:
    a = {"field1": 1, "field2": "1", "field3": None}
    b = {"field1": None, "field2": None, "field3": None}
    assert object_pair_intersection(a, b) == {"field3": None}


def test_nothing_in_common_is_none() -> None:
    assert object_pair_intersection({"field1": 1}, {"field2": 1}) is None
    assert object_pair_intersection({}, {}) is None
    assert object_pair_intersection({}, {"a": 1}) is None
    assert object_pair_intersection(None, {"a": 1}) is None


def test_objects_intersect_recursively_and_empty_ones_are_dropped() -> None:
    a = {
        "container_field": {"field1": 1, "field2": 1, "field3": 10, "field5": 1, "field6": None, "array_field": [1, 2],
                            "nested_container_field": {"field1": 1, "field2": 1}},
        "container_field_without_intersection": {"sub_field1": 1},
    }
    b = {
        "container_field": {"field1": 1, "field2": 2, "field4": 10, "field5": "1", "field6": None,
                            "array_field": [1, 2],
                            "nested_container_field": {"field1": 1, "field2": 2}},
        "container_field_without_intersection": {"sub_field2": 1},
    }
    assert object_pair_intersection(a, b) == {
        "container_field": {"array_field": [1, 2], "field1": 1, "field6": None,
                            "nested_container_field": {"field1": 1}},
    }


def test_dotted_and_nested_keys_name_the_same_path() -> None:
    assert object_pair_intersection({"user.email": "m@e.co"}, {"user": {"email": "m@e.co"}}) == {
        "user": {"email": "m@e.co"}}
    assert object_pair_intersection({"a.b.c": 42}, {"a": {"b": {"c": 42}}}) == {"a": {"b": {"c": 42}}}
    assert object_pair_intersection({"user.emails": ["a@t.co"]}, {"user": {"emails": ["a@t.co"]}}) == {
        "user": {"emails": ["a@t.co"]}}


def test_a_path_dotted_in_both_stays_dotted() -> None:
    # newest Kibana (notation preference); an earlier revision of the same algorithm nested it
    assert object_pair_intersection({"user.email": "a@t.co"}, {"user.email": "a@t.co"}) == {"user.email": "a@t.co"}
    a = {"kibana.alert.original_event.action": "exec", "kibana.alert.rule.parameters": {"type": "eql"}}
    b = {"kibana.alert.original_event.action": "exec", "kibana.alert.rule.parameters": {"type": "eql"}}
    # a dotted key holding an object: its leaves' own keys are not dotted, so they come back nested
    assert object_pair_intersection(a, b) == {
        "kibana.alert.original_event.action": "exec",
        "kibana": {"alert": {"rule": {"parameters": {"type": "eql"}}}},
    }


def test_arrays_of_objects_intersect_by_identity() -> None:
    shared = [{"framework": "MITRE ATT&CK"}]
    assert object_pair_intersection({"t": shared}, {"t": shared}) == {"t": shared}
    assert object_pair_intersection({"t": [{"x": 1}]}, {"t": [{"x": 1}]}) == {"t": []}


def test_array_of_objects_one_and_more() -> None:
    a = {"field1": 1, "field2": 1, "field6": None, "array_field": [1, 2], "container_field": {"sub_field1": 1}}
    b = {"field1": 1, "field2": 2, "field6": None, "array_field": [1, 2], "container_field": {"sub_field1": 1}}
    c = {"field1": 1, "field2": 2, "array_field": [1, 2], "container_field": {"sub_field2": 2}}
    assert object_array_intersection([]) is None
    assert object_array_intersection([a]) is a
    assert object_array_intersection([a, b]) == {"field1": 1, "field6": None, "array_field": [1, 2],
                                                 "container_field": {"sub_field1": 1}}
    assert object_array_intersection([a, b, c]) == {"field1": 1, "array_field": [1, 2]}


def test_mixed_notations_across_three_documents() -> None:
    a = {"user.id": "u1", "event": {"action": "login"}}
    b = {"user": {"id": "u1"}, "event": {"action": "login"}}
    c = {"user.id": "u1", "event.action": "login"}
    assert object_array_intersection([a, b, c]) == {"user": {"id": "u1"}, "event": {"action": "login"}}


def test_a_dotted_key_below_an_array_is_lost_like_a_javascript_array_property() -> None:
    # every alert has a dotted "event.kind"; when the event's `event` is an array, lodash writes `kind` as a
    # property of that array, which the intersection (and JSON) never sees
    a = {"event": [{"category": "process"}], "event.kind": "signal", "user": "SYSTEM"}
    b = {"event": [{"category": "process"}], "event.kind": "signal", "user": "SYSTEM"}
    assert object_pair_intersection(a, b) == {"event": [], "user": "SYSTEM"}
