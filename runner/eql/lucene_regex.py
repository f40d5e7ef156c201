"""Lucene `RegExp` syntax (what Elasticsearch's `regex`/`regex~` run) translated to Python's `re`.

Lucene regular expressions always match the whole value, have no lazy quantifiers (`a+?` means `(a+)?`), treat `"..."`
as a literal string, `@` as any string, `#` as the empty language, `<1-10>` as a numeric interval, `~x` as the
complement and `x&y` as an intersection. `\\d \\D \\s \\S \\w \\W` are the usual classes. Every other escaped character
stands for itself. A pattern Lucene rejects raises `LuceneRegexError` with its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from runner.errors import RuleRunnerError


class LuceneRegexError(RuleRunnerError):
    """An invalid Lucene regular expression."""


_CLASS_ESCAPES = {"d": r"\d", "D": r"\D", "s": r"\s", "S": r"\S", "w": r"\w", "W": r"\W"}


@dataclass
class _Parser:
    text: str
    pos: int = 0
    _complement_used: bool = False

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def more(self) -> bool:
        return self.pos < len(self.text)

    def take(self) -> str:
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def fail(self, message: str) -> LuceneRegexError:
        return LuceneRegexError(f"{message} at position {self.pos} in [{self.text}]")

    # union: intersection ('|' union)?
    def union(self, top: bool = False) -> str:
        branches = [self.intersection(top)]
        while self.peek() == "|":
            self.take()
            branches.append(self.intersection(top))
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    # Intersection and complement are languages, not match procedures; Python's re can express them exactly only
    # where the operand must reach the end of the value: the tail of a top-level branch. Elsewhere they are refused.
    def intersection(self, top: bool) -> str:
        start = self.pos
        parts = [self.concatenation(top)]
        while self.peek() == "&":
            if not top:
                raise self.fail("[&] is only supported at the top level of a pattern")
            self.take()
            parts.append(self.concatenation(top))
        if len(parts) == 1:
            return parts[0]
        del start
        return "".join(f"(?=(?:{p})\\Z)" for p in parts[:-1]) + f"(?:{parts[-1]})"

    def concatenation(self, top: bool) -> str:
        out = []
        while self.more() and self.text[self.pos] not in "|&)":
            tail_allowed = top
            atom_start = self.pos
            piece = self.repeat(tail_allowed)
            if self._complement_used and (not top or (self.more() and self.text[self.pos] not in "|&")):
                self.pos = atom_start
                raise self.fail("[~] is only supported at the end of a top-level pattern")
            self._complement_used = False
            out.append(piece)
        return "".join(out)

    def repeat(self, top: bool = False) -> str:
        atom = self.complement()
        if self._complement_used and self.more() and self.text[self.pos] in "?*+{":
            raise self.fail("[~] cannot be repeated")
        while self.more():
            ch = self.peek()
            if ch == "?":
                self.take()
                atom = f"(?:{atom})?"
            elif ch == "*":
                self.take()
                atom = f"(?:{atom})*"
            elif ch == "+":
                self.take()
                atom = f"(?:{atom})+"
            elif ch == "{":
                start = self.pos
                self.take()
                match = re.match(r"(\d+)(?:(,)(\d*))?\}", self.text[self.pos :])
                if match is None:
                    self.pos = start
                    raise self.fail("integer expected in repetition")
                self.pos += match.end()
                low, comma, high = match.group(1), match.group(2), match.group(3)
                if comma is None:
                    atom = f"(?:{atom}){{{low}}}"
                elif high:
                    if int(high) < int(low):
                        raise self.fail("invalid repetition range")
                    atom = f"(?:{atom}){{{low},{high}}}"
                else:
                    atom = f"(?:{atom}){{{low},}}"
            else:
                break
        return atom

    def complement(self) -> str:
        if self.peek() == "~":
            self.take()
            inner = self.complement()
            self._complement_used = True
            # in tail position: the rest of the value, unless it is wholly `inner`
            return f"(?:(?!(?:{inner})\\Z)(?s:.*))"
        return self.char_class_or_atom()

    def char_class_or_atom(self) -> str:
        ch = self.peek()
        if ch is None:
            raise self.fail("unexpected end of pattern")
        if ch == "[":
            return self.char_class()
        return self.atom()

    def char_class(self) -> str:
        self.take()  # [
        negate = False
        if self.peek() == "^":
            self.take()
            negate = True
        items: list[str] = []
        first = True
        while True:
            ch = self.peek()
            if ch is None:
                raise self.fail("expected ']'")
            if ch == "]" and not first:
                self.take()
                break
            first = False
            low = self.class_char()
            if self.peek() == "-" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] != "]":
                self.take()
                high = self.class_char()
                if low in _CLASS_ESCAPES.values() or high in _CLASS_ESCAPES.values():
                    raise self.fail("illegal character range")
                items.append(f"{low}-{high}")
            else:
                items.append(low)
        if not items:
            raise self.fail("empty character class")
        return "[" + ("^" if negate else "") + "".join(items) + "]"

    def escaped(self) -> str:
        """After a backslash: a class shorthand (`\\d`...) or the next character as itself."""
        if not self.more():
            raise self.fail("expected character after escape")
        esc = self.take()
        return _CLASS_ESCAPES.get(esc) or re.escape(esc)

    def class_char(self) -> str:
        ch = self.take()
        if ch == "\\":
            return self.escaped()
        if ch in "[]\\^-":
            return "\\" + ch
        return re.escape(ch)

    def atom(self) -> str:
        ch = self.take()
        if ch == ".":
            return "(?s:.)"
        if ch == "#":
            return "(?!)"
        if ch == "@":
            return "(?s:.*)"
        if ch == "(":
            if self.peek() == ")":
                self.take()
                return ""
            inner = self.union(top=False)
            if self.peek() != ")":
                raise self.fail("expected ')'")
            self.take()
            return f"(?:{inner})"
        if ch == '"':
            end = self.text.find('"', self.pos)
            if end < 0:
                raise self.fail("expected '\"'")
            literal = self.text[self.pos : end]
            self.pos = end + 1
            return re.escape(literal)
        if ch == "<":
            end = self.text.find(">", self.pos)
            match = re.fullmatch(r"(\d+)-(\d+)", self.text[self.pos : end]) if end > 0 else None
            if match is None:
                raise self.fail("interval syntax error")
            self.pos = end + 1
            return _interval(int(match.group(1)), int(match.group(2)), len(match.group(1)), len(match.group(2)))
        if ch == "\\":
            return self.escaped()
        if ch in ")]":
            raise self.fail(f"unexpected '{ch}'")
        if ch in "*+?{":
            raise self.fail(f"nothing to repeat with '{ch}'")
        return re.escape(ch)


def _interval(low: int, high: int, low_width: int, high_width: int) -> str:
    """`<low-high>`: bounds written with the same number of digits mean fixed-width, zero-padded numbers (Lucene's
    `makeDecimalInterval(min, max, digits)`); otherwise any number of leading zeros is accepted."""
    if low > high:
        low, high = high, low
    width = low_width if low_width == high_width else 0
    branches = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        lo = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        hi = min(high, 10**digits - 1)
        if lo > hi:
            continue
        pad = "0" * (width - digits) if width else ""
        branches.append(pad + _same_length_range(str(lo), str(hi)))
    body = "(?:" + "|".join(branches) + ")"
    return body if width else "0*" + body


def _same_length_range(lo: str, hi: str) -> str:
    """A regex for the decimal numbers from lo to hi, both written with the same number of digits."""
    if lo == hi:
        return lo
    if len(lo) == 1:
        return f"[{lo}-{hi}]"
    if lo[0] == hi[0]:
        return lo[0] + _same_length_range(lo[1:], hi[1:])
    rest = len(lo) - 1
    parts = [lo[0] + _same_length_range(lo[1:], "9" * rest)]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}]" + "[0-9]" * rest)
    parts.append(hi[0] + _same_length_range("0" * rest, hi[1:]))
    return "(?:" + "|".join(parts) + ")"


@lru_cache(maxsize=1024)
def compile_lucene_regex(pattern: str, case_insensitive: bool = False) -> re.Pattern[str]:
    """Compile a Lucene regular expression; the result must be used with `fullmatch`."""
    parser = _Parser(pattern)
    translated = parser.union(top=True)
    if parser.more():
        raise parser.fail(f"unexpected '{parser.peek()}'")
    flags = re.IGNORECASE if case_insensitive else 0
    try:
        return re.compile(translated, flags)
    except re.error as err:  # pragma: no cover - translation bug guard
        raise LuceneRegexError(f"{err} in [{pattern}]") from None


def validate_lucene_regex(pattern: str) -> None:
    compile_lucene_regex(pattern)


__all__ = ["LuceneRegexError", "compile_lucene_regex", "validate_lucene_regex"]
