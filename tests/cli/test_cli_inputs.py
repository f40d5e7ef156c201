"""Input files that cannot be read to their end, and `hunt --out` paths that cannot be written: one clear message
naming the file, never a traceback; README's exit status (1: the work failed, 2: bad usage)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from runner.backends.embedded import Store
from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
LINES = len(SAMPLES.read_text().splitlines())


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / SEED.name).write_text(SEED.read_text())
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\nrules: {paths: [rules]}\nlogging: {level: WARNING}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return config


def cli(*args: str) -> int:
    return main(list(args))


def truncated_gz(directory: Path) -> Path:
    """The samples gzipped, cut after 60% of the file's bytes: the stream ends before its end marker."""
    data = gzip.compress(SAMPLES.read_bytes())
    path = directory / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


def corrupt_gz(directory: Path) -> Path:
    """A gzip header followed by bytes that are not deflate data."""
    path = directory / "junk.ndjson.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage-not-deflate" * 4)
    return path


def plain_named_gz(directory: Path) -> Path:
    path = directory / "plain.ndjson.gz"
    path.write_bytes(SAMPLES.read_bytes())
    return path


def test_ingest_of_a_truncated_gz_keeps_what_it_read_and_says_how_far(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = truncated_gz(setup.parent)
    assert cli("ingest", "--config", str(setup), str(cut)) == 1
    captured = capsys.readouterr()
    found = re.search(rf"error: {re.escape(str(cut))}: the gzip stream ends before its end marker: the file is truncated"
                      r".*; lines 1 to (\d+) were read \(([\d,]+) bytes uncompressed, ([\d,]+) of the file's ([\d,]+) "
                      r"bytes\)", captured.err)
    assert found, captured.err
    read = int(found[1])
    assert 0 < read < LINES and int(found[4].replace(",", "")) == cut.stat().st_size
    assert f"ingested {read} events" in captured.out and "1 file not read to the end" in captured.out
    assert Store(setup.parent / "store.db").count() == read  # committed, and what was counted
    # the next file is still ingested; the exit status still says one was not read whole
    assert cli("ingest", "--config", str(setup), str(cut), str(SAMPLES)) == 1
    assert f"ingested {LINES - read} events" in capsys.readouterr().out
    assert Store(setup.parent / "store.db").count() == LINES


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (plain_named_gz, r"not a gzip file although named \.gz \(it starts with b'\{\"_index'\); if it is plain NDJSON, "
                         r"rename it without \.gz; nothing was read from it"),
        (corrupt_gz, r"corrupt gzip data \(.*\); nothing was read from it"),
    ],
    ids=["plain-file-named-gz", "corrupt-gzip"],
)
def test_an_unreadable_gz_is_one_message_in_every_command(setup: Path, capsys: pytest.CaptureFixture[str], make, message: str) -> None:
    path = make(setup.parent)
    assert cli("ingest", "--config", str(setup), str(path)) == 1
    captured = capsys.readouterr()
    assert re.search(rf"error: {re.escape(str(path))}: {message}", captured.err), captured.err
    assert "ingested 0 events" in captured.out
    assert cli("ingest", "--config", str(setup), "--shift-to-now", str(path)) == 1
    assert re.search(rf"{re.escape(str(path))}: {message}\. Nothing was ingested\.", capsys.readouterr().err)
    assert cli("hunt", "--config", str(setup), str(path)) == 1
    assert re.search(rf"rule-runner hunt: {re.escape(str(path))}: {message}\. Nothing was searched", capsys.readouterr().err)
    assert cli("query", "any where true", "--events", str(SAMPLES), str(path)) == 1
    assert re.search(rf"rule-runner query: {re.escape(str(path))}: {message}\. Nothing was searched", capsys.readouterr().err)


def test_hunt_refuses_a_truncated_input(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = truncated_gz(setup.parent)
    out_file = setup.parent / "alerts.ndjson"
    out_file.write_text("earlier results\n")
    assert cli("hunt", "--config", str(setup), str(cut), "--out", str(out_file)) == 1
    error = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(cut))}: .*truncated.*; lines 1 to \d+ were read .*\. Nothing was searched: the "
                     "input is incomplete", error), error
    assert out_file.read_text() == "earlier results\n"  # not truncated by a hunt that did not run


def unwritable(directory: Path) -> Path:
    """A path that cannot be created: in a read-only directory, or (as root, who ignores modes) in sysfs."""
    locked = directory / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        (locked / "probe").touch()
    except PermissionError:
        return locked / "alerts.ndjson"
    (locked / "probe").unlink()
    if Path("/sys/kernel").is_dir():
        return Path("/sys/rule-runner-test-alerts.ndjson")
    pytest.skip("no unwritable path here: running as root without sysfs")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda d: d, "is a directory; give the file to write (e.g. {d}/alerts.ndjson)"),
        (lambda d: d / "missing" / "alerts.ndjson", "the directory {d}/missing does not exist (hunt does not create directories)"),
        (lambda d: d / "runner.yaml" / "alerts.ndjson", "{d}/runner.yaml is not a directory"),
        (unwritable, "cannot write it: Permission denied"),
    ],
    ids=["directory", "missing-directory", "file-as-directory", "unwritable"],
)
def test_hunt_out_is_checked_before_any_work(setup: Path, capsys: pytest.CaptureFixture[str], where, message: str) -> None:
    target = where(setup.parent)
    cut = truncated_gz(setup.parent)  # bad input: reading it would be a different error, so none was read
    assert cli("hunt", "--config", str(setup), str(cut), "--out", str(target)) == 2
    error = capsys.readouterr().err
    assert f"rule-runner hunt: --out {target}: {message.format(d=setup.parent)}" in error, error
    assert not (setup.parent / "missing").exists()


def test_hunt_out_creates_the_file_only_when_it_runs(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = setup.parent / "new.ndjson"
    assert cli("hunt", "--config", str(setup), str(plain_named_gz(setup.parent)), "--out", str(out_file)) == 1
    assert not out_file.exists()
    assert cli("hunt", "--config", str(setup), str(SAMPLES), "--out", str(out_file)) == 0
    assert len([json.loads(line) for line in out_file.read_text().splitlines()]) == 30
