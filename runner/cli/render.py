"""How commands show results people scan: a summary by status first, then one line per rule worth a look, and
capped reports of bad input lines, so that the output of a whole corpus (1,000 rules, a million events) stays
readable.

Every cell is one line: long text is shortened here (`shorten`), its full form goes to `--format ndjson` or the
logs. Text is printed as it is (the consoles interpret no markup: `runner.cli.context`), so a rule name or an
Elasticsearch message with brackets is shown whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from runner.cli.context import err, out
from runner.execution import ExecutionStatus, HuntStatus, WindowStatus

MESSAGE_WIDTH = 120  # characters of a message in a table cell
BAD_LINES_SHOWN = 20  # bad input lines listed one by one; the rest are counted

# by status string (a member equals its value, and "failed", "no index" are members of several enums)
_STYLES: dict[str, str] = {
    **dict.fromkeys((ExecutionStatus.FAILED, WindowStatus.FAILED, HuntStatus.FAILED), "red"),
    **dict.fromkeys((ExecutionStatus.PARTIAL_FAILURE, HuntStatus.MAX_SIGNALS, HuntStatus.NO_INDEX, WindowStatus.NO_INDEX),
                    "yellow"),
}


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    """`text` on one line (whitespace runs collapsed) in at most `width` characters: its beginning and its end, an
    ellipsis between (the end of a message often says what the beginning announces: `... no index matching [x]`)."""
    line = " ".join(str(text).split())
    if len(line) <= width:
        return line
    head = width * 2 // 3
    return line[:head].rstrip() + " … " + line[len(line) - (width - head - 3):].lstrip()


def status(value: str) -> Text:
    """A status, coloured on a terminal: red for failures, yellow for warnings, green otherwise."""
    return Text(value, style=_STYLES.get(value, "green"))


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False
    keep: int = 0  # the width a short text (a status, a time) keeps while long texts give way


def table(title: str | None, columns: Sequence[Column]) -> Table:
    """A table whose rows stay one line each: cells are never wrapped. When the table is wider than the output (a
    narrow terminal), the long texts (rule names, messages) share what the numbers and short texts leave, and are
    cut with …; the numbers and short texts are never cut."""
    keeps = [max(len(column.name), 7) if column.numeric else column.keep for column in columns]
    long_texts = sum(1 for keep in keeps if not keep)
    room = out.width - 3 * len(columns) - 1 - sum(keeps)  # each column takes its padding and a border
    share = max(room // long_texts, 10) if long_texts else None
    result = Table(title=title, title_justify="left")
    for column, keep in zip(columns, keeps, strict=True):
        result.add_column(column.name, justify="right" if column.numeric else "left", no_wrap=True,
                          overflow="ellipsis", min_width=keep or None, max_width=None if keep else share)
    return result


STATUS = Column("status", keep=len(ExecutionStatus.PARTIAL_FAILURE))  # the longest status shown: "partial failure"


def status_summary(title: str, rows: Iterable[tuple[str, Sequence[int]]], numbers: Sequence[str],
                   order: Sequence[str]) -> Table:
    """Counts by status: per status (in `order`, then any other) the number of rules and the sum of each of
    `numbers`, then the total. `rows` gives each rule's `(status, values of numbers)`."""
    counts: dict[str, list[int]] = {}
    for state, values in rows:
        sums = counts.setdefault(state, [0] * (len(numbers) + 1))
        sums[0] += 1
        for position, value in enumerate(values, 1):
            sums[position] += value
    result = table(title, [STATUS, Column("rules", True), *(Column(n, True) for n in numbers)])
    ranked = [s for s in order if s in counts] + sorted(s for s in counts if s not in order)
    for state in ranked:
        result.add_row(status(state), *(f"{value:,}" for value in counts[state]))
    totals = [sum(values[i] for values in counts.values()) for i in range(len(numbers) + 1)]
    result.add_row("total", *(f"{value:,}" for value in totals), style="bold")
    return result


def report_skipped(bad: Sequence[object], shown: int = BAD_LINES_SHOWN) -> None:
    """`skipped <file>:<line>: <reason>` for the first `shown` bad lines, then how many more there were."""
    for item in bad[:shown]:
        err.print(f"skipped {item}")
    if len(bad) > shown:
        err.print(f"skipped {len(bad) - shown:,} more bad lines (the first {shown} are listed)")


__all__ = ["BAD_LINES_SHOWN", "MESSAGE_WIDTH", "STATUS", "Column", "report_skipped", "shorten", "status", "status_summary",
           "table"]
