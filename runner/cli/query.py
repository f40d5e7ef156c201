"""`query`: one EQL query over NDJSON files; prints the Elasticsearch-shaped response body."""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runner.backends import REORDER_BUFFER, BackendError, EqlRequest, FileEvents, QueryError
from runner.cli.context import CommandError, Context, err
from runner.cli.ndjson import BadLine, ReadReport, read_documents
from runner.cli.render import report_skipped
from runner.ecs import Templates

BUFFER_VARIABLE = "RULE_RUNNER_REORDER_BUFFER"  # events a file may be out of time order by before it is sorted on disk


class FileInput:
    """The NDJSON files of `hunt` and `query`, as sources `FileEvents` opens once per pass. A bad line is reported
    once (after the first reading of every file), a file that cannot be read to its end stops the pass: the input
    is incomplete, nothing is searched and no alert written. `on_bytes` is told the bytes of the files read so far
    in the current pass."""

    def __init__(self, paths: list[Path], index: str | None, default_index: str | None,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self.paths = paths
        self.index = index
        self.default_index = default_index
        self.on_bytes = on_bytes
        self._positions = [0] * len(paths)
        self._bad: dict[int, list[BadLine]] = {}  # per file, its bad lines, once it was read to its end

    def sources(self) -> list[Callable[[], Iterator[dict[str, Any]]]]:
        return [functools.partial(self._read, number) for number in range(len(self.paths))]

    def _read(self, number: int) -> Iterator[dict[str, Any]]:
        path = self.paths[number]
        report = ReadReport()
        self._positions[number] = 0
        for _file, _line, doc in read_documents([path], index=self.index, report=report,
                                                default_index=self.default_index, on_bytes=self._progress(number)):
            yield doc
        if report.unreadable:  # searching part of the input would report less than it holds: refuse
            raise CommandError(f"{report.unreadable[0]}. Nothing was searched: the input is incomplete.", code=1)
        if number not in self._bad:
            self._bad[number] = report.bad
            if len(self._bad) == len(self.paths):
                report_skipped([bad for n in sorted(self._bad) for bad in self._bad[n]])

    def _progress(self, number: int) -> Callable[[int], None] | None:
        if self.on_bytes is None:
            return None
        on_bytes = self.on_bytes

        def told(position: int) -> None:
            self._positions[number] = position
            on_bytes(sum(self._positions))
        return told


@contextlib.contextmanager
def streaming_collector() -> Iterator[None]:
    """Python's cyclic garbage collector, set for a stream of parsed documents while the block runs: what is loaded
    by then (the program, the rules and their plans) is frozen out of its walks (`gc.freeze`), and it runs every
    100,000 allocations of containers instead of 700. Parsed documents form no cycles (reference counting frees
    them), but each is some 30 containers, so at the default the collector would walk the reorder buffer's
    documents again and again: 10-15% of a hunt, measured. The setting is undone after the block."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def load_events(files: list[str], index: str | None, default_index: str | None = None,
                on_bytes: Callable[[int], None] | None = None, templates: Templates | None = None) -> FileEvents:
    """The files as `FileEvents`, checked to exist; nothing is read until the first search. `templates` give each
    index its starting mapping (default: the shipped ones)."""
    paths = [Path(p) for p in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    buffer = os.environ.get(BUFFER_VARIABLE)
    try:
        size = int(buffer) if buffer else REORDER_BUFFER
        if size < 1:
            raise ValueError
    except ValueError:
        raise CommandError(f"{BUFFER_VARIABLE}={buffer!r}: give a number of events, at least 1") from None

    def sorting(number: int) -> None:
        err.print(f"{paths[number]} is out of time order beyond {size:,} events ({BUFFER_VARIABLE}): "
                  "sorting it on disk")
    return FileEvents(FileInput(paths, index, default_index, on_bytes).sources(), buffer=size, on_sorting=sorting,
                      templates=templates)


def run(args: argparse.Namespace) -> int:
    events = load_events(args.events, args.index, default_index="events",
                         templates=Context.load(args.config).templates())
    body = {"query": args.query, "size": args.size}
    if args.timestamp_field:
        body["timestamp_field"] = args.timestamp_field
    if args.tiebreaker_field:
        body["tiebreaker_field"] = args.tiebreaker_field
    if args.event_category_field:
        body["event_category_field"] = args.event_category_field
    request = EqlRequest(("*", ".*") if not args.index else (args.index,), body)
    try:
        with streaming_collector():
            response = _search(events, request)
    except QueryError as error:
        raise CommandError(f"{error.es_type}: {error.reason}", code=1) from None
    json.dump(response, sys.stdout, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0


def _search(events: FileEvents, request: EqlRequest) -> dict[str, Any]:
    """One pass when the query can go through the batched search (mappings grown while reading); otherwise (a custom
    timestamp, tiebreaker or category field, a query that does not parse: its error comes from the search) a pass
    that maps, then the search (`FileEvents.search_many` decides)."""
    [answer] = events.search_many([request])
    if isinstance(answer, BackendError):
        raise answer
    return answer
