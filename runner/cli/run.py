"""`run`: the service (every enabled rule on its interval), or `--once`: every enabled rule once, then a summary.

The summary of `--once` is a count of rules by status, then one line per rule with hits or errors (every rule with
`--all`), its message shortened; `--format ndjson` prints every execution record in full instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runner.catalog import Rule
from runner.cli.context import CommandError, Context, out, parse_instant
from runner.cli.render import STATUS, Column, shorten, status, status_summary, table
from runner.execution import ExecutionRecord, ExecutionStatus
from runner.service import Service, run_once

_STATUSES = (ExecutionStatus.SUCCEEDED, ExecutionStatus.PARTIAL_FAILURE, ExecutionStatus.FAILED)


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    settings = context.settings
    if not args.once:
        for flag, given in (("--now", args.now is not None), ("--all", args.all), ("--format", args.format)):
            if given:
                raise CommandError(f"{flag} applies to --once (the service runs on the clock and logs each execution)")
    if args.once and args.health_file:
        raise CommandError("--health-file applies to the service, not to --once")
    pinned = parse_instant(args.now) if args.now is not None else None  # a bad --now: refused before any work
    rules = context.runnable_rules()
    backend = context.backend(start=args.once)  # the service waits for its backend (and Kibana) itself
    scheduler = settings.scheduler
    if not args.once:
        Service(
            rules, backend, options=context.options(), max_concurrent_executions=scheduler.max_concurrent_executions,
            first_run_jitter=scheduler.first_run_jitter, misfire_grace_time=scheduler.misfire_grace_time,
            link_rules=context.with_kibana_uuids,
        ).run_forever(health_file=Path(args.health_file) if args.health_file else None)
        return 0
    rules = context.linked_rules(rules)
    now = pinned or parse_instant(None)
    results = run_once(rules, backend, now=now, options=context.options(),
                       max_concurrent_executions=scheduler.max_concurrent_executions)
    if args.format == "ndjson":
        for _rule, record in results:
            sys.stdout.write(json.dumps(record.to_dict(), separators=(",", ":"), default=str) + "\n")
    else:
        summarise(results, title=f"{len(results):,} rule(s) run once at {now.isoformat()}", every=args.all)
    return 1 if any(record.status == ExecutionStatus.FAILED for _, record in results) else 0


def summarise(results: list[tuple[Rule, ExecutionRecord]], *, title: str, every: bool) -> None:
    """Counts by status, then the rules worth a look (hits or a failure), or every rule."""
    numbers = ("hits", "alerts", "duplicates")
    out.print(status_summary(title, ((r.status, (r.hits, r.alerts_created, r.duplicates)) for _, r in results),
                             numbers, _STATUSES))
    shown = results if every else [(rule, r) for rule, r in results if r.hits or r.status == ExecutionStatus.FAILED]
    if not shown:
        out.print("no rule had hits or failed (--all lists every rule)")
        return
    shown = sorted(shown, key=lambda item: (item[1].status != ExecutionStatus.FAILED, -item[1].hits, item[0].name))
    heading = ("every rule" if every else
               f"{len(shown):,} of {len(results):,} rule(s) with hits or a failure (--all lists every rule)")
    rows = table(heading + "; messages shortened, in full with --format ndjson and in the logs",
                 [Column("rule"), Column("windows", True), *(Column(n, True) for n in numbers), STATUS,
                  Column("message")])
    for rule, record in shown:
        rows.add_row(rule.name, f"{len(record.windows):,}", f"{record.hits:,}", f"{record.alerts_created:,}",
                     f"{record.duplicates:,}", status(record.status),
                     "" if record.status == ExecutionStatus.SUCCEEDED else shorten(record.message))
    out.print(rows)
