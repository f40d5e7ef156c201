"""The Query DSL Kibana's detection engine sends for KQL query rules, evaluated with Elasticsearch's semantics.

`compile_dsl(query, mapping, now=...)` turns one query object (what `runner.kql.kql_to_dsl` builds, or the whole
`bool` query with a rule's filters) into a predicate over `_source` documents: `predicate(source) -> bool` answers
whether Elasticsearch would return the document for that query from an index with that mapping. It reads the
values Elasticsearch would have indexed (engine/fields.py: aliases, multi-fields, `ignore_above`, `null_value`,
coercion, a keyword's `lowercase` normalizer), not raw `_source`. Fields the mapping lacks are mapped by
Elasticsearch's dynamic mapping of the body (engine/dynamic.py: dynamic templates, date detection, `dynamic` per
object and `runtime`), or read from the caller's `LiveMapping`, or, for a bare `IndexMapping`, at their first value
(compile_dsl's docstring). This is what lets the embedded
store and `hunt` run query rules in the same pass as EQL rules: `dsl_search` (search.py) answers a whole `_search`
request (sort, search_after, size, track_total_hits) and `DslSearch` items of `runner.engine.search_many` answer many
in one pass, term-indexed (terms.py, batch.py).

Why our own evaluator and not a text match over `_source`: a KQL query means different things on different field
types (`message:Foo` is a word of an analyzed text; `process.name:Foo` an exact keyword; `destination.ip:10.0.0.0/8`
a CIDR; `@timestamp < now-5m` date math), and a rule that fires on the embedded store must fire on Elasticsearch.

Clauses and the rules followed (Elasticsearch 8.x):
- `bool`: must/filter all, must_not none, should at least `minimum_should_match` (default 1 when there is no must
  or filter clause, else 0; `2`, `-1`, `"75%"`, `"-25%"` as Queries.calculateMinShouldMatch; without a must or
  filter clause at least 1 whatever it computes, as Lucene requires); an empty bool matches everything. `match_all`, `match_none`.
- `exists`: the field has an indexed value (an explicit null, an empty array, a keyword over `ignore_above`, a
  number that does not parse have none); an object path exists when any field below it does; `*` in the name is
  expanded against the document's fields.
- `term` / `terms`: keyword family (keyword, constant_keyword, wildcard) exact on the whole value (a `lowercase`
  normalizer lowercases the term, the wildcard pattern and range bounds as it did the values), `case_insensitive`
  (a boolean or the string "true"/"false") folding both sides; text fields against the analyzed terms (the term itself is not analyzed, so `Foo` never
  matches); numbers as NumberFieldMapper parses the value (a decimal on an integer field matches nothing; `"abc"`
  fails); dates as the interval `[value rounded down, value rounded up]` with date math (DateFieldType.termQuery);
  ips an address or a CIDR; booleans `true`/`false`; versions.
- `wildcard`: Lucene wildcards (`*`, `?`, `\\` escapes) on keyword values, `case_insensitive`; on a text field
  against each analyzed term, the pattern lowercased (the analyzer's normalizer); on other types it fails.
- `range`: gt/gte/lt/lte (and from/to/include_*): numbers numerically, keywords (and text terms) in code-point order
  (Lucene's UTF-8 byte order), ips as addresses, dates with `format`, `time_zone`, date math and Elasticsearch's
  rounding (`gt`/`lte` round up: `lte: "2026-01-01"` includes the whole day, `lte: now/d` ends the day; see
  datemath.py); `time_zone` on a non-date field fails; `relation` within/contains select what intersects does (a
  non-range field's rangeQuery ignores it), disjoint and unknown names fail.
- `match` (operator or/and) and `match_phrase` (slop 0): on `text` / `match_only_text` through the standard analyzer
  (analysis.py: UAX#29 word segmentation as Lucene's StandardTokenizer, lowercase, 255-character tokens); a phrase
  needs the terms at consecutive positions of one value. On keyword fields the whole query is one exact term; on
  numbers, dates, ips and booleans one term of that type (`lenient` turns a value the type rejects into no match).
- `query_string` as Kibana emits it: terms with `*`/`?` wildcards and `\\` escapes, separated by whitespace (an
  unquoted KQL value of several words) and combined with `default_operator` (OR), on one field, on field patterns or
  on every field (no `fields`: `index.query.default_field` is `*`, lenient). `*` alone is an exists query; a
  wildcard term a wildcard query (text fields: on analyzed terms with the lowercased pattern — `analyze_wildcard` is
  accepted when each piece between wildcards is one word, where it builds the same query); a plain term a match.
- `multi_match` (best_fields, most_fields, phrase): the match (or phrase) on each field, any field; no `fields` =
  every field of the document, as Kibana's `*:value` builds it.
- `nested`: on `_source`, the objects at `path` (arrays of objects) stand for Elasticsearch's hidden nested
  documents: the query matches when ONE object satisfies the whole inner query. A field under a nested path has no
  values outside a nested query on that path. A path not mapped `nested` fails unless `ignore_unmapped`.

Errors: `QueryDslError` where Elasticsearch fails the search (a malformed clause; a value a mapped field's type
cannot parse; a wildcard on a number), naming where in the query (`bool.filter[0].range`); `UnsupportedQuery` (a
subclass) for valid DSL this evaluator does not run: other clause types (prefix, regexp, fuzzy, script, terms
lookup, geo, ...), `match_phrase` slop, `zero_terms_query: all`, `multi_match` cross_fields / phrase_prefix,
conditional `minimum_should_match`, and any query_string syntax beyond plain terms (operators, `field:`, groups,
phrases, ranges, regexes, fuzzy, boosts). For a field mapped dynamically while the documents are read, a value its
type rejects cannot fail a search halfway: the clause matches nothing there.

Known differences, small: the analyzer's Unicode segmentation is an implementation of UAX#29's core rules
(analysis.py names what it leaves out); a `float`/`half_float` field's values are compared at double precision;
a `text` field's empty string counts as a value for `exists`.
"""

from runner.engine.query_dsl.analysis import analyze
from runner.engine.query_dsl.batch import DslSearch
from runner.engine.query_dsl.compile import JudgedOnce, Predicate, compile_dsl
from runner.engine.query_dsl.errors import QueryDslError, UnsupportedQuery
from runner.engine.query_dsl.search import dsl_search

__all__ = ["DslSearch", "JudgedOnce", "Predicate", "QueryDslError", "UnsupportedQuery", "analyze", "compile_dsl", "dsl_search"]
