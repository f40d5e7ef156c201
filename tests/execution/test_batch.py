"""Rules due together (`execute_many`): their single windows searched in one `search_many`, each execution then
doing exactly what it does alone: same records, alerts and state; a failure of the batch retried rule by rule;
catch-up windows searched on their own."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.backends import BackendError, EqlRequest, SearchRequest, TransientError
from runner.backends.embedded import EmbeddedBackend, Store
from runner.catalog import Rule, load_rule_file
from runner.execution import ExecutionRecord, execute, execute_many
from tests.execution.test_run import NO_WAIT, ROOT, Dies, T, samples

SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
QUERIES = {
    # the seed rule's own query (a sequence: 10 hits in the samples)
    "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c": None,
    # an event query with hits
    "00000000-0000-4000-8000-000000000001": 'process where process.parent.name == "apt" and process.args == "-c"',
    # more hits than max_signals (set to 3 below): the window is searched again in halves, one by one
    "00000000-0000-4000-8000-000000000002": "network where true",
    # a query the mapping refuses: the rule fails as it does alone
    "00000000-0000-4000-8000-000000000003": "process where no.such.field == 1",
    # an index pattern that matches nothing: a warning, as alone
    "00000000-0000-4000-8000-000000000004": "process where true",
}


def rules(tmp_path: Path) -> list[Rule]:
    """The seed rule and variants of it (other ids and queries) in `tmp_path`."""
    text = SEED.read_text()
    made = []
    for rule_id, query in QUERIES.items():
        variant = text.replace("eaef8a35-12e0-4ac0-bc14-81c72b6bd27c", rule_id)
        if query is not None:
            variant = re.sub(r"(?s)\nquery = '''.*?'''", f"\nquery = '''\n{query}\n'''", variant)
        if rule_id.endswith("2"):
            variant = variant.replace("[rule]\n", "[rule]\nmax_signals = 3\n", 1)
        if rule_id.endswith("4"):
            variant = variant.replace('index = ["logs-endpoint.events.*"]', 'index = ["nothing-here-*"]')
        path = tmp_path / f"{rule_id}.toml"
        path.write_text(variant)
        made.append(load_rule_file(path))
    return made


class Counting(EmbeddedBackend):
    """The embedded backend counting its searches; `batch_faults`: what the next batched searches answer instead."""

    def __init__(self, store: Store, batch_faults: Sequence[BackendError] = ()) -> None:
        super().__init__(store)
        self.single = 0
        self.batches: list[int] = []
        self.batch_faults = list(batch_faults)

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        self.single += 1
        return super().eql_search(request)

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        self.batches.append(len(requests))
        if self.batch_faults:
            return [self.batch_faults.pop(0)] * len(requests)
        return super().search_many(requests)


def comparable(record: ExecutionRecord) -> dict[str, Any]:
    """What an execution did, without what differs between any two executions (uuid, times)."""
    data = record.to_dict()
    for key in ("uuid", "started_at", "finished_at", "duration_ms", "search_ms", "write_ms"):
        data.pop(key)
    return data


def stores(tmp_path: Path) -> tuple[Store, Store]:
    one = Store(tmp_path / "one.db")
    one.ingest(samples())
    one.close()
    shutil.copy(tmp_path / "one.db", tmp_path / "many.db")
    return Store(tmp_path / "one.db"), Store(tmp_path / "many.db")


def state(store: Store, rule: Rule) -> dict[str, Any]:
    return {k: v for k, v in (store.rule_state(rule.rule_id) or {}).items() if k != "execution_uuid"}


def alerts(store: Store) -> list[tuple[str, str]]:
    return sorted((a["_id"], a["_source"]["kibana.alert.rule.rule_id"]) for a in store.alerts())


@pytest.mark.parametrize("later", [False, True], ids=["first execution", "next execution"])
def test_rules_due_together_do_what_each_does_alone(tmp_path: Path, later: bool) -> None:
    chosen = rules(tmp_path)
    alone_store, together_store = stores(tmp_path)
    alone, together = EmbeddedBackend(alone_store), Counting(together_store)
    at = T + timedelta(minutes=5) if later else T
    if later:  # each rule's previous execution was at T: one window each, overlapping the last
        for store in (alone_store, together_store):
            for rule in chosen:
                store.save_rule_state(rule.rule_id, {"previous_started_at": T.isoformat()})
    expected = [execute(rule, alone, started_at=at, options=NO_WAIT) for rule in chosen]
    seen: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, together, started_at=at, pool=pool, options=NO_WAIT,
                               on_execution=lambda rule, _record: seen.append(rule.rule_id))
    assert together.batches == [len(chosen)]
    # the batch answered every first search (the failing ones too); the rest are what only the truncated window
    # needs: its halves, one by one
    assert together.single == sum(w.searches - 1 for r in expected for w in r.windows if w.searches) > 0
    assert [comparable(r) for r in records] == [comparable(r) for r in expected]
    assert [r.status for r in records] == ["succeeded", "succeeded", "partial failure", "failed", "partial failure"]
    assert records[0].hits == (5 if later else 10) and "Unknown column [no.such.field]" in records[3].message
    assert sorted(seen) == sorted(rule.rule_id for rule in chosen)
    assert alerts(together_store) == alerts(alone_store) and alerts(alone_store)
    for rule in chosen:  # the state advanced alike (each execution's own uuid aside)
        assert state(together_store, rule) == state(alone_store, rule)


def test_a_failed_batch_is_retried_rule_by_rule(tmp_path: Path) -> None:
    chosen = rules(tmp_path)[:2]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    backend = Counting(store, batch_faults=[TransientError("the store is busy")])
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=NO_WAIT)
    assert backend.batches == [2] and backend.single == 2  # each rule's second attempt, on its own
    assert [r.status for r in records] == ["succeeded", "succeeded"]
    assert [r.windows[0].searches for r in records] == [1, 1] and records[0].alerts_created == 30


def test_a_batch_failing_for_good_fails_each_rule_as_alone(tmp_path: Path) -> None:
    chosen = rules(tmp_path)[:2]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    backend = Counting(store, batch_faults=[TransientError("the store is busy")])
    options = type(NO_WAIT)(retry_backoff=0.0, retries=0)
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=options)
    assert backend.single == 0
    for record in records:
        assert record.status == "failed" and not record.state_advanced
        assert "the store is busy; the window stays pending" in record.message
    # the next execution searches the same time again (a catch-up from the pending first window)
    assert store.rule_state(chosen[0].rule_id) == {"pending_since": "2026-01-15T09:56:00.000Z"}


def test_catch_up_windows_are_searched_on_their_own(tmp_path: Path) -> None:
    chosen = rules(tmp_path)[:3]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    # the first rule is 20 minutes late: several windows; the other two are due with one window each
    store.save_rule_state(chosen[0].rule_id, {"previous_started_at": (T - timedelta(minutes=20)).isoformat()})
    backend = Counting(store)
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=NO_WAIT)
    assert backend.batches == [2]
    assert len(records[0].windows) > 1 and records[0].alerts_created == 30
    assert backend.single >= len(records[0].windows)  # the late rule's windows, one by one
    assert records[1].status == "succeeded" and records[1].hits == 18


def test_one_rule_alone_is_not_batched(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    backend = Counting(store)
    with ThreadPoolExecutor(1) as pool:
        [record] = execute_many(rules(tmp_path)[:1], backend, started_at=T, pool=pool, options=NO_WAIT)
    assert backend.batches == [] and backend.single == 1 and record.alerts_created == 30


class SlowBatch(Counting):
    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        time.sleep(0.3)
        return super().search_many(requests)


def test_a_window_answered_by_a_long_batch_is_not_timed_out(tmp_path: Path) -> None:
    """The execution timeout stops new searches; the batch searched the window already, however long it took."""
    chosen = rules(tmp_path)[:2]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    backend = SlowBatch(store)
    options = type(NO_WAIT)(retry_backoff=0.0, timeout=0.2)
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=options)
    assert backend.batches == [2] and backend.single == 0
    assert [r.status for r in records] == ["succeeded", "succeeded"] and records[0].alerts_created == 30
    assert all(r.state_advanced for r in records)


class Writes(Counting):
    """The embedded backend counting its state and record writes, one by one and grouped; `group_faults`: what
    the next group writes answer for each item instead of writing; `die_completing`: the process dies when the
    group's completions are sent."""

    def __init__(self, store: Store, group_faults: Sequence[BackendError] = (), die_completing: bool = False) -> None:
        super().__init__(store)
        self.calls: list[tuple[str, int]] = []
        self.group_faults = list(group_faults)
        self.die_completing = die_completing

    def save_rule_state(self, rule_id: str, state: Mapping[str, Any]) -> None:
        self.calls.append(("save_rule_state", 1))
        super().save_rule_state(rule_id, state)

    def complete_execution(self, rule_id: str, state: Mapping[str, Any] | None, record: Mapping[str, Any]) -> None:
        self.calls.append(("complete_execution", 1))
        super().complete_execution(rule_id, state, record)

    def save_rule_states(self, states: Sequence[tuple[str, Mapping[str, Any]]]) -> list[BackendError | None]:
        self.calls.append(("save_rule_states", len(states)))
        if self.group_faults:
            return [self.group_faults.pop(0)] * len(states)
        return super().save_rule_states(states)

    def complete_executions(self, items: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any]]],
                            ) -> list[BackendError | None]:
        self.calls.append(("complete_executions", len(items)))
        if self.die_completing:
            raise Dies()
        if self.group_faults:
            return [self.group_faults.pop(0)] * len(items)
        return super().complete_executions(items)


