"""The baseline: the `eql` package's PythonEngine (eql 1.0.1), fed the same documents as our engine.

`eql` is a benchmark-only dependency (the `bench` extra); it is imported lazily so the rest of the benchmark can run
without it. Don't name any module of this folder `eql_*`: eql imports every top-level `eql_*` module on sys.path as
a plugin.

How ECS documents become `eql.Event`s: the event type is the first value of `event.category` (Elastic Defend
writes it as a one-element array), the time is `@timestamp` in epoch milliseconds (the engine is configured with
`time_unit=1000` ticks per second, so `maxspan=5s` is 5000 ticks), and the data is the `_source` itself (eql walks
nested dicts for dotted field names).

How queries are adapted (`adapt_query`): eql 1.0.1 compares a field to a value with Python semantics, so an array
field such as `process.args` or `event.type` never equals a string; Elasticsearch matches a multi-valued field when
any of its values matches. The minimal rewrite that keeps Elasticsearch's meaning is `arrayContains(field, v...)`
for `==` and `in` on the fields that are arrays in Elastic Defend data. Lowercase function names that
Elasticsearch accepts (`cidrmatch`) are renamed to eql's spelling. Every rewrite is reported.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

BASELINE_NAME = "eql 1.0.1 PythonEngine"

# fields that are arrays in Elastic Defend documents
ARRAY_FIELDS = ("event.category", "event.type", "process.args", "process.parent.args", "host.ip", "host.mac")
_STRING = r'"(?:[^"\\]|\\.)*"'
_FIELDS = "|".join(re.escape(f) for f in ARRAY_FIELDS)
_EQ_ON_ARRAY = re.compile(rf"(?<![\w.@])({_FIELDS})\s*==\s*({_STRING})")
_IN_ON_ARRAY = re.compile(rf"(?<![\w.@])({_FIELDS})\s+in\s*\(\s*({_STRING}(?:\s*,\s*{_STRING})*)\s*\)")
_WILDCARD_ON_ARRAY = re.compile(rf"(?<![\w.@])({_FIELDS})\s*:\s*[\"(]")
# Elasticsearch resolves function names case-insensitively; eql 1.0.1 knows only its own spelling
_FUNCTION_SPELLING = {"cidrmatch": "cidrMatch", "startswith": "startsWith", "endswith": "endsWith",
                      "stringcontains": "stringContains", "indexof": "indexOf", "arraycontains": "arrayContains"}


def eql_version() -> str:
    try:
        import eql

        return eql.__version__
    except ImportError:
        return "not installed"


def parse(text: str):
    """Parse with eql's Elasticsearch syntax."""
    import eql
    from eql.parser import elasticsearch_syntax

    with elasticsearch_syntax:
        return eql.parse_query(text)


def adapt_query(text: str) -> tuple[str, list[str], str | None]:
    """(text for eql, what was rewritten and why, verbatim parse error or None)."""
    verbatim_error = None
    try:
        parse(text)
    except Exception as err:
        verbatim_error = f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"
    notes: list[str] = []
    out = text

    def eq(m: re.Match) -> str:
        notes.append(f"`{m.group(0)}` -> `arrayContains({m.group(1)}, {m.group(2)})` ({m.group(1)} is an array)")
        return f"arrayContains({m.group(1)}, {m.group(2)})"

    def in_(m: re.Match) -> str:
        values = re.sub(r"\s*,\s*", ", ", m.group(2))
        notes.append(f"`{m.group(1)} in (...)` -> `arrayContains({m.group(1)}, ...)` ({m.group(1)} is an array)")
        return f"arrayContains({m.group(1)}, {values})"

    out = _EQ_ON_ARRAY.sub(eq, out)
    out = _IN_ON_ARRAY.sub(in_, out)
    if _WILDCARD_ON_ARRAY.search(out):
        raise ValueError("a `:` on an array field has no eql 1.0.1 equivalent here; pick another query")
    for lower, spelled in _FUNCTION_SPELLING.items():
        pattern = re.compile(rf"\b{lower}\s*\(")
        if pattern.search(out):
            notes.append(f"`{lower}(` -> `{spelled}(` (eql's spelling)")
            out = pattern.sub(f"{spelled}(", out)
    return out, list(dict.fromkeys(notes)), verbatim_error


_second_cache: dict[str, int] = {}


def _millis(ts: Any) -> int:
    """Epoch milliseconds of `@timestamp` (ISO 8601 with 'Z', the generator's format, fast; anything else, slow)."""
    if isinstance(ts, str) and len(ts) == 24 and ts[19] == "." and ts[23] == "Z":
        head = ts[:19]
        sec = _second_cache.get(head)
        if sec is None:
            if len(_second_cache) > 100_000:
                _second_cache.clear()
            from datetime import datetime

            sec = _second_cache[head] = int(datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp())
        return sec * 1000 + int(ts[20:23])
    if isinstance(ts, (int, float)):
        return int(ts)
    from datetime import datetime

    return int(datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp() * 1000)


def to_events(documents: Iterable[dict[str, Any]]) -> Iterator[Any]:
    """`eql.Event(first event.category, @timestamp ms, _source)` for each document, lazily."""
    from eql import Event

    for doc in documents:
        source = doc["_source"]
        category = source.get("event", {}).get("category")
        if isinstance(category, list):
            category = category[0] if category else "generic"
        yield Event(category or "generic", _millis(source.get("@timestamp")), source)


class Baseline:
    """One query loaded in a fresh PythonEngine; `run(events)` streams eql Events and returns the outputs."""

    def __init__(self, text: str) -> None:
        import eql

        self.outputs: list[Any] = []
        self.engine = eql.PythonEngine({"time_unit": 1000})
        self.engine.add_output_hook(self.outputs.append)
        self.engine.add_query(parse(text))

    def run(self, events: Iterable[Any]) -> list[Any]:
        self.engine.stream_events(events)  # finalizes at the end
        return self.outputs


def result_events(output: Any) -> list[Any]:
    """The eql Events of one output (an AnalyticOutput for sequences and event queries alike)."""
    events = getattr(output, "events", None)
    if events is None:
        return [output]
    return list(events)


def run_timed(text: str, events: list[Any]) -> tuple[float, list[Any]]:
    """Parse, compile and stream already-built eql Events: (seconds, outputs)."""
    started = time.perf_counter()
    outputs = Baseline(text).run(events)
    return time.perf_counter() - started, outputs


__all__ = ["ARRAY_FIELDS", "BASELINE_NAME", "Baseline", "adapt_query", "eql_version", "parse", "result_events",
           "run_timed", "to_events"]
