"""A damaged embedded store, on real SQLite files damaged at the byte level: every command that opens it refuses
with one message naming the file and what to do (exit 1), never a traceback per execution nor an empty answer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from runner.backends.embedded import Store, StoreDamaged
from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
NOW = "2026-01-15T10:05:00Z"
PAGE = 4096


def cli(*args: str) -> int:
    return main(list(args))


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config and a real store: the samples and 40 copies of them under other ids (about 4 MB of events, so that
    the middle of the file is events), then the seed rule run once (its 30 alerts, state and execution record)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    events = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
    copies = tmp_path / "copies.ndjson"
    copies.write_text("".join(json.dumps({**e, "_id": f"{e['_id']}-{n}"}) + "\n" for n in range(40) for e in events))
    assert cli("ingest", "--config", str(config), str(copies)) == 0
    assert cli("ingest", "--config", str(config), str(SAMPLES)) == 0
    assert cli("run", "--once", "--now", NOW, "--config", str(config)) == 0
    db = sqlite3.connect(tmp_path / "store.db")  # every committed page into the file, so that damage to it counts
    assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    db.close()
    assert (tmp_path / "store.db-wal").stat().st_size == 0
    return config


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)


def assert_refused(error: str, store: Path) -> None:
    assert error.startswith("rule-runner ") and f"the embedded store {store} is damaged: " in error, error
    assert f"Restore it from a backup, or move it away (mv {store} {store}.damaged)" in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1, error


def test_a_store_overwritten_mid_file_is_refused_when_opened(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = setup.parent / "store.db"
    size = store.stat().st_size
    assert size > 3_000_000
    middle = size // 2 // PAGE * PAGE
    overwrite(store, middle, b"\xff" * 2 * PAGE)  # two whole pages in the middle of the events
    capsys.readouterr()
    for command in (["run", "--once", "--now", "2026-01-15T10:10:00Z"], ["ingest", str(SAMPLES)]):
        assert cli(*command, "--config", str(setup)) == 1
        captured = capsys.readouterr()
        assert_refused(captured.err, store)
        assert "It was not opened: nothing was read from it or written to it." in captured.err
        assert captured.out == ""
    with pytest.raises(StoreDamaged, match=r"integrity check \(quick_check\) found|malformed"):
        Store(store)


def test_damaged_alerts_are_refused_not_shown_as_none(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = setup.parent / "store.db"
    with sqlite3.connect(store) as db:
        [root] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'alerts'").fetchone()
    db.close()
    overwrite(store, (root - 1) * PAGE, b"\xff" * PAGE)  # the alerts table's root page
    capsys.readouterr()
    for command in (["alerts"], ["alerts", "--format", "ndjson"], ["explain", SEED_ID, "--now", NOW]):
        assert cli(*command, "--config", str(setup)) == 1
        captured = capsys.readouterr()
        assert_refused(captured.err, store)
        assert captured.out == ""


@pytest.mark.parametrize("command", [["run", "--once", "--now", NOW], ["ingest", str(SAMPLES)], ["alerts"],
                                     ["explain", SEED_ID, "--now", NOW]], ids=lambda c: c[0])
def test_a_file_that_is_not_sqlite(setup: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    store = setup.parent / "store.db"
    store.write_text("2026-01-15 10:00:00 INFO a log file, not a store\n" * 100)
    capsys.readouterr()
    assert cli(*command, "--config", str(setup)) == 1
    error = capsys.readouterr().err
    assert f"{store} is not an SQLite database (it starts with b'2026-01-'), so it is not an embedded store: check " \
           f"embedded.path, or move the file away (mv {store} {store}.damaged)" in error, error
    assert len(error.strip().splitlines()) == 1


def test_bytes_overwritten_inside_stored_documents(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SQLite keeps no checksums: bytes overwritten inside a document pass its integrity check. Reading them is
    the same clear failure, for the execution (not 'the store is busy', not a traceback) and for `alerts`."""
    store = setup.parent / "store.db"
    data = store.read_bytes()
    last = json.loads(SAMPLES.read_text().splitlines()[-1])  # 10:01:37, inside the next execution's window
    event = data.find(f'"id":"{last["_source"]["event"]["id"]}"'.encode())
    alert = data.find(b'"kibana.alert.reason":"')
    assert event > 0 and alert > 0
    overwrite(store, event + 10, b"\xff\xfe")
    overwrite(store, alert + 30, b"\xff\xfe")
    capsys.readouterr()
    assert cli("run", "--once", "--now", "2026-01-15T10:10:00Z", "--config", str(setup)) == 1
    assert "Traceback" not in capsys.readouterr().err
    with sqlite3.connect(store) as db:
        record = json.loads(db.execute("SELECT record FROM executions ORDER BY started DESC LIMIT 1").fetchone()[0])
    db.close()
    assert record["status"] == "failed" and not record["state_advanced"]
    assert f"the backend failed: the embedded store {store} is damaged: a stored value is not UTF-8 text" in record["message"]
    assert cli("alerts", "--all", "--config", str(setup)) == 1
    error = capsys.readouterr().err
    assert_refused(error, store)
    assert "a stored value is not UTF-8 text" in error
