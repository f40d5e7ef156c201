"""The commands with `backend: elasticsearch`, against the loopback stub (client behaviour, not a cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli.main import main
from tests.backends.es_stub import INFO, Recorded, Reply, Stub, bulk_ack, first_op, refused_url, standalone_cluster

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"


def config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / SEED.name).write_text(SEED.read_text())
    path = tmp_path / "runner.yaml"
    path.write_text(
        f"backend: elasticsearch\nelasticsearch:\n  hosts: {url}\n  username: runner\n  password: ${{ES_PASSWORD}}\n"
        "  retry_backoff: 0s\nalerts:\n  mode: standalone\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n"
    )
    monkeypatch.setenv("ES_PASSWORD", "pw-never-shown")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return path


def test_run_once_prepares_the_cluster_and_writes_the_alerts(tmp_path: Path, stub: Stub,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from runner.catalog import load_rule_file
    from runner.engine import search

    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    response = search(docs, load_rule_file(SEED).query, size=100)
    standalone_cluster(stub, Reply(200, response))
    path = config(tmp_path, stub.url, monkeypatch)
    assert main(["run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    output = capsys.readouterr()
    assert "succeeded" in output.out and "30" in output.out
    assert "pw-never-shown" not in output.out + output.err
    writes = [r for r in stub.sent("PUT", "/_bulk") if first_op(r) == "create"]
    assert len(writes) == 1 and len(writes[0].ndjson) == 60
    assert writes[0].query == {"refresh": "wait_for", "require_alias": "true"}


def _kibana_mode(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = config(tmp_path, url, monkeypatch)
    path.write_text(path.read_text().replace("mode: standalone", "mode: kibana"))
    return path


def _kibana_mode_run(tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch, version: str) -> list[dict]:
    """`run --once` in Kibana mode against a cluster of `version`: the alert documents written."""
    from runner.catalog import load_rule_file
    from runner.engine import search

    docs = [json.loads(line) for line in (ROOT / "samples" / "seed_rule.ndjson").read_text().splitlines() if line]
    stub.always("GET", "/", Reply(200, {**INFO, "version": {**INFO["version"], "number": version}}))
    stub.always("HEAD", "/_alias/.alerts-security.alerts-default", Reply(200))
    stub.always("HEAD", "/rule-runner-(state|executions)", Reply(200))
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search",
                Reply(200, search(docs, load_rule_file(SEED).query, size=100)))
    stub.always("POST", "/.alerts-security.alerts-default/_search", Reply(200, {"hits": {"hits": []}}))
    stub.always("PUT", "/_bulk", bulk_ack)
    path = _kibana_mode(tmp_path, stub.url, monkeypatch)
    assert main(["run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    writes = [r for r in stub.sent("PUT", "/_bulk") if first_op(r) == "create"]
    return writes[0].ndjson[1::2]


def test_kibana_mode_writes_the_version_of_the_clusters_kibana(tmp_path: Path, stub: Stub,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _kibana_mode_run(tmp_path, stub, monkeypatch, "9.5.2")
    assert len(documents) == 30 and {d["kibana.version"] for d in documents} == {"9.5.2"}
    # the newest format: data_stream.* copied, shells intersected with dotted and nested keys as one path
    assert all("kibana.alert.original_data_stream.type" in d for d in documents if "data_stream" in d)
    shells = [d for d in documents if "kibana.alert.group.index" not in d]
    assert len(shells) == 10 and all("kibana" in shell for shell in shells)


def test_kibana_mode_writes_an_8_19_clusters_alerts_in_8_19s_format(tmp_path: Path, stub: Stub,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _kibana_mode_run(tmp_path, stub, monkeypatch, "8.19.3")
    assert len(documents) == 30 and {d["kibana.version"] for d in documents} == {"8.19.3"}
    # 8.19 copies data_stream.* (kibana#220447) but intersects shells key by key (kibana#254830 is 9.4): the blocks'
    # dotted kibana.alert.rule.parameters never comes back as a nested `kibana` path
    blocks = [d for d in documents if "kibana.alert.group.index" in d]
    shells = [d for d in documents if "kibana.alert.group.index" not in d]
    assert len(blocks) == 20 and all(b["kibana.alert.original_data_stream.type"] == "logs" for b in blocks)
    assert len(shells) == 10 and not any("kibana" in shell for shell in shells)
    assert all(shell["kibana.alert.original_data_stream.type"] == "logs" and "host" in shell for shell in shells)


def test_kibana_mode_refuses_a_cluster_whose_kibanas_alerts_are_not_reproduced(
        tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stub.always("GET", "/", Reply(200, {**INFO, "version": {**INFO["version"], "number": "8.15.5"}}))
    path = _kibana_mode(tmp_path, stub.url, monkeypatch)
    assert main(["run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Elasticsearch 8.15.5: its Kibana (8.15) writes alerts in a format rule-runner does not reproduce" in err
    assert "Upgrade the stack to 8.16 or later, or set alerts.mode: standalone" in err and "Traceback" not in err
    assert [r.method for r in stub.requests] == ["GET"]  # refused before anything is prepared


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = refused_url()
    path = config(tmp_path, url, monkeypatch)
    # a failure of the work (1), not of the command line or the configuration (2), after the configured retries
    assert main(["run", "--once", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"Elasticsearch ({url}): connecting to Elasticsearch: ConnectionError" in err and "Traceback" not in err
    assert err.count("trying again") == 3  # max_retries: 3, one line each


def test_a_connection_refused_or_reset_at_start_up_is_tried_again(tmp_path: Path, stub: Stub,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    stub.expect("GET", "/", Reply(drop=True))  # the first request's connection is reset
    stub.expect("GET", "/", Reply(503, {"error": {"type": "master_not_discovered_exception", "reason": "x"},
                                        "status": 503}))
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("PUT", "/_index_template/.*", Reply(200, {"acknowledged": True}))
    stub.always("HEAD", "/_alias/rule-runner-alerts-default", Reply(200))
    stub.always("GET", "/_alias/rule-runner-alerts-default", Reply(200, {"rule-runner-alerts-default-000001": {}}))
    stub.always("PUT", "/rule-runner-alerts-default/_mapping", Reply(200, {"acknowledged": True}))
    stub.always("HEAD", "/rule-runner-(state|executions)", Reply(200))
    stub.always("GET", "/rule-runner-state/_doc/.*", Reply(404, {"found": False}))
    stub.always("POST", "/logs-endpoint.events.\\*/_eql/search",
                Reply(200, {"hits": {"total": {"value": 0, "relation": "eq"}, "sequences": []}}))
    stub.always("PUT", "/_bulk", bulk_ack)
    path = config(tmp_path, stub.url, monkeypatch)
    assert main(["run", "--once", "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert len(stub.sent("GET", "/")) == 3 and captured.err.count("trying again") == 2
    assert "succeeded" in captured.out


def test_explain_without_the_cluster_still_prints_the_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = refused_url()
    path = config(tmp_path, url, monkeypatch)
    assert main(["explain", SEED_ID, "--now", "2026-01-15T10:05:00Z", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "previous start: unknown, Elasticsearch not reached" in out
    assert "POST /logs-endpoint.events.*/_eql/search?allow_no_indices=true" in out
    assert "pw-never-shown" not in out and '"password": "**********"' in out


def test_ingest_into_the_clusters_data_streams(tmp_path: Path, stub: Stub, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    stub.always("GET", "/", Reply(200, INFO))

    def some_known(request: Recorded) -> Reply:
        return bulk_ack(request, {0: 409})

    stub.always("PUT", "/_bulk", some_known)
    stub.always("POST", "/.*/_refresh", Reply(200, {"_shards": {"failed": 0}}))
    path = config(tmp_path, stub.url, monkeypatch)
    samples = ROOT / "samples" / "seed_rule.ndjson"
    assert main(["ingest", str(samples), "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ingested 91 events into logs-endpoint.events.network-default, logs-endpoint.events.process-default" in out
    assert "1 already there" in out


def test_a_client_that_cannot_be_configured_is_named_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """http and https hosts mixed with TLS options: the client cannot be made. `run` says which cluster (exit 2,
    configuration); `explain` still shows the windows, the state unknown, the client's reason as it is."""
    path = config(tmp_path, '["http://127.0.0.1:9", "https://127.0.0.1:10"]', monkeypatch)
    (tmp_path / "ca.pem").write_text("not read: the client refuses the hosts first\n")
    path.write_text(path.read_text().replace("  retry_backoff: 0s\n", f"  retry_backoff: 0s\n  ca_certs: {tmp_path / 'ca.pem'}\n"))
    assert main(["--config", str(path), "run", "--once"]) == 2
    assert ("Elasticsearch (http://127.0.0.1:9, https://127.0.0.1:10): cannot configure the Elasticsearch client: "
            in capsys.readouterr().err)
    assert main(["--config", str(path), "explain", SEED_ID]) == 0
    out = capsys.readouterr().out
    assert "previous start: unknown, Elasticsearch not reached (cannot configure the Elasticsearch client: " in out
    assert "window 1:" in out


def test_an_ingest_that_stops_says_where_and_is_a_failure_of_the_work(tmp_path: Path, stub: Stub,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The cluster answers, then refuses every bulk (503, retries spent): the command names the file and line it
    stopped at; exit 1, a failure of the work (exit 2 is for usage and configuration)."""
    stub.always("GET", "/", Reply(200, INFO))
    stub.always("PUT", "/_bulk", Reply(503, {"error": {"type": "unavailable_shards_exception", "reason": "busy"},
                                             "status": 503}))
    path = config(tmp_path, stub.url, monkeypatch)
    path.write_text(path.read_text().replace("  retry_backoff: 0s\n", "  retry_backoff: 0s\n  max_retries: 0\n"))
    samples = ROOT / "samples" / "seed_rule.ndjson"
    assert main(["ingest", str(samples), "--config", str(path)]) == 1
    assert f"ingest into Elasticsearch stopped at {samples}:" in capsys.readouterr().err
