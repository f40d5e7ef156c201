"""Make sure Kibana's Security alerts index (`.alerts-security.alerts-<space>`) exists before anything writes to it.

Run by the compose file's `load-samples` service, before the sample events are ingested. Standard library only.

Why not `POST /api/detection_engine/index`? In Kibana 8.x and 9.x that route only upgrades *legacy*
`.siem-signals-<space>` indices when they already exist; on a fresh cluster it returns `{"acknowledged": true}`
and creates nothing. The alerts-as-data index is created by Kibana's alerting framework: for the `default` space
when the Security rule types register at Kibana start-up, for any other space when a Security rule first runs in
it. So this script:

1. waits (up to `ALERTS_INDEX_WAIT`, default 180 s) for `.alerts-security.alerts-<space>` to exist as an alias
   (or a data stream) in Elasticsearch;
2. if it does not appear, creates a throwaway Security rule through Kibana (`POST /api/detection_engine/rules`,
   enabled, a query that matches nothing), waits again, and deletes the rule.

It fails (exit 1) if the name is taken by a plain index: something wrote alerts before Kibana created its alias, and
the Security app will not work with that index; delete it and start again.

Environment: ES_HOSTS (first URL used), ES_USERNAME, ES_PASSWORD, ES_CA_CERTS, KIBANA_URL, KIBANA_USERNAME and
KIBANA_PASSWORD (default: the Elasticsearch ones), ALERTS_SPACE_ID (default `default`), ALERTS_INDEX_WAIT (seconds).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BOOTSTRAP_RULE_ID = "rule-runner-alerts-index-bootstrap"
KIBANA_API_VERSION = "2023-10-31"


def alerts_alias(space_id: str) -> str:
    return f".alerts-security.alerts-{space_id}"


def classify(resolve_body: dict, name: str) -> str:
    """`alias`, `data_stream`, `index` (a plain index took the name) or `missing`, from a `_resolve/index` body."""
    for kind, key in (("alias", "aliases"), ("data_stream", "data_streams"), ("index", "indices")):
        if any(entry.get("name") == name for entry in resolve_body.get(key, [])):
            return kind
    return "missing"


def space_prefix(space_id: str) -> str:
    return "" if space_id == "default" else f"/s/{urllib.parse.quote(space_id)}"


class Http:
    def __init__(self, base: str, username: str, password: str, cafile: str | None):
        self.base = base.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.context = ssl.create_default_context(cafile=cafile) if self.base.startswith("https:") else None

    def request(self, method: str, path: str, body: object = None, headers: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={**self.headers, **(headers or {})})
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {"raw": raw.decode(errors="replace")[:500]}


def alias_state(es: Http, name: str) -> str:
    status, body = es.request("GET", f"/_resolve/index/{urllib.parse.quote(name)}?expand_wildcards=all")
    if status == 404:
        return "missing"
    if status != 200:
        raise RuntimeError(f"GET /_resolve/index/{name}: HTTP {status}: {body}")
    return classify(body, name)


def wait_for(es: Http, name: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            state = alias_state(es, name)
        except (OSError, RuntimeError) as err:  # not reachable yet
            print(f"  waiting for Elasticsearch: {err}", flush=True)
            state = "missing"
        if state != "missing" or time.monotonic() >= deadline:
            return state
        time.sleep(5)


def kibana(kb: Http, method: str, path: str, body: object = None) -> tuple[int, dict]:
    return kb.request(method, path, body, headers={"kbn-xsrf": "true", "elastic-api-version": KIBANA_API_VERSION})


def bootstrap_with_rule(kb: Http, space_id: str) -> None:
    """A Security rule's first run makes Kibana create the space's alerts index. The rule searches an index
    pattern that matches nothing, so it never writes an alert."""
    rules = f"{space_prefix(space_id)}/api/detection_engine/rules"
    rule = {
        "rule_id": BOOTSTRAP_RULE_ID,
        "name": "rule-runner: create the alerts index (temporary)",
        "description": "Created by rule-runner's docker/ensure_alerts_index.py; deleted once the alerts index exists.",
        "type": "query", "language": "kuery", "query": "rule_runner_bootstrap:true",
        "index": ["rule-runner-bootstrap-matches-nothing"],
        "risk_score": 1, "severity": "low", "interval": "1m", "from": "now-1m", "enabled": True,
    }
    status, body = kibana(kb, "POST", rules, rule)
    if status == 409:  # left over from an interrupted run
        print("  the bootstrap rule already exists", flush=True)
    elif status != 200:
        raise RuntimeError(f"POST {rules}: HTTP {status}: {body}")
    else:
        print(f"  created the temporary rule {BOOTSTRAP_RULE_ID}", flush=True)


def delete_bootstrap_rule(kb: Http, space_id: str) -> None:
    path = f"{space_prefix(space_id)}/api/detection_engine/rules?rule_id={BOOTSTRAP_RULE_ID}"
    status, body = kibana(kb, "DELETE", path)
    if status not in (200, 404):
        print(f"  warning: DELETE {path}: HTTP {status}: {body}", flush=True)


def main() -> int:
    env = os.environ
    space_id = env.get("ALERTS_SPACE_ID", "default")
    wait = float(env.get("ALERTS_INDEX_WAIT", "180"))
    name = alerts_alias(space_id)
    es_host = env.get("ES_HOSTS", "https://es01:9200").split(",")[0].strip()
    es = Http(es_host, env.get("ES_USERNAME", "elastic"), env["ES_PASSWORD"], env.get("ES_CA_CERTS"))
    kb = Http(env.get("KIBANA_URL", "http://kibana:5601"), env.get("KIBANA_USERNAME", env.get("ES_USERNAME", "elastic")),
              env.get("KIBANA_PASSWORD", env["ES_PASSWORD"]), env.get("ES_CA_CERTS"))

    print(f"Waiting for Kibana's alerts index {name} (up to {wait:.0f} s) ...", flush=True)
    state = wait_for(es, name, wait if space_id == "default" else 0)
    if state == "missing":
        print(f"{name} does not exist yet: asking Kibana to create it by running a temporary Security rule", flush=True)
        bootstrap_with_rule(kb, space_id)
        try:
            state = wait_for(es, name, max(wait, 120))
        finally:
            delete_bootstrap_rule(kb, space_id)
    if state in ("alias", "data_stream"):
        print(f"{name} exists ({state.replace('_', ' ')})", flush=True)
        return 0
    if state == "index":
        print(f"error: {name} is a plain index, not Kibana's alias: something wrote alerts before Kibana created "
              f"its alerts index. Delete it (DELETE /{name}) and start again.", file=sys.stderr)
    else:
        print(f"error: {name} still does not exist; see Kibana's logs", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
