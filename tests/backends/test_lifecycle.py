"""The backend interface's lifecycle and its boundary: one factory opens the configured backend, a store that is not
there is `NoStore` (never a new empty one), and no storage exception (sqlite3's) crosses the boundary: a store
locked by another connection is a `TransientError` the execution retries."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.backends import (
    Access,
    Backend,
    CannotOpen,
    IndexNotFound,
    NoStore,
    RecordNotStored,
    StateBusy,
    TransientError,
    describe,
    open_backend,
)
from runner.backends.embedded import EmbeddedBackend, Store
from runner.backends.request import EqlRequest
from runner.settings import Settings, load_settings

CLI = Path(__file__).resolve().parents[2] / "runner" / "cli"
IMPORTS_A_BACKEND = re.compile(r"^\s*(from|import)\s+runner\.backends\.(embedded|elasticsearch)\b")
COMPARES_THE_BACKEND = re.compile(r"\.backend\s*(==|!=|in\b|not\s+in\b)|(==|!=)\s*[\w.]+\.backend\b")


def settings_for(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "runner.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(str(path), env={})


def test_a_store_that_is_not_there_is_no_store_and_is_not_made(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"embedded:\n  path: {tmp_path / 'data' / 'store.db'}\n")
    for access in (Access.READ, Access.EXISTING):
        with pytest.raises(NoStore, match=r"no embedded store at .*data/store\.db"):
            open_backend(settings, access=access)
    assert not (tmp_path / "data").exists()
    with open_backend(settings) as backend:
        assert backend.name == "embedded" and backend.where == f"the embedded store {tmp_path / 'data' / 'store.db'}"
        backend.check()
        backend.start()
        backend.save_rule_state("r1", {"previous_started_at": "2026-01-15T10:00:00Z"})
    with open_backend(settings, access=Access.READ) as backend:
        assert backend.rule_state("r1") == {"previous_started_at": "2026-01-15T10:00:00Z"}


def test_a_path_that_cannot_be_a_store_is_a_configuration_problem(tmp_path: Path) -> None:
    (tmp_path / "store.db").mkdir()
    settings = settings_for(tmp_path, f"embedded:\n  path: {tmp_path / 'store.db'}\n")
    with pytest.raises(CannotOpen, match="cannot open the embedded store"):
        open_backend(settings)


def test_describe_says_what_the_commands_need(tmp_path: Path) -> None:
    embedded = describe(settings_for(tmp_path, f"embedded:\n  path: {tmp_path / 's.db'}\n"))
    assert (embedded.name, embedded.title, embedded.remote, embedded.connection) == (
        "embedded", "the embedded store", False, None)
    assert embedded.max_retries is None  # the execution's defaults
    cluster = describe(settings_for(
        tmp_path, "backend: elasticsearch\nelasticsearch:\n  hosts: [http://127.0.0.1:9]\n  password: s3cret\n"
                  "  username: u\n  max_retries: 5\n"))
    assert (cluster.name, cluster.title, cluster.where, cluster.remote) == (
        "elasticsearch", "Elasticsearch", "Elasticsearch (http://127.0.0.1:9)", True)
    assert cluster.max_retries == 5 and cluster.connection is not None and "s3cret" not in str(cluster.connection)


@pytest.fixture()
def locked(tmp_path: Path) -> Iterator[Backend]:
    """An embedded backend whose store another connection holds exclusively (a writer in SQLite's exclusive
    locking mode), with a short busy timeout: every statement meets `database is locked`."""
    store = Store(tmp_path / "store.db", busy_timeout=0.05)
    store.save_rule_state("r1", {"a": 1})
    store.close()  # the next statement opens a connection of its own, as a new thread would
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('holder', 'x')")
    backend: Backend = EmbeddedBackend(store)
    yield backend
    holder.execute("ROLLBACK")
    holder.close()
    store.close()


def test_a_locked_store_is_transient_and_never_a_raw_sqlite_error(locked: Backend) -> None:
    request = EqlRequest(("logs-*",), {"query": "any where true"})
    for call in (lambda: locked.rule_state("r1"), lambda: locked.existing_alerts(["a"]),
                 lambda: locked.create_alerts("i", [("a", {})]), lambda: list(locked.list_alerts()),
                 lambda: locked.eql_search(request), lambda: locked.verify(request),
                 lambda: locked.ingest([{"_index": "logs-x", "_id": "e1", "_source": {"@timestamp": "2026-01-15T10:00:00Z"}}],
                                       lambda _document, _reason: None)):
        with pytest.raises(TransientError, match="database is locked"):
            call()
    # the state was not saved, but only for now: worth trying again (a refusal would not be)
    with pytest.raises(StateBusy, match="database is locked"):
        locked.save_rule_state("r1", {"b": 2})
    record = {"uuid": "u1", "rule_id": "r1", "started_at": "2026-01-15T10:00:00Z", "status": "succeeded"}
    with pytest.raises(RecordNotStored, match="database is locked"):
        locked.complete_execution("r1", None, record)


def test_verify_is_the_first_step_of_a_search(tmp_path: Path) -> None:
    with EmbeddedBackend.open(tmp_path / "store.db") as backend, \
            pytest.raises(IndexNotFound, match=r"no such index \[logs-\*\]"):
        backend.verify(EqlRequest(("logs-*",), {"query": "any where true"}))


def test_no_cli_module_names_a_backend() -> None:
    """The commands reach the store through the `Backend` interface: none compares `settings.backend` with a name
    or imports a backend's own package (`runner.backends.embedded`, `runner.backends.elasticsearch`). Read as text
    (not with `ast.parse`, which CPython 3.11 may fail with a SystemError while another thread compiles)."""
    problems = []
    for path in sorted(CLI.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if IMPORTS_A_BACKEND.search(line):
                problems.append(f"{path.name}:{number} imports a backend's package: {line.strip()}")
            if COMPARES_THE_BACKEND.search(line):
                problems.append(f"{path.name}:{number} compares the backend's name: {line.strip()}")
    assert not problems, "\n".join(problems)
