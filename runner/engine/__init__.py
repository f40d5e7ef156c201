"""EQL evaluation with Elasticsearch's semantics over in-memory documents.

`search(documents, query, ...)` answers with the body of an Elasticsearch `_eql/search` response.
"""

from runner.engine.dynamic import dynamic_mapping
from runner.engine.ordering import OrderingError
from runner.engine.search import DocumentError, SearchRequestError, search

__all__ = ["DocumentError", "OrderingError", "SearchRequestError", "dynamic_mapping", "search"]
