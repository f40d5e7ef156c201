"""A hunt judges each answer as an execution does: an answer marked incomplete is a failure, never hits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.backends import BackendError, EqlRequest, SearchRequest
from runner.backends.embedded.memory import MemoryEvents
from runner.catalog import load_rule_file
from runner.execution import HuntStatus, hunt

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "seed_rule.ndjson"


class _Partial(MemoryEvents):
    """The in-memory store answering as a cluster whose shards failed: the results found so far, marked partial."""

    def search_many(self, requests: Sequence[EqlRequest | SearchRequest]) -> list[dict[str, Any] | BackendError]:
        return [{**answer, "is_partial": True} if isinstance(answer, dict) else answer
                for answer in super().search_many(requests)]


def events(kind: type[MemoryEvents]) -> MemoryEvents:
    return kind(json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip())


def test_an_incomplete_answer_is_a_failed_hunt_not_its_hits() -> None:
    rule = load_rule_file(ROOT / "rules" / "persistence_apt_package_manager_netcon.toml")
    [whole] = hunt([rule], events(MemoryEvents))
    assert whole.status == HuntStatus.OK and whole.hits > 0
    [partial] = hunt([rule], events(_Partial))
    assert partial.status == HuntStatus.FAILED and partial.message == "the answer says is_partial: true"
    assert partial.hits == 0 and partial.alerts == []
