"""Query (KQL) rules end to end on the embedded store: corpus rules with matching events and near misses (case,
wildcards, keyword against text fields, missing fields, arrays, the time range with `timestamp_override` and its
fallback), exactly once over overlapping windows, and Kibana's paging (`searchAfterAndBulkCreate`): pages of 100,
at most `max_signals` NEW alerts a window, duplicates not counted against it."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.backends.embedded import EmbeddedBackend, Store
from runner.catalog import Rule, load_rule_file
from runner.execution import ExecutionOptions, ExecutionStatus, execute
from tests.conftest import shared_path

T = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)  # window of a `now-9m` rule: 09:56 .. 10:05
NO_WAIT = ExecutionOptions(retry_backoff=0.0)
PROCESS = ".ds-logs-endpoint.events.process-default-2026.01.15-000001"
SYSLOG = ".ds-logs-system.syslog-default-2026.01.15-000001"
_ids = itertools.count(1)


def corpus_rule(name: str) -> Rule:
    [path] = shared_path("detection-rules").rglob(f"{name}.toml")
    return load_rule_file(path)


def at(minute: float) -> str:
    return (T - timedelta(minutes=9) + timedelta(minutes=minute)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(index: str, minute: float, *, ingested: float | None = -1, **source: Any) -> dict[str, Any]:
    """A document `minute` minutes into the window; `event.ingested` a second later by default (None: absent)."""
    body: dict[str, Any] = {"@timestamp": at(minute), **source}
    if ingested is not None:
        body.setdefault("event", {})["ingested"] = at(minute + (1 / 60 if ingested == -1 else ingested))
    return {"_index": index, "_id": f"e{next(_ids)}", "_source": body}


def sudo(minute: float, args: list[str] | None, *, kind: str = "start", ingested: float | None = -1) -> dict[str, Any]:
    process: dict[str, Any] = {"name": "bash", "pid": 4242}
    if args is not None:
        process["args"] = args
    return event(PROCESS, minute, ingested=ingested, event={"category": ["process"], "type": [kind]},
                 host={"name": "web-1", "os": {"type": "linux"}}, process=process, user={"name": "alice"})


def syslog(minute: float, message: str, process: str = "kernel") -> dict[str, Any]:
    return event(SYSLOG, minute, message=message, process={"name": process},
                 host={"name": "db-1", "os": {"type": "linux"}},
                 data_stream={"dataset": "system.syslog", "type": "logs", "namespace": "default"},
                 event={"dataset": "system.syslog"})


def alerts(store: Store, rule: Rule) -> list[dict[str, Any]]:
    return [a["_source"] for a in store.alerts(rule_id=rule.rule_id)]


def original_ids(store: Store, rule: Rule) -> set[str]:
    return {a["kibana.alert.ancestors"][0]["id"] for a in alerts(store, rule)}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.db")


def test_a_keyword_wildcard_rule_over_arrays_with_its_near_misses(store: Store) -> None:
    # event.category:process and event.type:start and process.args:(echo and *NOPASSWD*ALL*)
    rule = corpus_rule("privilege_escalation_echo_nopasswd_sudoers")
    hits = [sudo(1, ["echo", "alice ALL=(ALL) NOPASSWD: ALL", ">>", "/etc/sudoers"]),
            sudo(2, ["sh", "-c", "echo", "NOPASSWD:ALL"]),
            sudo(3, ["echo", "NOPASSWD: ALL"], ingested=None)]  # no event.ingested: ranged on @timestamp (fallback)
    misses = [sudo(4, ["echo", "alice ALL=(ALL) nopasswd: all"]),  # keyword values are case-sensitive
              sudo(4, ["printf", "NOPASSWD: ALL"]),  # both values must be among the args
              sudo(5, None),  # no process.args at all
              sudo(5, ["echo", "NOPASSWD: ALL"], kind="end"),
              sudo(6, ["echo", "NOPASSWD: ALL"], ingested=-7),  # ingested before the window
              sudo(-3, ["echo", "NOPASSWD: ALL"], ingested=None)]  # @timestamp before the window, no override
    store.ingest(hits + misses)
    record = execute(rule, EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.SUCCEEDED, record.message
    assert (record.hits, record.alerts_created) == (3, 3)
    assert original_ids(store, rule) == {doc["_id"] for doc in hits}
    source = next(a for a in alerts(store, rule) if a["kibana.alert.ancestors"][0]["id"] == hits[0]["_id"])
    assert source["kibana.alert.rule.rule_type_id"] == "siem.queryRule"
    assert source["kibana.alert.rule.type"] == "query"
    assert source["kibana.alert.rule.parameters"]["language"] == "kuery"
    assert source["kibana.alert.original_event.type"] == ["start"]
    assert source["process"]["args"][1] == "alice ALL=(ALL) NOPASSWD: ALL"
    assert source["kibana.alert.reason"] == ("process event with process bash, by alice on web-1 created high alert "
                                             f"{rule.name}.")
    key = f"{PROCESS}{hits[0]['_id']}undefineddefault:{rule.uuid}"  # Kibana's generateId, `_version` undefined
    assert source["kibana.alert.uuid"] == hashlib.sha256(key.encode()).hexdigest()


def test_text_fields_are_analyzed_and_keyword_fields_are_not(store: Store) -> None:
    # ... process.name:kernel and message:"bpf_probe_write_user"  /  ... process.name:kernel and message:segfault
    bpf = corpus_rule("persistence_bpf_probe_write_user")
    segfault = corpus_rule("execution_linux_segfault")
    docs = {
        "bpf": syslog(1, "[ 1234.5] BPF_PROBE_WRITE_USER: process 88 is installing a program"),  # analyzed: case-free
        "bpf-kernel-case": syslog(1, "bpf_probe_write_user: process 88", process="Kernel"),  # keyword: exact
        "bpf-longer-word": syslog(2, "bpf_probe_write_user_x called"),  # one token, another word
        "segv": syslog(3, "app[991]: Segfault at 0 ip 00007f sp 00007ffd error 4"),
        "segv-word": syslog(3, "app[991]: segfaulted"),
    }
    store.ingest(docs.values())
    backend = EmbeddedBackend(store)
    for rule in (bpf, segfault):
        record = execute(rule, backend, started_at=T, options=NO_WAIT)
        assert record.status == ExecutionStatus.SUCCEEDED, record.message
    assert original_ids(store, bpf) == {docs["bpf"]["_id"]}
    assert original_ids(store, segfault) == {docs["segv"]["_id"]}


def test_overlapping_and_repeated_windows_write_each_alert_once(store: Store) -> None:
    rule = corpus_rule("privilege_escalation_echo_nopasswd_sudoers")
    store.ingest([sudo(minute, ["echo", "NOPASSWD:ALL"]) for minute in (1, 6, 8)])
    backend = EmbeddedBackend(store)
    first = execute(rule, backend, started_at=T, options=NO_WAIT)
    again = execute(rule, backend, started_at=T, options=NO_WAIT)
    store.ingest([sudo(12, ["echo", "NOPASSWD:ALL"])])  # a later event, in the next window only
    later = execute(rule, backend, started_at=T + timedelta(minutes=5), options=NO_WAIT)  # overlaps 4 minutes
    assert (first.alerts_created, first.duplicates) == (3, 0)
    assert (again.alerts_created, again.duplicates) == (0, 3)
    assert (later.alerts_created, later.duplicates) == (1, 2)
    assert len(alerts(store, rule)) == 4


def test_pages_of_100_and_max_signals_new_alerts_a_window(store: Store, tmp_path: Path) -> None:
    source = shared_path("detection-rules", "rules", "cross-platform",
                         "privilege_escalation_echo_nopasswd_sudoers.toml").read_text(encoding="utf-8")
    path = tmp_path / "rule.toml"
    path.write_text(source.replace('type = "query"', 'type = "query"\nmax_signals = 250'), encoding="utf-8")
    rule = load_rule_file(path)
    store.ingest([sudo(1 + n / 100, ["echo", "NOPASSWD:ALL"]) for n in range(260)])
    backend = EmbeddedBackend(store)
    first = execute(rule, backend, started_at=T, options=NO_WAIT)
    assert first.alerts_created == 250 and first.status == ExecutionStatus.PARTIAL_FAILURE
    assert first.warnings == ["This rule reached the maximum alert limit for the rule execution. Some alerts were "
                              "not created."]
    assert first.windows[0].searches == 3  # 100 + 100 + 60 (the third page's last 10 past the budget)
    # the next execution over the same window: what is written is no new alert, so the last 10 fit the budget
    again = execute(rule, backend, started_at=T, options=NO_WAIT)
    assert (again.alerts_created, again.duplicates) == (10, 260 - 10)
    assert again.status == ExecutionStatus.SUCCEEDED and again.windows[0].searches == 4  # ... and an empty page
    assert len(alerts(store, rule)) == 260


def test_index_patterns_matching_nothing_warn_and_cover_the_window(store: Store) -> None:
    rule = corpus_rule("persistence_bpf_probe_write_user")
    store.ingest([sudo(1, ["echo"])])  # an index, but not one the rule's patterns reach
    record = execute(rule, EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert record.status == ExecutionStatus.PARTIAL_FAILURE and record.state_advanced
    assert 'no index matching: ["logs-system.syslog-*"] was found. This warning will continue' in record.warnings[0]


def _custom(tmp_path: Path, query: str, extra: str = "") -> Rule:
    source = shared_path("detection-rules", "rules", "cross-platform",
                         "privilege_escalation_echo_nopasswd_sudoers.toml").read_text(encoding="utf-8")
    start = source.index("query = '''")
    end = source.index("'''", start + 11) + 3
    path = tmp_path / f"rule{next(_ids)}.toml"
    path.write_text(source[:start] + f"query = '''\n{query}\n'''\n{extra}" + source[end:], encoding="utf-8")
    return load_rule_file(path)


def test_a_kql_query_its_fields_cannot_translate_fails_that_rule_only(store: Store, tmp_path: Path) -> None:
    # process.Ext.code_signature is `nested` in Elastic Defend's template: Kibana refuses the query outside `{ }`
    bad = _custom(tmp_path, "process.Ext.code_signature.trusted:false")
    good = corpus_rule("privilege_escalation_echo_nopasswd_sudoers")
    good = Rule(good.path, good.document, good.query, "4b7a3c2e-0000-4000-8000-000000000001")
    store.ingest([sudo(1, ["echo", "NOPASSWD:ALL"])])
    backend = EmbeddedBackend(store)
    failed = execute(bad, backend, started_at=T, options=NO_WAIT)
    assert failed.status == ExecutionStatus.FAILED and not failed.state_advanced
    assert "is a nested field, but is not in a nested group in the KQL expression" in failed.message
    assert "Traceback" not in failed.message
    from runner.backends import MemoryEvents
    from runner.execution import HuntStatus, hunt

    results = hunt([bad, good], MemoryEvents([sudo(1, ["echo", "NOPASSWD:ALL"])]))
    assert [r.status for r in results] == [HuntStatus.FAILED, HuntStatus.OK]
    assert "kql_translation_exception" in results[0].message and results[1].hits == 1


def test_a_tie_across_a_page_boundary_is_said(store: Store, tmp_path: Path) -> None:
    rule = _custom(tmp_path, "event.category:process and process.args:echo", "max_signals = 500\n")
    # 150 matches with the very same timestamps: the second page starts after them all (kibana#280769)
    store.ingest([sudo(1, ["echo", f"n{n}"]) for n in range(150)])
    record = execute(rule, EmbeddedBackend(store), started_at=T, options=NO_WAIT)
    assert record.alerts_created == 100 and record.windows[0].searches == 2
    assert any("may have been skipped by the next page" in w and "kibana#280769" in w for w in record.warnings)


def test_a_hunt_answers_at_most_one_result_window(tmp_path: Path) -> None:
    from runner.backends import MemoryEvents
    from runner.execution import HuntStatus, hunt

    rule = _custom(tmp_path, "event.category:process", "max_signals = 20000\n")
    [result] = hunt([rule], MemoryEvents([sudo(1, ["echo"])]))
    assert result.status == HuntStatus.OK and result.hits == 1


def test_combined_filters_are_not_supported_yet(tmp_path: Path) -> None:
    from runner.ruletypes import unsupported

    combined = ('[[rule.filters]]\n[rule.filters.meta]\ntype = "combined"\nrelation = "AND"\n'
                '[[rule.filters.meta.params]]\n[rule.filters.meta.params.query]\nmatch_all = {}\n')
    rule = _custom(tmp_path, "event.category:process", combined)
    assert unsupported(rule) == "query rules with combined filters (meta.type: combined) are not supported yet"
