"""Alerts as Kibana's security detection engine writes them: documents, ids, reason, sequence shells.

`build_alerts(response, context)` turns one `_eql/search` response into the alert documents (and their `_id`s) that
Kibana would write for the rule, so that alerts written by rule-runner and by Kibana look alike and de-duplicate
against each other.
"""

from runner.alerts.context import DEFAULT_ALERTS_INDEX, KIBANA_VERSION, AlertContext, ExecutionType
from runner.alerts.documents import (
    NEITHER_EVENTS_NOR_SEQUENCES,
    Alert,
    AlertBuildError,
    build_alerts,
    build_event_alerts,
)
from runner.alerts.ids import building_block_ids, event_alert_id, shell_alert_id
from runner.alerts.intersection import object_array_intersection, object_pair_intersection
from runner.alerts.merge import MERGE_STRATEGIES, MergeStrategy
from runner.alerts.paths import remove_field
from runner.alerts.reason import build_reason
from runner.alerts.versions import UnsupportedKibanaVersion, format_for, kibana_version_for, lacking

__all__ = [
    "Alert",
    "AlertBuildError",
    "AlertContext",
    "DEFAULT_ALERTS_INDEX",
    "ExecutionType",
    "KIBANA_VERSION",
    "MERGE_STRATEGIES",
    "MergeStrategy",
    "NEITHER_EVENTS_NOR_SEQUENCES",
    "UnsupportedKibanaVersion",
    "build_alerts",
    "build_event_alerts",
    "build_reason",
    "building_block_ids",
    "event_alert_id",
    "format_for",
    "kibana_version_for",
    "lacking",
    "object_array_intersection",
    "object_pair_intersection",
    "remove_field",
    "shell_alert_id",
]
