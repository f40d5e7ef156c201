"""Options every user meets: `--config` before or after the command, `--now` with its time zone and not in the
future, and the commands that only look at the store (`alerts`, `explain`) working on a read-only store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SEED_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
NOW = "2026-01-15T10:05:00Z"


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose store is in its own directory, `data/`."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: data/store.db}\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path / "rules")  # never the config's directory: config/runner.yaml is not found by chance
    return config


def cli(*args: str) -> int:
    return main(list(args))


def in_the_future(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_config_before_or_after_the_command(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = setup.parent / "data" / "store.db"
    assert cli("--config", str(setup), "ingest", str(SAMPLES)) == 0
    assert store.exists() and "ingested 92 events" in capsys.readouterr().out
    assert cli("--config", str(setup), "run", "--once", "--now", NOW) == 0
    assert cli("alerts", "--config", str(setup)) == 0
    assert "10 alert(s)" in capsys.readouterr().out
    assert cli("--config", str(setup.parent / "elsewhere.yaml"), "alerts", "--config", str(setup)) == 0  # the later wins
    assert "10 alert(s)" in capsys.readouterr().out
    assert cli("--config", str(setup.parent / "missing.yaml"), "alerts") == 2
    assert f"config file not found: {setup.parent / 'missing.yaml'}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["run", "--once"], ["explain", SEED_ID]], ids=["run", "explain"])
@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("2026-01-15T10:05:00", r"--now: [2026-01-15T10:05:00] has no time zone: add Z for UTC or the offset "
                                r"(e.g. 2026-01-15T10:05:00Z, or 2026-01-15T11:05:00+01:00)"),
        ("2026-01-15", "--now: [2026-01-15] has no time zone"),
        (timedelta(hours=2), "is 1 hour 59 minutes in the future (this machine's clock says "),
        (timedelta(days=400), "at most 5 minutes ahead is allowed for clock skew): a start in the future "
                                             "would mark time not yet seen as searched"),
    ],
    ids=["no-zone", "date-only", "hours-ahead", "days-ahead"],
)
def test_now_is_refused_without_a_zone_or_in_the_future(setup: Path, capsys: pytest.CaptureFixture[str],
                                                         command: list[str], now: str | timedelta,
                                                         message: str) -> None:
    # a time ahead is computed when the test runs, not when it is collected (minutes may pass in between)
    when = in_the_future(now) if isinstance(now, timedelta) else now
    assert cli(*command, "--now", when, "--config", str(setup)) == 2
    assert message in capsys.readouterr().err
    assert not (setup.parent / "data").exists()  # refused before any work: no store was made


def test_now_within_the_clock_skew_and_with_an_offset(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("explain", SEED_ID, "--now", in_the_future(timedelta(minutes=2)), "--config", str(setup)) == 0
    assert cli("explain", SEED_ID, "--now", "2026-01-15T11:05:00+01:00", "--config", str(setup)) == 0
    assert "this start: 2026-01-15T11:05:00+01:00" in capsys.readouterr().out


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """`paths` made unwritable: by their mode, or as root (whom modes do not stop) with the immutable attribute."""
    if os.geteuid() != 0:
        for path in paths:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield
        finally:
            for path in paths:
                path.chmod(path.stat().st_mode | 0o200)
        return
    try:
        made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("running as root without chattr: no way to make a file read-only")
    if made.returncode != 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
        pytest.skip(f"running as root and chattr +i failed: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


@pytest.mark.parametrize("locked", ["file", "file-and-directory"])
def test_alerts_and_explain_on_a_read_only_store(setup: Path, capsys: pytest.CaptureFixture[str], locked: str) -> None:
    for command in (["ingest", str(SAMPLES)], ["run", "--once", "--now", NOW]):  # processes that end: store closed
        subprocess.run([sys.executable, "-m", "runner", *command, "--config", str(setup)], cwd=ROOT, check=True,
                       capture_output=True)
    data = setup.parent / "data"
    store = data / "store.db"
    assert sorted(p.name for p in data.iterdir()) == ["store.db"]
    before = store.read_bytes()
    with read_only(store, *([data] if locked == "file-and-directory" else [])):
        assert cli("alerts", "--config", str(setup)) == 0
        assert "10 alert(s)" in capsys.readouterr().out
        assert cli("explain", SEED_ID, "--now", "2026-01-15T10:10:00Z", "--config", str(setup)) == 0
        assert "previous start: 2026-01-15T10:05:00+00:00" in capsys.readouterr().out  # the recorded state, read
    assert store.read_bytes() == before


def test_alerts_and_explain_never_create_a_store(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("alerts", "--config", str(setup)) == 1
    assert f"no embedded store at {setup.parent / 'data' / 'store.db'}" in capsys.readouterr().err
    assert cli("explain", SEED_ID, "--now", NOW, "--config", str(setup)) == 0
    assert not (setup.parent / "data").exists()


def test_explain_shows_a_first_window_still_pending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rule whose first execution failed: explain shows the pending window and the catch-up it plans."""
    from runner.backends.embedded import Store

    rules = tmp_path / "rules"
    rules.mkdir()
    seed = Path(__file__).resolve().parents[2] / "rules" / "persistence_apt_package_manager_netcon.toml"
    (rules / seed.name).write_text(seed.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\n")
    Store(tmp_path / "store.db").save_rule_state("eaef8a35-12e0-4ac0-bc14-81c72b6bd27c",
                                                 {"pending_since": "2026-01-15T09:56:00.000Z"})
    assert main(["explain", "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c", "--now", "2026-01-15T10:10:00Z",
                 "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "previous start: none completed; pending since 2026-01-15T09:56:00+00:00" in out
    assert "window 1: 2026-01-15T09:56:00.000Z .. 2026-01-15T10:05:00.000Z" in out
    assert "window 2: 2026-01-15T10:01:00.000Z .. 2026-01-15T10:10:00.000Z" in out
