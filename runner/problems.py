"""Problems in a file a person wrote, each at its place, and the one way pydantic's errors become them.

Two loaders validate a user's file with pydantic: the settings loader (YAML, `runner.settings`) and the rule loader
(TOML, `runner.catalog`). Both report a problem as `file: dotted.key, line L:C: what is wrong` (`SourceLocation` and
`FileProblem`), never in pydantic's own text, which names Python types and echoes the input (the input may be a
secret). `validation_problems()` is the single translation of a `ValidationError`'s items: the loader
supplies what only it knows, where a key path sits in its text (`position`) and how it words a problem (`word`);
the translation does the rest the same way for both: key paths spelt as in the file, `KeyProblems` raised by a
model validator reported at each key it names, problems a loader already reported (`skip`) left out.

This module sits below every layer and imports no third-party library: it reads the plain items of
`ValidationError.errors()`, so a layer without pydantic may still import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import RuleRunnerError, SourceLocation

KeyPath = tuple[str | int, ...]
"""A key's path from the root of a file, as pydantic's `loc`: `("rules", "overrides", "abc", "interval")`."""


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem: where (None for problems with no position, such as a missing file) and what, in plain words."""

    location: SourceLocation | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class KeyProblems(RuleRunnerError, ValueError):
    """Problems a model validator finds in its own keys, so that each is reported at that key rather than at the
    model's. Raised inside a validator only: a `ValueError` too, because pydantic turns only `ValueError` and
    `AssertionError` (and its own error types) into validation errors; anything else escapes validation as it is."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)  # (key, message)
        super().__init__("; ".join(message for _, message in self.problems))


def dotted(path: KeyPath) -> str:
    """`("rule", "threat", 2, "tactic")` → `rule.threat[2].tactic`; the empty path → ``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def pydantic_message(item: Mapping[str, Any]) -> str:
    """The wording for an error type a loader has no words of its own for: a validator's own message as it raised
    it, else pydantic's message starting in lower case (it follows a location and a colon)."""
    error = (item.get("ctx") or {}).get("error")
    if item["type"] in ("value_error", "assertion_error") and error is not None:
        return str(error)
    text = str(item.get("msg", "invalid value"))
    return text[:1].lower() + text[1:]


def validation_problems(
    errors: Iterable[Mapping[str, Any]],
    file: str,
    *,
    position: Callable[[KeyPath, str], tuple[int, int]],
    word: Callable[[Mapping[str, Any], KeyPath], str],
    rename: Mapping[str, str] | None = None,
    skip: Callable[[KeyPath, str], bool] | None = None,
) -> list[FileProblem]:
    """The items of `ValidationError.errors()` as problems in `file`, in pydantic's order.

    `position(path, error_type)` is the 1-based (line, column) of the key path in the text (the error type tells an
    unknown or missing key from a bad value); `word(item, path)` is the message; `rename` maps field names to the
    keys the file spells (`from_` → `from`); `skip(path, error_type)` leaves out a problem already reported another
    way. A `KeyProblems` raised by a model validator becomes one `value_error` problem per key it names."""
    names = rename or {}
    problems: list[FileProblem] = []
    for item in errors:
        loc: KeyPath = tuple(names.get(part, part) if isinstance(part, str) else part for part in item["loc"])
        error = (item.get("ctx") or {}).get("error")
        expanded: list[tuple[KeyPath, str, str | None]] = (
            [((*loc, key), "value_error", message) for key, message in error.problems]
            if isinstance(error, KeyProblems) else [(loc, item["type"], None)]
        )
        for path, kind, message in expanded:
            if skip is not None and skip(path, item["type"]):
                continue
            line, column = position(path, kind)
            location = SourceLocation(line, column, file, dotted(path) or None)
            problems.append(FileProblem(location, message if message is not None else word(item, path)))
    return problems


__all__ = ["FileProblem", "KeyPath", "KeyProblems", "dotted", "pydantic_message", "validation_problems"]
