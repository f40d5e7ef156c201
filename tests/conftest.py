"""Shared test fixtures: where the reference material in ../shared is, and skipping cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ../shared; the calling test is skipped, with the reason, when it does not exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material not found: {path} (../shared is not beside this checkout)")
    return path


@pytest.fixture()
def stub():  # noqa: ANN201 - an Iterator[Stub]; the import stays local so that other tests do not load it
    """A loopback HTTP stub for the Elasticsearch client (tests/backends/es_stub.py), closed after the test."""
    from tests.backends.es_stub import Stub

    server = Stub()
    yield server
    server.close()
