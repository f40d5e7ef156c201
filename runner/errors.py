"""The root of every error rule-runner raises on purpose.

Each layer subclasses `RuleRunnerError`; callers that only want "our" failures (as opposed to bugs) catch the root.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a problem sits: a file (optional), a 1-based line and column, and an optional key path."""

    line: int
    column: int
    file: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}:{self.column}"
        if self.key:
            where = f"{self.key}, {where}"
        if self.file:
            where = f"{self.file}: {where}"
        return where


class RuleRunnerError(Exception):
    """Root of rule-runner's own errors."""


__all__ = ["RuleRunnerError", "SourceLocation"]
