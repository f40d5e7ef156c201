"""A real Elasticsearch for the `elasticsearch`-marked tests, started by testcontainers with the official image.

Without a reachable Docker engine these tests are skipped with the Docker error as the reason, or fail instead when
`REQUIRE_DOCKER=1` (CI machines that must run them). `RULE_RUNNER_ES_IMAGE` picks another image tag.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

IMAGE = os.environ.get("RULE_RUNNER_ES_IMAGE", "docker.elastic.co/elasticsearch/elasticsearch:9.5.2")


def _docker_unavailable() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as error:
        return f"Docker engine unavailable: {type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    reason = _docker_unavailable()
    if reason is not None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1: {reason}")
        pytest.skip(reason)
    try:  # testcontainers 4.15 moved the module; 4.14 only has the old path
        from testcontainers.community.elasticsearch import ElasticSearchContainer
    except ImportError:
        from testcontainers.elasticsearch import ElasticSearchContainer

    container = (
        ElasticSearchContainer(IMAGE, mem_limit="2g")
        .with_env("discovery.type", "single-node")
        .with_env("ES_JAVA_OPTS", "-Xms1g -Xmx1g")
        .with_env("action.destructive_requires_name", "false")
    )
    container.start()
    try:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(container.port)}"
    finally:
        container.stop()
