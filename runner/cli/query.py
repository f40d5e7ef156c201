"""`query`: one EQL query over NDJSON files; prints the Elasticsearch-shaped response body."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runner.backends import EqlRequest, MemoryEvents, QueryError
from runner.cli.context import CommandError
from runner.cli.ndjson import ReadReport, read_documents
from runner.cli.render import report_skipped


def load_events(files: list[str], index: str | None, default_index: str | None = None) -> MemoryEvents:
    paths = [Path(p) for p in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    report = ReadReport()
    events = MemoryEvents(doc for _file, _line, doc in read_documents(paths, index=index, report=report,
                                                                         default_index=default_index, keep_going=False))
    report_skipped(report.bad)
    if report.unreadable:  # searching part of the input would report less than it holds: refuse
        raise CommandError(f"{report.unreadable[0]}. Nothing was searched: the input is incomplete.", code=1)
    return events


def run(args: argparse.Namespace) -> int:
    events = load_events(args.events, args.index, default_index="events")
    body = {"query": args.query, "size": args.size}
    if args.timestamp_field:
        body["timestamp_field"] = args.timestamp_field
    if args.tiebreaker_field:
        body["tiebreaker_field"] = args.tiebreaker_field
    if args.event_category_field:
        body["event_category_field"] = args.event_category_field
    try:
        response = events.eql_search(EqlRequest(("*", ".*") if not args.index else (args.index,), body))
    except QueryError as error:
        raise CommandError(f"{error.es_type}: {error.reason}", code=1) from None
    json.dump(response, sys.stdout, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0
