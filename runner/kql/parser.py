"""Text → `nodes.Node`, with lark's LALR(1) parser over kql.lark, and lark's errors → `KqlSyntaxError`.

Kibana parses KQL with a peggy (PEG) grammar; kql.lark accepts the same language: the places where a PEG decides by
ordered choice and look-ahead (where an unquoted literal ends, which words are keywords) are decided inside the
terminals' regular expressions, so the rest is context-free and LALR(1). Two things follow from LALR:

- parsing is linear: Kibana's 8.9 parser backtracks exponentially on nested parentheses (depth 10 takes seconds);
  here 5,000 levels parse in milliseconds;
- no recursion: lark reduces with an explicit stack and calls `_Build`'s methods as it reduces, so the tree is built
  bottom-up without Python recursion (a value list is distributed over its field with an explicit stack too).

Literals are decoded here, as Kibana's grammar actions do: unquoted ones are trimmed (JavaScript's `trim`), `true` /
`false` / `null` become those values, an unescaped `*` makes a `Wildcard`; quoted ones keep everything except their
escapes (`\\"`, `\\\\`, `\\t` `\\r` `\\n`, `\\uXXXX`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from runner.kql.errors import KqlSyntaxError
from runner.kql.nodes import (
    WILDCARD_SYMBOL,
    And,
    Is,
    Nested,
    Node,
    Not,
    Or,
    Range,
    RangeOperator,
    Scalar,
    Value,
    Wildcard,
)

SPECIAL = frozenset('\\():<>"*{}')
# JavaScript's String.prototype.trim: WhiteSpace and LineTerminator (not Python's str.strip set)
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ESCAPED_WHITESPACE = {"t": "\t", "r": "\r", "n": "\n"}
_HEX = frozenset("0123456789abcdefABCDEF")
_RANGE_OPERATORS: dict[str, RangeOperator] = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_LEADING_WILDCARDS = "Leading wildcards are disabled. See query:allowLeadingWildcards in Advanced Settings."

# how an error names what was expected, in this order (Kibana's words)
_EXPECTED = {
    "LPAR": '"("', "LBRACE": '"{"', "RPAR": '")"', "RBRACE": '"}"', "COLON": '":"',
    "RANGE_OP": '"<", "<=", ">", ">="', "_AND": "AND", "_OR": "OR", "_NOT": "NOT", "QUOTED": "value",
    "UNQUOTED": "value", "$END": "end of input",
}


def _unquoted(text: str) -> Value:
    """An unquoted literal's value (its token text is already known to be well-formed)."""
    chars: list[str] = []
    wildcard = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            following = text[i + 1]
            if following in _ESCAPED_WHITESPACE:
                chars.append(_ESCAPED_WHITESPACE[following])
                i += 2
            elif following in SPECIAL:
                chars.append(following)
                i += 2
            elif following == "u" and len(text) >= i + 6 and all(c in _HEX for c in text[i + 2:i + 6]):
                chars.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
            else:  # an escaped keyword, as written
                length = 3 if text[i + 1:i + 4].lower() in ("and", "not") else 2
                chars.append(text[i + 1:i + 1 + length])
                i += 1 + length
        elif char == "*":
            chars.append(WILDCARD_SYMBOL)
            wildcard = True
            i += 1
        else:
            chars.append(char)
            i += 1
    sequence = "".join(chars).strip(_JS_WHITESPACE)
    if sequence == "null":
        return Scalar(None)
    if sequence == "true":
        return Scalar(True)
    if sequence == "false":
        return Scalar(False)
    if wildcard:
        return Wildcard(tuple(sequence.split(WILDCARD_SYMBOL)))
    return Scalar(sequence)


def _quoted(text: str) -> Scalar:
    body = text[1:-1]
    chars: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            if following in _ESCAPED_WHITESPACE:
                chars.append(_ESCAPED_WHITESPACE[following])
                i += 2
                continue
            if following == "u" and len(body) >= i + 6 and all(c in _HEX for c in body[i + 2:i + 6]):
                chars.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            if following in '\\"':
                chars.append(following)
                i += 2
                continue
        chars.append(char)
        i += 1
    return Scalar("".join(chars), quoted=True)


