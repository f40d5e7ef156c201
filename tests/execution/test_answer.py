"""The one classifier of search answers: complete, incomplete (three marks), malformed; results counted and keyed."""

from __future__ import annotations

from typing import Any

import pytest

from runner.backends import IncompleteAnswer, TransientError
from runner.execution.answer import MalformedAnswer, checked
from runner.ruletypes import eql, query

EVENTS = {"is_partial": False, "timed_out": False, "hits": {"events": [{"_index": "i", "_id": "a"},
                                                                       {"_index": "i", "_id": "b"}]}}
SEQUENCES = {"hits": {"sequences": [{"events": [{"_index": "i", "_id": "a"}, {"_index": "j", "_id": "b"}]}]}}


def test_a_complete_answer_is_taken_as_it_is() -> None:
    assert checked(EVENTS) is EVENTS and checked(SEQUENCES) is SEQUENCES
    assert eql.result_count(EVENTS) == 2 and eql.result_count(SEQUENCES) == 1
    assert eql.result_keys(EVENTS) == {("i", "a"), ("i", "b")}
    assert eql.result_keys(SEQUENCES) == {(("i", "a"), ("j", "b"))}


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


# ---- `_search` answers (query rules): `_shards.failed` and `timed_out` mark them incomplete ----------------------

SEARCH = {"took": 1, "timed_out": False, "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
          "hits": {"max_score": None, "hits": [{"_index": "i", "_id": "a", "_score": None, "sort": [1]},
                                               {"_index": "j", "_id": "b", "_score": None, "sort": [2]}]}}
SHARD_FAILURE = {"shard": 0, "index": "i", "node": "n1", "reason": {"type": "node_not_connected_exception",
                                                                      "reason": "[es02] Node not connected"}}


def test_a_complete_search_answer_is_taken_with_its_hits() -> None:
    assert checked(SEARCH) is SEARCH
    assert query.result_count(SEARCH) == 2 and query.result_keys(SEARCH) == {("i", "a"), ("j", "b")}
    no_index = {"took": 0, "timed_out": False, "_shards": {"total": 0, "successful": 0, "skipped": 0, "failed": 0},
                "hits": {"max_score": 0.0, "hits": []}}  # patterns matching nothing, with allow_no_indices
    assert checked(no_index) is no_index and query.result_count(no_index) == 0 and query.result_keys(no_index) == set()


def test_a_search_answer_with_failed_shards_is_incomplete() -> None:
    shards = {"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": [SHARD_FAILURE]}
    with pytest.raises(IncompleteAnswer) as raised:
        checked({**SEARCH, "_shards": shards})
    assert raised.value.shard_failures is True and "node_not_connected_exception" in str(raised.value)
    with pytest.raises(IncompleteAnswer, match="1 of 2 shards failed"):  # a count without the failures listed
        checked({**SEARCH, "_shards": {**shards, "failures": []}})


def test_a_shard_failing_only_for_an_unmapped_sort_field_leaves_the_answer_complete() -> None:
    """Kibana's createSearchAfterReturnTypeFromResponse: success when every failure's reason includes "No mapping found
    for [@timestamp] in order to sort on" (or the timestamp override's)."""
    unmapped = {"shard": 0, "index": "logs-old", "node": "n1", "reason": {
        "type": "query_shard_exception", "reason": "No mapping found for [event.ingested] in order to sort on",
        "index": "logs-old", "index_uuid": "u"}}
    answer = {**SEARCH, "_shards": {"total": 3, "successful": 2, "skipped": 0, "failed": 1, "failures": [unmapped]}}
    assert checked(answer) is answer
    with pytest.raises(IncompleteAnswer):  # not when another failure is among them
        checked({**answer, "_shards": {**answer["_shards"], "failed": 2, "failures": [unmapped, SHARD_FAILURE]}})


def test_a_timed_out_search_answer_is_incomplete() -> None:
    with pytest.raises(IncompleteAnswer, match="the answer says timed_out: true") as raised:
        checked({**SEARCH, "timed_out": True})
    assert raised.value.shard_failures is False


@pytest.mark.parametrize("response", [{"_shards": SEARCH["_shards"]}, {**SEARCH, "hits": {"hits": None}},
                                      {**SEARCH, "hits": {"total": {"value": 1, "relation": "eq"}}}])
def test_a_search_answer_without_hits_is_malformed(response: dict[str, Any]) -> None:
    with pytest.raises(MalformedAnswer, match=r"search response should have `hits\.hits`"):
        checked(response)
