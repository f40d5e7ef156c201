"""Build `runner/ecs/templates.json.gz`, the index templates rule-runner ships, from the integration mappings.

Run from the repository: `python scripts/build_templates.py [DIR]` (DIR defaults to
`../shared/reference/integration-mappings`, whose README says where each definition was read and under which
license). Not imported at runtime: the package ships only its output.

The output keeps, per template, what an index created from it gets and what `validate` names: its name (the
file's), index patterns, priority, the package (name, title), an example index name, and the mapping body
(`properties` as Elasticsearch's `GET _mapping` nests them, `dynamic` where set, `dynamic_templates`), as
minified JSON, gzipped (854 kB of JSON, 71 kB shipped). Priorities
are the ones the installers use: Fleet gives each integration data stream's template 200, the Beats install
theirs with 150. Field names, types and mapping parameters are facts; the files' provenance notes stay there.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "runner" / "ecs" / "templates.json.gz"
FLEET_PRIORITY = 200  # Fleet's index template for an integration data stream
BEATS_PRIORITY = 150  # libbeat's composable template
# the packages' titles (their manifest.yml `title`) where a file names only the package
TITLES = {
    "auditd_manager": "Auditd Manager", "aws": "AWS", "azure": "Azure Logs", "cloud_defend": "Defend for Containers",
    "endpoint": "Elastic Defend", "fim": "File Integrity Monitoring",
    "fortinet_fortigate": "Fortinet FortiGate Firewall Logs", "github": "GitHub", "google_workspace": "Google Workspace",
    "kubernetes": "Kubernetes", "network_traffic": "Network Packet Capture", "o365": "Microsoft 365", "okta": "Okta",
    "system": "System", "windows": "Windows",
}


def template(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    body: dict[str, Any] = {}
    if "dynamic" in data:
        body["dynamic"] = data["dynamic"]
    if data.get("dynamic_templates"):
        body["dynamic_templates"] = data["dynamic_templates"]
    body["properties"] = data["properties"]
    if "beat" in data:
        name = data["beat"]["name"]
        package = {"name": name, "title": name.capitalize()}
        priority = BEATS_PRIORITY
    else:
        name = data["package"]["name"]
        package = {"name": name, "title": data["package"].get("title") or TITLES.get(name, name)}
        priority = FLEET_PRIORITY
    return {"name": path.stem, "index_patterns": data["index_patterns"], "priority": priority, "package": package,
            "example_index": data["example_index"], "mappings": body}


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "reference" / "integration-mappings"
    files = sorted(source.glob("*.json"))
    if not files:
        print(f"no template files in {source}", file=sys.stderr)
        return 1
    templates = [template(path) for path in files]
    text = json.dumps({"templates": templates}, separators=(",", ":"), sort_keys=True) + "\n"
    OUT.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))  # mtime 0: the same input, the same bytes
    print(f"{len(templates)} templates -> {OUT} ({OUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
