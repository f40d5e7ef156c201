"""Where alerts are written, and making sure it exists before the first write.

Two modes (`alerts.mode`):

- `kibana`: Kibana's alias of the space, `.alerts-security.alerts-<space>`, which Kibana creates with its own
  templates and ILM rollover. We never create it (Kibana would then find indices it did not make); we check it is
  there and write through it with `require_alias`.
- `standalone`: for a cluster without Kibana. An index template (`<alias>-*`: Kibana-like mappings) and one write
  index `<alias>-000001` behind the alias `<alias>`, **never rolled over**. Exactly-once rests on two checks: the
  pre-search of candidate ids across everything the alias covers, and the 409 of a `create` whose id is already in
  the index the write lands in. A rollover would let the second check pass in a fresh index; with one write index
  it cannot, so even a write whose acknowledgement was lost and is retried comes back as a 409.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from runner.backends.elasticsearch.errors import classify, error_cause
from runner.backends.elasticsearch.mappings import ALERTS_SETTINGS, alerts_mapping
from runner.backends.errors import AccessError

log = logging.getLogger("runner.backends.elasticsearch")

TEMPLATE_PRIORITY = 510  # above the built-in (100) and Fleet (≤ 200) templates, away from Elastic's own 500


class AlertsIndexMissing(AccessError):
    """Kibana mode, and Kibana has not created the space's alerts index yet."""


@dataclass(frozen=True)
class AlertsTarget:
    mode: Literal["kibana", "standalone"]
    alias: str  # what writes go through and what the pre-search of known ids reads

    @property
    def write_index(self) -> str:
        """Standalone mode: the one concrete index behind the alias."""
        return f"{self.alias}-000001"

    @property
    def template(self) -> str:
        return f"{self.alias}-template"


def ensure_alerts_target(client: Elasticsearch, target: AlertsTarget, kibana_version: str) -> None:
    """Idempotent: the template and write index in standalone mode (mappings updated if they exist), the alias's
    presence in Kibana mode."""
    try:
        if target.mode == "kibana":
            if not client.indices.exists_alias(name=target.alias):
                raise AlertsIndexMissing(
                    f"the alerts alias [{target.alias}] does not exist: Kibana creates it the first time the Security "
                    "app is used in the space (open Security > Alerts once, or POST /api/detection_engine/index); "
                    "or set alerts.mode: standalone to let rule-runner create its own alerts index"
                )
            return
        mapping = alerts_mapping()
        client.indices.put_index_template(
            name=target.template,
            index_patterns=[f"{target.alias}-*"],
            priority=TEMPLATE_PRIORITY,
            template={"settings": ALERTS_SETTINGS, "mappings": mapping},
            meta={"managed_by": "rule-runner", "kibana_version": kibana_version},
        )
        if client.indices.exists_alias(name=target.alias):
            indices = sorted(client.indices.get_alias(name=target.alias).body)
            if len(indices) > 1:
                log.warning("alerts alias [%s] covers %d indices %s: writes go to its write index, and the pre-search "
                            "of known ids covers them all", target.alias, len(indices), indices)
            client.indices.put_mapping(index=target.alias, **mapping)  # fields added since the index was made
            return
        try:
            client.indices.create(index=target.write_index, aliases={target.alias: {"is_write_index": True}})
            log.info("created alerts index [%s] behind alias [%s]", target.write_index, target.alias)
        except ApiError as error:
            if error_cause(error.body)[0] != "resource_already_exists_exception":  # another runner was faster
                raise
    except (ApiError, TransportError) as error:
        raise classify(error, f"preparing the alerts index [{target.alias}]") from None


__all__ = ["TEMPLATE_PRIORITY", "AlertsIndexMissing", "AlertsTarget", "ensure_alerts_target"]
