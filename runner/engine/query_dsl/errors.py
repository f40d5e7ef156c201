"""The errors of the Query DSL evaluator, decided on by class.

`QueryDslError` is a query Elasticsearch would reject with a 400 (a malformed clause, a value its field's type cannot
parse, a wildcard on a number): the search fails, it does not match nothing. `UnsupportedQuery`, a subclass, is a
valid query this evaluator does not run (a clause, parameter or query_string syntax outside what Kibana's detection
engine emits): the caller refuses the rule with the message rather than run it with a clause ignored.
Both name where in the query they stand (`bool.filter[2].range.@timestamp`).
"""

from __future__ import annotations

from runner.errors import RuleRunnerError


class QueryDslError(RuleRunnerError, ValueError):
    """A query Elasticsearch would refuse (search fails with a 400)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message


class UnsupportedQuery(QueryDslError):
    """A valid query outside what the evaluator runs."""


__all__ = ["QueryDslError", "UnsupportedQuery"]
