"""What a function that fails at run time does, and that the analyzer and the engine know the same functions.

Elasticsearch fails the shard when a function throws in a script (see `runner.engine.functions.FunctionError`);
the engine reads the failing combination of values as not matching. These tests pin the engine's behaviour so that
a change to it is a decision, not an accident.
"""

from __future__ import annotations

from typing import Any

import pytest

from runner.engine import search
from runner.engine.functions import FUNCTIONS, FunctionError, arithmetic
from runner.eql.signatures import SIGNATURES
from runner.errors import RuleRunnerError


def _docs(*sources: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"_index": "logs", "_id": str(i), "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z",
                                                     "event": {"category": "process"}, **source}}
        for i, source in enumerate(sources, 1)
    ]


def _ids(documents: list[dict[str, Any]], query: str) -> list[str]:
    return [hit["_id"] for hit in search(documents, query, size=100)["hits"]["events"]]


def test_the_analyzer_and_the_engine_know_the_same_functions() -> None:
    assert set(SIGNATURES) == set(FUNCTIONS)


def test_functions_raise_elasticsearchs_messages() -> None:
    with pytest.raises(FunctionError, match=r"^Unable to convert \[abc\] to number of base \[10\]$"):
        FUNCTIONS["number"](["abc"], False)
    with pytest.raises(FunctionError, match=r"^/ by zero$"):
        arithmetic("/", 7, 0)
    with pytest.raises(FunctionError, match=r"^/ by zero$"):
        arithmetic("%", 7, 0)
    assert issubclass(FunctionError, RuleRunnerError)
    assert not issubclass(FunctionError, ValueError)


def test_a_failing_function_makes_its_script_leaf_false() -> None:
    documents = _docs({"x": "abc"}, {"x": "1"}, {"x": "2"})
    # document 1 raises (Elasticsearch: the shard fails); the others are evaluated as usual
    assert _ids(documents, "process where number(x) == 1") == ["2"]
    # the script leaf is false for document 1, so `not` (a must_not around it) lets it through
    assert _ids(documents, "process where not number(x) == 1") == ["1", "3"]


def test_a_failing_operator_in_a_script_does_not_match() -> None:
    documents = _docs({"n": 1, "d": 0}, {"n": 4, "d": 2})
    assert _ids(documents, "process where divide(n, d) == 2") == ["2"]
    assert _ids(documents, "process where modulo(n, d) == 0") == ["2"]


def test_a_constant_that_fails_is_no_constant_and_matches_nothing() -> None:
    documents = _docs({"n": 1})
    assert _ids(documents, "process where divide(1, 0) == 1") == []
    assert _ids(documents, "process where n == 1 and divide(1, 0) == 1") == []
