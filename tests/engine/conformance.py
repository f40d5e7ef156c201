"""Elasticsearch's EQL QA suite (../shared/eql-spec), run the way its Java harness runs it.

`FORMAT.md` in the suite describes the harness: which data and mapping go with which TOML file, the tiebreaker and
id fields, `size` 50 unless a case sets it, and the comparison (ids of all returned events in order, one of several
alternatives when a case lists them, flattened join keys when a case lists them). The harness picks
`result_position` and the `keyword`/`wildcard` type of some fields at random on each run; here every case runs
under each combination and passes only if all of them pass.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from runner.engine import dynamic_mapping, search
from runner.eql import EqlError

FILETIME_EPOCH_DIFF = 11644473600000


@dataclass(frozen=True)
class Dataset:
    indices: tuple[str, ...]
    tiebreaker: str | None
    id_field: str
    endgame_timestamps: bool = False


ENDGAME = Dataset(("endgame-140",), "serial_event_id", "serial_event_id", endgame_timestamps=True)
DATASETS: dict[str, Dataset] = {
    "test_queries.toml": ENDGAME,
    "additional_test_queries.toml": ENDGAME,
    "test_queries_date.toml": ENDGAME,
    "test_extra.toml": Dataset(("extra",), "sequence", "sequence"),
    "test_missing_events.toml": Dataset(("missing-events",), "sequence", "sequence"),
    "test_sample.toml": Dataset(("sample1", "sample2", "sample3"), None, "id"),
    "test_sample_multi.toml": Dataset(("sample-multi",), None, "id"),
}
KEYWORD_TYPES = ("keyword", "wildcard")
POSITIONS = ("tail", "head")


@dataclass(frozen=True)
class Case:
    file: str
    name: str
    query: str
    expected: tuple[tuple[int, ...], ...]  # alternatives
    join_keys: tuple[str, ...] | None
    size: int
    max_samples_per_key: int

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.toml')}::{self.name}"


@dataclass
class Outcome:
    case: Case
    status: str  # "pass", "fail", "error"
    detail: str = ""
    runs: list[str] = field(default_factory=list)


def _read_toml(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    # test_extra.toml writes `join_keys = [null]`, which is not TOML; the harness reads null as "null"
    text = re.sub(
        r"(?m)^(\s*join_keys\s*=.*)$",
        lambda m: re.sub(r'(?<!")\bnull\b(?!")', '"null"', m.group(1)),
        text,
    )
    return tomllib.loads(text)


def load_cases(spec_dir: Path) -> list[Case]:
    cases: list[Case] = []
    for file in DATASETS:
        for entry in _read_toml(spec_dir / file)["queries"]:
            expected = entry["expected_event_ids"]
            if expected and isinstance(expected[0], list):
                alternatives = tuple(tuple(a) for a in expected)
            else:
                alternatives = (tuple(expected),)
            join_keys = entry.get("join_keys")
            cases.append(
                Case(
                    file=file,
                    name=entry["name"],
                    query=entry["query"].strip(),
                    expected=alternatives,
                    join_keys=tuple(str(k) for k in join_keys) if join_keys else None,
                    size=entry.get("size", 50),
                    max_samples_per_key=entry.get("max_samples_per_key", 1),
                )
            )
    return cases


def _read_data(path: Path) -> list[dict[str, Any]]:
    # Elasticsearch's JSON parser accepts `//` comment lines (missing-events.data has them)
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("//"))
    data: list[dict[str, Any]] = json.loads(text)
    return data


def _read_mapping(path: Path, keyword_type: str) -> dict[str, Any]:
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#"))
    mapping: dict[str, Any] = json.loads(text.replace("[runtime_random_keyword_type]", keyword_type))
    return mapping


@cache
def load_index(spec_dir: Path, index: str, endgame_timestamps: bool, keyword_type: str) -> tuple[tuple[dict[str, Any], ...], str]:
    """Documents and the mapping Elasticsearch ends up with after loading them (explicit + dynamic fields)."""
    sources = _read_data(spec_dir / "data" / f"{index}.data")
    if endgame_timestamps:
        for source in sources:
            source["@timestamp"] = source["timestamp"] // 10000 - FILETIME_EPOCH_DIFF
    docs = tuple({"_index": index, "_id": str(i + 1), "_source": s} for i, s in enumerate(sources))
    mapping = dynamic_mapping(sources, _read_mapping(spec_dir / "data" / f"{index}.mapping", keyword_type))
    return docs, json.dumps(mapping)


def _ids(response: dict[str, Any], id_field: str) -> list[int]:
    hits = response["hits"]
    events = hits.get("events")
    if events is None:
        events = [event for sequence in hits.get("sequences", []) for event in sequence["events"]]
    return [-1 if event.get("missing") else event["_source"][id_field] for event in events]


def _join_keys(response: dict[str, Any]) -> list[str]:
    keys = []
    for sequence in response["hits"].get("sequences", []):
        for key in sequence.get("join_keys", []):
            if key is None:
                keys.append("null")
            elif isinstance(key, bool):
                keys.append("true" if key else "false")
            else:
                keys.append(str(key))
    return keys


def run_case(spec_dir: Path, case: Case) -> Outcome:
    dataset = DATASETS[case.file]
    runs = []
    for keyword_type in KEYWORD_TYPES:
        docs: list[dict[str, Any]] = []
        mappings: dict[str, Any] = {}
        for index in dataset.indices:
            index_docs, mapping = load_index(spec_dir, index, dataset.endgame_timestamps, keyword_type)
            docs.extend(index_docs)
            mappings[index] = json.loads(mapping)
        for position in POSITIONS:
            label = f"{keyword_type}/{position}"
            try:
                response = search(
                    docs,
                    case.query,
                    mappings=mappings,
                    tiebreaker_field=dataset.tiebreaker,
                    size=case.size,
                    result_position=position,
                    max_samples_per_key=case.max_samples_per_key,
                )
            except EqlError as err:
                return Outcome(case, "error", f"[{label}] {type(err).__name__}: {err}")
            except Exception as err:
                return Outcome(case, "error", f"[{label}] {type(err).__name__}: {err}")
            ids = _ids(response, dataset.id_field)
            if tuple(ids) not in case.expected:
                shown = list(case.expected[0]) if len(case.expected) == 1 else [list(a) for a in case.expected]
                return Outcome(case, "fail", f"[{label}] ids {ids}, expected {shown}")
            if case.join_keys is not None:
                keys = _join_keys(response)
                if tuple(keys) != case.join_keys:
                    return Outcome(case, "fail", f"[{label}] join_keys {keys}, expected {list(case.join_keys)}")
            runs.append(label)
    return Outcome(case, "pass", runs=runs)
