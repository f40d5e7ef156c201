"""`validate`: the configuration and every rule file; a table by type and status, every error with file:line.

Beyond loading, it checks what the run would otherwise find out late or never:
- a window that would be empty (`from` not earlier than `to`), in a rule file (a load error) or after
  `rules.overrides`;
- rule ids in `rules.include`, `rules.exclude` and `rules.overrides` that name no loaded rule (warnings: the
  configuration may serve several rule sets);
- the fields of each enabled rule's query against the indices it searches, when the backend can tell
  (`Backend.verify`, the first step of a search): the embedded store's mappings, or, before anything was ingested,
  the index templates (shipped and `embedded.templates`) as a cluster with them installed would have them
  (`TemplateVerifier`); or the cluster's `_field_caps` with `--backend` (without it validate never contacts the
  cluster). An unknown field or a type mismatch is an error worded as the execution would report it; a rule whose
  index patterns match no index there is listed as such, not as an error. On the embedded engine, each unknown field
  gets a note telling a typo from a field of an integration the rule does not search (`unknown_field_note`).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from runner.backends import (
    Access,
    BackendError,
    IndexNotFound,
    NoStore,
    QueryError,
    TemplateVerifier,
    describe,
)
from runner.catalog import Catalog, Rule, empty_window
from runner.cli.context import CommandError, Context, err, out
from runner.cli.render import Column, table
from runner.ecs import Template, Templates
from runner.engine import DynamicTemplates
from runner.execution import PlanMode, plan
from runner.ruletypes import FieldSource, Request, prepare, unsupported
from runner.service import Selection, select_rules
from runner.settings import RulesSettings

_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # the fields do not depend on the window: the request of any one
UNMATCHED_SHOWN = 10  # sets of index patterns matching nothing, listed one by one; the rest are counted
PATTERNS_SHOWN = 3  # index patterns named per integration in a note on an unknown field
_UNKNOWN_COLUMN = re.compile(r"Unknown column \[([^\]]+)\]")


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    catalog = context.rules(args.rules)
    rules_settings = context.settings.rules
    selection = select_rules(catalog, selects=rules_settings.selects, overrides=rules_settings.overrides)
    out.print(_types_table(catalog, selection))
    out.print(f"configuration: {context.settings.source or 'built-in defaults'} (backend: {context.settings.backend})")
    for warning in _unknown_rule_ids(catalog, rules_settings, selection):
        err.print(f"warning: {warning}")
    errors = [str(error) for error in catalog.errors] + _empty_windows(selection, rules_settings)
    for error in errors:
        err.print(f"error: {error}")
    if catalog.errors:
        err.print(f"{len(catalog.errors):,} rule file(s) with errors")
    field_errors = _check_fields(context, selection.enabled, contact=args.backend)
    return 1 if errors or field_errors else 0


def _types_table(catalog: Catalog, selection: Selection) -> Table:
    rows = table(f"{catalog.files:,} rule files, {len(catalog.errors):,} with errors",
                 [Column("type", keep=16), Column("rules", True), Column("status", keep=26), Column("enabled", True),
                  Column("disabled", True), Column("excluded", True)])
    loaded = Counter(rule.type for rule in catalog.rules)
    enabled = Counter(rule.type for rule in selection.enabled)
    disabled = Counter(rule.type for rule in selection.rules if not rule.enabled)
    excluded = Counter(rule.type for rule in selection.excluded)
    reasons: dict[str, Counter[str | None]] = {}
    for rule in catalog.rules:
        reasons.setdefault(rule.type, Counter())[unsupported(rule)] += 1
    for kind, count in sorted(loaded.items(), key=lambda item: (-item[1], item[0])):
        status = _status(reasons[kind])
        rows.add_row(kind, f"{count:,}", status, f"{enabled[kind]:,}", f"{disabled[kind]:,}", f"{excluded[kind]:,}")
    rows.add_row("total", f"{len(catalog.rules):,}",
                 f"{len(selection.rules):,} runnable, {len(selection.unsupported):,} skipped",
                 f"{len(selection.enabled):,}", f"{len(selection.rules) - len(selection.enabled):,}",
                 f"{len(selection.excluded):,}", style="bold")
    return rows


def _status(reasons: Counter[str | None]) -> Text:
    """A type's status: runnable, skipped (why), or both with the number skipped and why."""
    skipped = [(reason, count) for reason, count in reasons.most_common() if reason is not None]
    if not skipped:
        return Text("runnable", style="green")
    why = "; ".join(reason for reason, _ in skipped)
    if None not in reasons:
        return Text(f"skipped: {why}")
    return Text(f"runnable; {sum(count for _, count in skipped):,} skipped: {why}")


def _unknown_rule_ids(catalog: Catalog, settings: RulesSettings, selection: Selection) -> list[str]:
    """Rule ids the configuration names that no loaded rule has: a typo, or a rule of another rule set."""
    known = {rule.rule_id for rule in catalog.rules}
    named = [("rules.include.rule_ids", [i for i in settings.include.rule_ids if i not in known]),
             ("rules.exclude.rule_ids", [i for i in settings.exclude.rule_ids if i not in known]),
             ("rules.overrides", list(selection.unknown_overrides))]
    return [f"{where} names rule_id {rule_id}, which no loaded rule has" for where, ids in named for rule_id in ids]


