"""One Python function per keyword-field test, with the `_source` walk inlined.

A filter such as `process.name == "bash"` runs once per event, so its cost is mostly Python call overhead: a getter,
a type dispatch, a comparison. Here the getter for the field's path (nested objects, with guards that fall back to
the general walk when dotted keys or arrays are involved) and the keyword fast path are generated as one function.
The generated code only chooses between the same steps `SourcePath.get` and `FieldReader.normalize` take.
"""

from __future__ import annotations

from typing import Any, Callable

from runner.engine.fields import MISSING, FieldReader

Predicate = Callable[[dict[str, Any]], bool]


def _guards(parts: tuple[str, ...], level: int, node: str) -> str:
    """`and "b.c" not in node ...`: the dotted keys that could also hold the rest of the path at this level."""
    keys = [".".join(parts[level:j]) for j in range(level + 2, len(parts) + 1)]
    return "".join(f" and {k!r} not in {node}" for k in keys)


def _walk_code(parts: tuple[str, ...]) -> list[str]:
    """Statements that leave the raw value in `raw` (or return False when the path holds nothing)."""
    if len(parts) == 1:
        return [f"raw = s.get({parts[0]!r}, MISSING)"]
    lines: list[str] = []
    indent = ""
    node = "s"
    for level, part in enumerate(parts[:-1]):
        child = f"n{level}"
        lines.append(f"{indent}{child} = {node}.get({part!r})")
        lines.append(f"{indent}if type({child}) is dict{_guards(parts, level, node)}:")
        node = child
        indent += "    "
    lines.append(f"{indent}raw = {node}.get({parts[-1]!r}, MISSING)")
    # unwind: each level's "missing" and "anything else" branches
    node_names = ["s"] + [f"n{i}" for i in range(len(parts) - 1)]
    for level in range(len(parts) - 2, -1, -1):
        indent = "    " * level
        child, parent = node_names[level + 1], node_names[level]
        lines.append(f"{indent}elif {child} is None{_guards(parts, level, parent)}:")
        lines.append(f"{indent}    return False")
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    raw = walk(s)")
    return lines


def fused_keyword_predicate(
    reader: FieldReader, test: Callable[[list[Any]], bool], text_test: Callable[[str], bool]
) -> Predicate:
    """`test` over the indexed values, `text_test` on a single plain string, with the path walk inlined."""
    limit = reader.ignore_above
    length_check = "" if limit is None else f"len(raw) <= {int(limit)} and "
    only_check = "" if limit is None else f"len(only) <= {int(limit)} and "
    body = [
        *_walk_code(reader.source.parts),
        "kind = type(raw)",
        "if kind is str:",
        f"    return {length_check}text_test(raw)",
        "if kind is list and len(raw) == 1:",
        "    only = raw[0]",
        "    if type(only) is str:",
        f"        return {only_check}text_test(only)",
        "return raw is not MISSING and test(normalize(raw))",
    ]
    source = "def predicate(s):\n" + "\n".join("    " + line for line in body) + "\n"
    namespace: dict[str, Any] = {
        "MISSING": MISSING,
        "walk": reader.source.walk,
        "normalize": reader.normalize,
        "test": test,
        "text_test": text_test,
    }
    exec(compile(source, f"<filter on {reader.name}>", "exec"), namespace)  # noqa: S102 - code built above
    return namespace["predicate"]


__all__ = ["fused_keyword_predicate"]