@dataclass(frozen=True, slots=True)
class _Token:
    """A decoded literal with where it starts (for the one error found after lexing: leading wildcards)."""

    value: Value
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _ValueOp:
    """`and` / `or` / `not` inside `field:( ... )`, before the field is distributed over it."""

    kind: str
    items: tuple[_ValueOp | Value, ...]


def _distribute(field: Value, tree: _ValueOp | Value) -> Node:
    """`field:(a or (b and not c))` → `Or(Is(field, a), And(Is(field, b), Not(Is(field, c))))`, without recursion."""
    results: list[Node] = []
    stack: list[tuple[_ValueOp | Value, bool]] = [(tree, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, _ValueOp):
            results.append(Is(field, item))
        elif not done:
            stack.append((item, True))
            stack.extend((child, False) for child in reversed(item.items))
        else:
            count = len(item.items)
            operands = tuple(results[-count:])
            del results[-count:]
            results.append(Not(operands[0]) if item.kind == "not" else And(operands) if item.kind == "and" else Or(operands))
    return results[0]


class _Build(Transformer[Token, Node]):
    """Rule callbacks, run by lark's LALR parser as it reduces (kql.lark names the rules)."""

    def __init__(self, allow_leading_wildcards: bool) -> None:
        super().__init__()
        self.allow_leading_wildcards = allow_leading_wildcards

    def start(self, items: list[Node]) -> Node:
        return items[0] if items else Is(Wildcard(("", "")), Wildcard(("", "")))

    def or_query(self, items: list[Node]) -> Node:
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_query(self, items: list[Node]) -> Node:
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_query(self, items: list[Node]) -> Node:
        return Not(items[0])

    def sub_query(self, items: list[Node]) -> Node:
        return items[0]

    def group(self, items: list[Node]) -> Node:
        return items[0]

    def nested(self, items: list[_Token | Node]) -> Node:
        path, query = items
        assert isinstance(path, _Token) and not isinstance(query, _Token)
        return Nested(path.value, query)

    def range(self, items: list[_Token | Token]) -> Node:
        field, operator, value = items
        assert isinstance(field, _Token) and isinstance(value, _Token) and isinstance(operator, Token)
        return Range(field.value, _RANGE_OPERATORS[str(operator)], value.value)

    def field_value(self, items: list[_Token | _ValueOp | Value]) -> Node:
        field, values = items
        assert isinstance(field, _Token) and not isinstance(values, _Token)
        return _distribute(field.value, values)

    def free_value(self, items: list[_Token]) -> Node:
        return Is(Scalar(None), self._value(items[0]))

    def value_group(self, items: list[_ValueOp | Value]) -> _ValueOp | Value:
        return items[0]

    def value(self, items: list[_Token]) -> Value:
        return self._value(items[0])

    def or_values(self, items: list[_ValueOp | Value]) -> _ValueOp | Value:
        return items[0] if len(items) == 1 else _ValueOp("or", tuple(items))

    def and_values(self, items: list[_ValueOp | Value]) -> _ValueOp | Value:
        return items[0] if len(items) == 1 else _ValueOp("and", tuple(items))

    def not_values(self, items: list[_ValueOp | Value]) -> _ValueOp | Value:
        return _ValueOp("not", (items[0],))

    def one_value(self, items: list[_ValueOp | Value]) -> _ValueOp | Value:
        return items[0]

    def literal(self, items: list[Token]) -> _Token:
        token = items[0]
        text = str(token)
        value = _quoted(text) if token.type == "QUOTED" else _unquoted(text)
        return _Token(value, token.line or 1, token.column or 1)

    def _value(self, token: _Token) -> Value:
        if not self.allow_leading_wildcards and isinstance(token.value, Wildcard) and token.value.has_leading_wildcard:
            raise KqlSyntaxError(token.line, token.column, _LEADING_WILDCARDS)
        return token.value


@lru_cache(maxsize=2)
def _lark(allow_leading_wildcards: bool) -> Lark:
    grammar = resources.files("runner.kql").joinpath("kql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=_Build(allow_leading_wildcards),
                maybe_placeholders=False, cache=False)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _expected(names: set[str] | frozenset[str], text: str, offset: int, field_name: bool = False) -> str:
    """What was expected, in Kibana's words and order (peggy sorts the descriptions as strings).

    Kibana also lists `whitespace` where its grammar has optional whitespace outside a named rule: at the start, and
    after `:`, `(`, `{` and a range operator (whose value it calls a `literal`)."""
    described = {_EXPECTED.get(name, name) for name in names}
    if field_name:
        described.add("field name")
    before = text[:offset].rstrip(" \t\r\n\u00a0")
    previous = before[-1:]
    escaped = before[-2:-1] == "\\"
    if not before or (previous in ":({" and not escaped):
        described.add("whitespace")
    elif previous in "<>=" and not escaped and described == {"value"}:
        described = {"literal", "whitespace"}
    return ", ".join(sorted(described))


def _found(token: Token) -> str:
    if token.type == "$END":
        return "end of input"
    if token.type in ("_AND", "_OR", "_NOT"):
        return token.type[1:]
    return f'"{str(token)[:1]}"'  # as Kibana writes it: in quotes, not escaped


def _acceptable(error: UnexpectedToken, after_operand: bool) -> tuple[set[str], bool]:
    """The terminals that would really have been accepted (lark's LALR state also lists those that a default
    reduction would accept and a later state refuse, `)` at the top level: its interactive parser tries each), and
    whether a literal there could be a field name (it could be followed by `:`), which Kibana lists apart."""
    with contextlib.suppress(Exception):
        if error.interactive_parser is not None:
            accepted = set(error.interactive_parser.accepts())  # type: ignore[no-untyped-call]
            # after a complete operand (where a `)`, `}` or the end may follow) `and` / `or` are possible too, but
            # the state lark reached by its default reductions may have closed the chain they would continue
            if accepted & {"RPAR", "RBRACE", "$END"} and after_operand:
                accepted |= {"_AND", "_OR"}
            field_name = False
            if "UNQUOTED" in accepted:
                probe = error.interactive_parser.copy()  # type: ignore[no-untyped-call]
                probe.feed_token(Token("UNQUOTED", "x"))
                field_name = "COLON" in probe.accepts()
            return accepted, field_name
    return set(error.expected), False


def _syntax_error(text: str, error: UnexpectedInput) -> KqlSyntaxError:
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            line, column = _position(text, len(text))
        else:
            line, column = token.line or 1, token.column or 1
        offset = len(text) if token.type == "$END" else (token.start_pos or 0)
        accepted, field_name = _acceptable(error, bool(text[:offset].strip(" \t\r\n\u00a0")))
        expected = _expected(accepted, text, offset, field_name)
        return KqlSyntaxError(line, column, f"Expected {expected} but {_found(token)} found.")
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = f'"{text[position]}"'
        expected = _expected(error.allowed or set(), text, position)
        return KqlSyntaxError(error.line, error.column, f"Expected {expected} but {char} found.")
    if isinstance(error, UnexpectedEOF):
        line, column = _position(text, len(text))
        expected = _expected(set(error.expected), text, len(text))
        return KqlSyntaxError(line, column, f"Expected {expected} but end of input found.")
    line, column = _position(text, getattr(error, "pos_in_stream", 0) or 0)
    return KqlSyntaxError(line, column, str(error))


def parse_text(text: str, allow_leading_wildcards: bool = True) -> Node:
    try:
        tree = _lark(allow_leading_wildcards).parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    assert isinstance(tree, Is | Range | And | Or | Not | Nested)
    return tree
