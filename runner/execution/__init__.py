"""One execution of one rule: windows, searches, alerts, writes, state and its record."""

from runner.execution.kibana_request import build_request, build_untimed_request
from runner.execution.run import FAILED, PARTIAL_FAILURE, SUCCEEDED, ExecutionOptions, ExecutionRecord, execute
from runner.execution.windows import Gap, Window, WindowPlan, plan_windows

__all__ = [
    "FAILED",
    "PARTIAL_FAILURE",
    "SUCCEEDED",
    "ExecutionOptions",
    "ExecutionRecord",
    "Gap",
    "Window",
    "WindowPlan",
    "build_request",
    "build_untimed_request",
    "execute",
    "plan_windows",
]
