"""JSON text read exactly as Python's `json` reads it, at orjson's speed: the one decision for every line of a user's
file (the NDJSON reader) and every document the embedded store gives back.

orjson takes half `json`'s time, but reads a few texts differently, silently or not: an integer beyond 64 bits
becomes a float (precision lost), and it refuses NaN, Infinity, a number beyond a double's range and a lone
surrogate, which `json` reads (and `json.dumps` writes). A text with 19 digits in a row (the shortest integer that
may not fit 64 bits; found at C speed with `bytes.translate` and `find`, about 1 µs for a 1.5 kB line) is read by
`json`, and so is every text orjson refuses, so a bad one fails with `json`'s error and words. Digits inside a
string only cost that text the slower parse.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS = bytes(ord("0") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256))
_LONG_NUMBER = b"0" * 19


def read_json(text: bytes | str) -> Any:
    """The value of one JSON text, as `json.loads` reads it; `json.JSONDecodeError` (or `UnicodeDecodeError` for
    bytes that are not UTF-8) when it is not JSON."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.translate(_DIGITS).find(_LONG_NUMBER) == -1:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


__all__ = ["read_json"]
