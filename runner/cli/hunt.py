"""`hunt`: every enabled EQL rule over NDJSON files, offline. The whole input is one window (no time range).

It prints a count of rules by status, then one line per rule with hits or a failure (every rule with `--all`), or
with `--format ndjson` one JSON line per rule with its full message.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from runner.cli.context import CommandError, Context, err, out
from runner.cli.query import load_events, streaming_collector
from runner.cli.render import STATUS, Column, shorten, status, status_summary, table
from runner.execution import HuntResult, HuntStatus, hunt

_STATUSES = tuple(HuntStatus)


def check_out(path: Path) -> None:
    """`--out`, checked before any work starts, without side effects: it must be a file that can be written in a
    directory that exists. Missing directories are not created (a mistyped path should not make a tree)."""
    if path.is_dir():
        raise CommandError(f"--out {path}: is a directory; give the file to write (e.g. {path / 'alerts.ndjson'})")
    if not path.parent.is_dir():
        if path.parent.exists():
            raise CommandError(f"--out {path}: {path.parent} is not a directory")
        raise CommandError(f"--out {path}: the directory {path.parent} does not exist (hunt does not create directories)")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):  # opened, not truncated: the file keeps its content until the hunt runs
            pass
    except OSError as error:
        raise CommandError(f"--out {path}: cannot write it: {error.strerror or error}") from None
    if not existed:
        path.unlink()


def open_out(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise CommandError(f"--out {path}: cannot write it: {error.strerror or error}; nothing was hunted", code=1) from None


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    settings = context.settings
    index = settings.alerts.index_name
    if args.out:
        check_out(Path(args.out))
    rules = context.runnable_rules(args.rules)
    began = time.perf_counter()
    sink: list[IO[str]] = []  # opened at the first rule's answer: a refused input leaves `--out` as it was
    written = [0]
    try:
        with Progress(TextColumn("hunt"), BarColumn(), DownloadColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err, transient=True) as progress:
            reading = progress.add_task("rules answered: 0", total=None)
            events = load_events(args.files, args.index,
                                 on_bytes=lambda done: progress.update(reading, completed=done),
                                 templates=context.templates())
            progress.update(reading, total=sum(Path(file).stat().st_size for file in args.files))
            answered = [0]

            def done(result: HuntResult) -> None:
                """A rule's answer, complete (its pass over the input ended): its alerts written at once."""
                if args.out:
                    if not sink:
                        sink.append(open_out(Path(args.out)))
                    try:
                        for alert in result.alerts:
                            sink[0].write(json.dumps({"_index": index, "_id": alert.id, "_source": alert.source},
                                                     separators=(",", ":")) + "\n")
                            written[0] += 1
                    except OSError as error:
                        raise CommandError(f"--out {args.out}: writing failed after {written[0]:,} alerts: "
                                           f"{error.strerror or error}", code=1) from None
                result.alerts = []  # written (or not wanted): the table needs only the counts
                answered[0] += 1
                progress.update(reading, description=f"rules answered: {answered[0]:,} of {len(rules):,}")

            with streaming_collector():
                results = hunt(rules, events, space_id=settings.alerts.space_id, alerts_index=index, on_rule=done)
        if args.out and not sink:  # no rule to answer: the file is still written, empty
            sink.append(open_out(Path(args.out)))
    finally:
        for file in sink:
            file.close()
    elapsed = time.perf_counter() - began
    failed = sum(1 for r in results if r.status == HuntStatus.FAILED)
    with_hits = sum(1 for r in results if r.hits)
    total_alerts = sum(r.alert_count for r in results)
    if args.format == "ndjson":
        for result in results:
            sys.stdout.write(json.dumps({"rule_id": result.rule.rule_id, "name": result.rule.name,
                                         "status": result.status, "hits": result.hits, "alerts": result.alert_count,
                                         "message": result.message}, separators=(",", ":")) + "\n")
    else:
        _summarise(results, title=f"hunt: {len(rules):,} rules over {events.count:,} events", every=args.all)
    (err if args.format == "ndjson" else out).print(
        f"{len(rules):,} rules, {with_hits:,} with hits, {failed:,} failed; {total_alerts:,} alert documents"
        f"{f' written to {args.out}' if args.out else ''}; searched {events.count:,} events in {elapsed:.1f}s")
    return 1 if failed else 0


def _summarise(results: list[HuntResult], *, title: str, every: bool) -> None:
    """Counts by status, then the rules with hits or a failure (every rule with `every`), one line each."""
    out.print(status_summary(title, ((r.status, (r.hits, r.alert_count)) for r in results), ("hits", "alerts"),
                             _STATUSES))
    shown = results if every else [r for r in results if r.hits or r.status == HuntStatus.FAILED]
    if not shown:
        out.print("no rule had hits or failed (--all lists every rule)")
        return
    heading = ("every rule" if every else
               f"{len(shown):,} of {len(results):,} rules with hits or a failure (--all lists every rule)")
    rows = table(heading + "; messages shortened, in full with --format ndjson",
                 [Column("rule"), Column("hits", True), Column("alerts", True), STATUS, Column("message")])
    for result in sorted(shown, key=lambda r: (r.status != HuntStatus.FAILED, -r.hits, r.rule.name)):
        rows.add_row(result.rule.name, f"{result.hits:,}", f"{result.alert_count:,}", status(result.status),
                     shorten(result.message))
    out.print(rows)
