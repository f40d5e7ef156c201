"""Benchmark: the time budget each speed-up target leaves our engine, against the cost of merely reading the documents.

`run.py` measures the ratios; this script says why a ratio can or cannot be reached. In one process over the same
materialized events (generated as in `run.py`, `gc.freeze()`d), it measures per event:

- `read floor`: a loop that does nothing but read `doc["_source"]["event"]["category"]` and look the value up in a
  dict: the least any engine that reads `_source` must do (a sequence or filter needs the category of every event);
- for each query, eql 1.0.1's `PythonEngine` (engine only, and with its adapter, which builds `eql.Event`s from the
  same documents before its clock starts) and our `runner.engine.search`;
- the budget: eql's time / the target, the most ours may take to meet it, engine only and including the adapter; and
  what is left of that budget once the read floor is paid.

The figures come from one process, so they can differ a little from `run.py`'s (a fresh process per engine and query);
the best of `--repeat` runs is kept.

    .venv-bench/bin/python bench/floor.py                       # 1,000,000 events: about 3-4 minutes
    .venv-bench/bin/python bench/floor.py --events 200000 --queries seed
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import generate  # noqa: E402
from queries import all_queries  # noqa: E402

from runner.engine import search  # noqa: E402


def read_floor(docs: list[dict[str, Any]]) -> int:
    """The category of every event, looked up: what a category dispatch cannot do without."""
    table = {"process": 0, "network": 1, "file": 2}
    found = 0
    for doc in docs:
        event = doc["_source"].get("event")
        category = event.get("category") if type(event) is dict else None
        if type(category) is list and len(category) == 1:
            category = category[0]
        if table.get(category) is not None:
            found += 1
    return found


def best_of(repeat: int, call: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", default="eq,wildcard,seed,entity")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, the fastest kept")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 200))
    queries, notes = all_queries()
    for note in notes:
        console.print(note)
    wanted = args.queries.split(",")
    queries = [q for q in queries if q.key in wanted]

    console.print(f"generating {args.events:,} events ...")
    gc.disable()  # as run.py's workers: the collector would otherwise walk the growing heap while it is built
    docs = list(generate.generate(args.events, seed=args.seed, hosts=120))
    started = time.perf_counter()
    eql_events = list(baseline.to_events(docs))
    adapter_s = time.perf_counter() - started
    gc.collect()
    gc.freeze()  # the materialized events are nobody's garbage: keep the collector off them, for both engines
    gc.enable()
    per_event = 1e6 / len(docs)  # seconds -> µs per event
    floor = best_of(args.repeat, lambda: read_floor(docs)) * per_event
    adapter = adapter_s * per_event

    table = Table(title=f"Time per event, {len(docs):,} events in memory: budgets for the targets vs the read floor")
    for column in ("query", "target", "eql engine", "eql adapter + engine", "budget, engine only",
                   "budget incl. adapter", "read floor", "left after the floor (engine only / incl.)", "ours",
                   "speed-up engine only / incl."):
        table.add_column(column, justify="left" if column == "query" else "right")
    for query in queries:
        text, _rewrites, _verbatim = baseline.adapt_query(query.text)
        eql_s = best_of(args.repeat, lambda text=text: baseline.Baseline(text).run(eql_events)) * per_event
        ours = best_of(args.repeat, lambda query=query: search(docs, query.text, size=10**9)) * per_event
        budget, budget_incl = eql_s / query.target, (eql_s + adapter) / query.target
        table.add_row(
            f"{query.key}: {query.title}", f"≥ {query.target:g}×", f"{eql_s:.2f} µs", f"{eql_s + adapter:.2f} µs",
            f"{budget:.2f} µs", f"{budget_incl:.2f} µs", f"{floor:.2f} µs",
            f"{budget - floor:.2f} / {budget_incl - floor:.2f} µs", f"{ours:.2f} µs",
            f"{eql_s / ours:.1f}× / {(eql_s + adapter) / ours:.1f}×",
        )
    console.print(table)
    console.print(
        f"read floor: reading `_source.event.category` of every event and looking it up, nothing else "
        f"({floor:.2f} µs per event); eql's adapter builds its eql.Events from the same documents "
        f"({adapter:.2f} µs per event) before its clock starts. Budget = eql's time / target: the most our engine may "
        "take per event to meet the target."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
