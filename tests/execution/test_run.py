"""One execution end to end on the embedded store: the seed rule on the samples, overlapping and repeated windows,
catch-up and gaps, retries, failures, and an execution that dies part-way."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.backends import EqlRequest, QueryError, TransientError
from runner.backends.embedded import EmbeddedBackend, Store
from runner.catalog import Rule, load_rule_file
from runner.execution import ExecutionOptions, ExecutionStatus, execute

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
EXPECTED = json.loads((ROOT / "samples" / "seed_rule.expected.json").read_text())
T = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)
NO_WAIT = ExecutionOptions(retry_backoff=0.0)


def seed_rule() -> Rule:
    return load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")


def samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.db")
    s.ingest(samples())
    return s


def shells(store: Store) -> list[dict[str, Any]]:
    return [a["_source"] for a in store.alerts() if "kibana.alert.group.index" not in a["_source"]]


def event_ids(shell: Mapping[str, Any]) -> list[str]:
    return [a["id"] for a in shell["kibana.alert.ancestors"] if a["type"] == "event"]


def test_seed_rule_on_the_samples(store: Store) -> None:
    record = execute(seed_rule(), EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.SUCCEEDED, record.message
    expected = sorted(s["events"] for s in EXPECTED["sequences"])
    assert record.hits == len(expected) == 10
    assert record.alerts_created == 3 * len(expected)  # a shell and two building blocks per sequence
    assert sorted(event_ids(shell) for shell in shells(store)) == expected
    alerts = list(store.alerts())
    blocks = [a["_source"] for a in alerts if "kibana.alert.group.index" in a["_source"]]
    assert {b["kibana.alert.building_block_type"] for b in blocks} == {"default"}
    for shell in shells(store):
        assert shell["kibana.alert.rule.rule_id"] == "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
        assert shell["kibana.alert.rule.rule_type_id"] == "siem.eqlRule"
        assert shell["kibana.alert.depth"] == 2 and shell["kibana.alert.group.id"] == shell["kibana.alert.uuid"]
        assert shell["kibana.alert.workflow_status"] == "open" and shell["event.kind"] == "signal"
        assert shell["host"]["id"] in {h["host.id"] for h in EXPECTED["hosts"].values()}
        assert shell["kibana.alert.reason"].endswith("created medium alert Suspicious APT Package Manager Network Connection.")
    assert all(a["_index"] == ".alerts-security.alerts-default" for a in alerts)
    assert store.rule_state(seed_rule().rule_id)["previous_started_at"] == T.isoformat()


def test_repeated_and_overlapping_windows_create_no_duplicates(store: Store) -> None:
    rule, backend = seed_rule(), EmbeddedBackend(store)
    first = execute(rule, backend, started_at=T, options=NO_WAIT)
    again = execute(rule, backend, started_at=T, options=NO_WAIT)  # the very same window
    later = execute(rule, backend, started_at=T + timedelta(minutes=5), options=NO_WAIT)  # overlaps 4 minutes
    assert first.alerts_created == 30
    assert (again.alerts_created, again.duplicates) == (0, 30)
    assert later.alerts_created == 0 and later.status == ExecutionStatus.SUCCEEDED
    assert len(list(store.alerts())) == 30


def test_late_execution_catches_up_and_reports_the_gap(store: Store) -> None:
    rule, backend = seed_rule(), EmbeddedBackend(store)
    store.save_rule_state(rule.rule_id, {"previous_started_at": (T - timedelta(minutes=40)).isoformat()})
    record = execute(rule, backend, started_at=T, options=NO_WAIT)
    assert len(record.windows) == 5 and record.windows[0].start == "2026-01-15T09:36:00.000Z"
    assert record.status == ExecutionStatus.FAILED and "11 minutes (660000ms) were not queried" in record.message
    assert record.gap == {"gte": "2026-01-15T09:25:00.000Z", "lte": "2026-01-15T09:36:00.000Z", "duration_s": 660}
    assert record.alerts_created == 30  # the windows that ran still wrote their alerts


class Dies(BaseException):
    """The process dying: nothing in the execution catches it."""


class FlakyBackend(EmbeddedBackend):
    """The embedded backend with faults injected by the test."""

    def __init__(self, store: Store, *, search_faults: Sequence[BaseException] = (),
                 die_on_search: int | None = None) -> None:
        super().__init__(store)
        self.search_faults = list(search_faults)
        self.searches = 0
        self.die_on_search = die_on_search

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        self.searches += 1
        if self.searches == self.die_on_search:
            raise Dies()
        if self.search_faults:
            raise self.search_faults.pop(0)
        return super().eql_search(request)


def test_an_execution_killed_part_way_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    rule = seed_rule()
    store = Store(tmp_path / "store.db")
    store.ingest(samples())
    store.save_rule_state(rule.rule_id, {"previous_started_at": (T - timedelta(minutes=5)).isoformat()})
    # started 6 minutes late: a catch-up window (holding the sample sequences) then the current one; the process
    # dies while searching the second, after the first one's alerts were committed
    late = T + timedelta(minutes=6)
    with pytest.raises(Dies):
        execute(rule, FlakyBackend(store, die_on_search=2), started_at=late, options=NO_WAIT)
    written = {a["_id"] for a in store.alerts()}
    assert len(written) == 30
    assert store.rule_state(rule.rule_id)["previous_started_at"] == (T - timedelta(minutes=5)).isoformat()
    # restart: a new process, a new store handle, the next scheduled time
    restarted = Store(tmp_path / "store.db")
    record = execute(rule, EmbeddedBackend(restarted), started_at=late + timedelta(minutes=5), options=NO_WAIT)
    assert record.status == ExecutionStatus.SUCCEEDED and record.windows[0].start <= "2026-01-15T10:00:00.000Z"
    assert record.alerts_created == 0 and record.duplicates == 30
    ids = [a["_id"] for a in restarted.alerts()]
    assert len(ids) == len(set(ids)) == 30 and written <= set(ids)
    assert {tuple(event_ids(s)) for s in shells(restarted)} == {tuple(s["events"]) for s in EXPECTED["sequences"]}


def test_transient_search_errors_are_retried(store: Store) -> None:
    backend = FlakyBackend(store, search_faults=[TransientError("503"), TransientError("timeout")])
    slept: list[float] = []
    record = execute(seed_rule(), backend, started_at=T, options=ExecutionOptions(retry_backoff=0.5), sleep=slept.append)
    assert record.status == ExecutionStatus.SUCCEEDED and backend.searches == 3 and slept == [0.5, 1.0]


def test_a_window_that_keeps_failing_stays_pending(store: Store) -> None:
    rule = seed_rule()
    backend = FlakyBackend(store, search_faults=[TransientError("connection refused")] * 4)
    record = execute(rule, backend, started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.FAILED and "stays pending" in record.message and not record.state_advanced
    # the first execution's window was recorded as pending before its first search
    assert store.rule_state(rule.rule_id) == {"pending_since": record.windows[0].start}
    # the next execution, one interval later, searches the missed time again as a catch-up window
    retry = execute(rule, EmbeddedBackend(store), started_at=T + timedelta(minutes=5), options=NO_WAIT)
    assert retry.status == ExecutionStatus.SUCCEEDED and len(retry.windows) == 2 and retry.alerts_created == 30
    assert (retry.windows[0].start, retry.windows[0].end) == (record.windows[0].start, record.windows[0].end)
    assert store.rule_state(rule.rule_id)["previous_started_at"] == (T + timedelta(minutes=5)).isoformat()


def test_a_bad_query_fails_without_retry(store: Store) -> None:
    backend = FlakyBackend(store, search_faults=[QueryError("verification_exception", "Found 1 problem\nline 1:1: x")])
    record = execute(seed_rule(), backend, started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.FAILED and record.message == "Found 1 problem\nline 1:1: x" and backend.searches == 1
    assert not record.state_advanced


def test_no_matching_index_is_a_warning(tmp_path: Path) -> None:
    record = execute(seed_rule(), EmbeddedBackend(Store(tmp_path / "empty.db")), started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and "no index matching" in record.message and record.state_advanced


def test_max_signals_reached_is_a_warning(store: Store, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "persistence_apt_package_manager_netcon.toml").read_text()
    path = tmp_path / "capped.toml"
    path.write_text(text.replace('from = "now-9m"', 'from = "now-9m"\nmax_signals = 4'))
    no_split = ExecutionOptions(retry_backoff=0.0, max_window_splits=0)  # Kibana: what is beyond size is lost
    record = execute(load_rule_file(path), EmbeddedBackend(store), started_at=T, options=no_split)
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and record.hits == 4 and record.alerts_created == 12
    assert "reached the maximum alert limit" in record.message
    assert record.windows[0].searches == 1


def test_a_truncated_window_is_split_to_recover_the_rest(store: Store, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "persistence_apt_package_manager_netcon.toml").read_text()
    path = tmp_path / "capped.toml"
    path.write_text(text.replace('from = "now-9m"', 'from = "now-9m"\nmax_signals = 4'))
    options = ExecutionOptions(retry_backoff=0.0, max_window_splits=8)
    record = execute(load_rule_file(path), EmbeddedBackend(store), started_at=T, options=options)
    # every one of the 10 sequences, 30 alerts, each written once although the split windows overlap on their cuts
    assert record.hits == 10 and record.alerts_created == 30 and record.duplicates == 0
    assert record.windows[0].searches > 1
    assert "searched again in" in record.message and record.status == ExecutionStatus.PARTIAL_FAILURE and record.state_advanced
    # a bounded split that still finds a cut window says that results may be missing
    shallow = execute(load_rule_file(path), EmbeddedBackend(store), started_at=T,
                      options=ExecutionOptions(retry_backoff=0.0, max_window_splits=1))
    assert shallow.windows[0].searches == 3 and "results may still be missing" in shallow.message


def test_execution_records_are_stored(store: Store) -> None:
    record = execute(seed_rule(), EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    [stored] = store.executions(seed_rule().rule_id)
    assert stored["uuid"] == record.uuid and stored["status"] == ExecutionStatus.SUCCEEDED and stored["alerts_created"] == 30
    assert stored["windows"][0]["status"] == "searched"


def test_exception_lists_that_cannot_be_applied_are_a_warning(store: Store, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "persistence_apt_package_manager_netcon.toml").read_text()
    lists = ('[[rule.exceptions_list]]\nid = "a"\nlist_id = "trusted-admins"\nnamespace_type = "single"\ntype = "detection"\n\n'
             '[[rule.exceptions_list]]\nid = "endpoint_list"\nlist_id = "endpoint_list"\nnamespace_type = "agnostic"\n'
             'type = "endpoint"\n')
    path = tmp_path / "with_lists.toml"
    path.write_text(text + "\n" + lists)
    record = execute(load_rule_file(path), EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and record.alerts_created == 30
    assert record.message == "The following exceptions won't be applied to rule execution: trusted-admins"


class SlowBackend(EmbeddedBackend):
    def __init__(self, store: Store, delay: float) -> None:
        super().__init__(store)
        self.delay = delay

    def eql_search(self, request: EqlRequest) -> dict[str, Any]:
        import time

        time.sleep(self.delay)
        return super().eql_search(request)


def test_an_execution_past_its_timeout_leaves_the_rest_pending(store: Store) -> None:
    rule = seed_rule()
    store.save_rule_state(rule.rule_id, {"previous_started_at": (T - timedelta(minutes=20)).isoformat()})
    options = ExecutionOptions(retry_backoff=0.0, timeout=0.2)
    record = execute(rule, SlowBackend(store, 0.3), started_at=T, options=options)
    assert len(record.windows) > 1 and record.windows[0].status == "searched"
    assert all(w.status == "timed out" for w in record.windows[1:])
    assert record.status == ExecutionStatus.FAILED and "timed out after 0.2s" in record.message and not record.state_advanced
    # the next execution, without the delay, covers the same time: nothing lost, nothing written twice
    again = execute(rule, EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert [w.start for w in again.windows] == [w.start for w in record.windows] and again.state_advanced
    assert record.alerts_created + again.alerts_created == 30
