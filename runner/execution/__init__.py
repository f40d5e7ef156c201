"""One execution of one rule: its plan (windows and requests), searches, alerts, writes, state and its record."""

from runner.execution.execution_plan import ExecutionPlan, PlanMode, plan
from runner.execution.hunt import HuntResult, hunt
from runner.execution.kibana_request import build_request, build_untimed_request
from runner.execution.retry import Deadline, RetryPolicy
from runner.execution.run import ExecutionOptions, ExecutionRecord, WindowResult, execute
from runner.execution.status import ExecutionStatus, HuntStatus, WindowStatus
from runner.execution.windows import Gap, Window, WindowPlan, plan_windows

__all__ = [
    "Deadline",
    "ExecutionOptions",
    "ExecutionPlan",
    "ExecutionRecord",
    "ExecutionStatus",
    "Gap",
    "HuntResult",
    "HuntStatus",
    "PlanMode",
    "RetryPolicy",
    "Window",
    "WindowPlan",
    "WindowResult",
    "WindowStatus",
    "build_request",
    "build_untimed_request",
    "execute",
    "hunt",
    "plan",
    "plan_windows",
]
