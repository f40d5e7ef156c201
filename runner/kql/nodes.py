"""The KQL syntax tree, shaped like Kibana's kuery AST so the translation can follow Kibana function by function.

Kibana's tree has three node types: literals (a string, `true`, `false` or `null`; quoted or not), wildcards (an
unquoted literal with at least one unescaped `*`) and functions (`is`, `range`, `and`, `or`, `not`, `nested`).
Here each is a frozen dataclass (a literal is a `Scalar`: `Literal` is typing's):

- `Scalar(value, quoted)`: `value` is a `str`, or `True` / `False` / `None` for the unquoted words. Numbers stay
  strings, as in Kibana (`pid: 4` gives `"4"`).
- `Wildcard(parts)`: the text between the wildcards: `a*b*` is `("a", "b", "")`, a lone `*` is `("", "")`.
- `Is(field, value)`: `field:value`; a bare value (free text) has `Scalar(None)` as its field, and the empty query
  is `Is(*, *)`, as Kibana builds them.
- `Range(field, operator, value)`: `field < value` with `operator` one of `lt`, `lte`, `gt`, `gte`.
- `And(children)` / `Or(children)`: flat (n-ary) chains, as Kibana's grammar builds them; `Not(child)`.
- `Nested(path, query)`: `path:{ query }`; field names inside are relative to the path.

`field:(a or b)` is no node of its own: like Kibana, the parser distributes the field over the value list
(`Or(Is(field, a), Is(field, b))`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Kibana's marker for an unescaped `*` inside a wildcard's text (kept so odd inputs split exactly as Kibana's do)
WILDCARD_SYMBOL = "@kuery-wildcard@"

RangeOperator = Literal["lt", "lte", "gt", "gte"]


@dataclass(frozen=True, slots=True)
class Scalar:
    value: str | bool | None
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Wildcard:
    parts: tuple[str, ...]

    @property
    def is_lone(self) -> bool:
        """Just `*` (an exists query as a value, every field as a field name)."""
        return self.parts == ("", "")

    @property
    def has_leading_wildcard(self) -> bool:
        return not self.is_lone and self.parts[0] == ""

    def text(self) -> str:
        """The pattern with `*` for each wildcard and nothing escaped (Kibana's `toElasticsearchQuery`)."""
        return "*".join(self.parts)

    def query_string(self) -> str:
        """The pattern for a `query_string` / `wildcard` query: each literal part escaped for query_string syntax."""
        return "*".join(_escape_query_string(part) for part in self.parts)

    def matches(self, name: str) -> bool:
        """Whether a field name matches this pattern (`*` matches any run of characters, newlines included)."""
        if len(name) < sum(map(len, self.parts)):
            return False
        first, *middle, last = self.parts
        if not name.startswith(first):
            return False
        position = len(first)
        for part in middle:
            found = name.find(part, position)
            if found < 0:
                return False
            position = found + len(part)
        return name.endswith(last) and len(name) - len(last) >= position


Value = Scalar | Wildcard

_QUERY_STRING_RESERVED = frozenset('+-=&|><!(){}[]^"~*?:\\/')


def _escape_query_string(text: str) -> str:
    return "".join("\\" + char if char in _QUERY_STRING_RESERVED else char for char in text)


@dataclass(frozen=True, slots=True)
class Is:
    field: Value
    value: Value


@dataclass(frozen=True, slots=True)
class Range:
    field: Value
    operator: RangeOperator
    value: Value


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Nested:
    path: Value
    query: Node


Node = Is | Range | And | Or | Not | Nested


def children(node: Node) -> tuple[Node, ...]:
    """The sub-queries of a node, in order (none for `Is` and `Range`)."""
    if isinstance(node, And | Or):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, Nested):
        return (node.query,)
    return ()


__all__ = [
    "WILDCARD_SYMBOL",
    "And",
    "Is",
    "Scalar",
    "Nested",
    "Node",
    "Not",
    "Or",
    "Range",
    "RangeOperator",
    "Value",
    "Wildcard",
    "children",
]


def field_names(node: Node) -> list[str]:
    """The field names a query names, each once in order of appearance (full names inside nested groups; patterns
    with `*` as written), as Kibana's `getKqlFieldNamesFromExpression` lists them; free text names none."""
    names: dict[str, None] = {}
    stack: list[tuple[Node, str]] = [(node, "")]
    while stack:
        current, prefix = stack.pop()
        if isinstance(current, (Is, Range)):
            field = current.field
            if isinstance(field, Wildcard):
                names[prefix + field.text()] = None
            elif isinstance(field.value, str):
                names[prefix + field.value] = None
        elif isinstance(current, (And, Or)):
            stack.extend((child, prefix) for child in reversed(current.children))
        elif isinstance(current, Not):
            stack.append((current.child, prefix))
        else:
            path = current.path.text() if isinstance(current.path, Wildcard) else str(current.path.value)
            stack.append((current.query, f"{prefix}{path}."))
    return list(names)
