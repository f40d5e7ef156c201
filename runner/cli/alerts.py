"""`alerts`: the alerts in the configured backend (the embedded store, or behind the Elasticsearch alerts alias), read
through the `Backend` interface, as a table or one JSON document per line. The table has one line per alert (its
reason shortened); `--format ndjson` has everything."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from runner.backends import Access, BackendError, NoStore
from runner.cli.context import CommandError, Context, out
from runner.cli.render import Column, shorten, table


def _checked(alerts: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    try:
        yield from alerts
    except BackendError as error:
        raise CommandError(str(error), code=1) from None


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    everything = args.format == "ndjson" or args.all
    try:
        backend = context.backend(start=False, check=True, access=Access.READ)
    except NoStore as error:
        raise CommandError(f"{error} (nothing ingested or run yet)", code=1) from None
    with backend:
        return _print(args, _checked(backend.list_alerts(rule_id=args.rule, include_building_blocks=everything)))


def _print(args: argparse.Namespace, alerts: Iterator[dict[str, Any]]) -> int:
    if args.format == "ndjson":
        for alert in alerts:
            sys.stdout.write(json.dumps(alert, separators=(",", ":")) + "\n")
        return 0
    rows = table("alerts" + (f" of rule {args.rule}" if args.rule else ""),
                 [Column("time", keep=19), Column("rule"), Column("kind", keep=14), Column("severity", keep=8),
                  Column("reason"), Column("id", keep=8)])
    count = 0
    for alert in alerts:
        source = alert["_source"]
        kind = "building block" if "kibana.alert.group.index" in source else (
            "sequence" if "kibana.alert.group.id" in source else "event")
        when = str(source.get("kibana.alert.original_time", source.get("@timestamp", "")))[:19].replace("T", " ")
        reason = shorten(str(source.get("kibana.alert.reason", "")), 160)
        rows.add_row(when, str(source.get("kibana.alert.rule.name", "")), kind,
                     str(source.get("kibana.alert.severity", "")), reason, alert["_id"][:8])
        count += 1
    out.print(rows)
    out.print(f"{count:,} alert(s)" + ("" if args.all else " (building blocks hidden; --all shows them)")
              + "; reasons shortened, in full with --format ndjson")
    return 0
