"""Alert writes: which candidate ids are already written, and create-only bulk writes classified per item.

Our own bulk loop rather than `helpers.streaming_bulk`: each item's fate matters (201 created, 409 already written,
429 to retry, anything else a failure that is never counted as written), and the helper's default mode does not even
retry per-item 429s (elastic/elasticsearch-py#864). Retries with backoff are the execution's: it sends what is left.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.serializer import JsonSerializer

from runner.backends.elasticsearch.errors import classify
from runner.backends.errors import TransientError, WriteError

ID_CHUNK = 10_000  # an ids query returns at most index.max_result_window hits
BULK_DOCS = 500


@dataclass(frozen=True)
class WriteResult:
    created: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()


def existing_ids(client: Elasticsearch, target: str, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` already present in any index `target` (an alias or pattern) covers."""
    found: set[str] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start:start + ID_CHUNK])
        try:
            response = client.search(
                index=target, query={"ids": {"values": chunk}}, size=len(chunk), source=False,
                track_total_hits=False, ignore_unavailable=True, allow_no_indices=True,
            )
        except (ApiError, TransportError) as error:
            raise classify(error, f"looking up known alert ids in [{target}]") from None
        found.update(hit["_id"] for hit in response.body["hits"]["hits"])
    return found


@dataclass
class _Outcome:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    overloaded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "<id>: <type>: <reason>"


def create_alerts(client: Elasticsearch, alias: str, alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> WriteResult:
    """`create` every alert through `alias` (`require_alias`: never into an index made up by auto-creation), visible
    to searches when this returns (`refresh=wait_for`), so that the next pre-search sees them."""
    outcome = _Outcome()
    for chunk in _chunks(alerts):
        operations: list[bytes] = []
        for alert_id, source in chunk:
            operations.append(_json({"create": {"_index": alias, "_id": alert_id}}))
            operations.append(_json(source))
        try:
            response = client.bulk(operations=operations, refresh="wait_for", require_alias=True)  # type: ignore[arg-type]
        except (ApiError, TransportError) as error:
            failure = classify(error, f"bulk create into [{alias}]")
            raise WriteError(str(failure), created=outcome.created, duplicates=outcome.duplicates,
                             retryable=isinstance(failure, TransientError)) from None
        _classify_items(response.body, [alert_id for alert_id, _ in chunk], outcome)
    if outcome.failed or outcome.overloaded:
        parts = []
        if outcome.overloaded:
            parts.append(f"{len(outcome.overloaded)} rejected by an overloaded cluster (429)")
        if outcome.failed:
            shown = "; ".join(outcome.failed[:3]) + (f"; and {len(outcome.failed) - 3} more" if len(outcome.failed) > 3 else "")
            parts.append(f"{len(outcome.failed)} failed: {shown}")
        raise WriteError(f"bulk create into [{alias}]: {len(outcome.created)} created, "
                         f"{len(outcome.duplicates)} already written, " + ", ".join(parts),
                         created=outcome.created, duplicates=outcome.duplicates, retryable=not outcome.failed)
    return WriteResult(tuple(outcome.created), tuple(outcome.duplicates))


def _classify_items(body: Mapping[str, Any], ids: list[str], outcome: _Outcome) -> None:
    items = body.get("items") or []
    if len(items) != len(ids):  # never count what was not acknowledged one by one
        outcome.failed.extend(f"{i}: no item in the bulk response" for i in ids[len(items):])
    for alert_id, item in zip(ids, items):
        result = item.get("create") or next(iter(item.values()), {})
        status = result.get("status", 0)
        error = result.get("error") or {}
        kind = error.get("type", "") if isinstance(error, dict) else str(error)
        if 200 <= status < 300:
            outcome.created.append(alert_id)
        elif status == 409 and kind == "version_conflict_engine_exception":
            outcome.duplicates.append(alert_id)
        elif status == 429:
            outcome.overloaded.append(alert_id)
        else:
            reason = error.get("reason", "") if isinstance(error, dict) else ""
            outcome.failed.append(f"{alert_id}: HTTP {status} {kind}: {reason}")


_DEFAULT = JsonSerializer().default  # what the client's own serializer does with dates, decimals, UUIDs, ...


def _json(value: Mapping[str, Any]) -> bytes:
    """One NDJSON line, serialised with orjson: an alert is ~14 kB of JSON (its rule's parameters included), and
    the standard library's encoder made the bulk body cost more than building the alerts. The client passes bytes
    lines through as they are."""
    return orjson.dumps(value, default=_DEFAULT, option=orjson.OPT_NON_STR_KEYS)


def _chunks(alerts: Sequence[tuple[str, Mapping[str, Any]]]) -> Iterator[Sequence[tuple[str, Mapping[str, Any]]]]:
    # an alert is a few kB: BULK_DOCS of them stay far below the 100 MB request limit
    for start in range(0, len(alerts), BULK_DOCS):
        yield alerts[start:start + BULK_DOCS]


__all__ = ["WriteResult", "create_alerts", "existing_ids"]
