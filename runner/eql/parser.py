"""Text → parse tree, with lark's LALR(1) parser, and lark's errors → `EqlSyntaxError` in Elasticsearch's words."""

from __future__ import annotations

import contextlib
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from runner.eql.errors import EqlSyntaxError

# How ANTLR (and so Elasticsearch) names the tokens it expected, in Elasticsearch's token order (EqlBase.tokens);
# terminals not listed show their literal text.
_TOKEN_NAMES: dict[str, tuple[str, ...]] = {
    "IDENTIFIER": ("IDENTIFIER",),
    "QUOTED_IDENTIFIER": ("QUOTED_IDENTIFIER",),
    "STRING": ("STRING",),
    "INTEGER": ("INTEGER_VALUE",),
    "DECIMAL": ("DECIMAL_VALUE",),
    "INDEX": ("'['",),
    "COMPARISON": ("'=='", "'!='", "'<'", "'<='", "'>'", "'>='"),
    "$END": ("<EOF>",),
}
_ES_TOKEN_ORDER = [
    "<EOF>", "'and'", "'any'", "'by'", "'false'", "'in'", "'in~'", "'join'", "'like'", "'like~'", "'maxspan'",
    "'not'", "'null'", "'of'", "'or'", "'regex'", "'regex~'", "'sample'", "'sequence'", "'true'", "'until'",
    "'where'", "'with'", "':'", "'='", "'=='", "'!='", "'<'", "'<='", "'>'", "'>='", "'+'", "'-'", "'*'", "'/'",
    "'%'", "'.'", "','", "'['", "']'", "'('", "')'", "'|'", "'?'", "'!['", "STRING", "INTEGER_VALUE",
    "DECIMAL_VALUE", "IDENTIFIER", "QUOTED_IDENTIFIER", "TILDE_IDENTIFIER",
]
_ORDER = {name: i for i, name in enumerate(_ES_TOKEN_ORDER)}
# Tokens that only continue an operand in one alternative of a rule: `a (` a function call, `a of` a process check,
# `a ==` a comparison. Elasticsearch's parser predicts its alternative with SLL look-ahead that reads the offending
# token too, so after an operand a misplaced `=` (`process where a = 1`) has already ruled them out and its
# "expecting {...}" omits them (checked by running the parser ATN of x-pack/plugin/eql EqlBase.interp in ANTLR's
# interpreter); lark's LALR state still holds them open.
_PREDICTED_AWAY = frozenset({"LPAR", "OF", "COMPARISON"})


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("runner.eql").joinpath("eql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=False)


@lru_cache(maxsize=1)
def _literal_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for term in _lark().terminals:
        if term.pattern.type == "str":
            names[term.name] = f"'{term.pattern.value}'"
    return names


def _describe(terminal: str) -> tuple[str, ...]:
    if terminal in _TOKEN_NAMES:
        return _TOKEN_NAMES[terminal]
    return (_literal_names().get(terminal, terminal),)


def _end_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    column = len(text) - (text.rfind("\n") + 1) + 1
    return line, column


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "<EOF>"
    return str(token.value).replace("\n", "\\n")


def _expecting(expected: set[str] | frozenset[str]) -> str:
    described = {name for t in expected if not t.startswith("__") for name in _describe(t)}
    if "IDENTIFIER" in described and "INTEGER_VALUE" in described:
        # where an operand may start, Elasticsearch's lexer has a token of its own for a function name written
        # `name~` (functionName: IDENTIFIER | TILDE_IDENTIFIER); our IDENTIFIER covers both spellings
        described.add("TILDE_IDENTIFIER")
    names = sorted(described, key=lambda name: (_ORDER.get(name, len(_ORDER)), name))
    if len(names) == 1:
        return names[0]
    return "{" + ", ".join(names) + "}"


def _translate(text: str, err: UnexpectedInput) -> EqlSyntaxError:
    if isinstance(err, UnexpectedCharacters):
        bad = _unrecognized(text, err.pos_in_stream or 0).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return EqlSyntaxError(err.line, err.column, f"token recognition error at: '{bad}'")
    if isinstance(err, UnexpectedToken):
        token = err.token
        if token.type == "$END":
            line, column = _end_position(text)
        else:
            line, column = token.line or 1, token.column or 1
        expected: set[str] | frozenset[str] = err.expected
        with contextlib.suppress(Exception):
            # lark leaves InteractiveParser.accepts unannotated; it returns the set of terminal names
            expected = err.interactive_parser.accepts() or expected  # type: ignore[no-untyped-call]
        if token.type == "ASGN" and "COMPARISON" in expected:  # after an operand (not where one must start)
            expected = {name for name in expected if name not in _PREDICTED_AWAY}
        return EqlSyntaxError(
            line, column, f"mismatched input '{_token_text(token)}' expecting {_expecting(expected)}"
        )
    if isinstance(err, UnexpectedEOF):
        line, column = _end_position(text)
        return EqlSyntaxError(line, column, f"mismatched input '<EOF>' expecting {_expecting(set(err.expected))}")
    line, column = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
    return EqlSyntaxError(line, column, str(err).splitlines()[0])


_VALID_ESCAPE = set("btnfr\"'\\")


def _unrecognized(text: str, start: int) -> str:
    """The text ANTLR reports for a token it cannot recognise: from the token's start through the failing character."""
    if start >= len(text):
        return ""
    opener = text[start]
    if opener == '"':
        i = start + 1
        while i < len(text):
            ch = text[i]
            if ch in "\r\n":
                return text[start : i + 1]
            if ch == "\\":
                if i + 1 >= len(text):
                    return text[start:]
                nxt = text[i + 1]
                if nxt in _VALID_ESCAPE:
                    i += 2
                    continue
                if nxt == "u":
                    j = i + 2
                    if j < len(text) and text[j] == "{":
                        k = j + 1
                        while k < len(text) and text[k] in "0123456789abcdefABCDEF":
                            k += 1
                        if k > j + 1 and k < len(text) and text[k] == "}":
                            i = k + 1
                            continue
                        return text[start : min(k, len(text) - 1) + 1]
                    return text[start : j + 1] if j < len(text) else text[start:]
                return text[start : i + 2]
            i += 1
        return text[start:]
    if opener == "`":
        end = text.find("`", start + 1)
        return text[start:] if end < 0 else text[start : end + 1]
    return opener


def parse_tree(text: str) -> Tree[Token]:
    """Parse EQL text into lark's tree; raise `EqlSyntaxError` naming `line L:C` on malformed input."""
    try:
        return _lark().parse(text)
    except UnexpectedInput as err:
        raise _translate(text, err) from None


__all__ = ["parse_tree"]
