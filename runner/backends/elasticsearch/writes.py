"""Alert writes: which candidate ids are already written (and by which execution), and create-only bulk writes
classified per item.

Our own bulk loop rather than `helpers.streaming_bulk`: each item's fate matters (201 created, 409 already written,
429 or 5xx to retry, a mapping conflict refused for its content, anything else a failure that is never counted as
written), and the helper's default mode does not even retry per-item 429s (elastic/elasticsearch-py#864). Retries
with backoff are the execution's: it sends what is left.

A bulk request that fails without an answer per item (a timeout, a dropped connection, a 5xx from a proxy) may have
been applied anyway: its `WriteError` says so (`unknown`), and the execution refreshes the alerts alias before it
looks the ids up again, so that writes applied without an acknowledgement are found rather than created again (in
a new backing index after a rollover, where a `create` would not conflict).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.serializer import JsonSerializer

from runner.backends.base import EXECUTION_UUID, WriteResult
from runner.backends.elasticsearch.errors import classify
from runner.backends.errors import Rejected, TransientError, WriteError

ID_CHUNK = 10_000  # an ids query returns at most index.max_result_window hits
BULK_DOCS = 500


# the content errors of a document the index's mapping refuses, and the field each message names (its full path)
MAPPING_REJECTIONS = frozenset({"document_parsing_exception", "mapper_parsing_exception",
                                "strict_dynamic_mapping_exception"})
_REJECTED_FIELD = (
    re.compile(r"failed to parse field \[([^\]]+)\]"),
    re.compile(r"object mapping for \[([^\]]+)\] tried to parse field"),
    re.compile(r"dynamic introduction of \[([^\]]+)\] within \[([^\]]+)\]"),
)


def existing_ids(client: Elasticsearch, target: str, ids: Sequence[str]) -> dict[str, str | None]:
    """The ids among `ids` already present in any index `target` (an alias or pattern) covers, each with the
    execution uuid that wrote it."""
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start:start + ID_CHUNK])
        try:
            response = client.search(
                index=target, query={"ids": {"values": chunk}}, size=len(chunk), source=False,
                # the client's stubs type `fields` entries as objects only; Elasticsearch takes a field name too
                fields=[EXECUTION_UUID],  # type: ignore[list-item]
                track_total_hits=False, ignore_unavailable=True, allow_no_indices=True,
            )
        except (ApiError, TransportError) as error:
            raise classify(error, f"looking up known alert ids in [{target}]") from None
        for hit in response.body["hits"]["hits"]:
            values = (hit.get("fields") or {}).get(EXECUTION_UUID) or [None]
            found[hit["_id"]] = values[0]
    return found


def refresh(client: Elasticsearch, target: str) -> None:
    """Make every write applied to the indices behind `target` visible to searches."""
    try:
        client.indices.refresh(index=target, ignore_unavailable=True, allow_no_indices=True)
    except (ApiError, TransportError) as error:
        raise classify(error, f"refreshing [{target}] before looking up alert ids again") from None


def rejected_field(reason: str) -> str | None:
    """The field a mapping refusal names, as a full dotted path (None when it names none)."""
    for pattern in _REJECTED_FIELD:
        match = pattern.search(reason)
        if match:
            if match.lastindex == 2:  # dynamic introduction of [leaf] within [parent]
                parent, leaf = match.group(2), match.group(1)
                return leaf if parent == "_doc" else f"{parent}.{leaf}"
            return match.group(1)
    return None


@dataclass
class _Outcome:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    overloaded: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
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
            # the client's stubs type `operations` as objects only; its NDJSON serializer sends bytes lines as they are
            response = client.bulk(operations=operations, refresh="wait_for", require_alias=True)  # type: ignore[arg-type]
        except (ApiError, TransportError) as error:
            failure = classify(error, f"bulk create into [{alias}]")
            transient = isinstance(failure, TransientError)
            # only a 429 says for sure that nothing was applied; a timeout or a lost connection may hide a success
            unknown = transient and not (isinstance(error, ApiError) and error.meta.status == 429)
            raise WriteError(str(failure), created=outcome.created, duplicates=outcome.duplicates,
                             rejected=outcome.rejected, retryable=transient, unknown=unknown) from None
        _classify_items(response.body, [alert_id for alert_id, _ in chunk], outcome)
    if outcome.failed or outcome.overloaded or outcome.rejected:
        parts = []
        if outcome.overloaded:
            parts.append(f"{len(outcome.overloaded)} refused by an overloaded cluster (429 or 5xx)")
        if outcome.rejected:
            parts.append(f"{len(outcome.rejected)} refused for their content: "
                         + _shown([f"{r.id}: {r.reason}" for r in outcome.rejected]))
        if outcome.failed:
            parts.append(f"{len(outcome.failed)} failed: {_shown(outcome.failed)}")
        raise WriteError(f"bulk create into [{alias}]: {len(outcome.created)} created, "
                         f"{len(outcome.duplicates)} already written, " + ", ".join(parts),
                         created=outcome.created, duplicates=outcome.duplicates, rejected=outcome.rejected,
                         retryable=bool(outcome.overloaded) and not outcome.failed)
    return WriteResult(tuple(outcome.created), tuple(outcome.duplicates))


def _shown(messages: list[str]) -> str:
    return "; ".join(messages[:3]) + (f"; and {len(messages) - 3} more" if len(messages) > 3 else "")


def _classify_items(body: Mapping[str, Any], ids: list[str], outcome: _Outcome) -> None:
    items = body.get("items") or []
    if len(items) != len(ids):  # never count what was not acknowledged one by one
        outcome.failed.extend(f"{i}: no item in the bulk response" for i in ids[len(items):])
    for alert_id, item in zip(ids, items, strict=False):  # the missing ones failed (above)
        result: dict[str, Any] = item.get("create") or next(iter(item.values()), {})
        status = result.get("status", 0)
        error = result.get("error") or {}
        kind = error.get("type", "") if isinstance(error, dict) else str(error)
        if 200 <= status < 300:
            outcome.created.append(alert_id)
        elif status == 409 and kind == "version_conflict_engine_exception":
            outcome.duplicates.append(alert_id)
        elif status == 429 or status >= 500:
            outcome.overloaded.append(alert_id)
        else:
            reason = error.get("reason", "") if isinstance(error, dict) else ""
            if kind in MAPPING_REJECTIONS:
                outcome.rejected.append(Rejected(alert_id, rejected_field(str(reason)), f"{kind}: {reason}"))
            else:
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


__all__ = ["MAPPING_REJECTIONS", "create_alerts", "existing_ids", "refresh", "rejected_field"]
