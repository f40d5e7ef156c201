"""Against a real Elasticsearch (testcontainers): the seed rule through the service path, exactly-once alerts,
state in the cluster across a restart, Elasticsearch's own error for a bad query, and the embedded engine compared
with Elasticsearch on every case of its EQL QA suite."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

from runner.alerts import KIBANA_VERSION
from runner.backends.elasticsearch import ElasticsearchBackend, ingest_events
from runner.catalog import iso, load_rule_file
from runner.ecs import ecs_mapping
from runner.engine import search
from runner.execution import ExecutionOptions, ExecutionStatus
from runner.execution.windows import plan_windows
from runner.service import run_once
from runner.settings import load_settings
from tests.conftest import SHARED
from tests.engine.conformance import DATASETS, _ids, _join_keys, _read_mapping, load_cases, load_index

pytestmark = pytest.mark.elasticsearch

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)
EXPECTED = json.loads((ROOT / "samples" / "seed_rule.expected.json").read_text())


def backend_for(tmp_path: Path, es_url: str, space: str) -> ElasticsearchBackend:
    path = tmp_path / "runner.yaml"
    path.write_text(
        f"backend: elasticsearch\nelasticsearch:\n  hosts: {es_url}\n  state_index: state-{space}\n"
        f"  executions_index: executions-{space}\nalerts:\n  mode: standalone\n  space_id: {space}\n"
    )
    backend = ElasticsearchBackend.from_settings(load_settings(path, env={}), KIBANA_VERSION)
    backend.start()
    return backend


@pytest.fixture(scope="module")
def loaded(es_url: str) -> str:
    """The samples in Elastic Defend-like data streams: an ECS-mapped template for `logs-endpoint.events.*`, as the
    Elastic Defend integration installs one, then the events bulk-created as `rule-runner ingest` does."""
    client = Elasticsearch(es_url)
    client.indices.put_index_template(
        name="logs-endpoint.events-defend-like", index_patterns=["logs-endpoint.events.*-*"], data_stream={},
        priority=300, template={"mappings": ecs_mapping(), "settings": {"index.mapping.total_fields.limit": 6000}},
    )
    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    bad: list[str] = []
    result = ingest_events(client, docs, lambda _doc, why: bad.append(why))
    assert not bad and result.added + result.duplicates == len(docs)
    return es_url


def options(space: str) -> ExecutionOptions:
    return ExecutionOptions(space_id=space, alerts_index=f"rule-runner-alerts-{space}", retry_backoff=0.5)


def alerts_of(backend: ElasticsearchBackend) -> list[dict[str, Any]]:
    backend.client.indices.refresh(index=backend.alerts.alias)
    hits = backend.client.search(index=backend.alerts.alias, size=1000, query={"match_all": {}}).body["hits"]["hits"]
    return hits


def test_seed_rule_alerts_exactly_once_and_state_across_a_restart(tmp_path: Path, loaded: str) -> None:
    space = f"s{uuid.uuid4().hex[:8]}"
    rule = load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")
    backend = backend_for(tmp_path, loaded, space)
    [(_, record)] = run_once([rule], backend, now=T, options=options(space))
    assert record.status == ExecutionStatus.SUCCEEDED and record.alerts_created == 30, record.message
    hits = alerts_of(backend)
    shells = [h["_source"] for h in hits if "kibana.alert.group.index" not in h["_source"]]
    assert len(hits) == 30 and len(shells) == 10
    found = sorted([a["id"] for a in s["kibana.alert.ancestors"] if a["type"] == "event"] for s in shells)
    assert found == sorted(s["events"] for s in EXPECTED["sequences"])
    assert {h["_index"] for h in hits} == {f"rule-runner-alerts-{space}-000001"}

    # an overlapping window one minute later: the same alerts are found and none is written again
    [(_, again)] = run_once([rule], backend, now=T + timedelta(minutes=1), options=options(space))
    assert again.status == ExecutionStatus.SUCCEEDED and again.alerts_created == 0 and again.duplicates == 30
    assert len(alerts_of(backend)) == 30

    # a restart (a new runner, nothing local): the state in the cluster says where the next windows start
    restarted = backend_for(tmp_path, loaded, space)
    state = restarted.rule_state(rule.rule_id)
    assert state is not None and state["previous_started_at"] == (T + timedelta(minutes=1)).isoformat()
    later_start = T + timedelta(minutes=16)  # two intervals missed while down: catch-up windows, not silence
    [(_, later)] = run_once([rule], restarted, now=later_start, options=options(space))
    params = rule.params
    plan = plan_windows(from_=params.from_, to=params.to, interval=params.interval, started_at=later_start,
                        previous_started_at=T + timedelta(minutes=1))
    assert [(w.start, w.end) for w in later.windows] == [(iso(w.start), iso(w.end)) for w in plan.windows]
    assert len(plan.windows) > 1 and plan.gap is None and later.gap is None
    assert later.alerts_created == 0 and len(alerts_of(restarted)) == 30


def test_a_bad_query_fails_with_elasticsearchs_message(tmp_path: Path, loaded: str) -> None:
    space = f"s{uuid.uuid4().hex[:8]}"
    text = (ROOT / "rules" / "persistence_apt_package_manager_netcon.toml").read_text()
    query_start = text.index("query = '''")
    query_end = text.index("'''", query_start + 11) + 3
    bad = text[:query_start] + "query = '''\nprocess where process.no_such_field == \"x\"\n'''" + text[query_end:]
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    backend = backend_for(tmp_path, loaded, space)
    [(_, record)] = run_once([load_rule_file(path)], backend, now=T, options=options(space))
    assert record.status == ExecutionStatus.FAILED and "Unknown column [process.no_such_field]" in record.message


def test_embedded_engine_agrees_with_elasticsearch_on_the_qa_suite(es_url: str) -> None:
    spec = SHARED / "eql-spec"
    if not spec.is_dir():
        pytest.skip(f"reference material not found: {spec}")
    client = Elasticsearch(es_url, request_timeout=60)
    created: set[str] = set()
    disagreements: list[str] = []
    counts: Counter[str] = Counter()
    for case in load_cases(spec):
        dataset = DATASETS[case.file]
        docs: list[dict[str, Any]] = []
        mappings: dict[str, Any] = {}
        for index in dataset.indices:
            index_docs, mapping = load_index(spec, index, dataset.endgame_timestamps, "keyword")
            docs.extend(index_docs)
            mappings[index] = json.loads(mapping)
            if index not in created:
                body = _read_mapping(spec / "data" / f"{index}.mapping", "keyword")
                client.indices.create(index=index, mappings=body.get("mappings", body),
                                      settings={"number_of_shards": 1})
                operations: list[Any] = []
                for doc in index_docs:
                    operations.extend(({"index": {"_index": index, "_id": doc["_id"]}}, doc["_source"]))
                client.bulk(operations=operations, refresh=True)
                created.add(index)
        body: dict[str, Any] = {"query": case.query, "size": case.size, "event_category_field": "event.category",
                                "timestamp_field": "@timestamp", "max_samples_per_key": case.max_samples_per_key}
        if dataset.tiebreaker:
            body["tiebreaker_field"] = dataset.tiebreaker
        try:
            theirs = client.eql.search(index=",".join(dataset.indices), **body).body
        except Exception as error:
            theirs = {"error": str(error)}
        try:
            ours = search(docs, case.query, mappings=mappings, tiebreaker_field=dataset.tiebreaker, size=case.size,
                          max_samples_per_key=case.max_samples_per_key)
        except Exception as error:
            ours = {"error": str(error)}
        if "error" in theirs or "error" in ours:
            same = ("error" in theirs) == ("error" in ours)
        else:
            same = (_ids(theirs, dataset.id_field), _join_keys(theirs)) == (_ids(ours, dataset.id_field),
                                                                             _join_keys(ours))
            if not same and len(case.expected) > 1:  # a query the suite itself calls non-deterministic
                same = {tuple(_ids(theirs, dataset.id_field)), tuple(_ids(ours, dataset.id_field))} <= set(case.expected)
        counts[(case.file, same)] += 1
        if not same:
            disagreements.append(f"{case.id}: elasticsearch {_summary(theirs, dataset.id_field)} | "
                                 f"embedded {_summary(ours, dataset.id_field)}")
    table = Table(title="embedded engine vs Elasticsearch on the EQL QA suite")
    for column in ("file", "cases", "agree", "disagree"):
        table.add_column(column)
    for file in DATASETS:
        agree, disagree = counts[(file, True)], counts[(file, False)]
        table.add_row(file, str(agree + disagree), str(agree), str(disagree))
    console = Console(width=160)
    console.print(table)
    for line in disagreements:
        console.print(line, markup=False)
    assert not disagreements, f"{len(disagreements)} disagreements (listed above)"


def _summary(response: dict[str, Any], id_field: str) -> str:
    if "error" in response:
        return f"error {response['error'][:200]}"
    return f"ids {_ids(response, id_field)} keys {_join_keys(response)}"
