"""`ingest`: NDJSON events into the configured backend (the embedded store, or the cluster's data streams) through
the `Backend` interface, with a progress bar; bad lines reported and skipped. The summary line ends with the time the
ingest took and its throughput (documents stored or found already there, per second).

It streams: the reader parses a line at a time and the backend writes in batches (the embedded store: 50,000
documents a transaction), so memory stays flat whatever the files' size. A crash or an interrupted run keeps what
was committed; ingesting the same files again adds only what is missing (documents have ids: their `_id`, or a hash
of their content on the embedded store)."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from runner.backends import Backend, BackendError, StorageDamaged
from runner.cli.context import CommandError, Context, err, out
from runner.cli.ndjson import BadLine, ReadReport, read_documents
from runner.cli.render import report_skipped

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    backend = context.backend(start=False, check=True)
    with backend:
        return _ingest(args, paths, backend)


def _ingest(args: argparse.Namespace, paths: list[Path], backend: Backend) -> int:
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    if args.shift_to_now:
        scanned = ReadReport()
        latest = _latest_timestamp(paths, args.index, scanned)
        if latest is None and scanned.unreadable:
            raise CommandError(f"{scanned.unreadable[0]}. Nothing was ingested.", code=1)
        if latest is None:
            raise CommandError("--shift-to-now: no document with an ISO 8601 @timestamp in the files")
        shift = datetime.now(UTC) - timedelta(seconds=5) - latest

        def transform(doc: dict[str, Any]) -> dict[str, Any]:
            return {**doc, "_source": _shifted(doc["_source"], shift)}
    report = ReadReport()
    started = time.monotonic()
    where: list[tuple[str, int]] = [("", 0)]
    bad_documents: list[BadLine] = []
    total = sum(p.stat().st_size for p in paths)
    with Progress(TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err,
                  transient=True) as progress:
        task = progress.add_task("ingest", total=total)
        done = [0]

        def advanced(position: int) -> None:
            progress.update(task, completed=done[0] + position)

        def documents() -> Iterator[dict[str, Any]]:
            for path in paths:
                for file, line, doc in read_documents([path], index=args.index, report=report, on_bytes=advanced,
                                                      transform=transform):
                    where[0] = (file, line)
                    yield doc
                done[0] += path.stat().st_size

        def on_bad(_doc: Any, reason: str) -> None:
            bad_documents.append(BadLine(where[0][0], where[0][1], reason))

        try:
            result = backend.ingest(documents(), on_bad)
        except StorageDamaged:
            raise  # the store, not this input: said as it is (exit 1)
        except BackendError as error:  # what was written before stays (documents have ids: ingest again to finish)
            raise CommandError(f"ingest into {backend.title} stopped at {where[0][0]}:{where[0][1]}: {error}",
                               code=1) from None
        target = result.target
    seconds = time.monotonic() - started
    report_skipped(report.bad + bad_documents)
    for unreadable in report.unreadable:  # what was read before it is ingested (committed) and counted below
        err.print(f"error: {unreadable}")
    skipped = len(report.bad) + len(bad_documents)
    count = len(report.unreadable)
    incomplete = f", {count:,} file{'s' if count > 1 else ''} not read to the end" if count else ""
    out.print(f"ingested {result.added:,} events into {target} ({result.duplicates:,} already there, "
              f"{skipped:,} bad lines skipped, {report.lines:,} lines read{incomplete}) in {seconds:.1f} s, "
              f"{_rate(result.added + result.duplicates, seconds)} events/s", markup=False)
    if report.unreadable:
        return 1
    return 1 if skipped and not result.added and not result.duplicates else 0


def _rate(events: int, seconds: float) -> str:
    """Events per second, to three significant figures (81,300): a throughput, not a count."""
    if seconds <= 0:
        return f"{events:,}"
    rate = events / seconds
    return f"{round(rate, 2 - len(str(int(rate))) + 1) if rate >= 1 else rate:,.0f}"


def _latest_timestamp(paths: list[Path], index: str | None, report: ReadReport) -> datetime | None:
    latest: datetime | None = None
    for _file, _line, doc in read_documents(paths, index=index or "-", report=report):
        value = doc["_source"].get("@timestamp")
        if isinstance(value, str) and _ISO.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            latest = moment if latest is None or moment > latest else latest
    return latest


def _shifted(value: Any, shift: timedelta) -> Any:
    """Every ISO 8601 date-time string moved by `shift`, keeping its precision and its `Z`."""
    if isinstance(value, dict):
        return {key: _shifted(item, shift) for key, item in value.items()}
    if isinstance(value, list):
        return [_shifted(item, shift) for item in value]
    if isinstance(value, str) and _ISO.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")) + shift
        except ValueError:  # nanosecond fractions: left as they are
            return value
        fraction = value[19:].split("Z")[0].split("+")[0].split("-")[0]
        digits = len(fraction) - 1 if fraction.startswith(".") else 0
        text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if digits:
            text += "." + f"{moment.microsecond:06d}".ljust(digits, "0")[:digits]
        return text + "Z"
    return value
