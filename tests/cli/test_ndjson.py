"""The NDJSON reader parses with orjson yet reads exactly what `json` reads, and reports bad lines in `json`'s words;
progress is told every `PROGRESS_LINES` lines and at each file's end, not at every line."""

from __future__ import annotations

import json
import math
from pathlib import Path

from runner.cli.ndjson import PROGRESS_LINES, ReadReport, read_documents


def read(path: Path) -> tuple[list[dict[str, object]], ReadReport]:
    report = ReadReport()
    docs = [doc for _file, _line, doc in read_documents([path], index="logs", report=report)]
    return docs, report


def test_what_json_reads_is_read_as_json_reads_it(tmp_path: Path) -> None:
    lines = [
        '{"@timestamp": "2026-01-15T10:00:00Z", "n": 1, "f": 1.5e-7, "text": "caf\\u00e9 \\u65e5"}',
        '{"@timestamp": "2026-01-15T10:00:01Z", "big": 123456789012345678901234567890}',  # beyond 64 bits
        '{"@timestamp": "2026-01-15T10:00:01Z", "low": -9223372036854775809, "high": 18446744073709551616}',
        '{"@timestamp": "2026-01-15T10:00:01Z", "huge": 1e400}',  # beyond a double: json reads infinity
        '{"@timestamp": "2026-01-15T10:00:02Z", "nan": NaN, "inf": -Infinity}',  # not JSON, but json reads it
        '{"@timestamp": "2026-01-15T10:00:03Z", "lone": "\\ud800"}',  # a lone surrogate escape
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, report = read(path)
    assert not report.bad and len(docs) == len(lines)
    for line, doc in zip(lines, docs, strict=True):
        assert json.dumps(doc["_source"], sort_keys=True) == json.dumps(json.loads(line), sort_keys=True)
    assert docs[1]["_source"]["big"] == 123456789012345678901234567890  # type: ignore[index]
    assert math.isnan(docs[4]["_source"]["nan"])  # type: ignore[index]


def test_bad_lines_are_reported_in_jsons_words(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"a": 1,}\nnot json\n{"a": "\xff"}\n[1]\n')
    docs, report = read(path)
    assert not docs
    trailing_comma = ""
    try:
        json.loads('{"a": 1,}')
    except json.JSONDecodeError as error:  # worded differently by Python versions
        trailing_comma = str(error)
    assert [str(bad) for bad in report.bad] == [
        f"{path}:1: not JSON: {trailing_comma}",
        f"{path}:2: not JSON: Expecting value: line 1 column 1 (char 0)",
        f"{path}:3: not JSON: 'utf-8' codec can't decode byte 0xff in position 7: invalid start byte",
        f"{path}:4: not a JSON object",
    ]


def test_progress_is_told_in_steps_and_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    count = PROGRESS_LINES * 2 + 5
    path.write_text("".join(f'{{"@timestamp": "2026-01-15T10:00:00Z", "i": {i}}}\n' for i in range(count)))
    positions: list[int] = []
    report = ReadReport()
    docs = list(read_documents([path], index="logs", report=report, on_bytes=positions.append))
    assert len(docs) == count
    assert len(positions) == 3 and positions == sorted(positions) and positions[-1] == path.stat().st_size
