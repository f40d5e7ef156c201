"""Many event queries in one pass answer exactly as one `search()` per query."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from runner.backends.embedded.memory import MemoryEvents
from runner.catalog import load_rules
from runner.engine.multi import QuerySearch, search_many
from runner.eql import nodes as n
from runner.ruletypes.eql import build_request
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]


def _body(result: dict[str, Any] | Exception) -> dict[str, Any]:
    """A response body of `search_many` (an exception there fails the test, as indexing it would)."""
    assert isinstance(result, dict), result
    return result


def generated(count: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate  # type: ignore[import-not-found]  # bench/ is on sys.path for this import only
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return list(generate.generate(count, seed=11, hosts=20))


def test_every_corpus_rule_batched_equals_one_by_one() -> None:
    catalog = load_rules([shared_path("detection-rules")])
    events = MemoryEvents(generated(4000))
    from datetime import datetime

    now = datetime.now(UTC)
    items = []
    for rule in (r for r in catalog.rules if r.type == "eql"):
        if isinstance(rule.query, (n.EventQuery, n.SequenceQuery)):
            request = build_request(rule, now, now)
            request.body["filter"] = {"bool": {"filter": []}}
            request.body["size"] = 1000  # every match, so that a difference anywhere shows
            if events.batchable(request, rule.query):
                items.append((request, rule.query))
    assert len(items) > 1000
    batched = events.search_many([request for request, _query in items])
    compared = with_hits = 0
    for (request, _query), many in zip(items, batched, strict=False):
        try:
            one = events.eql_search(request)
        except Exception as error:
            assert type(many) is type(error) and str(many) == str(error), request.body["query"]
            continue
        assert isinstance(many, dict), (request.body["query"], many)
        assert many["hits"] | {"total": None} == one["hits"] | {"total": None}, request.body["query"]
        compared += 1
        with_hits += bool(one["hits"].get("events") or one["hits"].get("sequences"))
    assert compared > 550 and with_hits >= 2


def test_anchors_and_limits() -> None:
    docs = []
    for i, (name, args) in enumerate([("sh", ["-c"]), ("bash", ["-x"]), ("curl", ["-c"]), ("sh", ["x", "-c"]),
                                      ("SH", ["-c"]), ("zsh", [])] * 3):
        docs.append({"_index": "logs", "_id": str(i), "_source": {
            "@timestamp": f"2026-01-01T00:00:{i:02d}Z", "event": {"category": ["process"]},
            "process": {"name": name, "args": args}}})
    queries = [
        'process where process.name == "sh"',                        # anchored on process.name
        'process where process.name in ("sh", "zsh") and process.args == "-c"',
        'process where process.name : "sh"',                         # case-insensitive: the category anchors it
        'process where not process.name == "sh"',                    # no anchor but the category
        'any where process.args == "-c" | head 2',
        'process where process.name == "sh" | tail 1',
        'sequence [process where process.name == "sh"] [process where process.name == "curl"]',
        'sequence by process.args with maxspan=3s [process where process.name : "sh"] [process where true]',
        'sequence with maxspan=10s [process where process.name == "sh"] ![process where process.name == "bash"] '
        '[process where process.name == "zsh"]',
        'sequence [process where process.name == "bash"] [process where process.name == "curl"] '
        'until [process where process.name == "SH"]',
        'sequence [process where process.name == "zsh"] with runs=2 | head 1',
    ]
    searches = [QuerySearch(q, frozenset({"logs"}), None, 100) for q in queries]
    from runner.engine import search

    for query, many in zip(queries, search_many(docs, searches), strict=False):
        one = search(docs, query, size=100)
        assert _body(many)["hits"] | {"total": None} == one["hits"] | {"total": None}, query
    sequences = [_body(r) for r in search_many(docs, searches) if "sequences" in _body(r)["hits"]]
    assert len(sequences) == 5 and all(r["hits"]["sequences"] for r in sequences[:2])


def test_the_tree_reaches_every_query_through_each_way_it_can_match(monkeypatch: pytest.MonkeyPatch) -> None:
    # the queries are filed in a discrimination tree by the exact keyword tests they cannot match without; each
    # must still answer as `search()` does, whatever the shape of its exact tests
    import itertools

    import runner.engine.multi as multi
    from runner.engine import search

    grid = itertools.product(["linux", "windows", ["linux", "macos"]], ["start", ["start", "change"], "end"],
                             ["sh", "SH", "curl", "kubectl", ["sh", "x"]],
                             [["get", "pods"], ["describe"], ["version", "nodes"], []])
    docs = []
    for i, (os_type, kind, name, args) in enumerate(grid):
        source: dict[str, Any] = {"@timestamp": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                                  "event": {"category": ["process"] if i % 7 else ["process", "file"], "type": kind},
                                  "host": {"os": {"type": os_type}}, "process": {"name": name, "args": args}}
        if i % 5 == 0:
            del source["host"]
        docs.append({"_index": "logs", "_id": str(i), "_source": source})
    queries = [
        # two tests of one array field: each holds by another value (`and` must not intersect their terms)
        'process where process.name == "kubectl" and process.args in ("get", "describe") and '
        'process.args in ("pods", "nodes")',
        # an `or` of different fields: a way in per branch
        'process where host.os.type == "linux" and (process.name == "curl" or process.args == "version")',
        'process where (host.os.type == "windows" and event.type == "end") or (process.name : "sh" and '
        'event.type == "start")',
        'process where event.type == "start" and (process.name == "curl" or process.args like "de*")',  # one way {}
        'process where process.name in~ ("SH", "curl") and process.name == "sh"',  # folded and exact, one field
        'process where host.os.type in ("linux", "macos") and event.type == "change"',
        'any where process.name == "kubectl" and not process.args == "version"',
        'file where process.name == "sh"',
        'sequence by host.os.type [process where process.name == "sh" and event.type == "start"] '
        '[process where process.args == "pods" or process.name == "curl"]',
        'sequence [process where (process.name == "sh" or process.name == "curl") and event.type == "end"] '
        '[any where process.args in ("nodes", "describe")] until [process where process.name == "kubectl"]',
        # wildcard patterns: filed by their literal lead or tail (folded for `:` and `like~`)
        'process where process.name : ("s*", "*URL") and event.type == "start"',
        'process where process.name like ("ku*", "?h", "*l") and process.args like "p*"',
        'process where process.name like~ "*ubectl" or process.name : "S?"',
        'process where process.name : "*u*"',  # no lead, no tail: filed by nothing of process.name
        'process where process.args like~ ("DE*", "vers*") and host.os.type : "LIN*"',
    ] + [f'process where host.os.type == "linux" and event.type == "start" and process.name == "{name}"'
         for name in ("sh", "curl", "kubectl", "zsh", "x")]  # enough queries for the tree to split deep
    offered: list[str] = []
    original = multi._Compiled.offer

    def counting(self: Any, position: int, doc: Any, source: Any) -> None:
        offered.append(doc["_id"])
        original(self, position, doc, source)

    monkeypatch.setattr(multi._Compiled, "offer", counting)
    searches = [QuerySearch(q, frozenset({"logs"}), None, 1000) for q in queries]
    answered = 0
    for query, many in zip(queries, search_many(docs, searches), strict=True):
        one = search(docs, query, size=1000)
        assert _body(many)["hits"] | {"total": None} == one["hits"] | {"total": None}, query
        answered += bool(one["hits"].get("events") or one["hits"].get("sequences"))
    assert answered == len(queries) - 1  # only "zsh" has no event
    assert len(offered) < len(docs) * len(queries) / 2  # the tree spares most offers


def test_a_stage_that_matches_nothing_in_an_index_is_never_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    # an optional field the index does not map reads as null (Elasticsearch): `?f == "x"` can match nothing there
    import runner.engine.multi as multi
    from runner.engine import search

    mapping = {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}},
                              "process": {"properties": {"name": {"type": "keyword"}}}}}
    docs = [{"_index": "logs", "_id": str(i), "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z",
                                                           "event": {"category": "process"},
                                                           "process": {"name": name}}}
            for i, name in enumerate(["sh", "curl", "sh", "bash", "curl"])]
    queries = [
        'process where ?process.Ext.token == "System"',
        'sequence [process where ?process.Ext.token == "System"] [process where process.name == "curl"]',
        'sequence with maxspan=1m [process where process.name == "sh"] ![process where ?process.Ext.token == "x"] '
        '[process where process.name == "curl"]',
    ]
    offered: list[int] = []
    original = multi._Compiled.offer

    def counting(self: Any, position: int, doc: Any, source: Any) -> None:
        offered.append(self.entry.number)
        original(self, position, doc, source)

    monkeypatch.setattr(multi._Compiled, "offer", counting)
    searches = [QuerySearch(q, frozenset({"logs"}), {"logs": {"mappings": mapping}}, 100) for q in queries]
    for query, many in zip(queries, search_many(docs, searches), strict=False):
        one = search(docs, query, mappings={"logs": {"mappings": mapping}}, size=100)
        assert _body(many)["hits"] | {"total": None} == one["hits"] | {"total": None}, query
    assert 0 not in offered and 1 in offered  # the second query still sees its other stage's events
    assert len(search(docs, queries[2], mappings={"logs": {"mappings": mapping}}, size=100)["hits"]["sequences"]) == 2


def test_a_document_a_sequence_cannot_order_fails_that_search_only() -> None:
    """`search()` refuses a sequence over an event with two timestamps (OrderingError); in a batch that answer is
    the sequence's own, and the batch's other searches answer as they would alone."""
    from runner.engine import OrderingError, QuerySearch, search, search_many

    def doc(number: int, stamp: Any) -> dict[str, Any]:
        return {"_index": "i", "_id": str(number),
                "_source": {"@timestamp": stamp, "event": {"category": "process"}, "host": {"id": "h"}}}

    documents = [doc(1, "2026-01-01T00:00:01.000Z"), doc(2, ["2026-01-01T00:00:02.000Z", "2026-01-01T00:00:03.000Z"]),
                 doc(3, "2026-01-01T00:00:04.000Z")]
    sequence = "sequence by host.id [process where true] [process where true]"
    events = "process where true"
    batch = search_many(documents, [QuerySearch(sequence, frozenset({"i"})), QuerySearch(events, frozenset({"i"}))])
    with pytest.raises(OrderingError) as alone:
        search(documents, sequence)
    assert isinstance(batch[0], OrderingError) and str(batch[0]) == str(alone.value)
    assert batch[1] == {**search(documents, events), "took": batch[1]["took"]}