def test_rules_due_together_write_pending_states_and_completions_once_each(tmp_path: Path) -> None:
    """One transaction for the first executions' pending states, one for every state and record at the end, and
    the same state, records and alerts as each rule alone (`test_rules_due_together_do_what_each_does_alone`)."""
    chosen = rules(tmp_path)
    alone_store, together_store = stores(tmp_path)
    expected = [execute(rule, EmbeddedBackend(alone_store), started_at=T, options=NO_WAIT) for rule in chosen]
    backend = Writes(together_store)
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=NO_WAIT)
    assert backend.calls == [("save_rule_states", len(chosen)), ("complete_executions", len(chosen))]
    assert [comparable(r) for r in records] == [comparable(r) for r in expected]
    stored = {r["uuid"]: r for r in together_store.executions(limit=100)}
    assert [stored[r.uuid] for r in records] == [r.to_dict() for r in records]
    for rule in chosen:
        assert state(together_store, rule) == state(alone_store, rule)


def test_a_failed_group_write_is_written_again_rule_by_rule(tmp_path: Path) -> None:
    chosen = rules(tmp_path)[:2]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    busy = TransientError("the store is busy")
    backend = Writes(store, group_faults=[busy, busy])
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=NO_WAIT)
    # each rule alone: its pending state; then its completion (which saves its state through `save_rule_state`)
    assert sorted(backend.calls) == sorted([("save_rule_states", 2), ("complete_executions", 2)]
                                           + [("save_rule_state", 1), ("complete_execution", 1)] * 2
                                           + [("save_rule_state", 1)] * 2)
    assert [r.status for r in records] == ["succeeded", "succeeded"] and all(r.state_advanced for r in records)
    for rule, record in zip(chosen, records, strict=True):
        assert (store.rule_state(rule.rule_id) or {}).get("execution_uuid") == record.uuid
    assert {r["uuid"] for r in store.executions(limit=10)} == {r.uuid for r in records}


