"""What a rule type is to everything that runs rules: one `RuleKind` per type, and the `RuleSearch` it prepares.

A rule type owns four things, and nothing else in the code names a type (`runner.ruletypes.TYPES` lists them):

- **its parse**: the rule's query is parsed by its language when the rule loads (`runner.catalog.QUERY_LANGUAGES`);
  the kind says whether a loaded rule of its type can run (`unsupported`: why not, e.g. a Lucene query);
- **its request**: `prepare(rule, fields)` gives the rule's `RuleSearch` for one execution, whose `request(start,
  end)` is what Kibana sends for a window (`None, None`: a hunt, all the input), and `next_page` the request for the
  page after an answer (query rules page with `search_after`; EQL has no pagination, a truncated window is cut in
  `halves` instead). A type whose query depends on the fields of its indices (KQL) reads them through `fields`
  (`field_caps`), once per execution, as Kibana's executor does;
- **its search call**: `send(searcher, request)` (`_eql/search`, `_search`); many requests of several types go
  together through `search_many`, which each backend answers by request class;
- **its alerts**: `count`, `keys` and `alerts` read its answers (events and sequences, or hits).

The execution (`runner.execution`) drives windows, retries, writes and state for every type alike, so a new type
(`threshold`, `new_terms`, `esql`) is one more module here and one line in `TYPES`; its TOML schema is already in
`runner.catalog.model`, which models every type detection-rules defines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from runner.alerts import Alert, AlertContext
from runner.backends import EqlRequest, SearchRequest
from runner.catalog import Rule

Request = EqlRequest | SearchRequest
# a result by identity: an event's `(_index, _id)`, a sequence's tuple of those
ResultKey = tuple[Any, ...]


class FieldSource(Protocol):
    """Where a type reads the fields of a rule's indices: a backend, or events searched offline."""

    def field_caps(self, index: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
        """The body of Elasticsearch's `_field_caps` answer for these index patterns and field names."""


class Searcher(Protocol):
    """What answers requests: a backend (`runner.backends.Backend`) or events searched offline."""

    def eql_search(self, request: EqlRequest) -> dict[str, Any]: ...

    def search(self, request: SearchRequest) -> dict[str, Any]: ...


class RuleSearch(ABC):
    """One rule's search, ready for one execution (or a hunt): its requests, and how its answers read."""

    # where the rule's index patterns match no index, what the fields lookup said (the execution warns as Kibana
    # does and takes the window as searched: nothing can match)
    no_index: str | None = None
    # whether the requests depend on the fields of the rule's indices (read through `prepare`'s `fields`)
    uses_fields = False
    # what messages call the search ("The EQL query failed to run successfully ...")
    title = "search"
    # whether a window is searched page by page (`next_page`), each page's alerts written before the next, up to
    # `max_signals` new alerts (query rules); otherwise in one answer, cut in `halves` when truncated (EQL)
    pages = False

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    @abstractmethod
    def request(self, start: datetime | None, end: datetime | None) -> Request:
        """The request over `[start, end]` (both inclusive); without bounds, over all the input (a hunt)."""

    @abstractmethod
    def send(self, searcher: Searcher, request: Request) -> dict[str, Any]:
        """The request sent (its endpoint's call); raises what the searcher raises."""

    def next_page(self, request: Request, response: Mapping[str, Any]) -> Request | None:
        """The request of the page after `response` (its answer to `request`), types that page; None when there is
        no further page to ask for."""
        return None

    def tied(self, request: Request, response: Mapping[str, Any]) -> str | None:
        """Types that page: why results may be lost at the boundary after this page (None: no sign of it)."""
        return None

    def truncated(self, request: Request, response: Mapping[str, Any]) -> bool:
        """Whether results may be missing from an answer (types without pages: it holds `size` results)."""
        return False

    def halves(self, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]] | None:
        """Where a truncated window is searched again in two parts (types without pagination); None: it is not."""
        return None

    @abstractmethod
    def count(self, response: Mapping[str, Any]) -> int:
        """The number of results of a checked answer."""

    @abstractmethod
    def keys(self, response: Mapping[str, Any]) -> set[ResultKey]:
        """Each result of a checked answer by identity."""

    @abstractmethod
    def alerts(self, response: Mapping[str, Any], context: AlertContext) -> list[Alert]:
        """The alert documents of a checked answer, in write order."""


class RuleKind(Protocol):
    """One rule type (see the module docstring)."""

    type: str

    def unsupported(self, rule: Rule) -> str | None:
        """Why this loaded rule of the type cannot run (None: it can)."""

    def prepare(self, rule: Rule, fields: FieldSource | None) -> RuleSearch:
        """The rule's search for one execution; `fields` None: no field information (a request shown offline)."""


__all__ = ["FieldSource", "Request", "ResultKey", "RuleKind", "RuleSearch", "Searcher"]
