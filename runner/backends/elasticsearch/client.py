"""The official client, configured from the `elasticsearch:` settings.

The 8.x client (`elasticsearch>=8.15,<9`) is the one that talks to both 8.x and 9.x clusters: it sends
`Accept: application/vnd.elasticsearch+json; compatible-with=8`, which 8.x servers take as their own and 9.x servers
accept through REST API compatibility, while a 9.x client's `compatible-with=9` is refused by every 8.x server.

Retries are ours, not the transport's: the transport retries 429 and 5xx at once, without backoff, and the execution
has to know when a window stays pending. So the transport makes one attempt per call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from runner.backends.elasticsearch.errors import classify
from runner.backends.errors import AccessError, IndexNotFound, QueryError
from runner.settings import ElasticsearchSettings

log = logging.getLogger("runner.backends.elasticsearch")

SUPPORTED_MAJORS = (8, 9)


def make_client(settings: ElasticsearchSettings) -> Elasticsearch:
    """A client for the configured hosts and credentials; TLS is verified unless `verify_certs: false`."""
    options: dict[str, Any] = {
        "hosts": list(settings.hosts),
        "request_timeout": settings.request_timeout.total_seconds(),
        "max_retries": 0,
        "retry_on_status": (),
        "retry_on_timeout": False,
    }
    # TLS options only apply to https hosts (the client refuses them for http ones)
    if any(host.lower().startswith("https:") for host in settings.hosts):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs is not None:
            options["ca_certs"] = str(settings.ca_certs)
        if not settings.verify_certs:
            options["ssl_show_warn"] = False  # said once here, not on every request
            log.warning("TLS certificate verification is off (elasticsearch.verify_certs: false)")
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username is not None and settings.password is not None:
        options["basic_auth"] = (settings.username, settings.password.get_secret_value())
    try:
        return Elasticsearch(**options)
    except ValueError as error:  # e.g. http and https hosts mixed with TLS options
        raise AccessError(f"cannot configure the Elasticsearch client: {error}") from None


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    version: str

    @property
    def major(self) -> int:
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else 0


def cluster_info(client: Elasticsearch) -> ClusterInfo:
    """`GET /`: the cluster's name and version; a version this client cannot serve is an `AccessError`, and so is a
    server that is not Elasticsearch (no `X-Elastic-Product` header, an answer other than Elasticsearch's to `GET /`),
    whose later answers (a 404 for "no such document") would otherwise be believed."""
    what = "connecting to Elasticsearch"
    try:
        body = client.info().body
    except (ApiError, TransportError) as error:
        failure = classify(error, what)
        if isinstance(failure, (QueryError, IndexNotFound)):  # GET / names no index and sends no query
            status = error.meta.status if isinstance(error, ApiError) and error.meta is not None else "?"
            raise AccessError(f"{what}: the server is not Elasticsearch (GET / answered HTTP {status}: "
                              f"{str(failure)[:200]}); check elasticsearch.hosts") from None
        raise failure from None
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, dict) or not isinstance(version.get("number"), str):
        raise AccessError(f"{what}: the server is not Elasticsearch (GET / answered without a version number: "
                          f"{str(body)[:200]}); check elasticsearch.hosts")
    info = ClusterInfo(str(body.get("cluster_name", "?")), version["number"])
    if info.major not in SUPPORTED_MAJORS:
        raise AccessError(f"Elasticsearch {info.version} is not supported: rule-runner needs 8.x or 9.x")
    return info


__all__ = ["SUPPORTED_MAJORS", "ClusterInfo", "cluster_info", "make_client"]
