"""Alert-building throughput: `runner.alerts.build_alerts` on the seed rule's responses, against a baseline commit.

    .venv/bin/python bench/alerts.py                        # baseline: the commit before the fast alert builder
    .venv/bin/python bench/alerts.py --baseline-ref HEAD    # against whatever is committed now
    .venv/bin/python bench/alerts.py --seconds 5 --repeat 5
    .venv/bin/python bench/alerts.py --baseline-ref HEAD --kibana-version 8.19.3   # an older alert format

Both sides build alerts from the same responses, made once by the current `runner.engine` over
`samples/seed_rule.ndjson` and handed to each side as JSON: the seed rule's sequences (10 sequences, 30 alert
documents per call: a shell and two building blocks each), a filter's events (24 events, 24 documents per call), and
100 events of any category from `bench/generate.py` (seed 7, 20 hosts) for the per-call latency. Each side runs in a
fresh subprocess; the baseline imports the `runner` package of `--baseline-ref`, extracted with `git archive` into a
temporary directory put first on PYTHONPATH, the current side the work tree's; the sides take turns, `--repeat`
runs each. Throughput is alert documents / elapsed seconds over `--seconds` of back-to-back calls with one context,
latency the median of the 100-event calls; the best run of each side is reported (this VM's speed varies a lot from
minute to minute). Each side also reports a digest of its alerts: equal digests mean both built byte-identical
documents for these responses. `--kibana-version` builds the alerts of both sides for that Kibana release
(`AlertContext.kibana_version`, default the newest format's): a side that knows the release's alert format writes it
(a baseline from before the formats writes the newest under that label, so digests then differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the last commit before the fast alert builder: what "baseline" means unless told otherwise
DEFAULT_BASELINE = "1447922c913547ed9f1f44a99e57c19ea8f36153"
SEED_RULE = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_DOCS = ROOT / "samples" / "seed_rule.ndjson"
NOW = datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
EXECUTION = str(uuid.UUID("0b7e3c52-5f0e-4c1e-9d55-5d7f4b0c9a11"))


# ---- the worker: runs in a subprocess, with the `runner` under test first on the path ----------------------------

def _throughput(build: Any, response: dict[str, Any], context: Any, seconds: float) -> float:
    documents = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        documents += len(build(response, context))
    return documents / elapsed


def _latency(build: Any, response: dict[str, Any], context: Any, seconds: float) -> float:
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        started = time.perf_counter()
        build(response, context)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _digest(alerts: list[Any]) -> str:
    text = "\n".join(json.dumps([a.id, a.source], ensure_ascii=False) for a in alerts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def worker(responses_path: str, seconds: float, kibana_version: str | None) -> None:
    import runner
    from runner.alerts import AlertContext, build_alerts
    from runner.catalog import load_rule_file

    responses = json.loads(Path(responses_path).read_text(encoding="utf-8"))
    rule = load_rule_file(SEED_RULE)
    versioned = {"kibana_version": kibana_version} if kibana_version else {}
    context = AlertContext(rule=rule, execution_uuid=EXECUTION, now=NOW, **versioned)
    for response in responses.values():  # warm up: imports, caches, the allocator
        build_alerts(response, context)
    result: dict[str, Any] = {"runner": str(Path(runner.__file__).parent), "kibana.version": context.kibana_version}
    for name in ("events", "sequences"):
        result[f"{name} docs/s"] = _throughput(build_alerts, responses[name], context, seconds)
        result[f"{name} docs/call"] = len(build_alerts(responses[name], context))
    result["latency 100 events"] = _latency(build_alerts, responses["events100"], context, seconds)
    result["digest"] = _digest([a for r in responses.values() for a in build_alerts(r, context)])
    print(json.dumps(result))


# ---- the driver -----------------------------------------------------------------------------------------------------

def _responses(path: Path) -> dict[str, int]:
    sys.path.insert(0, str(ROOT))
    from runner.catalog import load_rule_file
    from runner.engine import search

    sys.path.insert(0, str(ROOT / "bench"))
    import generate

    docs = [json.loads(line) for line in SEED_DOCS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rule = load_rule_file(SEED_RULE)
    responses = {
        "sequences": search(docs, rule.query, size=100),
        "events": search(docs, 'network where event.action == "connection_attempted"', size=100),
        "events100": search(list(generate.generate(2000, seed=7, hosts=20)), "any where true", size=100),
    }
    path.write_text(json.dumps(responses), encoding="utf-8")
    hits = {name: r["hits"] for name, r in responses.items()}
    return {name: len(h.get("events") or h.get("sequences") or []) for name, h in hits.items()}


def _snapshot(ref: str, directory: Path) -> str:
    """`git archive <ref> runner` extracted into `directory`; returns the commit id."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "runner"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return commit


