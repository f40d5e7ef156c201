"""The one classifier of search answers: complete, incomplete (three marks), malformed; results counted and keyed."""

from __future__ import annotations

from typing import Any

import pytest

from runner.backends import IncompleteAnswer, TransientError
from runner.execution.answer import MalformedAnswer, checked, result_count, result_keys

EVENTS = {"is_partial": False, "timed_out": False, "hits": {"events": [{"_index": "i", "_id": "a"},
                                                                       {"_index": "i", "_id": "b"}]}}
SEQUENCES = {"hits": {"sequences": [{"events": [{"_index": "i", "_id": "a"}, {"_index": "j", "_id": "b"}]}]}}


def test_a_complete_answer_is_taken_as_it_is() -> None:
    assert checked(EVENTS) is EVENTS and checked(SEQUENCES) is SEQUENCES
    assert result_count(EVENTS) == 2 and result_count(SEQUENCES) == 1
    assert result_keys(EVENTS) == {("i", "a"), ("i", "b")}
    assert result_keys(SEQUENCES) == {(("i", "a"), ("j", "b"))}


@pytest.mark.parametrize(("marks", "shards", "message"), [
    ({"shard_failures": [{"shard": 0, "reason": {"type": "x"}}]}, True, '[{"shard": 0, "reason": {"type": "x"}}]'),
    ({"is_partial": True}, False, "the answer says is_partial: true"),
    ({"timed_out": True}, False, "the answer says timed_out: true"),
    ({"is_partial": True, "timed_out": True}, False, "the answer says is_partial: true and timed_out: true"),
])
def test_an_answer_marked_incomplete_is_retried_never_taken(marks: dict[str, Any], shards: bool, message: str) -> None:
    with pytest.raises(IncompleteAnswer) as raised:
        checked({**EVENTS, **marks})
    assert isinstance(raised.value, TransientError) and raised.value.shard_failures is shards
    assert str(raised.value) == message


@pytest.mark.parametrize("response", [{}, {"hits": []}, {"hits": {"total": 0}},
                                      {"hits": {"events": None}}, {"hits": {"events": None, "sequences": None}}])
def test_an_answer_without_results_of_either_kind_is_malformed(response: dict[str, Any]) -> None:
    """As the alerts are built (`build_alerts`): results that are null are no results, so an answer the execution
    takes is one alerts can be built from."""
    with pytest.raises(MalformedAnswer, match="should have either `sequences` or `events` but had neither"):
        checked(response)
