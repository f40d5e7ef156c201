"""Every EQL query of the public detection-rules corpus parses, passes the mapping-free checks and round-trips."""

from __future__ import annotations

import tomllib

from runner.eql import EqlError, parse, to_eql
from tests.conftest import shared_path


def test_every_corpus_eql_query_parses() -> None:
    root = shared_path("detection-rules")
    queries: dict[str, str] = {}
    for path in sorted(root.rglob("*.toml")):
        rule = tomllib.loads(path.read_text(encoding="utf-8")).get("rule", {})
        if rule.get("language") == "eql":
            queries[str(path.relative_to(root))] = rule["query"]
    failures = []
    for name, text in queries.items():
        try:
            query = parse(text)
        except EqlError as err:
            failures.append(f"{name}: {err}")
            continue
        if parse(to_eql(query)) != query:
            failures.append(f"{name}: does not round-trip through the printer")
    assert len(queries) == 1081
    assert not failures, "\n".join(failures)
