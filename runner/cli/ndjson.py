"""Reading events from NDJSON files (plain or gzip): plain documents, or `{_index, _id, _source}` hits.

A bad line is reported with its file and line number and skipped; it never stops the file. A file that cannot be
read to its end (a truncated or corrupt `.gz`, a plain file named `.gz`, a read error) stops that file only: what
was read before stays read, and the report says how far it got (line, bytes) so the caller can decide (ingest keeps
what it committed and exits 1; hunt and query refuse to search incomplete input). Reading streams: a file of a
million events is never held whole.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.backends import read_json

PROGRESS_LINES = 1000  # `on_bytes` is told the position every this many lines (and at the end of the file)


@dataclass
class BadLine:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class UnreadableFile:
    """A file whose reading stopped before its end: how far it got and why."""

    file: str
    lines: int  # complete lines read before it stopped
    data_bytes: int  # bytes of those lines (uncompressed)
    file_bytes: int  # bytes of the file consumed
    size: int
    reason: str

    def __str__(self) -> str:
        if not self.lines:
            return f"{self.file}: {self.reason}; nothing was read from it"
        sizes = f"{self.data_bytes:,} bytes"
        if self.file.endswith(".gz"):
            sizes += f" uncompressed, {self.file_bytes:,} of the file's {self.size:,} bytes"
        return f"{self.file}: {self.reason}; lines 1 to {self.lines:,} were read ({sizes})"


@dataclass
class ReadReport:
    lines: int = 0
    documents: int = 0
    bad: list[BadLine] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)


def _reason(lines: int, error: Exception, head: bytes) -> str:
    if isinstance(error, gzip.BadGzipFile) and lines == 0 and not head.startswith(b"\x1f\x8b"):
        return f"not a gzip file although named .gz (it starts with {head[:8]!r}); if it is plain NDJSON, rename it without .gz"
    if isinstance(error, EOFError):
        return "the gzip stream ends before its end marker: the file is truncated (an interrupted copy or download?)"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return f"corrupt gzip data ({error})"
    return f"cannot read it: {getattr(error, 'strerror', None) or error}"


def _lines(path: Path, report: ReadReport, on_bytes: Callable[[int], None] | None) -> Iterator[tuple[int, bytes]]:
    """`(number, line)` of one file, plain or gzip by its name; a failure to read on ends the file, in the report."""
    number = data = 0
    try:
        raw = path.open("rb")
    except OSError as error:
        report.unreadable.append(UnreadableFile(str(path), 0, 0, 0, 0, _reason(0, error, b"")))
        return
    with raw:
        try:
            head = raw.read(8)
            raw.seek(0)
            stream: Iterable[bytes] = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
            for line in stream:
                number += 1
                data += len(line)
                if on_bytes is not None and not number % PROGRESS_LINES:
                    on_bytes(raw.tell())
                yield number, line
            if on_bytes is not None:
                on_bytes(raw.tell())
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            report.unreadable.append(UnreadableFile(str(path), number, data, raw.tell(), os.fstat(raw.fileno()).st_size,
                                                    _reason(number, error, head)))


def read_documents(
    paths: list[Path],
    *,
    index: str | None,
    report: ReadReport,
    default_index: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    keep_going: bool = True,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """`(file, line, {"_index", "_id"?, "_source"})` per good line. A line that is a hit keeps its `_index` unless `index` is
    given; a plain document takes `index`, else `default_index`, else is a bad line. A file that cannot be read to
    its end is in `report.unreadable`; the next files are read unless `keep_going` is false."""
    for path in paths:
        if report.unreadable and not keep_going:
            return
        for number, line in _lines(path, report, on_bytes):
            report.lines += 1
            text = line.strip()
            if not text:
                continue
            try:
                value = read_json(text)
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


__all__ = ["BadLine", "ReadReport", "UnreadableFile", "read_documents"]
