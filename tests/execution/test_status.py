"""Statuses are enums whose values are the strings records, state documents and JSON output always carried."""

from __future__ import annotations

import json

from runner.execution import ExecutionRecord, ExecutionStatus, HuntStatus, WindowResult, WindowStatus


def test_the_stored_strings_stay_the_same() -> None:
    assert [s.value for s in ExecutionStatus] == ["running", "succeeded", "partial failure", "failed"]
    assert [s.value for s in WindowStatus] == ["pending", "searched", "no index", "failed", "timed out"]
    assert [s.value for s in HuntStatus] == ["ok", "max signals", "no index", "failed"]


def test_a_record_is_stored_with_plain_strings() -> None:
    record = ExecutionRecord("u", "r", "n", "2026-01-15T10:05:00+00:00", status=ExecutionStatus.PARTIAL_FAILURE,
                             windows=[WindowResult("a", "b", status=WindowStatus.TIMED_OUT), WindowResult("b", "c")])
    data = record.to_dict()
    assert type(data["status"]) is str and data["status"] == "partial failure"
    assert [(type(w["status"]), w["status"]) for w in data["windows"]] == [(str, "timed out"), (str, "pending")]
    assert '"status": "partial failure"' in json.dumps(data)
    assert record.status == "partial failure" and f"{record.status}" == "partial failure"
