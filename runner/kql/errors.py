"""KQL errors: the query does not parse (`KqlSyntaxError`, with `line L:C`), or it parses but Kibana would refuse
to translate it against the field list (`KqlTranslationError`: a nested field used outside its `{ }` group, or the
other way round).

Both derive from `KqlError`, so a caller that only needs "this KQL is unusable" catches one class. Kibana's own parse
messages (`Expected "(", NOT, field name, value but end of input found.`) vary between its versions; ours say the
same thing in the same shape, with the position first as the EQL errors have it.
"""

from __future__ import annotations

from runner.errors import RuleRunnerError


class KqlError(RuleRunnerError):
    """Root of the errors a KQL query can raise."""


class KqlSyntaxError(KqlError):
    """The text is not KQL. `line` and `column` are 1-based; `message` says what was expected and what was found."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"line {line}:{column}: {message}")


class KqlTranslationError(KqlError):
    """The query parses, but cannot be translated with this field list (Kibana's messages, one a line)."""


__all__ = ["KqlError", "KqlSyntaxError", "KqlTranslationError"]
