"""Benchmark: the runner's own cost per execution on the Elasticsearch backend, against a zero-latency loopback stub
in another process, and alert documents built per second.

1. no hits: the seed rule executed N times (one `_eql/search`, then one bulk request with the new state and the
   execution record; the state is read once, then known): wall time and the runner process's CPU time per execution. The stub answers at once from another process, so the CPU time
   is the runner's own: request build, client serialisation, response handling, state and record documents.
2. hits: an `_eql/search` answer with 100 events (a full `max_signals`) and one with the seed rule's 10 sequences
   (30 documents): alert documents per second, built (`build_alerts`) and built + serialised as the bulk body the
   client sends; and the full execution against the stub (pre-search, bulk create, state, record) per document.

Targets from issue 4: < 2 ms runner overhead per execution without hits, >= 20,000 alert documents per second.
The ratio column is target / measured for times and measured / target for rates (>= 1 meets the target).

    .venv/bin/python bench/execution.py                 # about 30 seconds
    .venv/bin/python bench/execution.py --executions 2000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.alerts import KIBANA_VERSION, AlertContext, build_alerts  # noqa: E402
from runner.backends.elasticsearch import ElasticsearchBackend  # noqa: E402
from runner.catalog import load_rule_file  # noqa: E402
from runner.engine import search  # noqa: E402
from runner.execution import ExecutionOptions, ExecutionStatus, execute  # noqa: E402
from runner.settings import load_settings  # noqa: E402

SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
T = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)
OVERHEAD_TARGET_MS = 2.0
DOCS_TARGET = 20_000


def _serve(port: multiprocessing.Queue, hits: dict[str, Any], stop: multiprocessing.Event) -> None:
    """The stub process: canned answers, the bulk one echoing the ids it was sent as created."""
    sys.path.insert(0, str(ROOT))
    from tests.backends.es_stub import Recorded, Reply, Stub

    stub = Stub()
    stub.requests = _Forgetful()  # keep no history: thousands of requests

    def bulk(request: Recorded) -> Reply:
        items = []
        for line in request.raw.splitlines()[::2]:
            op, action = next(iter(json.loads(line).items()))
            items.append({op: {"_id": action.get("_id"), "status": 201, "result": "created"}})
        return Reply(200, {"took": 0, "errors": False, "items": items})

    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", "/.*/_eql/search", lambda request: Reply(200, hits[request.json["query"]]))
    stub.always("POST", "/.alerts-security.alerts-default/_search", Reply(200, {"hits": {"hits": []}}))
    stub.always("PUT", "/_bulk", bulk)
    port.put(stub.url)
    stop.wait()
    stub.close()


class _Forgetful(list):
    def append(self, _item: Any) -> None:
        pass


def _rule(path: Path, query: str | None = None, tmp: Path | None = None):
    if query is None:
        return load_rule_file(path)
    text = path.read_text()
    start = text.index("query = '''")
    end = text.index("'''", start + 11) + 3
    assert tmp is not None
    target = tmp / f"{uuid.uuid4().hex}.toml"
    target.write_text(text[:start] + f"query = '''\n{query}\n'''" + text[end:])
    return load_rule_file(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per alert-building measurement")
    parser.add_argument("--profile", action="store_true", help="profile executions without hits, print the top")
    args = parser.parse_args()
    console = Console()
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    docs = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    seed = _rule(SEED)
    events_rule = _rule(SEED, "any where true", tmp)
    sequences_rule = _rule(SEED, " " + seed.params.query.strip(), tmp)  # the seed query, answered with its hits
    sequences = search(docs, seed.query, size=100)
    twice = docs + [{**doc, "_id": doc["_id"] + "-2"} for doc in docs]  # 184 events, so that 100 come back
    events = search(twice, events_rule.query, size=100)
    assert len(events["hits"]["events"]) == 100 and len(sequences["hits"]["sequences"]) == 10
    empty = {"is_partial": False, "is_running": False, "took": 0, "timed_out": False,
             "hits": {"total": {"value": 0, "relation": "eq"}, "sequences": []}}
    answers = {seed.params.query: empty, events_rule.params.query: events, sequences_rule.params.query: sequences}

    rows: list[tuple[str, str, str, str]] = []

    # 1. no hits
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(ports, answers, stop), daemon=True)
    server.start()
    url = ports.get(timeout=30)
    config = tmp / "runner.yaml"
    config.write_text(f"backend: elasticsearch\nelasticsearch:\n  hosts: {url}\n")
    backend = ElasticsearchBackend.from_settings(load_settings(config, env={}), KIBANA_VERSION)
    options = ExecutionOptions(retry_backoff=0.0)
    for _ in range(20):  # warm-up: connections, caches
        execute(seed, backend, started_at=T, options=options)
    walls, cpus = [], []
    for n in range(args.executions):
        wall, cpu = time.perf_counter(), time.process_time()
        record = execute(seed, backend, started_at=T + timedelta(seconds=n), options=options)
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        assert record.status == ExecutionStatus.SUCCEEDED, record.message
    cpu_mean = statistics.mean(cpus)
    rows.append(("execution without hits: runner CPU per execution", f"{cpu_mean:.2f} ms",
                 f"< {OVERHEAD_TARGET_MS:g} ms", f"{OVERHEAD_TARGET_MS / cpu_mean:.1f}x"))
    rows.append(("  wall time per execution (2 loopback requests)", f"{statistics.mean(walls):.2f} ms "
                 f"(p99 {sorted(walls)[int(len(walls) * 0.99) - 1]:.2f})", "", ""))

    # 2. alert documents per second
    from runner.backends.elasticsearch.writes import _json  # the bulk body lines as the backend serialises them

    for label, rule, response in (("events (100 per response)", events_rule, events),
                                  ("sequences (10 = 30 documents)", sequences_rule, sequences)):
        context = AlertContext(rule=rule, execution_uuid=str(uuid.uuid4()), now=datetime.now(UTC))
        built = _rate(lambda response=response, context=context: len(build_alerts(response, context)), args.seconds)
        rows.append((f"alert documents built/s: {label}", f"{built:,.0f}", f">= {DOCS_TARGET:,}",
                     f"{built / DOCS_TARGET:.1f}x"))

        def build_and_serialise(response: Any = response, context: AlertContext = context) -> int:
            alerts = build_alerts(response, context)
            body = bytearray()
            for alert in alerts:
                body += _json({"create": {"_index": ".alerts-security.alerts-default", "_id": alert.id}}) + b"\n"
                body += _json(alert.source) + b"\n"
            return len(alerts)

        both = _rate(build_and_serialise, args.seconds)
        rows.append((f"  built + bulk body serialised/s: {label}", f"{both:,.0f}", f">= {DOCS_TARGET:,}",
                     f"{both / DOCS_TARGET:.1f}x"))
        count, cpu, wall = 0, time.process_time(), time.perf_counter()
        runs = 0
        whole = ExecutionOptions(retry_backoff=0.0, max_window_splits=0)  # a full answer is not searched again here
        while time.perf_counter() - wall < args.seconds:
            record = execute(rule, backend, started_at=T, options=whole)
            assert record.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.PARTIAL_FAILURE), record.message
            count += record.alerts_created
            runs += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rows.append((f"  full execution against the stub: {label}",
                     f"{count / cpu:,.0f} docs per CPU s ({wall / runs * 1000:.1f} ms wall per execution)", "", ""))
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(200):
            execute(seed, backend, started_at=T + timedelta(seconds=n), options=options)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    stop.set()
    server.join(timeout=10)

    table = Table(title=f"rule-runner on the Elasticsearch backend: own cost ({args.executions} executions)")
    for column in ("measure", "value", "target", "ratio"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def _rate(call, seconds: float) -> float:
    for _ in range(3):
        call()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        done += call()
    return done / (time.perf_counter() - started)


if __name__ == "__main__":
    raise SystemExit(main())
