"""The Elasticsearch backend: searches where the data lives, alerts into the cluster, state in the cluster."""

from runner.backends.elasticsearch.alerts_index import AlertsIndexMissing, AlertsTarget, ensure_alerts_target
from runner.backends.elasticsearch.backend import ElasticsearchBackend
from runner.backends.elasticsearch.client import ClusterInfo, cluster_info, make_client
from runner.backends.elasticsearch.errors import classify
from runner.backends.elasticsearch.ingest import data_stream_of, ingest_events

__all__ = [
    "AlertsIndexMissing",
    "AlertsTarget",
    "ClusterInfo",
    "ElasticsearchBackend",
    "classify",
    "cluster_info",
    "data_stream_of",
    "ensure_alerts_target",
    "ingest_events",
    "make_client",
]
