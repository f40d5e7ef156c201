"""`explain`: the windows of a rule's next execution and the exact requests it sends (`_eql/search` for an EQL
rule; `_search` for a query rule, its KQL translated against the fields of its indices as the backend reports them
— without a backend to ask, as Kibana translates it with no field information, and said so), secrets redacted."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlencode

from rich.text import Text

from runner.backends import (
    Access,
    BackendError,
    CannotOpen,
    NoStore,
    QueryError,
    StorageDamaged,
    TemplateVerifier,
    describe,
)
from runner.catalog import Rule, UuidSource, iso
from runner.cli.context import CommandError, Context, err, opening_failed, out, parse_instant
from runner.execution import plan
from runner.ruletypes import RuleSearch, prepare, unsupported
from runner.service import select_rules


def run(args: argparse.Namespace) -> int:
    context = Context.load(args.config)
    settings = context.settings
    catalog = context.rules()
    selection = select_rules(catalog, overrides=settings.rules.overrides)
    rule = next((r for r in selection.rules if r.rule_id == args.rule_id), None)
    if rule is None:
        known = catalog.get(args.rule_id)
        if known is not None:
            raise CommandError(f"rule {args.rule_id} ({known.name}): {unsupported(known)}", code=1)
        raise CommandError(f"unknown rule id {args.rule_id} (rule paths: "
                           f"{', '.join(str(p) for p in settings.rules.paths)})", code=1)
    rule, uuid_note = _kibana_uuid(context, rule)
    now = parse_instant(args.now)
    try:
        state, unknown, search, fields_note = _state(context, rule, args.format)
    except QueryError as error:  # its query cannot be translated against its indices' fields: what a run meets
        raise CommandError(f"rule {rule.rule_id} ({rule.name}): {error.es_type}: {error.reason}", code=1) from None
    planned = plan(rule, started_at=now, state=state, search=search)
    requests = [{"window": {"from": iso(window.start), "to": iso(window.end)}, "endpoint": request.endpoint,
                 **request.to_dict()} for window, request in planned.searches()]
    uuid = {"uuid": rule.uuid, "source": rule.uuid_source.value, **({"note": uuid_note} if uuid_note else {})}
    document: dict[str, Any] = {"rule_id": rule.rule_id, "rule_uuid": uuid, "requests": requests}
    if fields_note:
        document["fields"] = fields_note
    if args.format == "json":
        out.print_json(json.dumps(document))
        return 0
    out.print(f"rule {rule.rule_id}: {rule.name}")
    out.print(f"rule uuid: {rule.uuid} ({rule.uuid_source.describe()}" + (f"; {uuid_note}" if uuid_note else "") + ")")
    out.print(f"backend: {settings.backend}; interval {rule.params.interval}, from {rule.params.from_}, to {rule.params.to}")
    previous, pending = planned.previous_started_at, planned.pending_since
    shown = (previous.isoformat() if previous and not pending else
             f"none completed; pending since {pending.isoformat()}" if pending else unknown or "none recorded")
    out.print(f"previous start: {shown}; this start: {now.isoformat()}")
    if planned.gap is not None:
        out.print(Text.assemble(("gap:", "red"), f" {planned.gap.message()}"))
    if fields_note:
        out.print(f"fields: {fields_note}")
    for number, item in enumerate(requests, 1):
        window = item["window"]
        out.print(Text.assemble("\n", (f"window {number}", "bold"), f": {window['from']} .. {window['to']}"))
        params = urlencode({key: json.dumps(value) if isinstance(value, bool) else value
                            for key, value in item["params"].items()})
        out.print(f"POST /{','.join(item['index'])}/{item['endpoint']}" + (f"?{params}" if params else ""))
        out.print_json(json.dumps(item["body"]))
    connection = describe(settings).connection
    if connection is not None:
        out.print("\nconnection:")
        out.print_json(json.dumps(connection))
    if settings.kibana.url is not None or settings.kibana.public_base_url is not None:
        out.print("\nkibana:")
        out.print_json(json.dumps(settings.redacted().get("kibana")))
    return 0


def _state(context: Context, rule: Rule, form: str) -> tuple[dict[str, Any], str, RuleSearch, str]:
    """The rule's saved state (empty: none yet), why it is unknown when the backend could not be asked, the rule's
    search prepared as a run prepares it (a query rule's KQL against the fields the backend reports), and a note
    when those fields could not be read. A backend that is not reached (a cluster down, a store busy) leaves the
    windows as for a first run; a store that cannot be opened or is damaged is an error, as for every command."""
    offline = "not read (no backend to ask): the query is translated with no field information"
    try:
        with context.open_backend(Access.READ) as backend:
            backend.check()  # the server's identity first: another server's 404 would pass for "no state recorded"
            state = backend.rule_state(rule.rule_id) or {}
            try:
                search = prepare(rule, backend)
            except QueryError:
                raise
            except BackendError as error:
                return state, "", prepare(rule), f"not read ({error}): the query is translated with no field information"
            return state, "", search, _no_index(rule, search)
    except NoStore:  # nothing ingested yet: the fields of the index templates, as a cluster with them installed
        search = prepare(rule, TemplateVerifier(context.templates()))
        return {}, "", search, ("from the index templates (nothing ingested yet), as a cluster with them installed "
                                "reports them" if search.uses_fields else "")
    except (StorageDamaged, CannotOpen) as error:
        raise opening_failed(error, describe(context.settings)) from None
    except QueryError:
        raise
    except BackendError as error:
        title = describe(context.settings).title
        unknown = f"unknown, {title} not reached ({error}): windows shown as for a first run"
        if form == "json":
            err.print(f"warning: the rule's state was not read: {unknown}")
        search = prepare(rule)
        return {}, unknown, search, offline if search.uses_fields else ""


def _no_index(rule: Rule, search: RuleSearch) -> str:
    if search.no_index is None:
        return ""
    return (f"no index matches {rule.params.index_patterns} ({search.no_index}): a run warns and sends no search; "
            "the request below is what it sends once one exists, translated with no field information")


def _kibana_uuid(context: Context, rule: Rule) -> tuple[Rule, str]:
    """The rule with the uuid `run` would give it, and a note when Kibana was asked and did not provide it."""
    if context.settings.kibana.url is None or rule.uuid_source is UuidSource.OVERRIDE:
        return rule, ""
    space = context.settings.alerts.space_id
    try:
        link = context.kibana_link((rule,))
    except BackendError as error:
        return rule, f"{error}; run would not start"
    assert link is not None
    return link.rules[0], (f"not installed in Kibana (space {space}): its alerts link to no Kibana rule"
                           if link.not_installed else "")
