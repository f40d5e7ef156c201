"""Query rules (`type: query`, `language: kuery`): Kibana's query rule executor — the KQL and the rule's filters
translated against the fields of the rule's indices, searched with `_search` page by page, each hit one alert.

As Kibana runs them (its `query.ts`, `get_query_filter_load_fields.ts`, `build_events_query.ts`,
`search_after_bulk_create_factory.ts`, `single_search_after.ts`, `wrap_hits.ts`, read in Kibana's source; the tests
in tests/ruletypes and tests/execution/test_query_rules*.py say which fact each checks):

- **fields**: once per execution, the fields the query and filters name are read from the rule's index patterns
  (`_field_caps`), and the KQL is translated against them (`runner.kql.build_es_query` with the detection engine's
  options): a field that is exactly `keyword` gets `term`/`wildcard`, text `match`/`match_phrase`/`query_string`,
  dates a `range`. Patterns that match no index: Kibana's warning, no search, and the window counts as searched
  (nothing can match there); a query those fields cannot translate fails the rule (`QueryError`);
- **the request** of a window: the query and the time range (`timestamp_override` with its fallback) in a bool
  `filter`, sorted by the timestamp(s) ascending, pages of `min(max_signals, 100)` hits, `search_after` the last
  hit's sort values for the next page, until a page comes back empty; the execution writes each page's alerts and
  stops when `max_signals` NEW alerts (not already written) were created in the window, with Kibana's warning when
  more new ones were left (`runner.execution`);
- **alerts**: each hit is an event alert, built as an EQL event's (Kibana's `wrapHits` for both), with the rule's
  parameters (`language: kuery`, `query`, `filters`, `index`).

Lucene query rules (`language: lucene`) and combined filters are not supported yet: `unsupported` says so.
Kibana's pages have no tiebreaker: documents with the same sort values on both sides of a page boundary are skipped
(kibana#280769); the requests stay Kibana's, and `tied` says when a page ended on a tie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from runner.alerts import Alert, AlertContext, build_event_alerts
from runner.backends import QueryError, SearchRequest
from runner.catalog import Rule, iso
from runner.kql import FieldList, KqlError, build_es_query, field_names
from runner.ruletypes.base import FieldSource, Request, ResultKey, RuleSearch, Searcher
from runner.ruletypes.kibana import (
    combined_timestamp,
    time_range_filter,
    timestamp_fields,
    timestamps,
    unsupported_filters,
)

# Kibana's rule type (`ruleTypeMappings.query`, `QUERY_RULE_TYPE_ID`) and its name
RULE_TYPE_ID = "siem.queryRule"
RULE_CATEGORY = "Custom Query Rule"
# Kibana's `getQueryFilter` config for detection rules (KIBANA-TRANSLATION.md §1)
KQL_OPTIONS: dict[str, Any] = {"dateFormatTZ": "Zulu"}
# Kibana's DEFAULT_SEARCH_AFTER_PAGE_SIZE
PAGE_SIZE = 100
# Elasticsearch's default `index.max_result_window`: `from + size` of one answer
MAX_RESULT_WINDOW = 10_000


def query_fields(rule: Rule) -> list[str]:
    """The field names the rule's KQL and filters name (what Kibana's `queryToFields` asks `_field_caps` for)."""
    names: dict[str, None] = {}
    if rule.query is not None and rule.language == "kuery":
        names.update(dict.fromkeys(field_names(rule.query)))  # type: ignore[arg-type]  # a kuery rule's is KQL
    for item in rule.params.filters:
        meta = (item.model_dump(mode="json").get("meta") or {})
        key = meta.get("key")
        if isinstance(key, str) and key:
            names[key] = None
    return list(names)


def es_query(rule: Rule, fields: FieldList | None) -> dict[str, Any]:
    """The rule's KQL and filters as Kibana's `buildEsQuery` combines them, against `fields`."""
    filters = [item.model_dump(mode="json") for item in rule.params.filters]
    return build_es_query(rule.params.query or "", filters, fields.fields if fields is not None else None,
                          **KQL_OPTIONS)


def page_size(rule: Rule) -> int:
    """Kibana's `searchAfterSize`: `max_signals`, at most `DEFAULT_SEARCH_AFTER_PAGE_SIZE` (100)."""
    return min(rule.params.max_signals, PAGE_SIZE)


def build_request(rule: Rule, query: Mapping[str, Any], start: datetime | None = None, end: datetime | None = None,
                  search_after: list[Any] | None = None, size: int | None = None) -> SearchRequest:
    """The `_search` request of one page (`buildEventsSearchQuery`, in its keys' order): the query and the time
    range in a bool `filter`, every field and the timestamps formatted, the runtime mappings (the combined timestamp
    with an override and its fallback: sent, though neither the query nor the sort uses it), ascending by the
    timestamp(s) with `unmapped_type: date`, and `search_after` from the second page on. No `track_total_hits`,
    `version` or tiebreaker: Elasticsearch's defaults, as Kibana leaves them."""
    params = rule.params
    primary, secondary = timestamps(rule)
    filters: list[Any] = [dict(query)]
    if start is not None and end is not None:
        filters.append(time_range_filter(primary, secondary, iso(start), iso(end)))
    sort: list[dict[str, Any]] = [{primary: {"order": "asc", "unmapped_type": "date"}}]
    if secondary is not None:
        sort.append({secondary: {"order": "asc", "unmapped_type": "date"}})
    body: dict[str, Any] = {
        "size": page_size(rule) if size is None else size,
        "query": {"bool": {"filter": filters}},
        "fields": timestamp_fields(primary, secondary),
        "runtime_mappings": combined_timestamp(primary) if secondary is not None else {},
        "sort": sort,
    }
    if search_after:
        body["search_after"] = list(search_after)
    return SearchRequest(tuple(params.index_patterns), body)


