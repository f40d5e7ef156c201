"""Events into the cluster's data streams (`rule-runner ingest` with the Elasticsearch backend).

Exported hits carry the backing index (`.ds-logs-endpoint.events.process-default-2026.01.15-000001`); they are
written to the data stream it belongs to (`logs-endpoint.events.process-default`), with their `_id`, create-only:
ingesting the same file twice adds nothing (a document without `_id` gets a random one from Elasticsearch, so it is
added again). The result is the backends' `IngestResult`: its target names the data streams written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from runner.backends.base import IngestResult
from runner.backends.elasticsearch.errors import classify

BATCH = 1000
_BACKING = re.compile(r"^\.ds-(?P<stream>.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$")


def data_stream_of(index: str) -> str:
    """The data stream a backing index belongs to; any other name as it is."""
    match = _BACKING.match(index)
    return match.group("stream") if match else index


def ingest_events(
    client: Elasticsearch,
    documents: Iterable[Mapping[str, Any]],
    on_bad: Callable[[Mapping[str, Any], str], None],
    *,
    nowhere: str = "Elasticsearch",
) -> IngestResult:
    """Bulk-create `{"_index", "_id"?, "_source"}` documents; an item Elasticsearch refuses goes to `on_bad`. The
    result's target: the data streams written, sorted and comma-separated, or `nowhere` when none was."""
    added = duplicates = 0
    targets: set[str] = set()
    batch: list[Mapping[str, Any]] = []

    def flush() -> None:
        nonlocal added, duplicates
        operations: list[Mapping[str, Any]] = []
        for doc in batch:
            action: dict[str, Any] = {"_index": data_stream_of(str(doc["_index"]))}
            if doc.get("_id"):
                action["_id"] = str(doc["_id"])
            targets.add(action["_index"])
            operations.extend(({"create": action}, doc["_source"]))
        try:
            response = client.bulk(operations=operations)
        except (ApiError, TransportError) as error:
            raise classify(error, "bulk ingest") from None
        for doc, item in zip(batch, response.body.get("items") or [], strict=False):  # a missing item is not counted
            result = item.get("create") or {}
            status = result.get("status", 0)
            if 200 <= status < 300:
                added += 1
            elif status == 409:
                duplicates += 1
            else:
                refusal = result.get("error") or {}
                on_bad(doc, f"HTTP {status} {refusal.get('type', '')}: {refusal.get('reason', '')}")
        batch.clear()

    for doc in documents:
        if not isinstance(doc.get("_index"), str) or not isinstance(doc.get("_source"), dict):
            on_bad(doc, "a document needs an _index (string) and a _source (object)")
            continue
        batch.append(doc)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    if targets:
        try:
            client.indices.refresh(index=sorted(targets))  # searchable for the next rule run, not in a second
        except (ApiError, TransportError) as error:
            raise classify(error, "refreshing the ingested data streams") from None
    return IngestResult(added, duplicates, ", ".join(sorted(targets)) or nowhere)


__all__ = ["data_stream_of", "ingest_events"]