def _empty_windows(selection: Selection, settings: RulesSettings) -> list[str]:
    """Overrides whose `from` leaves a rule's window empty (the rule files' own `from`/`to` are checked at load)."""
    problems = []
    for rule in selection.rules:
        override = settings.overrides.get(rule.rule_id)
        if override is None or override.from_ is None:
            continue
        problem = empty_window(rule.params.from_, rule.params.to)
        if problem is not None:
            problems.append(f"rules.overrides.{rule.rule_id}.from: {problem} (to is set in {rule.path})")
    return problems


def _check_fields(context: Context, rules: tuple[Rule, ...], *, contact: bool) -> list[str]:
    """Each rule's query against its indices' fields, where the backend can tell; the errors (also printed). A
    backend reached over the network is contacted only when asked (`--backend`); a store that does not exist yet
    has no fields to tell."""
    info = describe(context.settings)
    if info.remote and not contact:
        out.print("fields: not checked against the cluster (validate --backend checks them with _field_caps)")
        return []
    templates = None if info.remote else context.templates()
    try:
        backend = context.backend(start=False, check=True, access=Access.EXISTING)
    except NoStore as error:
        assert templates is not None  # only the embedded store can be missing
        where = f"the index templates ({error}: nothing ingested yet; as a cluster with the templates installed)"
        return _report_fields(TemplateVerifier(templates), where, rules, templates)
    with backend:
        return _report_fields(backend, backend.where, rules, templates)


def unknown_field_note(field: str, patterns: Sequence[str], templates: Templates) -> str:
    """What an unknown field of a rule is: a field of an integration (a template) that the rule's index patterns do
    not reach, or that no index the rule searches was created from; a field only a template's dynamic templates map,
    once a document brings it (a cluster does not know it before either); or a field no template maps (a typo, or a
    field only documents bring: the error's "did you mean" is the hint)."""
    defining = templates.defining(field)
    if defining:
        reached = any(t.reached_by(pattern) for t in defining for pattern in patterns)
        if reached:
            return (f"[{field}] is a field of {_owners(defining)}, but no index the rule searches was created from "
                    "that template")
        return f"[{field}] is a field of {_owners(defining)}, which the rule's index patterns do not reach"
    dynamic = [t for t in templates if (d := DynamicTemplates.of(t.mappings)) is not None and d.names(field)]
    if dynamic:
        return (f"[{field}] is mapped only by a dynamic template of {_owners(dynamic)}: an index knows it once a "
                "document has it, as on a cluster")
    return f"[{field}] is mapped by no index template rule-runner knows: a typo, or a field only events bring"


def _owners(owners: list[Template]) -> str:
    """Templates as the notes name them: each integration's title with its index patterns (the first few)."""
    by_title: dict[str, list[str]] = defaultdict(list)
    for template in owners:
        by_title[template.title].extend(template.index_patterns)
    named = []
    for title, found in by_title.items():
        more = len(found) - PATTERNS_SHOWN
        named.append(f"{title} ({', '.join(found[:PATTERNS_SHOWN])}{f' and {more} more' if more > 0 else ''})")
    return "; ".join(named)


class _Verifier(FieldSource, Protocol):
    def verify(self, request: Request) -> None: ...


def _report_fields(verifier: _Verifier, where: str, rules: tuple[Rule, ...],
                   templates: Templates | None) -> list[str]:
    """Check every rule (with a progress bar), print a summary line, the index patterns matching nothing and the
    errors (with `templates`, a note on each unknown field); return the errors."""
    errors: list[str] = []
    unmatched: dict[tuple[str, ...], int] = defaultdict(int)
    with Progress(TextColumn("fields"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as progress:
        task = progress.add_task("fields", total=len(rules))
        for rule in rules:
            try:
                # the request of a manual execution: the one a run sends, its window aside (a query rule's KQL
                # translated against the fields of its indices there, as a run translates it)
                search = prepare(rule, verifier)
                if search.no_index is not None:
                    raise IndexNotFound(search.no_index)
                verifier.verify(plan(rule, started_at=_NO_TIME, mode=PlanMode.MANUAL, search=search).requests[0])
            except IndexNotFound:
                unmatched[tuple(rule.params.index_patterns)] += 1
            except QueryError as error:
                reason = error.reason.replace("\n", "\n  ")
                if templates is not None:
                    fields = dict.fromkeys(_UNKNOWN_COLUMN.findall(error.reason))
                    reason += "".join(f"\n  note: {unknown_field_note(field, rule.params.index_patterns, templates)}"
                                      for field in fields)
                errors.append(f"{rule.path}: rule.query of rule {rule.rule_id} ({rule.name}) on "
                              f"{rule.params.index_patterns}: {error.es_type}: {reason}")
            except BackendError as failure:
                raise CommandError(f"checking the fields against {where}: {failure}", code=1) from None
            progress.advance(task)
    skipped = sum(unmatched.values())
    out.print(f"fields: {len(rules):,} enabled rule(s) checked against {where}: "
              f"{len(rules) - len(errors) - skipped:,} ok, {len(errors):,} with errors, {skipped:,} whose index "
              "patterns match no index there (not checked)")
    ranked = sorted(unmatched.items(), key=lambda item: (-item[1], item[0]))
    for patterns, count in ranked[:UNMATCHED_SHOWN]:
        out.print(f"  no index matches {list(patterns)}: {count:,} rule(s)")
    if len(ranked) > UNMATCHED_SHOWN:
        rest = sum(count for _, count in ranked[UNMATCHED_SHOWN:])
        out.print(f"  and {len(ranked) - UNMATCHED_SHOWN:,} more sets of index patterns matching no index: "
                  f"{rest:,} rule(s)")
    for message in errors:
        err.print(f"error: {message}")
    return errors
