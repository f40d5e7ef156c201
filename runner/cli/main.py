"""`rule-runner` (and `python -m runner`): argument parsing and dispatch. Every command takes `--config`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runner.cli.context import CommandError, err
from runner.errors import RuleRunnerError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="rule-runner",
        description="Run Elastic detection rules (EQL) on a schedule, against Elasticsearch or the embedded store.",
    )
    config_help = "the YAML configuration (default: $RULE_RUNNER_CONFIG, else config/runner.yaml)"
    # before the command (`rule-runner --config X run`) or after it (`rule-runner run --config X`): the command's
    # own option is SUPPRESSed when absent, so that it does not overwrite the one given before the command
    top.add_argument("--config", help=config_help)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
        return sub

    validate = command("validate", "check the configuration and every rule file; exit 1 on any error")
    validate.add_argument("--rules", action="append", metavar="PATH", help="rule files or directories instead of the configured ones (repeatable)")
    validate.add_argument("--backend", action="store_true",
                          help="also check the rules' fields against the configured Elasticsearch cluster (_field_caps)")

    run = command("run", "run the service: every enabled rule on its interval")
    run.add_argument("--once", action="store_true", help="run every enabled rule once, print a summary and exit")
    run.add_argument("--now", metavar="ISO8601",
                     help="with --once: the execution start to use (replays, tests), with its time zone "
                          "(2026-01-15T10:05:00Z); at most 5 minutes ahead of the clock")
    run.add_argument("--all", action="store_true", help="with --once: list every rule, not only those with hits or a failure")
    run.add_argument("--format", choices=("table", "ndjson"),
                     help="with --once: a summary table (default) or every execution record as one JSON line")
    run.add_argument("--health-file", metavar="PATH",
                     help="the service rewrites this file every 30 s while it schedules rules (container health checks)")

    ingest = command("ingest", "load NDJSON events (plain documents or _index/_id/_source hits; .gz too) into the embedded store")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--index", help="the index of plain documents (and of hits, overriding their _index)")
    ingest.add_argument("--shift-to-now", action="store_true", help="move every timestamp so the newest event is 5 seconds old")

    hunt = command("hunt", "run every enabled EQL rule over NDJSON files, offline; the whole input is one window")
    hunt.add_argument("files", nargs="+", metavar="FILE")
    hunt.add_argument("--rules", action="append", metavar="PATH", help="rule files or directories instead of the configured ones")
    hunt.add_argument("--out", metavar="FILE", help="write the alerts here as NDJSON")
    hunt.add_argument("--index", help="the index of plain documents")
    hunt.add_argument("--all", action="store_true", help="list every rule, not only those with hits or a failure")
    hunt.add_argument("--format", choices=("table", "ndjson"), default="table",
                      help="a summary table, or one JSON line per rule with its full message")

    query = command("query", "run one EQL query over NDJSON files and print the _eql/search response body")
    query.add_argument("query", metavar="EQL")
    query.add_argument("--events", nargs="+", required=True, metavar="FILE")
    query.add_argument("--size", type=int, default=10)
    query.add_argument("--index", help="the index of plain documents, and the only index searched")
    query.add_argument("--timestamp-field")
    query.add_argument("--tiebreaker-field")
    query.add_argument("--event-category-field")
    query.add_argument("--compact", action="store_true", help="one line of JSON")

    alerts = command("alerts", "list the alerts of the embedded store")
    alerts.add_argument("--rule", metavar="RULE_ID")
    alerts.add_argument("--format", choices=("table", "ndjson"), default="table")
    alerts.add_argument("--all", action="store_true", help="include sequence building blocks in the table")

    explain = command("explain", "print a rule's windows and the exact requests it sends (secrets redacted)")
    explain.add_argument("rule_id", metavar="RULE_ID")
    explain.add_argument("--now", metavar="ISO8601", help="the execution start to explain, with its time zone "
                                                          "(2026-01-15T10:05:00Z); at most 5 minutes ahead")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from runner.cli import alerts, explain, hunt, ingest, query, run, validate

    handlers = {"validate": validate.run, "run": run.run, "ingest": ingest.run, "hunt": hunt.run,
                "query": query.run, "alerts": alerts.run, "explain": explain.run}
    try:
        return handlers[args.command](args)
    except CommandError as error:
        err.print(f"rule-runner {args.command}: {error}", markup=False)
        return error.code
    except RuleRunnerError as error:
        err.print(f"rule-runner {args.command}: {error}", markup=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
