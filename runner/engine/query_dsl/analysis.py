"""Elasticsearch's `standard` analyzer: Lucene's StandardTokenizer (Unicode word segmentation, UAX#29) + lowercase.

`analyze(text)` gives the terms a `text` / `match_only_text` field indexes for one value, in position order; `match`
and `match_phrase` run the query text through the same function (the standard analyzer is both the index and the
search analyzer of a field that names no other). The analyzer keeps no stop words (its `stopwords` default is
`_none_`) and splits a word longer than `max_token_length` (255) into pieces of 255 characters, as Lucene does.

Word segmentation follows UAX#29's rules as Lucene's tokenizer applies them:
- letters, digits and `_` (ExtendNumLet) join into one word (`foo_bar2`), combining marks and format characters stay
  with the character before them;
- a letter-separator-letter run stays whole when the separator is MidLetter (`:`, `·`) or MidNumLet (`.`, `'`,
  U+2019): `e.g`, `o'neil`, `example.com`, `foo:bar`;
- a digit-separator-digit run stays whole when the separator is MidNum (`,`, `;`) or MidNumLet: `1,000.5`, `10.0.0.1`;
- a word needs a letter or a digit (`___` alone is no token; `_id` is one);
- each Han ideograph and each Hiragana character is a token of its own; Katakana runs join; Southeast Asian scripts
  are kept as runs, as Lucene's <SOUTHEAST_ASIAN> type does;
- emoji (Extended_Pictographic in the symbol blocks) are single tokens, with their variation selectors and joiners.
Lowercasing is Java's per-code-point `Character.toLowerCase` (no final-sigma rule, `İ` → `i`), not Python's
`str.lower`.

Not reproduced, knowingly: Hebrew-letter specifics (WB7a-c), regional-indicator pairs, and emoji ZWJ sequences as
one token (each pictograph is its own token here). They change token boundaries only inside such text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from runner.engine.field_types import lowercase

MAX_TOKEN_LENGTH = 255

# character classes of the segmentation rules
_OTHER, _LETTER, _NUMERIC, _EXTEND_NUM, _KATAKANA, _SINGLE, _EMOJI, _EXTEND = range(8)
_MID_LETTER = frozenset(":\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a")
_MID_NUM = frozenset(",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")
_MID_NUM_LET = frozenset(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")
_LETTER_JOINERS = _MID_LETTER | _MID_NUM_LET
_NUMBER_JOINERS = _MID_NUM | _MID_NUM_LET


@lru_cache(maxsize=8192)
def _class(ch: str) -> int:
    code = ord(ch)
    if ch.isascii():
        if ch.isalpha():
            return _LETTER
        if ch.isdigit():
            return _NUMERIC
        return _EXTEND_NUM if ch == "_" else _OTHER
    category = unicodedata.category(ch)
    if category in ("Mn", "Mc", "Me", "Cf") or 0xFE00 <= code <= 0xFE0F:
        return _EXTEND
    if 0x3040 <= code <= 0x309F:
        return _SINGLE  # Hiragana
    if 0x30A0 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return _KATAKANA
    if (0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF or 0x3005 <= code <= 0x3007):
        return _SINGLE  # Han ideographs
    if category == "So" and (0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF):
        return _EMOJI
    if category == "Nd":
        return _NUMERIC
    if category.startswith("L") or category == "Nl":
        return _LETTER
    if category == "Pc":
        return _EXTEND_NUM
    return _OTHER


def _joins(last: int, following: int) -> bool:
    """Whether two adjacent word characters stay in one word (WB5, WB8-10, WB13, WB13a-b)."""
    if last == _KATAKANA or following == _KATAKANA:
        return {last, following} <= {_KATAKANA, _EXTEND_NUM}
    return last in (_LETTER, _NUMERIC, _EXTEND_NUM) and following in (_LETTER, _NUMERIC, _EXTEND_NUM)


def tokenize(text: str) -> list[str]:
    """The words of `text` as StandardTokenizer emits them (not lowercased)."""
    tokens: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        kind = _class(text[i])
        if kind in (_OTHER, _EXTEND):
            i += 1
            continue
        start = i
        i += 1
        if kind in (_SINGLE, _EMOJI):
            while i < n and _class(text[i]) == _EXTEND:
                i += 1
            tokens.append(text[start:i])
            continue
        core = kind != _EXTEND_NUM
        last = kind
        while i < n:
            ch = text[i]
            following = _class(ch)
            if following == _EXTEND:
                i += 1
                continue
            if following in (_LETTER, _NUMERIC, _EXTEND_NUM, _KATAKANA) and _joins(last, following):
                core = core or following != _EXTEND_NUM
                last = following
                i += 1
                continue
            # a separator between two letters (WB6-7) or two digits (WB11-12)
            joiners = _LETTER_JOINERS if last == _LETTER else _NUMBER_JOINERS if last == _NUMERIC else None
            if joiners is not None and ch in joiners:
                j = i + 1
                while j < n and _class(text[j]) == _EXTEND:
                    j += 1
                if j < n and _class(text[j]) == last:
                    i = j + 1
                    continue
            break
        if core:
            word = text[start:i]
            if len(word) <= MAX_TOKEN_LENGTH:
                tokens.append(word)
            else:
                tokens.extend(word[k : k + MAX_TOKEN_LENGTH] for k in range(0, len(word), MAX_TOKEN_LENGTH))
    return tokens


@lru_cache(maxsize=65536)
def analyze(text: str) -> tuple[str, ...]:
    """The terms the standard analyzer gives for `text`, in position order (position i is the i-th term)."""
    return tuple(lowercase(token) for token in tokenize(text))


__all__ = ["MAX_TOKEN_LENGTH", "analyze", "tokenize"]
