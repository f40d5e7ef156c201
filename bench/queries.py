"""The benchmark's queries: two filters and two sequences, the seed rule's read from `../shared/seed/`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

SEED_RULE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "persistence_apt_package_manager_netcon.toml"


@dataclass(frozen=True)
class BenchQuery:
    key: str
    title: str
    kind: str  # "filter" or "sequence"
    text: str
    target: float  # the speed-up over the eql PythonEngine the project aims for
    source: str  # where the query comes from


FILTER_EQ = BenchQuery(
    key="eq",
    title="== filter",
    kind="filter",
    text='process where host.os.type == "linux" and event.type == "start" and process.name == "curl"',
    target=2.0,
    source="bench: curl executions on Linux hosts",
)

FILTER_WILDCARD = BenchQuery(
    key="wildcard",
    title=": wildcard filter",
    kind="filter",
    text=(
        'process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and\n'
        '  process.command_line : ("*curl*|*sh*", "*wget*|*sh*", "*/dev/tcp/*")'
    ),
    target=2.0,
    source="bench: download piped to a shell, or a /dev/tcp redirection",
)

ENTITY_SEQUENCE = BenchQuery(
    key="entity",
    title="sequence by process.entity_id",
    kind="sequence",
    text=(
        "sequence by process.entity_id with maxspan=1m\n"
        '  [process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and\n'
        '     process.name in ("bash", "dash", "sh")]\n'
        '  [network where event.action == "connection_attempted"]'
    ),
    target=5.0,
    source="bench: a shell that opens a network connection itself",
)


def seed_query() -> tuple[BenchQuery | None, str]:
    """The seed rule's query, or None and why not."""
    if not SEED_RULE.is_file():
        return None, f"seed rule not found at {SEED_RULE}"
    try:
        rule = tomllib.loads(SEED_RULE.read_text(encoding="utf-8"))["rule"]
        text = rule["query"].strip()
    except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
        return None, f"cannot read [rule].query of {SEED_RULE}: {err}"
    name = rule.get("name", SEED_RULE.stem)
    return BenchQuery(
        key="seed",
        title="seed rule: sequence by host.id maxspan=5s",
        kind="sequence",
        text=text,
        target=5.0,
        source=f"{SEED_RULE.name} ({name})",
    ), ""


def all_queries() -> tuple[list[BenchQuery], list[str]]:
    """The four queries in benchmark order, and why any is skipped."""
    seed, why = seed_query()
    queries = [FILTER_EQ, FILTER_WILDCARD]
    skipped = []
    if seed is not None:
        queries.append(seed)
    else:
        skipped.append(why)
    queries.append(ENTITY_SEQUENCE)
    return queries, skipped


__all__ = ["SEED_RULE", "BenchQuery", "all_queries", "seed_query"]
