"""`explain`: the windows of a rule's next execution and the exact `_eql/search` requests, secrets redacted."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from rich.text import Text

from runner.alerts import KIBANA_VERSION
from runner.backends import BackendError, build_request, iso
from runner.backends.elasticsearch import ElasticsearchBackend, cluster_info
from runner.cli.context import CommandError, Context, err, out, parse_instant
from runner.execution import plan_windows
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
            raise CommandError(f"rule {args.rule_id} ({known.name}) is a {known.type} rule: not supported yet", code=1)
        raise CommandError(f"unknown rule id {args.rule_id} (rule paths: "
                           f"{', '.join(str(p) for p in settings.rules.paths)})", code=1)
    now = parse_instant(args.now)
    previous, unknown = None, ""
    state: dict = {}
    if settings.backend == "embedded":
        store = context.store(create=False)
        state = (store.rule_state(rule.rule_id) if store is not None else None) or {}
    else:  # the state lives in the cluster; explain still works without it (windows as for a first run)
        try:
            cluster = ElasticsearchBackend.from_settings(settings, KIBANA_VERSION)
            try:
                # the server's identity first: another server's 404 would pass for "no state recorded"
                cluster.cluster = cluster_info(cluster.client)
                state = cluster.rule_state(rule.rule_id) or {}
            finally:
                cluster.close()
        except BackendError as error:
            unknown = f"unknown, Elasticsearch not reached ({error}): windows shown as for a first run"
            if args.format == "json":
                err.print(f"warning: the rule's state was not read: {unknown}")
    if isinstance(state.get("previous_started_at"), str):
        previous = datetime.fromisoformat(state["previous_started_at"])
    plan = plan_windows(from_=rule.params.from_, to=rule.params.to, interval=rule.params.interval,
                        started_at=now, previous_started_at=previous)
    requests = []
    for window in plan.windows:
        request = build_request(rule, window.start, window.end)
        requests.append({"window": {"from": iso(window.start), "to": iso(window.end)}, **request.to_dict()})
    document = {"rule_id": rule.rule_id, "requests": requests}
    if args.format == "json":
        out.print_json(json.dumps(document))
        return 0
    out.print(f"rule {rule.rule_id}: {rule.name}")
    out.print(f"backend: {settings.backend}; interval {rule.params.interval}, from {rule.params.from_}, to {rule.params.to}")
    shown = previous.isoformat() if previous else unknown or "none recorded"
    out.print(f"previous start: {shown}; this start: {now.isoformat()}")
    if plan.gap is not None:
        out.print(Text.assemble(("gap:", "red"), f" {plan.gap.message()}"))
    for number, item in enumerate(requests, 1):
        window = item["window"]
        out.print(Text.assemble("\n", (f"window {number}", "bold"), f": {window['from']} .. {window['to']}"))
        out.print(f"POST /{','.join(item['index'])}/_eql/search?allow_no_indices=true")
        out.print_json(json.dumps(item["body"]))
    if settings.backend == "elasticsearch" and settings.elasticsearch is not None:
        out.print("\nconnection:")
        out.print_json(json.dumps(settings.redacted().get("elasticsearch")))
    return 0
