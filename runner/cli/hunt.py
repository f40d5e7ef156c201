"""`hunt`: every enabled EQL rule over NDJSON files, offline. The whole input is one window (no time range)."""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from runner.alerts import AlertContext, build_alerts
from runner.backends import IndexNotFound, QueryError, build_request
from runner.backends.request import rule_filter
from runner.cli.context import CommandError, Context, err, out
from runner.cli.query import load_events
from runner.service import select_rules


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    catalog = context.rules(args.rules)
    for error in catalog.errors:
        err.print(f"error: {error} (rule skipped)", markup=False)
    settings = context.settings
    selection = select_rules(catalog, selects=settings.rules.selects, overrides=settings.rules.overrides)
    rules = selection.enabled
    if not rules:
        raise CommandError("no enabled EQL rule to run", code=1)
    began = time.perf_counter()
    events = load_events(args.files, args.index)
    loaded = time.perf_counter() - began
    now = datetime.now(timezone.utc)
    execution = str(uuid.uuid4())
    sink = Path(args.out).open("w", encoding="utf-8") if args.out else None
    rows = []
    failed = 0
    total_alerts = 0
    try:
        with Progress(TextColumn("hunt"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            task = progress.add_task("hunt", total=len(rules))
            for rule in rules:
                request = build_request(rule, now, now)
                # the whole input is the window: keep the rule's own filters, drop the time range
                request.body["filter"] = {"bool": {"filter": [rule_filter([f.model_dump(mode="json") for f in rule.params.filters])]}}
                status, message, hits, alerts = "ok", "", 0, []
                try:
                    response = events.eql_search(request)
                    found = response["hits"].get("events") or response["hits"].get("sequences") or []
                    hits = len(found)
                    alerts = build_alerts(response, AlertContext(
                        rule=rule, execution_uuid=execution, now=now, space_id=settings.alerts.space_id,
                        execution_type="manual", intended_timestamp=now, alerts_index=settings.alerts.index_name))
                    if hits >= rule.params.max_signals:
                        status, message = "max signals", f"reached max_signals ({rule.params.max_signals}); more may match"
                except IndexNotFound:
                    status = "no index"
                except QueryError as error:
                    status, message = "failed", f"{error.es_type}: {error.reason}"
                    failed += 1
                if sink is not None:
                    for alert in alerts:
                        sink.write(json.dumps({"_index": settings.alerts.index_name, "_id": alert.id,
                                               "_source": alert.source}, separators=(",", ":")) + "\n")
                total_alerts += len(alerts)
                if hits or status == "failed":
                    rows.append((rule, hits, len(alerts), status, message))
                progress.advance(task)
    finally:
        if sink is not None:
            sink.close()
    elapsed = time.perf_counter() - began
    table = Table(title=f"hunt: {len(rules):,} rules over {events.count:,} events")
    for column in ("rule", "hits", "alerts", "status", "message"):
        table.add_column(column, justify="right" if column in ("hits", "alerts") else "left", overflow="fold")
    for rule, hits, alerts, status, message in sorted(rows, key=lambda row: (-row[1], row[0].name)):
        table.add_row(rule.name, f"{hits:,}", f"{alerts:,}", status, message[:300])
    out.print(table)
    rate = events.count / (elapsed - loaded) if elapsed > loaded else 0.0
    out.print(f"{len(rules):,} rules, {sum(1 for r in rows if r[1]):,} with hits, {failed:,} failed; "
              f"{total_alerts:,} alert documents{f' written to {args.out}' if args.out else ''}; "
              f"load {loaded:.1f}s, rules {elapsed - loaded:.1f}s ({rate:,.0f} events/s per rule pass)")
    return 1 if failed else 0
