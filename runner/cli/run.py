"""`run`: the service (every enabled rule on its interval), or `--once`: every enabled rule once, then a summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from runner.cli.context import CommandError, Context, out, parse_instant
from runner.service import Service, run_once


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    settings = context.settings
    if not args.once and args.now is not None:
        raise CommandError("--now applies to --once (the service runs on the clock)")
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
    table = Table(title=f"{len(results)} rule(s) run once at {now.isoformat()}")
    for column in ("rule", "windows", "hits", "alerts", "duplicates", "status", "message"):
        table.add_column(column, justify="right" if column in ("windows", "hits", "alerts", "duplicates") else "left",
                         overflow="fold")
    for rule, record in results:
        style = {"failed": "red", "partial failure": "yellow"}.get(record.status, "green")
        table.add_row(rule.name, str(len(record.windows)), f"{record.hits:,}", f"{record.alerts_created:,}",
                      f"{record.duplicates:,}", f"[{style}]{record.status}[/]",
                      "" if record.status == "succeeded" else record.message[:300])
    out.print(table)
    return 1 if any(record.status == "failed" for _, record in results) else 0