def _run_side(pythonpath: Path, responses: Path, seconds: float, kibana_version: str | None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    version = ["--kibana-version", kibana_version] if kibana_version else []
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(responses), "--seconds", str(seconds),
         *version],
        env=env, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"worker failed ({pythonpath}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The best of several runs of one side: highest throughputs, lowest latency."""
    best = dict(runs[0])
    for run in runs[1:]:
        for key, value in run.items():
            if key.endswith("docs/s"):
                best[key] = max(best[key], value)
            elif key.startswith("latency"):
                best[key] = min(best[key], value)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE,
                        help=f"the commit whose runner/ is the baseline (default {DEFAULT_BASELINE[:10]})")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of calls per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, in turns; the best of each kept")
    parser.add_argument("--kibana-version",
                        help="build the alerts for this Kibana release (default: the newest format's)")
    parser.add_argument("--worker", metavar="RESPONSES", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seconds, args.kibana_version)
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))  # the table unwrapped, in a terminal or a log
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp:
        directory = Path(tmp)
        responses = directory / "responses.json"
        counts = _responses(responses)
        (directory / "baseline").mkdir()
        commit = _snapshot(args.baseline_ref, directory / "baseline")
        console.print(f"responses: {counts['sequences']} sequences, {counts['events']} events, "
                      f"{counts['events100']} generated events (latency); "
                      f"best of {args.repeat} alternating runs, {args.seconds:g}s each")
        # the two sides take turns, so that both meet the same spells of a noisy machine
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
        for _ in range(args.repeat):
            runs["baseline"].append(_run_side(directory / "baseline", responses, args.seconds, args.kibana_version))
            runs["current"].append(_run_side(ROOT, responses, args.seconds, args.kibana_version))
        baseline, current = _best(runs["baseline"]), _best(runs["current"])

    table = Table(title="build_alerts throughput (alert documents per second)")
    table.add_column("measure")
    table.add_column(f"baseline {commit[:10]}", justify="right")
    table.add_column("work tree", justify="right")
    table.add_column("ratio", justify="right")
    for name, label in (("events", "event alerts"), ("sequences", "sequence alerts (shell + blocks)")):
        key = f"{name} docs/s"
        table.add_row(f"{label}, {current[f'{name} docs/call']} docs/call", f"{baseline[key]:,.0f}",
                      f"{current[key]:,.0f}", f"{current[key] / baseline[key]:.1f}x")
    b_ms, c_ms = baseline["latency 100 events"] * 1000, current["latency 100 events"] * 1000
    table.add_row("latency, 100 events (median ms/call)", f"{b_ms:.2f}", f"{c_ms:.2f}", f"{b_ms / c_ms:.1f}x")
    same = baseline["digest"] == current["digest"]
    table.add_row("digest of the alerts", baseline["digest"], current["digest"], "same" if same else "DIFFERENT")
    console.print(table)
    console.print(f"baseline runner: {baseline['runner']}\nwork-tree runner: {current['runner']}\n"
                  f"kibana.version: {current['kibana.version']}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
