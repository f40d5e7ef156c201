"""Benchmark: 1,000 rules scheduled by the service. Does every run start within 1 s of its due time, and does the
idle service stay under 2 % CPU?

Two phases, in one process, on the embedded backend with the seed-rule samples ingested an hour in the past, so
that every execution is a real one that finds nothing, as most executions of most rules do (state read, one
`_eql/search` over the store, state write, execution record):

1. busy: N rules (copies of the seed rule with their own rule_id) every `--interval` seconds, first runs spread over
   the interval, for `--busy` seconds; for every run, lateness = start of the execution - the time APScheduler
   planned it for.
2. idle: the same N rules scheduled an hour out; the process's CPU time over `--idle` seconds.

    .venv/bin/python bench/scheduler.py                         # 1,000 rules, 60 s interval: about 4 minutes
    .venv/bin/python bench/scheduler.py --rules 200 --busy 30   # a quick one
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.backends.embedded import EmbeddedBackend, Store  # noqa: E402
from runner.catalog import Rule, load_rule_file  # noqa: E402
from runner.cli.ingest import _shifted  # noqa: E402
from runner.execution import ExecutionOptions, ExecutionRecord  # noqa: E402
from runner.service import Service  # noqa: E402

SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"


def rules(count: int, interval: str) -> list[Rule]:
    base = load_rule_file(SEED)
    out = []
    for i in range(count):
        params = base.params.model_copy(update={"rule_id": f"bench-{i:05d}", "name": f"bench rule {i}", "interval": interval})
        document = base.document.model_copy(update={"rule": params})
        out.append(Rule(path=base.path, document=document, query=base.query, uuid=f"uuid-{i:05d}"))
    return out


def store_with_samples(path: Path) -> Store:
    docs = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    latest = max(datetime.fromisoformat(d["_source"]["@timestamp"].replace("Z", "+00:00")) for d in docs)
    shift = datetime.now(UTC) - timedelta(hours=1) - latest
    store = Store(path)
    store.ingest({**d, "_source": _shifted(d["_source"], shift)} for d in docs)
    return store


class Probe:
    """When APScheduler meant each run to start, and when the execution really started. The two are matched after
    the run (each start with the latest plan at or before it): the submitted event can reach the listener after
    the worker thread already started the job."""

    def __init__(self) -> None:
        self.planned: dict[str, list[datetime]] = collections.defaultdict(list)
        self.starts: dict[str, list[datetime]] = collections.defaultdict(list)
        self.lock = threading.Lock()
        self.records: list[ExecutionRecord] = []

    def submitted(self, event: Any) -> None:
        with self.lock:
            self.planned[event.job_id].extend(event.scheduled_run_times)

    def started(self, rule_id: str) -> None:
        now = datetime.now(UTC)
        with self.lock:
            self.starts[rule_id].append(now)

    @property
    def lateness(self) -> list[float]:
        out = []
        for rule_id, starts in self.starts.items():
            plans = sorted(self.planned[rule_id])
            for start in starts:
                earlier = [p for p in plans if p <= start]
                if earlier:
                    out.append((start - earlier[-1]).total_seconds())
        return out


class ProbedService(Service):
    def __init__(self, *args: Any, probe: Probe, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probe = probe
        self.scheduler.add_listener(probe.submitted, EVENT_JOB_SUBMITTED)

    def run_rule(self, rule: Rule) -> ExecutionRecord | None:
        self.probe.started(rule.rule_id)
        return super().run_rule(rule)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between runs of each rule")
    parser.add_argument("--busy", type=int, default=150, help="seconds of the busy phase")
    parser.add_argument("--idle", type=int, default=60, help="seconds of the idle measurement")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        store = store_with_samples(Path(tmp) / "store.db")
        backend = EmbeddedBackend(store)
        probe = Probe()
        busy_rules = rules(args.rules, f"{args.interval}s")
        service = ProbedService(busy_rules, backend, options=ExecutionOptions(), max_concurrent_executions=args.workers,
                                first_run_jitter=timedelta(seconds=args.interval), probe=probe,
                                on_execution=lambda _r, record: probe.records.append(record))
        cpu0, wall0 = time.process_time(), time.monotonic()
        service.start()
        time.sleep(args.busy)
        service.stop(wait=True)
        busy_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
        durations = [r.duration_ms for r in probe.records]

        idle = Service(rules(args.rules, "1h"), backend, first_run_jitter=timedelta(0),
                       clock=lambda: datetime.now(UTC) + timedelta(hours=1))
        idle.start()
        time.sleep(2)  # let start-up settle
        cpu1, wall1 = time.process_time(), time.monotonic()
        time.sleep(args.idle)
        idle_cpu = (time.process_time() - cpu1) / (time.monotonic() - wall1) * 100
        idle.stop(wait=True)

    late = probe.lateness
    within = sum(1 for x in late if x <= 1.0) / len(late) * 100 if late else 0.0
    table = Table(title=f"{args.rules:,} rules every {args.interval}s, {args.workers} workers, embedded backend")
    for column in ("measure", "value", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("executions in the busy phase", f"{len(late):,}", "", "")
    table.add_row("execution duration p50 / p99", f"{statistics.median(durations):.1f} / {percentile(durations, .99):.1f} ms", "", "")
    table.add_row("start lateness p50", f"{statistics.median(late) * 1000:.0f} ms", "", "")
    table.add_row("start lateness p99 / max", f"{percentile(late, .99) * 1000:.0f} / {max(late) * 1000:.0f} ms", "≤ 1000 ms",
                  "yes" if max(late) <= 1.0 else "no")
    table.add_row("runs started within 1 s", f"{within:.2f} %", "100 %", "yes" if within == 100 else "no")
    table.add_row("CPU, busy phase (whole process)", f"{busy_cpu:.1f} %", "", "")
    table.add_row("CPU, idle service", f"{idle_cpu:.2f} %", "< 2 %", "yes" if idle_cpu < 2 else "no")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
