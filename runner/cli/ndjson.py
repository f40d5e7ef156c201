"""Reading events from NDJSON files (plain or gzip): plain documents, or `{_index, _id, _source}` hits.

A bad line is reported with its file and line number and skipped; it never stops the file. Reading streams: a
file of a million events is never held whole.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass
class BadLine:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ReadReport:
    lines: int = 0
    documents: int = 0
    bad: list[BadLine] = field(default_factory=list)


def read_documents(
    paths: list[Path],
    *,
    index: str | None,
    report: ReadReport,
    default_index: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """`(file, line, {"_index", "_id"?, "_source"})` per good line. A line that is a hit keeps its `_index` unless `index` is
    given; a plain document takes `index`, else `default_index`, else is a bad line."""
    for path in paths:
        with path.open("rb") as raw:
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
            for number, line in enumerate(stream, 1):
                if on_bytes is not None:
                    on_bytes(raw.tell())
                report.lines += 1
                text = line.strip()
                if not text:
                    continue
                try:
                    value = json.loads(text)
                except (json.JSONDecodeError, UnicodeDecodeError) as err:
                    report.bad.append(BadLine(str(path), number, f"not JSON: {err}"))
                    continue
                if not isinstance(value, dict):
                    report.bad.append(BadLine(str(path), number, "not a JSON object"))
                    continue
                if "_source" in value:
                    source = value["_source"]
                    if not isinstance(source, dict):
                        report.bad.append(BadLine(str(path), number, "_source is not a JSON object"))
                        continue
                    doc = {"_index": index or value.get("_index"), "_id": value.get("_id"), "_source": source}
                else:
                    doc = {"_index": index or default_index, "_id": None, "_source": value}
                if not doc["_index"]:
                    report.bad.append(BadLine(str(path), number, "no index: the line is a plain document (give --index) or a hit without _index"))
                    continue
                if transform is not None:
                    doc = transform(doc)
                report.documents += 1
                yield str(path), number, doc


__all__ = ["BadLine", "ReadReport", "read_documents"]
