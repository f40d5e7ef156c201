"""Benchmark of the user's path: the commands people run, side by side in one run, over generated NDJSON files.

    python bench/path.py --events 1000000,3000000 --data-dir /work/data
    python bench/path.py --events 50000 --paths floor,hunt-seed,ingest,once-seed,hunt-window-seed   # a quick one

Every measurement is a fresh child process (`rule-runner ...` as installed in this interpreter's environment, or a
small worker of this file), timed from outside (wall seconds from start to reaping) with its peak RSS as the kernel
accounts it for that child (`os.wait4`'s `ru_maxrss`), under a memory limit (`--mem-limit`, RLIMIT_AS) and a time
limit (`--timeout`), so a path that grows with the file fails alone instead of taking the shared machine down.

Paths, for each N of `--events` (see bench/README.md, "The user's path"):

- `floor`: read the file and `orjson.loads` every line: the least any Python reader of the file pays;
- `eql-seed`: the `eql` package (bench extra) streaming the same file, parsed with orjson, through its PythonEngine
  with the seed rule's query (bench/baseline.py's adaptation); skipped when eql is not installed;
- `hunt-seed`, `hunt-corpus`: `rule-runner hunt` over the file with the seed rule, and with every EQL rule of
  ../shared/detection-rules;
- `ingest`: `rule-runner ingest` of the file into a fresh store (the store then serves the `once-*` paths);
- `once-seed`, `once-corpus`: `rule-runner run --once` over that store, `--now` pinned 5 s after the newest event,
  each run a first run (the store's alerts, rule state and executions are emptied before it); every corpus rule's
  look-back is set to the seed's `now-9m` (configuration overrides) so that every rule searches the same one
  9-minute window;
- `hunt-window-seed`, `hunt-window-corpus`: `rule-runner hunt` of the same rules over just that window's events
  (extracted once to a file): the yardstick of `run --once` (target: once ≤ 1.5x hunt-of-window).

Data are cached in `--data-dir` (default bench/data/): `events-<N>.ndjson` (generated with `--seed`; the first N
events of any seed-7 run are the N-event run, so a file is only made when absent), the window's events, and one
store per file, keyed on the store's schema version and the file's size and modification time (a store whose key
differs, or whose ingest did not finish, is rebuilt). `ingest`, when selected, always measures a fresh store and
that store replaces the cached one.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import platform
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = ROOT.parent / "shared" / "detection-rules"
SEED_RULE = ROOT.parent / "shared" / "seed" / "persistence_apt_package_manager_netcon.toml"
LOOKBACK = "now-9m"
WINDOW = timedelta(minutes=9)
NOW_AFTER_NEWEST = timedelta(seconds=5)  # as `ingest --shift-to-now` leaves the newest event
PATHS = ("floor", "eql-seed", "hunt-seed", "hunt-corpus", "ingest", "hunt-window-seed", "once-seed",
         "hunt-window-corpus", "once-corpus")
FLAT = 1.15  # "flat": the peak RSS at the largest N at most this times the peak at the smallest
MIB = 1024 * 1024


# Keep this process lean: a child's peak RSS as the kernel reports it (ru_maxrss) is never below its parent's RSS at
# the fork, since the high-water mark survives exec. So this process imports neither `runner` nor the rules nor a
# file's events (children do that: `schema_version`, `corpus_overrides`, `window_file`), and `rich` only for the
# report; its own peak (about 15 MiB) is printed as the floor of every figure.


# ---- measuring one child ------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    path: str
    events: int  # N, the events of the file (the window's events for hunt-window-*: see `input_events`)
    input_events: int
    seconds: float | None = None
    peak_rss_mib: float | None = None
    exit: int | None = None
    status: str = "ok"  # ok | failed | timeout | skipped
    note: str = ""
    summary: str = ""  # the command's last line of output
    command: list[str] = field(default_factory=list)
    log: str = ""
    alerts: int | None = None  # alert documents `hunt` wrote or `run --once` reported (its "total" row)
    harness_rss_mib: float | None = None  # this process's peak when the child started: the floor of peak_rss_mib


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def measure(path: str, events: int, input_events: int, command: list[str], log: Path, *, timeout: float,
            mem_limit: int) -> Measure:
    """Run `command` in a fresh process (its own session), wall time and peak RSS from the kernel's accounting."""
    result = Measure(path, events, input_events, command=command, log=str(log),
                     harness_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, preexec_fn=lambda: _limit_memory(mem_limit), cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(child.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(child.pid, 0)
                result.status, result.note = "timeout", f"killed after {timeout:.0f} s"
                break
            time.sleep(0.05)
        result.seconds = time.perf_counter() - started
        child.returncode = 0  # reaped here: keep Popen from waiting for it again
    result.peak_rss_mib = usage.ru_maxrss * 1024 / MIB  # KiB on Linux
    result.exit = os.waitstatus_to_exitcode(status)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    words = [line.strip() for line in lines if any(c.isalnum() for c in line)]  # not a table's border
    result.summary = words[-1] if words else ""
    result.alerts = alerts_of(lines)
    if result.status == "ok" and result.exit == 1 and completed(command, lines):
        result.note = "exit 1: some rules failed (see the log)"
    elif result.status == "ok" and result.exit != 0:
        result.status = "failed"
        memory = any("MemoryError" in line for line in lines)
        result.note = (f"out of memory (limit {mem_limit / 2**30:.0f} GiB)" if memory or result.exit == -9
                       else f"exit {result.exit}: {result.summary[:160]}")
    return result


_HUNT_DONE = re.compile(r"^[\d,]+ rules, [\d,]+ with hits, [\d,]+ failed;")
_ONCE_DONE = re.compile(r"^[\d,]+ rule\(s\) run once at ")


_HUNT_ALERTS = re.compile(r"; ([\d,]+) alert documents written")
_ONCE_TOTAL = re.compile(r"^│\s*total\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│")


def alerts_of(lines: list[str]) -> int | None:
    """The alert documents a `hunt` wrote (its last line) or a `run --once` reported (the total row)."""
    for line in reversed(lines):
        found = _HUNT_ALERTS.search(line) or _ONCE_TOTAL.match(line.strip())
        if found:
            return int(found.groups()[-1].replace(",", ""))
    return None


def completed(command: list[str], lines: list[str]) -> bool:
    """Exit 1 of `hunt` and `run --once` that still ran every rule: some rules failed (the corpus names fields the
    generated events lack: Elasticsearch's `Unknown column`), which is the command's answer, not a failed run."""
    if any(line.startswith("Traceback") for line in lines):
        return False
    if "hunt" in command:
        return bool(lines) and bool(_HUNT_DONE.match(lines[-1].strip()))
    if "--once" in command:
        return any(_ONCE_DONE.match(line.strip()) for line in lines)
    return False


# ---- workers (run as children of the harness) ---------------------------------------------------------------------------


def worker_floor(file: str) -> int:
    import orjson

    count = 0
    with open(file, "rb") as f:
        for line in f:
            if line.strip():
                orjson.loads(line)
                count += 1
    print(f"floor: {count:,} lines parsed")
    return 0


def worker_eql(file: str, rule: str) -> int:
    import orjson

    sys.path.insert(0, str(BENCH))
    import baseline

    query = tomllib.loads(Path(rule).read_text())["rule"]["query"]
    text, _rewrites, _verbatim = baseline.adapt_query(query)

    def documents() -> Any:
        with open(file, "rb") as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)

    outputs = baseline.Baseline(text).run(baseline.to_events(documents()))
    print(f"eql: {len(outputs):,} results")
    return 0


# ---- data -------------------------------------------------------------------------------------------------------------


def label(n: int) -> str:
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def events_file(data_dir: Path, n: int, seed: int) -> Path:
    """`events-<N>.ndjson` (seed 7) or `events-<N>-seed<S>.ndjson`, generated when absent (atomically)."""
    name = f"events-{label(n)}" + ("" if seed == 7 else f"-seed{seed}") + ".ndjson"
    path = data_dir / name
    if not path.exists():
        print(f"generating {path} ({n:,} events, seed {seed}) ...", flush=True)
        part = path.with_name(path.name + ".part")
        subprocess.run([sys.executable, str(BENCH / "generate.py"), "--seed", str(seed), "--events", str(n),
                        "--out", str(part)], check=True, stdout=subprocess.DEVNULL)
        part.rename(path)
    return path


def _timestamp(line: bytes) -> str:
    import orjson

    return str(orjson.loads(line)["_source"]["@timestamp"])


def newest_timestamp(file: Path) -> datetime:
    """The last line's @timestamp: generated files are in timestamp order (checked by `window_file`)."""
    with file.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 65536))
        last = [line for line in f.read().splitlines() if line.strip()][-1]
    return datetime.fromisoformat(_timestamp(last).replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def run_now(file: Path) -> datetime:
    """`run --once --now`: 5 s after the newest event, on a whole second (as `ingest --shift-to-now` leaves it)."""
    return (newest_timestamp(file) + NOW_AFTER_NEWEST).replace(microsecond=0) + timedelta(seconds=1)


def window_file(file: Path, now: datetime) -> tuple[Path, int, str, str]:
    """The events of [now - 9m, now] (Kibana's gte/lte) in a file of their own: (path, count, first, last).
    Extracted by a child (see `lean`), once: the file and its count are cached beside the events' file."""
    path = file.with_name(f"{file.stem}.window-{now.strftime('%Y%m%dT%H%M%S')}.ndjson")
    meta = path.with_name(path.name + ".json")
    if not (path.exists() and meta.exists()):
        subprocess.run([sys.executable, __file__, "_window", str(file), iso(now), str(path)], check=True, cwd=ROOT)
    saved = json.loads(meta.read_text())
    return path, saved["count"], saved["first"], saved["last"]


def worker_window(source: str, now_iso: str, target: str) -> int:
    file, path = Path(source), Path(target)
    now = datetime.fromisoformat(now_iso.replace("Z", "+00:00"))
    low, high = iso(now - WINDOW), iso(now)
    meta = path.with_name(path.name + ".json")
    count, first, last, previous = 0, "", "", ""
    part = path.with_name(path.name + ".part")
    with file.open("rb") as f, part.open("wb") as out:
        for line in f:
            if not line.strip():
                continue
            ts = _timestamp(line)  # the generator's fixed-width ISO strings order as their instants do
            if ts < previous:
                raise SystemExit(f"{file} is not in @timestamp order ({ts} after {previous}): not a generated file?")
            previous = ts
            if low <= ts <= high:
                out.write(line if line.endswith(b"\n") else line + b"\n")
                count += 1
                first = first or ts
                last = ts
    part.rename(path)
    meta.write_text(json.dumps({"count": count, "first": first, "last": last, "low": low, "high": high}))
    return 0


@functools.cache
def schema_version() -> int:
    """The store schema version of the `runner` this interpreter imports (asked of a child: see `lean`)."""
    code = "from runner.backends.embedded.store import SCHEMA_VERSION; print(SCHEMA_VERSION)"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout)


