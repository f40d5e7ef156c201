"""Where a key sits in a TOML file, for error messages.

`tomllib` keeps no positions, so a validation error's key path (`rule.threat[2].tactic.id`) is found again in the
text: the line of the table header for the path's tables (`[rule]`, the n-th `[[rule.threat]]`, `[rule.threat.tactic]`)
and then the line of the key within that table. Inline tables and dotted keys fall back to the nearest enclosing key.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")


def _table_name(raw: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in raw.split("."))


def locate(text: str, path: tuple[str | int, ...]) -> tuple[int, int]:
    """The 1-based (line, column) of the key `path` names, or of its nearest located ancestor (line 1 at worst)."""
    lines = text.splitlines()
    # map each line to the table it belongs to, counting array-of-tables occurrences: "rule.threat#2"
    current = ""
    counts: dict[str, int] = {}
    owner: list[str] = []
    headers: dict[str, int] = {}
    in_multiline: str | None = None
    for number, line in enumerate(lines, 1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            owner.append("")
            continue
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith(("'", '"')):
            name = _table_name(header.group(2))
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                current = f"{name}#{counts[name]}"
            else:
                # a sub-table of the latest array element: [rule.threat.tactic] after [[rule.threat]]
                current = _qualify(name, counts)
            headers.setdefault(current, number)
            owner.append("")
            continue
        owner.append(current)
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
                break

    candidates = _table_keys(path)
    for table, key in candidates:
        if key is None:
            if table in headers:
                return headers[table], 1
            continue
        for number, line in enumerate(lines, 1):
            if owner[number - 1] != table:
                continue
            match = _KEY.match(line)
            if match and _table_name(match.group(1)) == key:
                return number, line.index(match.group(1)) + 1
    return 1, 1


def _qualify(name: str, counts: dict[str, int]) -> str:
    """`rule.threat.tactic` → `rule.threat#0.tactic` when `rule.threat` is an array of tables."""
    parts = name.split(".")
    qualified: list[str] = []
    for i, part in enumerate(parts):
        prefix = ".".join(parts[: i + 1])
        qualified.append(part)
        if prefix in counts and i < len(parts) - 1:
            qualified[-1] = f"{part}#{counts[prefix]}"
    return ".".join(qualified)


def _table_keys(path: tuple[str | int, ...]) -> list[tuple[str, str | None]]:
    """(table, key) pairs to look for, most specific first."""
    out: list[tuple[str, str | None]] = []
    for end in range(len(path), 0, -1):
        prefix = path[:end]
        # the last string element is a key inside the table formed by the ones before it
        if isinstance(prefix[-1], int):
            table = _join(prefix[:-1]) + f"#{prefix[-1]}"
            out.append((table, None))
            continue
        table = _join(prefix[:-1])
        out.append((table, str(prefix[-1])))
        out.append((_join(prefix), None))
    return out


def _join(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"#{part}"
        else:
            text += ("." if text else "") + part
    return text


__all__ = ["locate"]
