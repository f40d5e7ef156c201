"""Term indexing of Query DSL searches: which documents a batched search must be evaluated on.

A batch of query rules must not run every rule's query on every document. Most queries cannot match a document
unless one of its keyword fields holds one of a few terms (`process.name: "cmd.exe"`, `event.action: (a or b)`) or
starts with a literal (`process.name: cmd*`): `ways(query, compiler)` derives those necessary conditions from the
query itself, against the index's mapping —
- `term` / `terms`, and `match` / `match_phrase` / a plain `query_string` term (which are exact terms on a keyword
  field), on a field mapped in the keyword family: the field must hold one of the terms, normalised as the evaluator
  normalises the query's constants (the field's normalizer; `case_insensitive` folds both sides: a folded key);
- `wildcard` (and a `query_string` wildcard term) with a literal lead: the field's value must start with it;
- any other clause on one mapped field (`exists`, `range`, a `match` on a text field, a wildcard without a lead):
  the field must hold a value (the weakest requirement, filed under only when a way has no other);
- `bool`: every `must` / `filter` clause is required (their ways combined), and when at least one `should` clause
  must match, one of theirs; `must_not` requires nothing; `match_none` and a `should` count that cannot be reached
  make the query match nothing (no way in at all); anything else (`range`, `exists`, `nested`, text fields, fields
  not mapped yet, field patterns) requires nothing.
Each way is a set of (field, terms) requirements a match cannot lack; a query has at most `ALTERNATIVES` ways (past
that, an `or` keeps what every branch requires, as runner.engine.multi does). `TermTable` files each way of each
search under its most selective requirement (an ECS categorization field such as `event.category` last, then the
fewest terms) and, per document, reads each filed field once and offers the document only to the searches filed
under a term it holds (plus those with a way requiring nothing). The values it reads are those the evaluator reads
(`DslField.read`: normalised, `ignore_above` applied), so a search is offered every document it can match: the
answers are the unindexed ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.engine.field_types import UnknownNormalizer, field_type, lowercase, to_text
from runner.engine.fields import MISSING
from runner.engine.filters import selectivity_rank
from runner.engine.query_dsl.clauses import parse_query_string
from runner.engine.query_dsl.compile import Compiler, minimum_should_match
from runner.engine.query_dsl.errors import QueryDslError
from runner.engine.query_dsl.fields import DslField
from runner.engine.semantics import fold

ALTERNATIVES = 16

# a field and how its values are folded before lookup: EXACT, LOWERCASE (a case-insensitive term: Java's lowercase,
# as term_test folds) or FOLD (a case-insensitive wildcard: the wildcard matcher's `fold`)
# EXISTS: the field holds a value (any type), what every clause on one mapped field requires at least
# PRESENT: something at the field's `_source` path (a field a fixed mapping lacks, mapped at its first value)
# INTEGER: an integer field (long, integer, short, byte, unsigned_long) must hold one of the terms (as decimal text)
EXACT, LOWERCASE, FOLD, INTEGER, EXISTS, PRESENT = 0, 1, 2, 3, 4, 5
_INTEGER_LITERAL = re.compile(r"-?\d{1,18}")
Key = tuple[str, int]
Token = str | tuple[str, str]  # an exact term, or ("<", a literal lead)
Way = dict[Key, frozenset[Token]]


def _lead(pattern: str) -> str:
    """The literal characters a Lucene wildcard pattern starts with (escapes resolved)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        if ch in "*?":
            break
        out.append(ch)
        i += 1
    return "".join(out)


