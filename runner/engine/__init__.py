"""EQL evaluation with Elasticsearch's semantics over in-memory documents.

`search(documents, query, ...)` answers with the body of an Elasticsearch `_eql/search` response; `search_many`
answers several queries from one pass over the documents, also while the caller grows their mappings
(`LiveMapping`, `growing=True`: streaming files). `SourcePath` reads a `_source` field the way
Elasticsearch indexes it; `date_range` parses a `range` filter's bounds as Elasticsearch does;
`iso_millis_nanos` reads the usual shape of an event's timestamp in two dictionary lookups. `compile_dsl` evaluates
the Query DSL of KQL query rules (`query_dsl/`) with Elasticsearch's semantics on the same indexed values;
`dsl_search` answers a whole `_search` request with it, and `search_many` takes `DslSearch` items beside the EQL
ones, in the same pass.
"""

from runner.engine.dates import date_range, iso_millis_nanos
from runner.engine.dynamic import (
    DynamicTemplates,
    LiveMapping,
    dynamic_mapping,
    extend_mapping,
    merge_mapping,
    substitute_template,
)
from runner.engine.field_types import UnsearchableField
from runner.engine.fields import MISSING, SourcePath
from runner.engine.multi import DslSearch, OutOfOrder, QuerySearch, Remapped, search_many
from runner.engine.ordering import OrderingError
from runner.engine.query_dsl import JudgedOnce, QueryDslError, UnsupportedQuery, compile_dsl, dsl_search
from runner.engine.search import DocumentError, SearchRequestError, search

__all__ = [
    "DocumentError",
    "DslSearch",
    "DynamicTemplates",
    "JudgedOnce",
    "LiveMapping",
    "MISSING",
    "OrderingError",
    "OutOfOrder",
    "QueryDslError",
    "QuerySearch",
    "Remapped",
    "SearchRequestError",
    "SourcePath",
    "UnsearchableField",
    "UnsupportedQuery",
    "compile_dsl",
    "date_range",
    "dsl_search",
    "dynamic_mapping",
    "extend_mapping",
    "iso_millis_nanos",
    "merge_mapping",
    "search",
    "search_many",
    "substitute_template",
]