def test_a_run_killed_before_its_group_completed_advances_no_rule_and_duplicates_nothing(tmp_path: Path) -> None:
    """Killed after every rule's alerts were written, before the one write of the group's completions: every rule
    is as before (its first window pending), and the next run searches it again, finding its alerts written."""
    chosen = rules(tmp_path)[:2]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    with ThreadPoolExecutor(2) as pool, pytest.raises(Dies):
        execute_many(chosen, Writes(store, die_completing=True), started_at=T, pool=pool, options=NO_WAIT)
    written = alerts(store)
    assert len(written) == 30 + 18  # both rules' alerts were acknowledged before the completions were sent
    for rule in chosen:
        assert store.rule_state(rule.rule_id) == {"pending_since": "2026-01-15T09:56:00.000Z"}
    assert store.executions(limit=10) == []
    restarted = Store(tmp_path / "store.db")
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, EmbeddedBackend(restarted), started_at=T + timedelta(minutes=5), pool=pool,
                               options=NO_WAIT)
    assert [r.status for r in records] == ["succeeded", "succeeded"]
    assert [r.alerts_created for r in records] == [0, 0] and [r.duplicates > 0 for r in records] == [True, True]
    assert [r.windows[0].start for r in records] == ["2026-01-15T09:56:00.000Z"] * 2  # the pending window again
    assert alerts(restarted) == written
    for rule, record in zip(chosen, records, strict=True):
        assert (restarted.rule_state(rule.rule_id) or {}).get("execution_uuid") == record.uuid


def test_a_group_write_is_all_or_nothing(tmp_path: Path) -> None:
    """`Store.save_group`: the states and records of a group in one transaction: a failure part-way (here a record
    that cannot be written, after the states were) leaves none of them."""
    store = Store(tmp_path / "store.db")
    store.save_rule_state("r0", {"previous_started_at": "before"})
    bad = {"uuid": "u", "rule_id": "r1", "started_at": "x", "status": "failed", "what": object()}
    with pytest.raises(TypeError):
        store.save_group([("r0", {"previous_started_at": "after"}), ("r1", {"pending_since": "x"})], [bad])
    assert store.rule_state("r0") == {"previous_started_at": "before"} and store.rule_state("r1") is None
    assert store.executions() == []


def test_a_rule_searching_alone_is_not_timed_out_by_the_wait_for_the_batch(tmp_path: Path) -> None:
    """A rule with catch-up windows searches alone after the batch; its timeout counts from when its own step
    starts, not from when the group was made (the batch took longer than the timeout)."""
    chosen = rules(tmp_path)[:3]
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    store.save_rule_state(chosen[0].rule_id, {"previous_started_at": (T - timedelta(minutes=20)).isoformat()})
    backend = SlowBatch(store)
    options = type(NO_WAIT)(retry_backoff=0.0, timeout=0.2)
    with ThreadPoolExecutor(2) as pool:
        records = execute_many(chosen, backend, started_at=T, pool=pool, options=options)
    assert backend.batches == [2]
    assert records[0].state_advanced, records[0].message
    assert all(window.status == "searched" for window in records[0].windows)