def result_count(response: Mapping[str, Any]) -> int:
    """The number of hits of a checked `_search` answer."""
    return len(response["hits"]["hits"])


def result_keys(response: Mapping[str, Any]) -> set[ResultKey]:
    """Each hit of a checked `_search` answer by identity: `(_index, _id)`."""
    return {(hit.get("_index"), hit.get("_id")) for hit in response["hits"]["hits"]}


class QuerySearch(RuleSearch):
    """A query rule's search for one execution: its translated query, and its requests page by page."""

    uses_fields = True
    title = "query"
    pages = True

    def __init__(self, rule: Rule, fields: FieldList | None, no_index: str | None = None) -> None:
        super().__init__(rule)
        self.fields = fields
        self.query = es_query(rule, fields)
        self.no_index = no_index

    def request(self, start: datetime | None, end: datetime | None) -> Request:
        if start is None or end is None:  # a hunt: the first `max_signals` hits in one answer, as the pages give them
            # (up to Elasticsearch's default `index.max_result_window`, which one answer cannot pass)
            return build_request(self.rule, self.query, size=min(self.rule.params.max_signals, MAX_RESULT_WINDOW))
        return build_request(self.rule, self.query, start, end)

    def send(self, searcher: Searcher, request: Request) -> dict[str, Any]:
        assert isinstance(request, SearchRequest)
        return searcher.search(request)

    def next_page(self, request: Request, response: Mapping[str, Any]) -> Request | None:
        """Kibana's loop: the next page after every page with hits (a short page does not stop it: only an empty
        one does), `search_after` the last hit's sort values; none when they are missing or negative
        (kibana#174573). Documents whose sort values equal the cursor are skipped by Elasticsearch, as Kibana's
        own pages skip them (kibana#280769)."""
        hits = response["hits"]["hits"]
        if not hits:
            return None
        after = hits[-1].get("sort")
        if not after or any(isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0 for v in after):
            return None
        return SearchRequest(request.index, {**request.body, "search_after": list(after)}, dict(request.params))

    def tied(self, request: Request, response: Mapping[str, Any]) -> str | None:
        """A full page whose last two hits have the same sort values: the documents with those values past the
        page are skipped by the next page's `search_after`, as Kibana's pages skip them (no tiebreaker:
        kibana#280769); the requests stay Kibana's, the likely loss is said. Only a tie seen inside the page: one
        that starts at its last hit (the next document shares its values) is skipped without a sign."""
        hits = response["hits"]["hits"]
        if len(hits) < max(2, request.body["size"]) or hits[-1].get("sort") != hits[-2].get("sort"):
            return None
        return (f"documents with the same sort values as the last hit of a page ({hits[-1].get('sort')}) may have "
                "been skipped by the next page: Kibana's paging has no tiebreaker (kibana#280769)")

    def count(self, response: Mapping[str, Any]) -> int:
        return result_count(response)

    def keys(self, response: Mapping[str, Any]) -> set[ResultKey]:
        return result_keys(response)

    def alerts(self, response: Mapping[str, Any], context: AlertContext) -> list[Alert]:
        typed = replace(context, rule_type_id=RULE_TYPE_ID, rule_category=RULE_CATEGORY)
        return build_event_alerts(response["hits"]["hits"], typed)


class QueryKind:
    """`type: query`."""

    type = "query"

    def unsupported(self, rule: Rule) -> str | None:
        if rule.language != "kuery":
            return f"{rule.language} query rules are not supported yet"
        return unsupported_filters(rule)

    def prepare(self, rule: Rule, fields: FieldSource | None) -> RuleSearch:
        """The rule's search: its KQL and filters translated against the fields `fields` reports for them (none:
        no field information). A query Kibana would refuse to translate with those fields (a nested field outside
        its `{ }` group) is a `QueryError`, as a search Elasticsearch refuses is: the rule fails, the others run."""
        try:
            if fields is None:
                return QuerySearch(rule, None)
            primary, secondary = timestamps(rule)
            names = list(dict.fromkeys([*query_fields(rule), primary, *([secondary] if secondary else [])]))
            answer = fields.field_caps(rule.params.index_patterns, names)
            if not answer.get("indices"):
                return QuerySearch(rule, None, no_index=f"no such index [{','.join(rule.params.index_patterns)}]")
            return QuerySearch(rule, FieldList.from_field_caps(answer))
        except KqlError as error:
            raise QueryError("kql_translation_exception", f"the KQL query cannot be translated: {error}") from None


__all__ = ["PAGE_SIZE", "QueryKind", "QuerySearch", "build_request", "es_query", "page_size", "query_fields",
           "result_count", "result_keys"]
