"""Documents of several inputs in timestamp order, in bounded memory: how `hunt` and `query` read files.

`in_time_order(sources)` yields every document of every source in the order of the key (epoch nanoseconds of
`@timestamp`, source number, position in the source): exactly the order a stable sort by timestamp of the
concatenated sources gives, which is the order the engine's ordinals expect (documents without a usable timestamp
sort first, as -1). Files are nearly sorted, so the sources are merged as they come (a merge of streams nearly in
order is nearly in order) and the merge passes through one reorder buffer of `buffer` documents (while the stream
stays in order the buffer is a queue; the first document out of order turns it into a heap): a document may be late
by up to `buffer` positions, and memory is one buffer whatever the number of sources. A document older than one the
buffer already let out cannot be put back: `Disordered(source)` names its source (a source in order never comes
late: the merge lets out the smallest head) and the caller starts its pass again, naming that source in `external`.
A source in `external` is read whole into sorted runs of `buffer` documents spilled to temporary files (marshal,
or pickle for objects marshal refuses: an exact round trip of what the JSON reader gave, NaN and integers beyond
64 bits included; never JSON), which are then merged;
memory stays bounded by `buffer` plus one chunk per run, and the files hold the source once. Each source stays
open for the whole pass (a k-way merge): the number of files is bounded by the process's open-file limit.

Temporary files live in one directory under `spill_dir` (tempfile's default when None), removed when the iteration
ends, is closed half-way (`close()`, or the generator dropped) or stops on an exception.
"""

from __future__ import annotations

import heapq
import itertools
import marshal
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from runner.engine import date_range, iso_millis_nanos
from runner.errors import RuleRunnerError

REORDER_BUFFER = 10_000  # about 7 KiB per held event from a JSON reader: some 70 MiB; at 370 events/s, 27 s of disorder
_CHUNK = 256  # documents per record of a spilled run: one record per run is in memory while merging
_MARSHAL, _PICKLE = b"m", b"p"  # how a record is written

Source = Callable[[], Iterable[Mapping[str, Any]]]
_Item = tuple[int, int, int, Mapping[str, Any]]  # (time, source, position, document): ordered by the first three


class SortFailed(RuleRunnerError):
    """A source could not be sorted on disk: the temporary directory refused the runs."""


class Disordered(RuleRunnerError):
    """A source is further out of timestamp order than the reorder buffer holds: read it again sorted externally."""

    def __init__(self, source: int) -> None:
        super().__init__(f"source {source} is out of timestamp order beyond the reorder buffer")
        self.source = source


def document_time(doc: Mapping[str, Any]) -> int:
    """Epoch nanoseconds of `@timestamp`, -1 without a single parsable one: the order the engine's ordinals use.
    The usual shape (`yyyy-MM-ddTHH:mm:ss.SSSZ`) takes `iso_millis_nanos`'s two lookups; anything else, `date_range`."""
    source = doc.get("_source") or {}
    value = source.get("@timestamp") if isinstance(source, Mapping) else None
    if type(value) is str:
        nanos = iso_millis_nanos(value)
        if nanos is not None:
            return nanos
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    interval = date_range(value) if value is not None and not isinstance(value, bool) else None
    return interval[0] if interval is not None else -1


def in_time_order(
    sources: list[Source],
    *,
    buffer: int = REORDER_BUFFER,
    spill_dir: str | Path | None = None,
    external: Collection[int] = (),
    on_sorting: Callable[[int], None] | None = None,
) -> Iterator[Mapping[str, Any]]:
    """Every document of `sources` (each a callable opening one input) in (timestamp, source, position) order;
    `Disordered` when a source not in `external` is out of order beyond `buffer` documents. `on_sorting` is told
    the number of a source as its external sort starts."""
    if buffer < 1:
        raise ValueError("the reorder buffer holds at least one document")
    with _Spill(spill_dir) as spill:
        streams = [
            spill.sorted(number, source(), buffer, on_sorting) if number in external else _keyed(number, source())
            for number, source in enumerate(sources)
        ]
        if not streams:
            return
        # the sources merged as they come (each nearly in order, so the merge is too), then one reorder buffer for
        # all of them: memory is one buffer whatever the number of files
        merged: Iterator[_Item] = streams[0] if len(streams) == 1 else heapq.merge(*streams)
        for item in _reordered(merged, buffer):
            yield item[3]


def _keyed(number: int, documents: Iterable[Mapping[str, Any]]) -> Iterator[_Item]:
    """The documents of source `number` with their keys, in the source's order."""
    for position, doc in enumerate(documents):
        yield (document_time(doc), number, position, doc)