def store_key(file: Path) -> dict[str, Any]:
    """What a cached store was made from: the store's schema, the events, and the index templates its indices got
    their mappings from (a store made with other templates holds other mappings)."""
    stat = file.stat()
    templates = hashlib.sha256((ROOT / "runner" / "ecs" / "templates.json.gz").read_bytes()).hexdigest()[:16]
    return {"schema_version": schema_version(), "data": file.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "templates": templates}


def store_paths(data_dir: Path, file: Path) -> tuple[Path, Path]:
    key = store_key(file)
    store = data_dir / "stores" / f"{file.stem}.v{key['schema_version']}.db"
    return store, store.with_name(store.name + ".json")


def remove_store(store: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".json"):
        store.with_name(store.name + suffix).unlink(missing_ok=True)


def cached_store(data_dir: Path, file: Path) -> Path | None:
    store, meta = store_paths(data_dir, file)
    if store.exists() and meta.exists() and json.loads(meta.read_text()) == store_key(file):
        return store
    return None


def first_run(store: Path) -> None:
    """Empty the store's alerts, rule state and execution records: the next `run --once` is every rule's first."""
    with sqlite3.connect(store) as db:
        for table in ("alerts", "rule_state", "executions"):
            db.execute(f"DELETE FROM {table}")
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# ---- rules and configurations -------------------------------------------------------------------------------------------


