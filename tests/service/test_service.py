"""The scheduler: runs on the interval, one at a time per rule, graceful stop; and a real process killed with
SIGKILL at arbitrary moments, restarted, ending with every alert exactly once and a consistent store."""

from __future__ import annotations

import itertools
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.backends.embedded import EmbeddedBackend, Store
from runner.catalog import load_rule_file
from runner.cli.ingest import _shifted
from runner.execution import ExecutionRecord
from runner.service import Service
from tests.execution.test_batch import Counting, rules

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
EXPECTED = json.loads((ROOT / "samples" / "seed_rule.expected.json").read_text())


def shifted_samples(end: datetime) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    latest = max(datetime.fromisoformat(d["_source"]["@timestamp"].replace("Z", "+00:00")) for d in docs)
    return [{**d, "_source": _shifted(d["_source"], end - latest)} for d in docs]


def test_service_runs_each_rule_on_its_interval_one_at_a_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    store.ingest(shifted_samples(datetime.now(UTC) - timedelta(seconds=5)))
    rule = load_rule_file(SEED).with_overrides(interval="1s")
    running = 0
    overlapped = False
    records: list[ExecutionRecord] = []
    lock = threading.Lock()

    class Slow(EmbeddedBackend):
        def eql_search(self, request: Any) -> dict[str, Any]:
            nonlocal running, overlapped
            with lock:
                running += 1
                overlapped |= running > 1
            try:
                time.sleep(1.5)  # longer than the interval: the next run must wait, not overlap
                return super().eql_search(request)
            finally:
                with lock:
                    running -= 1

    service = Service([rule], Slow(store), first_run_jitter=timedelta(0),
                      on_execution=lambda _rule, record: records.append(record))
    service.start()
    time.sleep(4.0)
    service.stop(wait=True)  # waits for the running execution
    assert not overlapped
    assert 2 <= len(records) <= 3
    assert records[0].alerts_created == 30 and all(r.alerts_created == 0 for r in records[1:])
    assert all(r.status == "succeeded" for r in records)
    assert len(store.executions(rule.rule_id)) == len(records)


def test_rules_due_together_run_together(tmp_path: Path) -> None:
    """One job per interval: the rules sharing an interval are executed together, their searches in one batch."""
    store = Store(tmp_path / "store.db")
    store.ingest(shifted_samples(datetime.now(UTC) - timedelta(seconds=5)))
    first, second, third = rules(tmp_path)[:3]
    chosen = [first.with_overrides(interval="1s"), second.with_overrides(interval="1s"),
              third.with_overrides(interval="1h")]
    backend = Counting(store)
    records: list[tuple[str, ExecutionRecord]] = []
    service = Service(chosen, backend, first_run_jitter=timedelta(0),
                      on_execution=lambda rule, record: records.append((rule.rule_id, record)))
    service.start()
    jobs = sorted(job.name for job in service.scheduler.get_jobs())
    time.sleep(1.5)
    service.stop(wait=True)
    assert jobs == ["1 rule(s) every 3600s", "2 rule(s) every 1s"]
    assert backend.batches and set(backend.batches) == {2}  # the 1s rules, each run; the hourly one alone
    by_rule: dict[str, ExecutionRecord] = {}
    for rule_id, record in records:
        by_rule.setdefault(rule_id, record)  # each rule's first execution
    assert by_rule[first.rule_id].alerts_created == 30 and by_rule[second.rule_id].alerts_created == 18
    assert all(record.status == "succeeded" for rule_id, record in records if rule_id != third.rule_id)


def test_disabled_rules_are_not_scheduled(tmp_path: Path) -> None:
    rule = load_rule_file(SEED).with_overrides(enabled=False)
    assert Service([rule], EmbeddedBackend(Store(tmp_path / "s.db"))).rules == []