def _reordered(items: Iterable[_Item], buffer: int) -> Iterator[_Item]:
    """Items in key order through a reorder buffer of `buffer` items, or `Disordered` naming the source of an item
    that comes after one already let out with a greater key (a source in order never does: the merge lets out the
    smallest head). Keys are unique (source, position), so comparing items never reaches the documents."""
    queue: deque[_Item] = deque()  # while the input is in order: a queue, in key order
    heap: list[_Item] | None = None  # after the first item out of order: a heap
    last: _Item | None = None  # the last item let out
    top: _Item | None = None  # the newest item in the queue
    for item in items:
        if heap is None:
            if top is None or item > top:
                queue.append(item)
                top = item
                if len(queue) > buffer:
                    last = queue.popleft()
                    yield last
                continue
            heap = list(queue)  # a sorted list is a heap
            queue.clear()
        if last is not None and item < last:
            raise Disordered(item[1])
        if len(heap) >= buffer:
            last = heapq.heappushpop(heap, item)
            yield last
        else:
            heapq.heappush(heap, item)
    if heap is None:
        yield from queue
    else:
        while heap:
            yield heapq.heappop(heap)


class _Spill:
    """The temporary directory of one iteration's sorted runs, removed with it."""

    def __init__(self, spill_dir: str | Path | None) -> None:
        self.spill_dir = spill_dir
        self.directory: tempfile.TemporaryDirectory[str] | None = None
        self.files: list[IO[bytes]] = []
        self.written = 0

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        for file in self.files:
            file.close()
        if self.directory is not None:
            self.directory.cleanup()

    def sorted(self, number: int, documents: Iterable[Mapping[str, Any]], buffer: int,
               on_sorting: Callable[[int], None] | None) -> Iterator[_Item]:
        """One source read whole into sorted runs of `buffer` documents on disk, merged back in key order. The
        merge holds one record of `_CHUNK` documents per run: when there are more runs than `buffer` documents
        make records, runs are first merged into longer ones on disk (memory stays about `buffer` documents)."""
        if on_sorting is not None:
            on_sorting(number)
        runs: list[IO[bytes]] = []
        run: list[_Item] = []
        for position, doc in enumerate(documents):
            run.append((document_time(doc), number, position, doc))
            if len(run) >= buffer:
                run.sort()  # by (time, source, position): unique, so documents are never compared
                runs.append(self._write(run))
                run = []
        run.sort()  # by (time, source, position): unique, so documents are never compared
        if not runs:
            yield from run  # it fitted in the buffer: no file
            return
        if run:
            runs.append(self._write(run))
        del run
        fan_in = max(2, buffer // _CHUNK)
        while len(runs) > fan_in:
            merged = self._write(heapq.merge(*(_read(file) for file in runs[:fan_in])))
            for file in runs[:fan_in]:
                self._remove(file)
            runs = [*runs[fan_in:], merged]
        yield from heapq.merge(*(_read(file) for file in runs))

    def _write(self, items: Iterable[_Item]) -> IO[bytes]:
        """A run (`items` in key order) written to a new file; a disk that refuses it (full, not writable) is a
        `SortFailed` naming the directory."""
        try:
            return self._write_run(items)
        except OSError as error:
            where = self.directory.name if self.directory is not None else (self.spill_dir or tempfile.gettempdir())
            raise SortFailed(f"cannot sort a file on disk in {where}: {error.strerror or error} (the temporary "
                             "files take about the file's size; set TMPDIR to a directory with room)") from None

    def _write_run(self, items: Iterable[_Item]) -> IO[bytes]:
        """A run (`items` in key order) written to a new file, in records of `_CHUNK` documents."""
        if self.directory is None:
            self.directory = tempfile.TemporaryDirectory(prefix="rule-runner-sort-", dir=self.spill_dir)
        self.written += 1
        file = open(Path(self.directory.name) / f"run-{self.written}", "w+b")  # noqa: SIM115 - closed by __exit__
        self.files.append(file)
        iterator = iter(items)
        while chunk := list(itertools.islice(iterator, _CHUNK)):
            try:  # marshal: twice as fast as pickle, exact for what JSON readers make (NaN, any integer)
                data, kind = marshal.dumps(chunk), _MARSHAL
            except ValueError:  # a value marshal does not take (a source yielding other objects)
                data, kind = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL), _PICKLE
            file.write(kind + len(data).to_bytes(8, "little"))
            file.write(data)
        file.flush()
        file.seek(0)
        return file

    def _remove(self, file: IO[bytes]) -> None:
        """A run merged into a longer one: its file goes at once (the disk holds the source about once)."""
        file.close()
        self.files.remove(file)
        Path(file.name).unlink()


def _read(file: IO[bytes]) -> Iterator[_Item]:
    """The documents of one run, as `_write` wrote them (our own file, written by this iteration)."""
    while head := file.read(9):
        data = file.read(int.from_bytes(head[1:], "little"))
        chunk: list[_Item] = marshal.loads(data) if head[:1] == _MARSHAL else pickle.loads(data)
        yield from chunk


__all__ = ["REORDER_BUFFER", "Disordered", "SortFailed", "Source", "document_time", "in_time_order"]
