"""`validate`: the configuration and every rule file; a table by type and status, every error with file:line."""

from __future__ import annotations

import argparse
from collections import Counter

from rich.table import Table

from runner.cli.context import Context, err, out
from runner.catalog import RUNNABLE_TYPES
from runner.service import select_rules


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    catalog = context.rules(args.rules)
    rules_settings = context.settings.rules
    selection = select_rules(catalog, selects=rules_settings.selects, overrides=rules_settings.overrides)
    table = Table(title=f"{catalog.files:,} rule files, {len(catalog.errors):,} with errors")
    for column in ("type", "rules", "status", "enabled", "disabled", "excluded"):
        table.add_column(column, justify="left" if column in ("type", "status") else "right", no_wrap=column == "status")
    loaded = Counter(rule.type for rule in catalog.rules)
    enabled = Counter(rule.type for rule in selection.enabled)
    disabled = Counter(rule.type for rule in selection.rules if not rule.enabled)
    excluded = Counter(rule.type for rule in selection.excluded)
    for kind, count in sorted(loaded.items(), key=lambda item: (-item[1], item[0])):
        status = "[green]runnable[/]" if kind in RUNNABLE_TYPES else "skipped: not supported yet"
        table.add_row(kind, f"{count:,}", status, f"{enabled[kind]:,}", f"{disabled[kind]:,}", f"{excluded[kind]:,}")
    table.add_row("total", f"{len(catalog.rules):,}",
                  f"{len(selection.rules):,} runnable, {len(selection.unsupported):,} skipped",
                  f"{len(selection.enabled):,}", f"{len(selection.rules) - len(selection.enabled):,}",
                  f"{len(selection.excluded):,}", style="bold")
    out.print(table)
    out.print(f"configuration: {context.settings.source or 'built-in defaults'} (backend: {context.settings.backend})")
    for rule_id in selection.unknown_overrides:
        err.print(f"warning: rules.overrides names rule_id {rule_id}, which no loaded rule has")
    for error in catalog.errors:
        err.print(f"error: {error}", markup=False)
    if catalog.errors:
        err.print(f"{len(catalog.errors):,} rule file(s) with errors")
        return 1
    return 0
