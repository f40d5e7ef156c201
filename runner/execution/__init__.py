"""One execution of one rule: its plan (windows and requests), searches, alerts, writes, state and its record.

`plan()` is the one place an execution's windows and their requests are computed (the window arithmetic is its
module; the requests are the rule type's, `runner.ruletypes`): `execute`, `hunt`, `explain` and `validate` all plan
through it. `execute_many` runs the executions of rules due together, their windows searched in one request.
"""

from runner.execution.batch import execute_many
from runner.execution.execution_plan import ExecutionPlan, PlanMode, plan
from runner.execution.hunt import HuntResult, hunt
from runner.execution.retry import Deadline, RetryPolicy
from runner.execution.run import ExecutionOptions, ExecutionRecord, WindowResult, execute
from runner.execution.status import ExecutionStatus, HuntStatus, WindowStatus
from runner.execution.windows import Gap, Window

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
    "WindowResult",
    "WindowStatus",
    "execute",
    "execute_many",
    "hunt",
    "plan",
]
