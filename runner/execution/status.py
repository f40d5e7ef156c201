"""The statuses an execution, its windows and a hunt end in, as enums.

Each is a `StrEnum` whose values are the strings Kibana's rule monitoring shows and the execution records store
(`"partial failure"`, not `PARTIAL_FAILURE`): a member compares equal to its value and serialises as it, so records,
state documents and JSON output read as before, and code compares members rather than bare literals.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """How an execution ended (Kibana's `RuleExecutionStatus`, as its monitoring tab shows it)."""

    RUNNING = "running"  # only while the record is being built; never stored
    SUCCEEDED = "succeeded"
    PARTIAL_FAILURE = "partial failure"  # warnings only: e.g. no index matched, results past max_signals
    FAILED = "failed"  # an error: the query is bad, a window stays pending, a gap, the state was not saved


class WindowStatus(StrEnum):
    """What became of one window of an execution."""

    PENDING = "pending"  # not searched yet
    SEARCHED = "searched"  # searched completely and its alerts written: covered
    NO_INDEX = "no index"  # no index matches the rule's patterns: covered, with a warning
    FAILED = "failed"  # the search or a write failed: it stays pending for the next execution
    TIMED_OUT = "timed out"  # the execution's time ran out before it started: it stays pending


class HuntStatus(StrEnum):
    """How one rule of a hunt ended."""

    OK = "ok"
    MAX_SIGNALS = "max signals"  # the rule answered `max_signals` results: more may match
    NO_INDEX = "no index"
    FAILED = "failed"


__all__ = ["ExecutionStatus", "HuntStatus", "WindowStatus"]
