"""The long-running service: rule selection, the scheduler and its lifecycle."""

from runner.service.scheduler import Service, log_execution, run_once
from runner.service.selection import Selection, select_rules

__all__ = ["Selection", "Service", "log_execution", "run_once", "select_rules"]
