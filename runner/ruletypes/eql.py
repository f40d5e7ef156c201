"""EQL rules (`type: eql`): Kibana's `_eql/search` request for a window (`build_eql_search_request.ts`), its answer
read as events or sequences, and their alerts.

EQL has no pagination: one request per window with `size = max_signals`, and a window whose answer holds `size`
results is searched again in halves (`halves`: the lower half reaches a sequence's `maxspan` past the cut, so that
every sequence lies whole in one half). A hunt's request is the same without the time range, the rule's own filters
still applied. Requests are built whole, never changed afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from runner.alerts import Alert, AlertContext, build_alerts
from runner.backends import EqlRequest
from runner.catalog import Rule, iso
from runner.ruletypes.base import FieldSource, Request, ResultKey, RuleSearch, Searcher
from runner.ruletypes.kibana import (
    combined_timestamp,
    rule_filter,
    time_range_filter,
    timestamp_fields,
    timestamps,
    unsupported_filters,
)


def build_request(rule: Rule, start: datetime | None = None, end: datetime | None = None) -> EqlRequest:
    """The `_eql/search` request for `rule` over `[start, end]`; without bounds, over all the input (a hunt: the
    same request without the time range, the rule's own filters still applied)."""
    params = rule.params
    primary, secondary = timestamps(rule)
    time_range = (time_range_filter(primary, secondary, iso(start), iso(end))
                  if start is not None and end is not None else None)
    filters = [item.model_dump(mode="json") for item in params.filters]
    body: dict[str, Any] = {
        "size": params.max_signals,
        "query": params.query,
        "filter": {"bool": {"filter": [*([time_range] if time_range is not None else []), rule_filter(filters)]}},
        "allow_partial_search_results": True,
    }
    if secondary is not None:
        body["runtime_mappings"] = combined_timestamp(primary)
    if params.timestamp_field:
        body["timestamp_field"] = params.timestamp_field
    if params.event_category_override:
        body["event_category_field"] = params.event_category_override
    if params.tiebreaker_field:
        body["tiebreaker_field"] = params.tiebreaker_field
    body["fields"] = timestamp_fields(primary, secondary)
    return EqlRequest(tuple(params.index_patterns), body)


def result_count(response: Mapping[str, Any]) -> int:
    """The number of results (events or sequences) of a checked `_eql/search` answer."""
    hits = response["hits"]
    return len(hits.get("events") or hits.get("sequences") or [])


def result_keys(response: Mapping[str, Any]) -> set[ResultKey]:
    """Each result of a checked `_eql/search` answer by identity: an event's `(_index, _id)`, a sequence's tuple
    of those."""
    hits = response["hits"]
    if "events" in hits:
        return {(e.get("_index"), e.get("_id")) for e in hits["events"]}
    return {tuple((e.get("_index"), e.get("_id")) for e in s.get("events", [])) for s in hits["sequences"]}


class EqlSearch(RuleSearch):
    """An EQL rule's search: one `_eql/search` per window, halves when it was truncated."""

    title = "EQL query"

    def request(self, start: datetime | None, end: datetime | None) -> Request:
        return build_request(self.rule, start, end)

    def send(self, searcher: Searcher, request: Request) -> dict[str, Any]:
        assert isinstance(request, EqlRequest)
        return searcher.eql_search(request)

    def truncated(self, request: Request, response: Mapping[str, Any]) -> bool:
        size: int = request.body["size"]
        return size != 0 and self.count(response) >= size

    def halves(self, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]] | None:
        """`[start, end]` cut in two at its middle (on a millisecond: requests carry milliseconds), the lower half
        reaching a sequence's `maxspan` past the cut so that every sequence lies whole in one half (without maxspan,
        one crossing the cut is found only if the wider search kept it); the halves overlap at least on the cut,
        both bounds being inclusive. None when the window is too narrow to cut."""
        middle = start + (end - start) / 2
        middle -= timedelta(microseconds=middle.microsecond % 1000)
        if not start < middle < end:
            return None
        maxspan = getattr(getattr(self.rule.query, "maxspan", None), "millis", None)
        reach = min(end, middle + timedelta(milliseconds=maxspan)) if maxspan else middle
        return (start, reach), (middle, end)

    def count(self, response: Mapping[str, Any]) -> int:
        return result_count(response)

    def keys(self, response: Mapping[str, Any]) -> set[ResultKey]:
        return result_keys(response)

    def alerts(self, response: Mapping[str, Any], context: AlertContext) -> list[Alert]:
        return build_alerts(response, context)


class EqlKind:
    """`type: eql`."""

    type = "eql"

    def unsupported(self, rule: Rule) -> str | None:
        return unsupported_filters(rule)

    def prepare(self, rule: Rule, fields: FieldSource | None) -> RuleSearch:
        return EqlSearch(rule)  # EQL's request does not depend on the fields: Elasticsearch resolves them


__all__ = ["EqlKind", "EqlSearch", "build_request", "result_count", "result_keys"]
