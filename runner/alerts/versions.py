"""Which Kibana release writes alerts the way these documents are written: its `kibana.version`, and its alert format.

The alert format is a value derived from the Kibana version, here and nowhere else (`format_for`); the alert builder
reads it from `AlertContext.kibana_version` and writes each part the way that release writes it. Where no Kibana is
involved (the embedded store, the standalone alerts index) the documents follow the newest format and say
`KIBANA_VERSION`. In Kibana mode they go into the alerts index of the Kibana that runs with the cluster, whose
version follows the cluster's: `kibana_version_for` gives the cluster's version for every release whose format
rule-runner reproduces, and refuses the others.

Boundaries, each checked against Kibana's source and history: the release on each line that first writes it. A PR
merged to `main` ships in the minor `main` was then building; no backport of any of these to an earlier minor was
found among the stored PR threads (searched by the backport tool's titles, `[9.3] ...`, `[8.19] ...`), so every
boundary is a minor's first release and no patch release matters:

- the oldest release written (`OLDEST`): 8.16.0. kibana#192287 (2024-09, 8.16) brought `transformHitToAlert` and
  `traverseAndMutateDoc`, the event part `source.py` reproduces; the alert schema 8.16.0 (`BaseFields8160`) added
  `kibana.alert.intended_timestamp` and `kibana.alert.rule.execution.type`, which every alert carries. Older
  releases build alerts another way and are refused.
- `service_enrichment`: 8.18.0, 9.0.0. Alert schema 8.18.0 (`BaseFields8180`, `alertsFieldMap8180`):
  `buildAlertFields` leaves `service.asset.criticality` and `service.risk.calculated_*` undefined, which a shell's
  `{...common, ...doc}` spread then removes from the fields its blocks share.
- `original_data_stream`: 8.19.0, 9.1.0. kibana#220447 (2025-05; `alertsFieldMap8190`, `BaseFields8190`; documented
  for 8.19 by security-docs#7159): the event's `data_stream.*` copied to `kibana.alert.original_data_stream.*`.
- `missing_events_excluded`: 9.2.0 (no 8.x). kibana#235133 (2025-09): a sequence's `missing: true` events (`!`
  clauses) make no building block and take no part in the shell's intersection; before, each is an empty block.
- `notation_intersection`: 9.4.0 (no 8.x). kibana#254830 (2026-03): the shell's `objectPairIntersection` treats
  dotted keys and nested objects as one path (`intersection.py`, fast path `intersection_fast.py`); before, key by key
  (`intersection_keywise.py`: the function as kibana#166751 left it in 8.11, unchanged through 9.3).

Also checked, and the same in every release written here:
- `immutable` has been a rule parameter (and `kibana.alert.rule.immutable`) since 7.x: `commonParamsCamelToSnake`
  copies it into every alert's `kibana.alert.rule.parameters`. `rule_source` is written beside it on every rule
  created or changed since 8.15.0 (kibana#183895, 2024-05: "we start writing `rule_source` on every rule
  modification or creation"; `rule_source: params.ruleSource ? ... : undefined`), so from before `OLDEST`. The 9.2
  additions to an external rule's `rule_source` (`customized_fields`, `has_base_version`) come from the rule installed
  in Kibana, not from a format of ours (`runner.catalog.source`).
- Values that do not fit ECS have been left out of alerts since 8.7 (kibana#147628), in `traverseAndMutateDoc` since
  8.16 (kibana#192287). rule-runner leaves them out for every version (`ecs_conformance.py`): a value that would make
  the bulk item fail must never reach the alerts index, whatever release we write for.

Not versioned, and so written as the newest release writes them (see the README): the key order of the persistence
wrapper's fields (some releases list `kibana.alert.intended_timestamp` among them; JSON objects are unordered), and
the reason's choice between an event's `_source` and `fields` (kibana#206489 and later changes, whose releases could
not be pinned from the stored sources).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields

from runner.errors import RuleRunnerError

Release = tuple[int, int, int]


@dataclass(frozen=True)
class AlertFormat:
    """How a Kibana release writes detection alerts, where the releases rule-runner writes for differ."""

    service_enrichment: bool  # service.* criticality and risk fields left undefined by buildAlertFields (8.18, 9.0)
    original_data_stream: bool  # data_stream.* copied to kibana.alert.original_data_stream.* (8.19, 9.1)
    missing_events_excluded: bool  # a sequence's missing events make no building block (9.2)
    notation_intersection: bool  # a shell's intersection treats dotted and nested keys as one path (9.4)


@dataclass(frozen=True)
class Boundary:
    """The first release on each line whose alerts have a format, and what it changes."""

    flag: str  # the `AlertFormat` field
    since_8: Release | None  # None: no 8.x release has it
    since_9: Release
    what: str  # what the release changes, in a few words


BOUNDARIES: tuple[Boundary, ...] = (
    Boundary("service_enrichment", (8, 18, 0), (9, 0, 0), "service.* enrichment fields left undefined"),
    Boundary("original_data_stream", (8, 19, 0), (9, 1, 0),
             "data_stream.* copied to kibana.alert.original_data_stream.*"),
    Boundary("missing_events_excluded", None, (9, 2, 0), "missing sequence events left out"),
    Boundary("notation_intersection", None, (9, 4, 0),
             "shell intersection treating dotted keys and nested objects as one path"),
)
assert [b.flag for b in BOUNDARIES] == [f.name for f in fields(AlertFormat)]

# the oldest release whose alerts rule-runner writes exactly (see the table above)
OLDEST: Release = (8, 16, 0)
NEWEST = AlertFormat(**{b.flag: True for b in BOUNDARIES})
_NEWEST_RELEASE = max(b.since_9 for b in BOUNDARIES)
# `kibana.version` of alerts written without a Kibana: the release whose formats the documents follow
KIBANA_VERSION = "{}.{}.{}".format(*_NEWEST_RELEASE)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


class UnsupportedKibanaVersion(RuleRunnerError):
    """A Kibana version whose alert format rule-runner does not reproduce (or cannot read)."""


def _release(version: str, what: str) -> Release:
    match = _VERSION.match(version)
    if match is None:
        raise UnsupportedKibanaVersion(f"cannot read {what} {version!r}, so not which alert format its Kibana writes")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _format(release: Release) -> AlertFormat:
    if release[0] >= 9:
        return AlertFormat(**{b.flag: release >= b.since_9 for b in BOUNDARIES})
    return AlertFormat(**{b.flag: b.since_8 is not None and release >= b.since_8 for b in BOUNDARIES})


def _too_old(release: Release) -> str | None:
    """Why the alerts of this release are not reproduced, or None when they are."""
    if release >= OLDEST:
        return None
    if release[0] < 8:
        return "a 7.x Kibana writes .siem-signals documents, not alerts-as-data"
    return ("before 8.16 Kibana builds an alert's event part another way (8.16 brought transformHitToAlert and "
            "traverseAndMutateDoc, kibana#192287) and writes neither kibana.alert.intended_timestamp nor "
            "kibana.alert.rule.execution.type (alert schema 8.16.0)")


@functools.lru_cache(maxsize=64)
def format_for(kibana_version: str) -> AlertFormat:
    """The alert format of a Kibana release (`kibana.version`, e.g. "8.19.3"); raises `UnsupportedKibanaVersion`
    for a release older than `OLDEST` or a version it cannot read."""
    release = _release(kibana_version, "the Kibana version")
    reason = _too_old(release)
    if reason is not None:
        raise UnsupportedKibanaVersion(f"Kibana {kibana_version}: rule-runner does not write its alert format "
                                       f"({reason})")
    return _format(release)


def kibana_version_for(cluster_version: str) -> str:
    """`kibana.version` for alerts written into the Kibana alerts index of a cluster running `cluster_version`
    (Elasticsearch's `version.number`): the cluster's own, whose Kibana's format `format_for` gives."""
    release = _release(cluster_version, "the cluster's version")
    reason = _too_old(release)
    if reason is not None:
        oldest = "{}.{}".format(*OLDEST[:2])
        raise UnsupportedKibanaVersion(
            f"Elasticsearch {cluster_version}: its Kibana ({release[0]}.{release[1]}) writes alerts in a format "
            f"rule-runner does not reproduce: {reason}. rule-runner's alerts would differ from Kibana's own in its "
            f"alerts index. Upgrade the stack to {oldest} or later, or set alerts.mode: standalone"
        )
    return "{}.{}.{}".format(*release)



def lacking(alert_format: AlertFormat) -> str:
    """The newer formats an `AlertFormat` does not have, in words ("" for the newest): what the start-up log says."""
    return "; ".join(b.what for b in BOUNDARIES if not getattr(alert_format, b.flag))


__all__ = ["BOUNDARIES", "KIBANA_VERSION", "NEWEST", "OLDEST", "AlertFormat", "Boundary", "UnsupportedKibanaVersion",
           "format_for", "kibana_version_for", "lacking"]
