"""EQL errors, shaped like Elasticsearch's.

Elasticsearch answers a bad query with HTTP 400 and one of two reasons:

* `parsing_exception`: ``line 1:4: mismatched input '<EOF>' expecting 'where'`` (one problem, from the parser);
* `verification_exception`: ``Found 1 problem\\nline 1:42: Unknown column [used]`` (every problem the verifier found).

`EqlSyntaxError` and `EqlVerificationError` reproduce those two texts; both carry the 1-based line and column of the
(first) problem so callers can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import RuleRunnerError


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a query: a 1-based position and Elasticsearch's message for it."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}:{self.column}: {self.message}"


class EqlError(RuleRunnerError):
    """Root of the errors a query can raise: syntax or verification."""

    #: Elasticsearch's error type for this kind of problem (`error.type` in its 400 body).
    es_type: str = "eql_exception"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("an EqlError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.reason)

    @property
    def line(self) -> int:
        return self.problems[0].line

    @property
    def column(self) -> int:
        return self.problems[0].column

    @property
    def reason(self) -> str:
        raise NotImplementedError


class EqlSyntaxError(EqlError):
    """The query is not well-formed (Elasticsearch: `parsing_exception`)."""

    es_type = "parsing_exception"

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__([Problem(line, column, message)])

    @property
    def message(self) -> str:
        return self.problems[0].message

    @property
    def reason(self) -> str:
        return str(self.problems[0])


class EqlVerificationError(EqlError):
    """The query parses but is not valid: unknown fields, wrong types or arity, bad sequences
    (Elasticsearch: `verification_exception`)."""

    es_type = "verification_exception"

    @property
    def reason(self) -> str:
        n = len(self.problems)
        head = f"Found {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(str(p) for p in self.problems)])


__all__ = ["EqlError", "EqlSyntaxError", "EqlVerificationError", "Problem"]
