"""rule-runner: Elastic detection rules on a schedule, against Elasticsearch or an embedded engine."""

from runner.errors import RuleRunnerError, SourceLocation

__all__ = ["RuleRunnerError", "SourceLocation"]