def corpus_overrides(corpus: Path) -> dict[str, dict[str, str]]:
    """`from: now-9m` for every EQL rule of the corpus whose look-back is another: one window for all (read by a
    child: see `lean`)."""
    done = subprocess.run([sys.executable, __file__, "_overrides", str(corpus)], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    overrides: dict[str, dict[str, str]] = json.loads(done.stdout)
    return overrides


def worker_overrides(corpus: Path) -> int:
    overrides: dict[str, dict[str, str]] = {}
    for toml in sorted(corpus.rglob("*.toml")):
        try:
            rule = tomllib.loads(toml.read_text()).get("rule", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue  # the catalog reports bad files; nothing to align
        if rule.get("type") == "eql" and rule.get("rule_id") and rule.get("from", "now-6m") != LOOKBACK:
            overrides[rule["rule_id"]] = {"from": LOOKBACK}
    print(json.dumps(overrides))
    return 0


def write_config(work: Path, name: str, rules: Path, store: Path, overrides: dict[str, Any]) -> Path:
    """A configuration (JSON is YAML) with absolute paths: the embedded store, the rules, quiet logs."""
    config = work / f"{name}.yaml"
    body = {"backend": "embedded", "embedded": {"path": str(store)},
            "rules": {"paths": [str(rules)], "overrides": overrides}, "logging": {"level": "WARNING"}}
    config.write_text(json.dumps(body, indent=1) + "\n")
    return config


# ---- the report ---------------------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    measured: str
    met: bool | None  # None: not measured


def _get(results: list[Measure], path: str, n: int) -> Measure | None:
    for m in results:
        if m.path == path and m.events == n and m.status == "ok":
            return m
    return None


def _ratio(a: Measure | None, b: Measure | None) -> float | None:
    if a is None or b is None or not a.seconds or not b.seconds:
        return None
    return a.seconds / b.seconds


def targets(results: list[Measure], sizes: list[int]) -> list[Target]:
    """The issue's targets, each with what this run measured."""
    out: list[Target] = []
    small, large = sizes[0], sizes[-1]
    for n in sizes:
        floor = _get(results, "floor", n)
        for path, times, limit in (("hunt-seed", 2.0, 300), ("hunt-corpus", 12.0, 1024), ("ingest", 4.0, None)):
            ratio = _ratio(_get(results, path, n), floor)
            out.append(Target(f"{path} {label(n)}: ≤ {times:g}× floor", "n/a" if ratio is None else f"{ratio:.2f}×",
                              None if ratio is None else ratio <= times))
            m = _get(results, path, n)
            if limit is not None:
                out.append(Target(f"{path} {label(n)}: peak RSS ≤ {limit} MiB",
                                  "n/a" if m is None else f"{m.peak_rss_mib:,.0f} MiB",
                                  None if m is None else (m.peak_rss_mib or 0) <= limit))
        eql = _ratio(_get(results, "hunt-seed", n), _get(results, "eql-seed", n))
        out.append(Target(f"hunt-seed {label(n)}: ahead of eql streaming (< 1×)",
                          "n/a" if eql is None else f"{eql:.2f}×", None if eql is None else eql < 1))
        for rules in ("seed", "corpus"):
            ratio = _ratio(_get(results, f"once-{rules}", n), _get(results, f"hunt-window-{rules}", n))
            out.append(Target(f"once-{rules} {label(n)}: ≤ 1.5× hunt-window-{rules}",
                              "n/a" if ratio is None else f"{ratio:.2f}×", None if ratio is None else ratio <= 1.5))
            once, window = _get(results, f"once-{rules}", n), _get(results, f"hunt-window-{rules}", n)
            # run --once searches the halves of a window that answered max_signals (Kibana's does not; we split so
            # nothing is lost), hunt stops at the cap: the same alerts, more where a rule reached the cap
            same = None if once is None or window is None else (once.alerts or 0) >= (window.alerts or 0)
            out.append(Target(f"once-{rules} {label(n)}: at least the alerts of hunt-window-{rules}",
                              "n/a" if same is None else f"{once.alerts} / {window.alerts}", same))
    if large != small:
        for path, what in (("hunt-seed", "rss"), ("hunt-corpus", "rss"), ("ingest", "rss"), ("once-corpus", "time"),
                           ("once-seed", "time")):
            a, b = _get(results, path, small), _get(results, path, large)
            if a is None or b is None:
                out.append(Target(f"{path}: {what} flat {label(small)} → {label(large)}", "n/a", None))
                continue
            x, y = (a.peak_rss_mib, b.peak_rss_mib) if what == "rss" else (a.seconds, b.seconds)
            grow = (y or 0) / (x or 1)
            out.append(Target(f"{path}: {'peak RSS' if what == 'rss' else 'time'} flat {label(small)} → {label(large)} "
                              f"(≤ {FLAT:g}×)", f"{grow:.2f}×", grow <= FLAT))
    return out


def print_report(results: list[Measure], sizes: list[int], notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 160))
    summary = Table(title="Targets (issue 12)", title_justify="left")
    for column in ("target", "measured", "met"):
        summary.add_column(column, justify="left" if column == "target" else "right")
    for t in targets(results, sizes):
        summary.add_row(t.name, t.measured, "—" if t.met is None else ("yes" if t.met else "[red]no[/red]"))
    console.print(summary)
    table = Table(title="The user's path: one fresh process per row", title_justify="left")
    for column in ("path", "N", "input events", "seconds", "events/s", "peak RSS MiB", "× floor", "alerts", "status"):
        table.add_column(column, justify="left" if column in ("path", "status") else "right")
    for m in results:
        floor = _get(results, "floor", m.events)
        ratio = _ratio(m if m.status == "ok" else None, floor)
        rate = f"{m.input_events / m.seconds:,.0f}" if m.seconds and m.status == "ok" else ""
        table.add_row(m.path, label(m.events), f"{m.input_events:,}",
                      "" if m.seconds is None else f"{m.seconds:.1f}", rate,
                      "" if m.peak_rss_mib is None else f"{m.peak_rss_mib:,.0f}",
                      "" if ratio is None else f"{ratio:.2f}×", "" if m.alerts is None else f"{m.alerts:,}",
                      m.status + (f": {m.note}" if m.note else ""))
    console.print(table)
    for note in notes:
        console.print(note)


# ---- the run --------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_floor"]:
        return worker_floor(argv[1])
    if argv[:1] == ["_eql"]:
        return worker_eql(argv[1], argv[2])
    if argv[:1] == ["_window"]:
        return worker_window(argv[1], argv[2], argv[3])
    if argv[:1] == ["_overrides"]:
        return worker_overrides(Path(argv[1]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="1000000", help="comma-separated event counts (default 1000000)")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated subset of {', '.join(PATHS)}")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data", help="cached files and stores")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the detection-rules checkout")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one measurement may take")
    parser.add_argument("--mem-limit", type=float, default=12, help="GiB of address space one measurement may take")
    parser.add_argument("--json", type=Path, help="where the results go (default bench/results/path-<UTC>.json)")
    args = parser.parse_args(argv)
    sizes = sorted(int(n) for n in args.events.split(","))
    wanted = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths: {', '.join(unknown)} (known: {', '.join(PATHS)})")
    if not SEED_RULE.exists():
        print(f"the seed rule is not at {SEED_RULE}", file=sys.stderr)
        return 2
    if any("corpus" in p for p in wanted) and not args.corpus.is_dir():
        print(f"the rule corpus is not at {args.corpus}", file=sys.stderr)
        return 2
    data_dir = args.data_dir.resolve()
    work = data_dir / "work"
    (work / "seed-rules").mkdir(parents=True, exist_ok=True)
    (work / "seed-rules" / SEED_RULE.name).write_text(SEED_RULE.read_text())
    run_stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = work / "logs" / run_stamp
    rule_runner = str(Path(sys.executable).with_name("rule-runner"))
    limit = int(args.mem_limit * 2**30)
    overrides = corpus_overrides(args.corpus) if any("corpus" in p for p in wanted) else {}
    notes = [f"{sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} CPUs; rule-runner at "
             f"{_commit()}; memory limit {args.mem_limit:g} GiB and {args.timeout:.0f} s per measurement"]
    if overrides:
        notes.append(f"corpus: {len(overrides)} EQL rules had another look-back than {LOOKBACK}: overridden to it")
    have_eql = importlib.util.find_spec("eql") is not None  # not imported here: see `lean`
    results: list[Measure] = []

    def run(path: str, n: int, inputs: int, command: list[str]) -> Measure:
        print(f"{label(n)} {path} ...", flush=True)
        m = measure(path, n, inputs, command, logs / f"{path}-{label(n)}.log", timeout=args.timeout, mem_limit=limit)
        print(f"  {m.status} {m.seconds:.1f} s, {m.peak_rss_mib:,.0f} MiB  {m.note or m.summary[:150]}", flush=True)
        results.append(m)
        return m

    for n in sizes:
        file = events_file(data_dir, n, args.seed)
        store, meta = store_paths(data_dir, file)
        configs = {"seed": write_config(work, f"seed-{label(n)}", work / "seed-rules", store, {}),
                   "corpus": write_config(work, f"corpus-{label(n)}", args.corpus, store, overrides)}
        out = work / "out"
        out.mkdir(exist_ok=True)
        if "floor" in wanted:
            run("floor", n, n, [sys.executable, __file__, "_floor", str(file)])
        if "eql-seed" in wanted:
            if have_eql:
                run("eql-seed", n, n, [sys.executable, __file__, "_eql", str(file), str(SEED_RULE)])
            else:
                results.append(Measure("eql-seed", n, n, status="skipped", note="the eql package is not installed "
                                       "(pip install -e '.[bench]')"))
        for rules in ("seed", "corpus"):
            if f"hunt-{rules}" in wanted:
                run(f"hunt-{rules}", n, n, [rule_runner, "hunt", "--config", str(configs[rules]), "--out",
                                           str(out / f"hunt-{rules}-{label(n)}.ndjson"), str(file)])
        needs_store = any(p.startswith("once-") for p in wanted)
        if "ingest" in wanted or (needs_store and cached_store(data_dir, file) is None):
            remove_store(store)
            store.parent.mkdir(parents=True, exist_ok=True)
            command = [rule_runner, "ingest", "--config", str(configs["seed"]), str(file)]
            if "ingest" in wanted:
                m = run("ingest", n, n, command)
            else:
                print(f"{label(n)}: building the store {store} (not measured) ...", flush=True)
                m = measure("ingest", n, n, command, logs / f"store-{label(n)}.log", timeout=args.timeout,
                            mem_limit=limit)
            if m.status == "ok":
                meta.write_text(json.dumps(store_key(file)))
        if not any(p.startswith(("once-", "hunt-window-")) for p in wanted):
            continue
        now = run_now(file)
        window, count, first, last = window_file(file, now)
        notes.append(f"{label(n)}: run --once at {iso(now)}; the window [{iso(now - WINDOW)}, {iso(now)}] holds "
                     f"{count:,} events, {first} to {last}")
        for rules in ("seed", "corpus"):
            if f"hunt-window-{rules}" in wanted:
                run(f"hunt-window-{rules}", n, count, [rule_runner, "hunt", "--config", str(configs[rules]), "--out",
                                                       str(out / f"hunt-window-{rules}-{label(n)}.ndjson"),
                                                       str(window)])
            if f"once-{rules}" in wanted:
                if cached_store(data_dir, file) is None:
                    results.append(Measure(f"once-{rules}", n, count, status="skipped", note="no store: ingest failed"))
                    continue
                first_run(store)
                run(f"once-{rules}", n, count, [rule_runner, "run", "--once", "--config", str(configs[rules]),
                                                "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")])
    notes.append(f"peak RSS figures cannot read below this harness's own peak when it started them "
                 f"({resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB): the high-water mark "
                 "survives fork and exec")
    print_report(results, sizes, notes)
    target = args.json or BENCH / "results" / f"path-{run_stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"notes": notes, "results": [asdict(m) for m in results],
                                  "targets": [asdict(t) for t in targets(results, sizes)]}, indent=1))
    print(f"results: {target}")
    return 1 if any(m.status in ("failed", "timeout") for m in results) else 0


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "runner"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes in runner/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
