"""`hunt` and `query` stream their files: the answers do not depend on the order of the lines (a file out of order
beyond the reorder buffer is sorted on disk), plain documents alert as hits do, and an incomplete input is refused
with nothing written, although reading and searching are one pass."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.cli.main import main
from runner.cli.query import BUFFER_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "rules" / "persistence_apt_package_manager_netcon.toml"
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"
QUERIES = {  # rule_id -> query; hits in generated events, under their max_signals
    "00000000-0000-4000-8000-000000000001": 'process where process.name in ("curl", "wget", "sh", "bash")',
    "00000000-0000-4000-8000-000000000002": 'sequence by process.entity_id [process where event.type == "start"] '
                                            '[network where true]',
    "00000000-0000-4000-8000-000000000003": 'sequence by host.id with maxspan=30s [process where event.type == "start"]'
                                            ' by process.entity_id [file where true] by process.entity_id',
}


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config with the seed rule and three rules that hit generated events, each allowed 10,000 alerts."""
    rules = tmp_path / "rules"
    rules.mkdir()
    seed = SEED.read_text()
    (rules / SEED.name).write_text(seed)
    start, end = seed.index("query = '''"), seed.index("'''", seed.index("query = '''") + 11) + 3
    overrides = []
    for number, (rule_id, query) in enumerate(QUERIES.items()):
        text = seed[:start] + f"query = '''\n{query}\n'''" + seed[end:]
        text = text.replace("eaef8a35-12e0-4ac0-bc14-81c72b6bd27c", rule_id)
        text = text.replace('name = "Suspicious APT Package Manager Network Connection"', f'name = "streaming {number}"')
        (rules / f"r{number}.toml").write_text(text)
        overrides.append(f'"{rule_id}": {{max_signals: 10000}}')
    config = tmp_path / "runner.yaml"
    config.write_text("embedded: {path: store.db}\n"
                      f"rules: {{paths: [rules], overrides: {{{', '.join(overrides)}}}}}\nlogging: {{level: WARNING}}\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return config


@pytest.fixture()
def seed_only(setup: Path) -> Path:
    """The same config with the seed rule only."""
    for path in (setup.parent / "rules").glob("r*.toml"):
        path.unlink()
    return setup


def generated(directory: Path, events: int = 3000) -> list[dict[str, Any]]:
    """Generated events (bench/generate.py), sorted, with timestamps made unique: events at the same instant have
    no order but their file's, which a shuffle changes (Elasticsearch too answers by indexing order there)."""
    path = directory / "generated.ndjson"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--seed", "7", "--events", str(events),
                    "--hosts", "3", "--out", str(path)], check=True, capture_output=True)
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    seen: dict[str, int] = {}
    for doc in docs:
        stamp = doc["_source"]["@timestamp"]
        seen[stamp] = seen.get(stamp, -1) + 1
        doc["_source"]["@timestamp"] = f"{stamp[:-1]}{seen[stamp]:03d}Z"  # microseconds after the milliseconds
    return docs


def write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path


def alerts(setup: Path, capsys: pytest.CaptureFixture[str], *files: Path) -> tuple[list[str], dict[str, int]]:
    out_file = setup.parent / "alerts.ndjson"
    assert main(["hunt", "--config", str(setup), "--format", "ndjson", "--out", str(out_file),
                 *map(str, files)]) == 0
    rules = {r["rule_id"]: r["hits"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    return sorted(json.loads(line)["_id"] for line in out_file.read_text().splitlines()), rules


def test_hunt_over_a_shuffled_file_gives_the_alerts_of_the_sorted_file(
        setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    docs = generated(setup.parent)
    ordered = write(setup.parent / "sorted.ndjson", docs)
    expected, hits = alerts(setup, capsys, ordered)
    assert all(hits[rule_id] > 0 for rule_id in QUERIES), hits
    shuffled = list(docs)
    random.Random(11).shuffle(shuffled)
    monkeypatch.setenv(BUFFER_VARIABLE, "200")  # 3,000 events: 15 sorted runs on disk
    assert alerts(setup, capsys, write(setup.parent / "shuffled.ndjson", shuffled)) == (expected, hits)
    # two files, each partly shuffled, the second holding the earlier half: merged by time
    half = len(docs) // 2
    late, early = docs[half:], docs[:half]
    for part in (late, early):
        for start in range(0, len(part), 50):
            block = part[start:start + 50]
            random.Random(start).shuffle(block)
            part[start:start + 50] = block
    files = write(setup.parent / "late.ndjson", late), write(setup.parent / "early.ndjson", early)
    assert alerts(setup, capsys, *files) == (expected, hits)


def test_hunt_tells_when_it_sorts_a_file_on_disk(seed_only: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lines = SAMPLES.read_text().splitlines()
    path = seed_only.parent / "reversed.ndjson"
    path.write_text("\n".join(reversed(lines)) + "\n")
    monkeypatch.setenv(BUFFER_VARIABLE, "3")
    assert main(["hunt", "--config", str(seed_only), str(path)]) == 0
    captured = capsys.readouterr()
    assert f"{path} is out of time order beyond 3 events ({BUFFER_VARIABLE}): sorting it on disk" in captured.err
    assert re.search(r"1 rules, 1 with hits, 0 failed; 30 alert documents; searched [\d,]+ events in", captured.out)
    monkeypatch.setenv(BUFFER_VARIABLE, "none")
    assert main(["hunt", "--config", str(seed_only), str(path)]) == 2
    assert f"{BUFFER_VARIABLE}='none': give a number of events, at least 1" in capsys.readouterr().err


def test_plain_documents_alert_as_the_same_hits_do(seed_only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hits = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    plain = write(seed_only.parent / "plain.ndjson", [hit["_source"] for hit in hits])
    out_file = seed_only.parent / "plain-alerts.ndjson"
    index = hits[0]["_index"]
    assert main(["hunt", "--config", str(seed_only), "--index", index, "--out", str(out_file), str(plain)]) == 0
    assert "1 rules, 1 with hits, 0 failed; 30 alert documents" in capsys.readouterr().out
    assert len(out_file.read_text().splitlines()) == 30


def test_a_bad_line_is_reported_once_however_many_passes(seed_only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = seed_only.parent / "bad.ndjson"
    path.write_text(SAMPLES.read_text() + "{not json\n")
    assert main(["query", "--config", str(seed_only), "--events", str(path), "--size", "1", "--",
                 "sequence [process where true] [network where true]"]) == 0
    err = capsys.readouterr().err
    assert err.count("bad.ndjson:") == 1 and "not JSON" in err