def _config(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text(
        "backend: embedded\n"
        "embedded: {path: store.db}\n"
        "rules:\n  paths: [rules]\n  overrides:\n"
        "    eaef8a35-12e0-4ac0-bc14-81c72b6bd27c: {interval: 1s, from: now-10m}\n"
        "scheduler: {first_run_jitter: 0s}\n"
        "logging: {level: WARNING}\n"
    )
    return config


def test_killed_service_restarts_without_loss_or_duplicates(tmp_path: Path) -> None:
    config = _config(tmp_path)
    store = Store(tmp_path / "store.db")
    store.ingest(shifted_samples(datetime.now(UTC) - timedelta(seconds=2)))
    command = [sys.executable, "-m", "runner", "run", "--config", str(config)]
    chance = random.Random(7)
    for _ in range(3):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(chance.uniform(0.8, 2.5))  # interpreter start-up is ~0.5 s: kills land before, in and between runs
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    before = len(store.executions(limit=1000))
    while time.monotonic() < deadline and len(store.executions(limit=1000)) < before + 2:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr.decode()

    db = sqlite3.connect(tmp_path / "store.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    alerts = list(Store(tmp_path / "store.db").alerts())
    shells = [a["_source"] for a in alerts if "kibana.alert.group.index" not in a["_source"]]
    assert len(alerts) == 30 and len(shells) == 10
    found = sorted([x["id"] for x in s["kibana.alert.ancestors"] if x["type"] == "event"] for s in shells)
    assert found == sorted(s["events"] for s in EXPECTED["sequences"])
    executions = sorted(store.executions(limit=1000), key=lambda r: r["started_at"])
    assert executions and all(r["status"] == "succeeded" for r in executions)
    # no window lost: consecutive recorded executions' windows overlap (a 10 minute look-back, runs every second)
    windows = [(w["start"], w["end"]) for r in executions for w in r["windows"]]
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start <= end
    state = store.rule_state("eaef8a35-12e0-4ac0-bc14-81c72b6bd27c")
    assert state["previous_started_at"] == executions[-1]["started_at"]


def test_the_service_keeps_its_health_file_fresh_and_removes_it_on_stop(tmp_path: Path) -> None:
    config = _config(tmp_path)
    health = tmp_path / "health"
    command = [sys.executable, "-m", "runner", "run", "--config", str(config), "--health-file", str(health)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not health.exists():
        time.sleep(0.1)
    assert health.exists(), "the service never wrote its health file"
    written = datetime.fromisoformat(health.read_text().strip())
    assert abs((datetime.now(UTC) - written).total_seconds()) < 20
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr.decode()
    assert not health.exists()


class _Clock(threading.Event):
    """A stop event whose waits return at once (and are recorded), unless the test sets it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return self.is_set()


def test_the_service_waits_for_its_backend_one_log_line_per_attempt(tmp_path: Path, caplog: Any) -> None:
    from runner.backends import AccessError, TransientError

    failures = [TransientError("connecting to Elasticsearch: ConnectionError: refused"),
                AccessError("the alerts alias [.alerts-security.alerts-default] does not exist"),
                TransientError("HTTP 503 master_not_discovered_exception")]

    class Late(EmbeddedBackend):
        starts = 0

        def start(self) -> None:
            Late.starts += 1
            if failures:
                raise failures.pop(0)

    service = Service([load_rule_file(SEED)], Late(Store(tmp_path / "s.db")))
    stop = _Clock()
    with caplog.at_level("INFO", logger="runner.service"):
        assert service.start_backend(stop)
    assert Late.starts == 4 and stop.waits == [1.0, 2.0, 4.0]  # backoff, capped at STARTUP_MAX_BACKOFF
    lines = [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()]
    assert len(lines) == 3 and "(attempt 2," in lines[1] and "alerts alias" in lines[1]
    assert any("started at attempt 4" in r.getMessage() for r in caplog.records)


def test_the_service_waits_for_kibana_too(tmp_path: Path) -> None:
    """With Kibana configured, the rules' uuids are read at start-up: Kibana not answering yet is waited for like
    the cluster, and the rules are scheduled with the uuids it gives."""
    from runner.backends import TransientError

    answers: list[Any] = [TransientError("Kibana (http://kibana:5601): HTTP 503"), "kibana-uuid"]
    rule = load_rule_file(SEED)

    def link(rules: Any) -> list[Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return [r.with_overrides(uuid=answer) for r in rules]

    service = Service([rule], EmbeddedBackend(Store(tmp_path / "s.db")), link_rules=link)
    stop = _Clock()
    assert service.start_backend(stop) and stop.waits == [1.0]
    assert [r.uuid for r in service.rules] == ["kibana-uuid"]


def test_a_stop_while_waiting_for_the_backend_ends_the_wait(tmp_path: Path) -> None:
    from runner.backends import TransientError

    class Down(EmbeddedBackend):
        def start(self) -> None:
            raise TransientError("refused")

    stop = _Clock()
    stop.set()
    assert not Service([load_rule_file(SEED)], Down(Store(tmp_path / "s.db"))).start_backend(stop)
    assert stop.waits == [1.0]


def test_the_service_process_keeps_trying_an_unreachable_cluster_until_stopped(tmp_path: Path) -> None:
    from tests.backends.es_stub import refused_url

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text(f"backend: elasticsearch\nelasticsearch: {{hosts: {refused_url()}, retry_backoff: 0s}}\n"
                      "rules: {paths: [rules]}\nlogging: {level: INFO}\n")
    command = [sys.executable, "-m", "runner", "run", "--config", str(config)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(4.5)  # interpreter start-up, then attempts at 0 s, 1 s and 3 s
    assert process.poll() is None, "the service exited instead of waiting for its cluster"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    text = stderr.decode()
    assert process.returncode == 0, text
    assert text.count("did not start") >= 2 and "ConnectionError" in text and "Traceback" not in text