class _Deriver:
    """The ways in of one query against one index's compiler (its fields, as mapped now)."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler
        self.fields: dict[Key, DslField] = {}

    def _keyword(self, name: str) -> DslField | None:
        if not isinstance(name, str) or "*" in name:
            return None
        found = self.compiler.field(name, None)
        if found.hidden or found.family != "keyword" or found.reader.bound is None or found.flattened:
            return None
        return found

    def _constant(self, found: DslField, value: Any) -> str | None:
        if isinstance(value, (dict, list)) or value is None:
            return None
        bound = found.reader.bound
        assert bound is not None
        try:
            return field_type(bound).search_text(to_text(value))
        except UnknownNormalizer:
            return None

    def exists(self, name: Any) -> list[Way]:
        """A clause on one field can only match a document where the field has an indexed value: a requirement
        for a mapped leaf field (not a pattern, not an object path, not inside a nested object)."""
        if not isinstance(name, str) or "*" in name or name in self.compiler.context.mapping.objects:
            return [{}]
        found = self.compiler.field(name, None)
        if found.hidden:
            return [{}]
        if found.reader.bound is None and self.compiler.live:
            return [{}]
        key = (name, EXISTS if found.reader.bound is not None else PRESENT)
        self.fields[key] = found
        return [{key: frozenset({"*"})}]

    def _integers(self, name: str, values: list[Any]) -> list[Way] | None:
        """Exact terms on an integer field (`destination.port: (22 or 2222)`): the field must hold one of them.
        Only plain integer constants (a decimal, a fraction, a number with `+` or spaces: no requirement but the
        field's value, as the evaluator's parsing decides those)."""
        if not isinstance(name, str) or "*" in name:
            return None
        found = self.compiler.field(name, None)
        if found.hidden or found.family != "integer" or found.reader.bound is None or found.flattened:
            return None
        tokens: set[Token] = set()
        for value in values:
            text = value if type(value) is str else str(value) if type(value) is int else None
            if text is None or not _INTEGER_LITERAL.fullmatch(text):
                return None
            tokens.add(str(int(text)))
        key = (name, INTEGER)
        self.fields[key] = found
        return [{key: frozenset(tokens)}]

    def _terms(self, name: str, values: list[Any], folded: bool, prefix: bool = False) -> list[Way]:
        found = self._keyword(name)
        if found is None:
            integers = None if folded or prefix else self._integers(name, values)
            return integers if integers is not None else self.exists(name)
        tokens: set[Token] = set()
        for value in values:
            text = self._constant(found, value)
            if text is None:
                return self.exists(name)
            if prefix:
                lead = _lead(fold(text) if folded else text)
                if not lead:
                    return self.exists(name)
                tokens.add(("<", lead))
            else:
                tokens.add(lowercase(text) if folded else text)
        key = (name, (FOLD if prefix else LOWERCASE) if folded else EXACT)
        self.fields[key] = found
        return [{key: frozenset(tokens)}]

    def ways(self, query: Any) -> list[Way]:
        if not isinstance(query, Mapping) or len(query) != 1:
            return [{}]
        ((kind, spec),) = query.items()
        if kind == "match_none":
            return []
        if kind == "bool" and isinstance(spec, Mapping):
            return self._bool(spec)
        handler = _FIELD_CLAUSES.get(kind)
        if handler is None or not isinstance(spec, Mapping):
            return [{}]
        try:
            return handler(self, spec)
        except (QueryDslError, KeyError, TypeError, ValueError):
            return [{}]  # the compiler decides on a malformed clause; requiring nothing is always sound

    def _bool(self, spec: Mapping[str, Any]) -> list[Way]:
        def clauses(key: str) -> list[Any]:
            value = spec.get(key)
            if value is None:
                return []
            return [value] if isinstance(value, Mapping) else list(value) if isinstance(value, list) else []

        required = clauses("must") + clauses("filter")
        should = clauses("should")
        msm = spec.get("minimum_should_match")
        try:
            needed = minimum_should_match(msm, len(should), "") if msm is not None else (
                1 if should and not required else 0)
        except QueryDslError:
            needed = 0
        if should and not required:
            needed = max(needed, 1)
        if needed > len(should):
            return []
        parts = [self.ways(part) for part in required]
        if needed >= 1:
            parts.append(_any_of([self.ways(part) for part in should]))
        result: list[Way] = [{}]
        for alternatives in parts:
            if not alternatives:
                return []
            if alternatives == [{}] or len(result) * len(alternatives) > ALTERNATIVES:
                continue
            result = [_both(way, other) for way in result for other in alternatives]
        return result


def _any_of(branches: list[list[Way]]) -> list[Way]:
    ways = [way for branch in branches for way in branch]
    if not ways:
        return []
    if {} in ways:
        return [{}]
    if len(ways) <= ALTERNATIVES:
        return ways
    # too many: each way by its best requirement alone, the ways of one field merged (what each way requires
    # includes that one requirement, so a match still reaches one of them)
    merged: dict[Key, set[Token]] = {}
    for way in ways:
        key = best(way)
        merged.setdefault(key, set()).update(way[key])
    if len(merged) <= 4 * ALTERNATIVES:
        return [{key: frozenset(tokens)} for key, tokens in merged.items()]
    common = set(ways[0]).intersection(*ways[1:])
    if not common:
        return [{}]
    return [{key: frozenset().union(*(way[key] for way in ways)) for key in common}]


def best(way: Way) -> Key:
    """The requirement of a way a search is filed by: a term before a mere value, a selective field before an ECS
    categorization field, fewer terms before more."""
    return min(way, key=lambda k: (k[1] >= EXISTS, selectivity_rank(k[0]), len(way[k]), k))


def _both(one: Way, other: Way) -> Way:
    both = dict(one)
    for key, tokens in other.items():
        if key not in both or len(tokens) < len(both[key]):
            both[key] = tokens
    return both


def _single(spec: Mapping[str, Any]) -> tuple[str, Any]:
    fields = [(k, v) for k, v in spec.items() if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise ValueError("not one field")
    return fields[0]


def _flag(params: Any, key: str) -> bool:
    value = params.get(key, False) if isinstance(params, Mapping) else False
    return value is True or value == "true"


def _term(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    name, body = _single(spec)
    value = body.get("value") if isinstance(body, Mapping) else body
    return d._terms(name, [value], _flag(body, "case_insensitive"))


def _terms_clause(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    name, values = _single(spec)
    if not isinstance(values, list):
        return [{}]
    if not values:
        return []
    return d._terms(name, values, False)


def _match(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    name, body = _single(spec)
    value = body.get("query") if isinstance(body, Mapping) else body
    return d._terms(name, [value], False)


def _wildcard(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    name, body = _single(spec)
    pattern = body.get("value", body.get("wildcard")) if isinstance(body, Mapping) else body
    if not isinstance(pattern, str):
        return [{}]
    return d._terms(name, [pattern], _flag(body, "case_insensitive"), prefix=True)


def _query_string(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    query = spec.get("query")
    fields = spec.get("fields")
    if fields is None and isinstance(spec.get("default_field"), str):
        fields = [spec["default_field"]]
    if not isinstance(query, str) or not isinstance(fields, list) or not fields:
        return [{}]
    names = [f.split("^", 1)[0] for f in fields if isinstance(f, str)]
    if len(names) != len(fields):
        return [{}]
    terms = parse_query_string(query, "")
    if not terms:
        return []
    per_term: list[list[Way]] = []
    for pattern, plain, wildcard in terms:
        if wildcard and pattern == "*":
            per_term.append([{}])  # an exists query on the fields
            continue
        branch = [way for name in names for way in (
            d._terms(name, [pattern], False, prefix=True) if wildcard else d._terms(name, [plain], False))]
        per_term.append(branch if {} not in branch else [{}])
    if str(spec.get("default_operator", "or")).lower() == "and":
        result: list[Way] = [{}]
        for alternatives in per_term:
            if alternatives == [{}] or len(result) * len(alternatives) > ALTERNATIVES:
                continue
            result = [_both(way, other) for way in result for other in alternatives]
        return result
    return _any_of(per_term)


def _exists(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    return d.exists(spec.get("field"))


def _range(d: _Deriver, spec: Mapping[str, Any]) -> list[Way]:
    name, _body = _single(spec)
    return d.exists(name)


_FIELD_CLAUSES: dict[str, Callable[[_Deriver, Mapping[str, Any]], list[Way]]] = {
    "exists": _exists,
    "range": _range,
    "match": _match,
    "match_phrase": _match,
    "query_string": _query_string,
    "term": _term,
    "terms": _terms_clause,
    "wildcard": _wildcard,
}


def ways(query: Mapping[str, Any], compiler: Compiler) -> tuple[list[Way], dict[Key, DslField]]:
    """The ways a query can match a document of the compiler's index (see the module docstring), and the fields
    they read. `[{}]`: it may match any document; `[]`: none."""
    deriver = _Deriver(compiler)
    return deriver.ways(query), deriver.fields


class _Requirement:
    """One requirement of a way, checked on a document: the field holds one of the terms (or a value starting with
    one of the leads; or, EXISTS / PRESENT, anything)."""

    __slots__ = ("_last", "_last_source", "exact", "field", "fold", "leads", "mode")

    def __init__(self, dsl_field: DslField, mode: int, tokens: frozenset[Token]) -> None:
        self.field = dsl_field
        self.mode = mode
        self.fold = None if mode in (EXACT, INTEGER) else lowercase if mode == LOWERCASE else fold
        self.exact = frozenset(token for token in tokens if type(token) is str)
        self.leads = tuple(token[1] for token in tokens if type(token) is tuple)
        # a requirement is shared by the ways that have it (TermTable.requirement): answered once per document
        self._last_source: Any = None
        self._last = False

    def holds(self, source: Mapping[str, Any]) -> bool:
        if source is self._last_source:
            return self._last
        found = self._holds(source)
        self._last_source = source
        self._last = found
        return found

    def _holds(self, source: Mapping[str, Any]) -> bool:
        if self.mode == PRESENT:
            return self.field.present(source)
        family, values = self.field.read(source)
        if not values or family is None:
            return False
        if self.mode == EXISTS:
            return True
        if self.mode == INTEGER:
            return family == "integer" and any(type(v) is int and str(v) in self.exact for v in values)
        if family != "keyword":
            return False
        folding, exact, leads = self.fold, self.exact, self.leads
        for value in values:
            if type(value) is not str:
                continue
            if folding is not None:
                value = folding(value)
            if value in exact or (leads and value.startswith(leads)):
                return True
        return False


Filed = tuple[int, tuple[_Requirement, ...]]  # a search, and what the way it was filed by requires besides


def _offer(filed: list[Filed], source: Mapping[str, Any], found: set[int]) -> None:
    for number, rest in filed:
        if number in found:
            continue
        for requirement in rest:
            if not requirement.holds(source):
                break
        else:
            found.add(number)


class _FieldIndex:
    """The searches filed under one field (folded or not): by exact term, and by the first characters of a lead;
    each with the other requirements of its way, checked before the search is offered the document."""

    __slots__ = ("exact", "field", "fold", "lead", "leads", "mode")

    def __init__(self, dsl_field: DslField, mode: int) -> None:
        self.field = dsl_field
        self.mode = mode
        self.fold = None if mode in (EXACT, INTEGER) else lowercase if mode == LOWERCASE else fold
        self.exact: dict[str, list[Filed]] = {}
        self.leads: dict[str, list[Filed]] = {}
        self.lead = 0

    def collect(self, source: Mapping[str, Any], found: set[int]) -> None:
        mode = self.mode
        if mode == PRESENT:
            if self.field.present(source):
                _offer(self.exact["*"], source, found)
            return
        reader = self.field.reader
        if mode < INTEGER and reader.verbatim:
            # the common shape straight from `_source`: a plain string of a keyword field is indexed as itself
            # (within ignore_above); anything else through the field's reading
            raw = reader.get(source)
            if raw is MISSING:
                return
            if type(raw) is str:
                limit = reader.ignore_above
                if limit is not None and len(raw) > limit:
                    return
                self._terms((raw,), source, found)
                return
        family, values = self.field.read(source)
        if not values or family is None:
            return
        if self.mode == EXISTS:
            _offer(self.exact["*"], source, found)
            return
        if self.mode == INTEGER:
            if family == "integer":
                self._terms([str(v) for v in values if type(v) is int], source, found)
            return
        if family == "keyword":
            self._terms(values, source, found)

    def _terms(self, values: Sequence[Any], source: Mapping[str, Any], found: set[int]) -> None:
        exact, leads, size, folding = self.exact, self.leads, self.lead, self.fold
        for value in values:
            if type(value) is not str:
                continue
            if folding is not None:
                value = folding(value)
            hit = exact.get(value)
            if hit is not None:
                _offer(hit, source, found)
            if size and len(value) >= size:
                hit = leads.get(value[:size])
                if hit is not None:
                    _offer(hit, source, found)


class TermTable:
    """Per index: the searches (by number) filed by their most selective requirement, and those that need every
    document. `candidates(source)` is the set of searches a document can match: those of a way requiring nothing,
    and those filed under a term the document holds whose way's other requirements it meets too."""

    def __init__(self) -> None:
        self.always: set[int] = set()
        self._fields: dict[Key, _FieldIndex] = {}
        self._pending: dict[Key, tuple[DslField, list[tuple[Filed, frozenset[Token]]]]] = {}
        self._requirements: dict[tuple[Key, frozenset[Token]], _Requirement] = {}

    def requirement(self, key: Key, tokens: frozenset[Token], dsl_field: DslField) -> _Requirement:
        """One object per requirement of the index's ways, so that a document is checked for it once."""
        found = self._requirements.get((key, tokens))
        if found is None:
            found = self._requirements[(key, tokens)] = _Requirement(dsl_field, key[1], tokens)
        return found

    def add(self, number: int, found_ways: list[Way], fields: Mapping[Key, DslField]) -> None:
        for way in found_ways:
            if not way:
                self.always.add(number)
                continue
            key = best(way)
            # the other requirements, those most likely to fail first
            rest = tuple(self.requirement(other, tokens, fields[other]) for other, tokens in
                         sorted(way.items(), key=lambda item: (item[0][1] >= EXISTS, selectivity_rank(item[0][0]),
                                                               len(item[1]), item[0]))
                         if other != key)
            _dsl_field, filed = self._pending.setdefault(key, (fields[key], []))
            filed.append(((number, rest), way[key]))

    def build(self) -> None:
        """Files what `add` gathered (the lead length of a field is its shortest lead)."""
        for key, (dsl_field, filed) in self._pending.items():
            index = self._fields.get(key)
            if index is None:
                index = self._fields[key] = _FieldIndex(dsl_field, key[1])
            leads = [token[1] for _, tokens in filed for token in tokens if type(token) is tuple]
            if leads:
                index.lead = min(len(lead) for lead in leads)
            for item, tokens in filed:
                for token in tokens:
                    if type(token) is str:
                        index.exact.setdefault(token, []).append(item)
                    else:
                        index.leads.setdefault(token[1][: index.lead], []).append(item)
        self._pending.clear()

    @property
    def indexed(self) -> int:
        """How many fields are read per document."""
        return len(self._fields)

    def candidates(self, source: Mapping[str, Any]) -> set[int]:
        found = set(self.always)
        for index in self._fields.values():
            index.collect(source, found)
        return found


__all__ = ["ALTERNATIVES", "TermTable", "ways"]
