"""What a configuration that cannot be used raises, and the two signals validators send to the messages.

Every problem is collected and raised at once as one `SettingsError`, each problem naming the file, the dotted key
(`rules.overrides.<rule_id>.interval`) and the line:column (`runner.problems.FileProblem`), in our own words:
pydantic's default messages echo the input, and the input may be a secret. A validator that words its message
completely raises `Complete`; a model validator that finds problems in its own keys raises
`runner.problems.KeyProblems`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from runner.errors import RuleRunnerError
from runner.problems import FileProblem

SettingsProblem = FileProblem  # one problem of a configuration: where (None for e.g. a missing file) and what


class SettingsError(RuleRunnerError):
    """A configuration that cannot be used; `problems` lists every problem found, in file order."""

    def __init__(self, problems: Sequence[SettingsProblem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            text = f"{len(self.problems)} problems in the configuration:" + "".join(f"\n  {p}" for p in self.problems)
        super().__init__(text)


def _problem_order(problem: SettingsProblem) -> tuple[int, int]:
    return (problem.location.line, problem.location.column) if problem.location else (0, 0)


class Complete(RuleRunnerError, ValueError):
    """A validator message that must not get "(got ...)" appended: it shows the input already, or must not. Raised
    inside a validator only: a `ValueError` too, because pydantic turns only those (and assertions) into validation
    errors, as `runner.problems.KeyProblems`."""


def show(value: Any) -> str:
    """A short rendering of a non-secret input for "(got ...)"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:56] + '..."'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["Complete", "SettingsError", "SettingsProblem", "show"]
