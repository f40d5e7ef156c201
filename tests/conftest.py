"""Shared test fixtures: where the reference material in ../shared is, and what a test needing it does when it is
absent.

The one place that decides: a test needing ../shared calls `shared_path` (or `shared_missing`). On a user's clone
without ../shared beside it the test is skipped with the path as the reason, so the README's test command passes;
with `REQUIRE_SHARED=1` in the environment (`.ci/run` sets it) the same test fails instead, so CI cannot go green
by skipping the oracles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
REQUIRE_SHARED = "REQUIRE_SHARED"


def shared_required() -> bool:
    return os.environ.get(REQUIRE_SHARED) == "1"


def shared_missing(path: Path) -> NoReturn:
    """Skip the calling test because `path` (under ../shared) is absent; fail it under REQUIRE_SHARED=1."""
    reason = f"reference material not found: {path} (../shared is not beside this checkout)"
    if shared_required():
        pytest.fail(f"{REQUIRE_SHARED}=1: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """A path under ../shared; the calling test is skipped (failed under REQUIRE_SHARED=1) when it does not exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        shared_missing(path)
    return path


def pytest_report_header() -> str:
    found = "found" if SHARED.is_dir() else "absent: tests needing it " + ("FAIL" if shared_required() else "skip")
    return f"reference material: {SHARED} ({found}; {REQUIRE_SHARED}={os.environ.get(REQUIRE_SHARED, 'unset')})"


@pytest.fixture()
def stub():
    """A loopback HTTP stub for the Elasticsearch client (tests/backends/es_stub.py), closed after the test."""
    from tests.backends.es_stub import Stub

    server = Stub()
    yield server
    server.close()
