"""Benchmark: `hunt` with every EQL rule of the detection-rules corpus over generated endpoint events, and the same
rules run one by one through the eql 1.0.1 PythonEngine on a sample of them.

1. ours, all rules: `runner.execution.hunt` (what `rule-runner hunt` runs) over N generated events (default
   1,000,000) with the 1,081 EQL rules of ../shared/detection-rules; time to read the events into the in-memory
   store (mapping included) and time for the rules.
2. the sample: K rules (default 30, seeded) among those that search the generated indices (Elastic Defend's) and
   that eql can parse; each run one by one by our hunt and by eql's PythonEngine over the same events (for eql: the
   events of the rule's indices, built once as eql.Events before the clock starts; that adapter time is reported
   apart), and by our hunt as `rule-runner hunt` runs them (one batch). The ratio is eql's total over ours on the
   same rules.

    .venv-bench/bin/python bench/hunt.py                       # 1,000,000 events: about 15-25 minutes
    .venv-bench/bin/python bench/hunt.py --events 100000       # a quick one
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import generate  # noqa: E402

from runner.backends.embedded.backend import resolve_indices  # noqa: E402
from runner.backends.embedded.memory import MemoryEvents  # noqa: E402
from runner.catalog import load_rules  # noqa: E402
from runner.execution import HuntStatus, hunt  # noqa: E402
from runner.ruletypes import runnable  # noqa: E402

CORPUS = ROOT.parent / "shared" / "detection-rules"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    if not CORPUS.is_dir():
        console.print(f"the rule corpus is not at {CORPUS}")
        return 2
    catalog = load_rules([CORPUS])
    rules = [rule for rule in catalog.rules if runnable(rule)]
    console.print(f"{len(rules):,} rules (EQL and KQL query); generating {args.events:,} events ...")
    docs = list(generate.generate(args.events, seed=args.seed, hosts=120))
    gc.collect()
    gc.freeze()

    started = time.perf_counter()
    events = MemoryEvents(docs)
    load_s = time.perf_counter() - started
    indices = sorted(events.by_index)
    started = time.perf_counter()
    results = hunt(rules, events)
    rules_s = time.perf_counter() - started
    working = [r.rule for r in results if r.status != HuntStatus.NO_INDEX]
    failed = [r for r in results if r.status == HuntStatus.FAILED]

    # the sample: rules that search the generated indices and that eql can parse
    candidates = []
    for rule in working:
        try:
            text, _rewrites, error = baseline.adapt_query(rule.params.query or "")
            if error is None:
                baseline.parse(text)
        except Exception as problem:
            error = str(problem)
        if error is None:
            candidates.append((rule, text))
    chosen = random.Random(args.seed).sample(candidates, min(args.sample, len(candidates)))
    started = time.perf_counter()
    sample_results = hunt([rule for rule, _ in chosen], events)  # as `rule-runner hunt` runs them
    ours_s = time.perf_counter() - started
    ours_hits = sum(r.hits for r in sample_results)
    started = time.perf_counter()
    eql_by_index = {index: list(baseline.to_events(events.by_index[index])) for index in indices}
    adapter_s = time.perf_counter() - started
    eql_s = 0.0
    eql_hits = 0
    for rule, text in chosen:
        matched = resolve_indices(rule.params.index_patterns, indices)
        stream: list[Any] = sorted((e for index in matched for e in eql_by_index[index]), key=lambda e: e.time)
        seconds, outputs = baseline.run_timed(text, stream)
        eql_s += seconds
        eql_hits += len(outputs)

    table = Table(title=f"hunt: {len(rules):,} corpus EQL rules over {args.events:,} generated events")
    for column in ("measure", "value"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("read events into the in-memory store (mappings)", f"{load_s:.1f} s")
    table.add_row("all rules", f"{rules_s:.1f} s")
    table.add_row("  rules searching the generated indices", f"{len(working):,}")
    table.add_row("  rules with hits / failed", f"{sum(1 for r in results if r.hits):,} / {len(failed):,}")
    table.add_row("  events/s (events ÷ time for all rules)", f"{args.events / rules_s:,.0f}")
    table.add_row(f"sample: {len(chosen)} rules eql can parse", "")
    table.add_row("  ours (hunt over the sample)", f"{ours_s:.1f} s  ({ours_hits:,} results)")
    table.add_row("  eql 1.0.1 PythonEngine, one rule at a time", f"{eql_s:.1f} s  ({eql_hits:,} results)")
    table.add_row("  eql adapter (eql.Events, built once)", f"{adapter_s:.1f} s")
    table.add_row("  speed-up, engine only (target ≥ 10×)", f"{eql_s / ours_s:.1f}×")
    table.add_row("  speed-up incl. eql adapter", f"{(eql_s + adapter_s) / ours_s:.1f}×")
    console.print(table)
    for result in failed[:20]:
        console.print(f"failed: {result.rule.path.name}: {result.message[:200]}", markup=False)
    console.print("sample: " + ", ".join(rule.path.name for rule, _ in chosen), markup=False)
    console.print("results differ where eql's semantics differ from Elasticsearch's (case folding, arrays); "
                  "see bench/README.md", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
