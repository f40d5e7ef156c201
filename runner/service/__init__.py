"""The long-running service: rule selection, the scheduler and its lifecycle."""

from runner.service.scheduler import Service, log_execution, run_once
from runner.service.selection import KibanaLink, Selection, link_kibana_rules, select_rules

__all__ = ["KibanaLink", "Selection", "Service", "link_kibana_rules", "log_execution", "run_once", "select_rules"]
