"""Which Kibana release writes alerts the way these documents are written, and so which `kibana.version` they carry.

The documents follow Kibana's newest alert formats. The ones that tell releases apart, with the release that first
wrote each (the 9.x line; on the 8.x line, 8.19 is the last minor and has only the first two):

| since | format                                                                                                      |
|-------|-------------------------------------------------------------------------------------------------------------|
| 9.0   | `immutable` and `rule_source` in the rule parameters of every alert (rule customization; 8.18 on 8.x)       |
| 9.1   | an event's `data_stream.*` copied to `kibana.alert.original_data_stream.*` (`alertsFieldMap8190`; 8.19)     |
| 9.4   | a sequence's shell: dotted keys and nested objects naming the same path intersect as one (kibana#254830)   |

Hence `KIBANA_VERSION`, written where no Kibana is involved (the embedded store, the standalone alerts index). In
Kibana mode the alerts go into the index of the Kibana that runs with the cluster, whose version follows the
cluster's: there `kibana_version_for` gives the cluster's version when its Kibana writes these formats, and refuses
an older cluster, whose Kibana writes alerts rule-runner does not reproduce (its shells, at least).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.errors import RuleRunnerError


@dataclass(frozen=True)
class AlertFormat:
    since: tuple[int, int]  # the first Kibana release (major, minor) of the 9.x line that writes it
    what: str


FORMATS: tuple[AlertFormat, ...] = (
    AlertFormat((9, 0), "immutable and rule_source in the rule parameters"),
    AlertFormat((9, 1), "data_stream.* copied to kibana.alert.original_data_stream.*"),
    AlertFormat((9, 4), "sequence shells that intersect dotted keys and nested objects as one path"),
)
_NEWEST = max(fmt.since for fmt in FORMATS)
# `kibana.version` of alerts written without a Kibana: the release whose formats the documents follow
KIBANA_VERSION = f"{_NEWEST[0]}.{_NEWEST[1]}.0"

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


class UnsupportedKibanaVersion(RuleRunnerError):
    """The cluster's Kibana writes alerts in a format rule-runner does not reproduce."""


def kibana_version_for(cluster_version: str) -> str:
    """`kibana.version` for alerts written into the Kibana alerts index of a cluster running `cluster_version`
    (Elasticsearch's `version.number`): the cluster's own, when its Kibana writes the formats of these documents."""
    match = _VERSION.match(cluster_version)
    if match is None:
        raise UnsupportedKibanaVersion(f"cannot read the cluster's version {cluster_version!r}, so not which alert "
                                       "format its Kibana writes")
    major, minor, patch = (int(part) for part in match.groups())
    missing = [fmt for fmt in FORMATS if (major, minor) < fmt.since]
    if missing:
        newest = max(fmt.since for fmt in missing)
        lacks = "; ".join(fmt.what for fmt in missing)
        raise UnsupportedKibanaVersion(
            f"Elasticsearch {cluster_version}: its Kibana ({major}.{minor}) writes alerts in an older format than "
            f"rule-runner's, which follows Kibana {newest[0]}.{newest[1]} and later ({lacks}); rule-runner's alerts "
            f"would differ from Kibana's own in its alerts index. Upgrade the stack to {newest[0]}.{newest[1]} or "
            "later, or set alerts.mode: standalone"
        )
    return f"{major}.{minor}.{patch}"


__all__ = ["FORMATS", "KIBANA_VERSION", "AlertFormat", "UnsupportedKibanaVersion", "kibana_version_for"]
