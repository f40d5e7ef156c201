"""Filter plans and their Python code.

`Compiler` (compile.py) turns a condition into a tree of `AllOf` / `AnyOf` / `Negation` over leaves, as
Elasticsearch's query translator turns it into a `bool` query. A filter runs once per event, so most of its cost is
Python call overhead; `generate` therefore writes each `and`/`or`/`not` chain as one Python function in which the
keyword-field leaves (the term, terms and wildcard queries that make up most detection rules) are inlined: the
`_source` walk for the field's path, then the test on a single plain string. Anything less common stays a call to
the leaf's closure. The generated code takes exactly the steps `SourcePath.get`, `FieldReader.normalize` and the
leaf's own test would take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import BuiltinMethodType
from typing import Any

from runner.engine.fields import MISSING, FieldReader
from runner.engine.semantics import patterns_of

Predicate = Callable[[dict[str, Any]], bool]
Token = str | tuple[str, str]  # an exact term, or ("<", lead) / (">", tail) of a wildcard pattern
ValuesTest = Callable[[list[Any]], bool]
TextTest = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class KeywordTest:
    """A query on a keyword-family field: a test over its indexed values, and the same test for one plain string
    (`equals` when that test is plain equality, so the generated code can compare inline)."""

    reader: FieldReader
    values_test: ValuesTest
    text_test: TextTest
    equals: str | None = None

    def exact_terms(self) -> tuple[frozenset[str], bool] | None:
        """The terms the test accepts when it is exact (`==`, `in`; or `:`/`in~` without wildcards, whose terms are
        folded), with whether they are folded; None for a pattern."""
        if self.equals is not None:
            return frozenset({self.equals}), False
        text_test = self.text_test
        # a bound `set.__contains__` (a builtin method, whose `__self__` is the set)
        if isinstance(text_test, BuiltinMethodType) and isinstance(text_test.__self__, (set, frozenset)):
            return frozenset(text_test.__self__), False
        folded = getattr(text_test, "folded_terms", None)
        return (folded, True) if isinstance(folded, frozenset) else None

    def tokens(self) -> tuple[frozenset[Token], bool] | None:
        """What a value must hold for the test to accept it, as tokens, with whether they (and the value) are folded:
        an exact term (a string), or for a wildcard pattern its literal lead (`("<", lead)`: the value starts with
        it) or, lacking one, its literal tail (`(">", tail)`). None when a pattern has neither (`*x*`)."""
        exact = self.exact_terms()
        if exact is not None:
            return exact[0], exact[1]
        patterns = patterns_of(self.text_test)
        if patterns is None:
            return None
        tokens: set[Token] = set()
        for pattern in patterns:
            cut = [i for i, ch in enumerate(pattern) if ch in "*?"]
            if not cut:
                tokens.add(pattern)
            elif cut[0] > 0:
                tokens.add(("<", pattern[: cut[0]]))
            elif cut[-1] < len(pattern) - 1:
                tokens.add((">", pattern[cut[-1] + 1 :]))
            else:
                return None
        return frozenset(tokens), getattr(self.text_test, "folds", False)


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Leaf:
    predicate: Predicate | None  # None for a keyword leaf: its code is generated where it is used
    keyword: KeywordTest | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    part: Node


Node = Const | Leaf | AllOf | AnyOf | Negation


def all_of(*parts: Node) -> Node:
    flat: list[Node] = []
    for part in parts:
        if isinstance(part, Const):
            if not part.value:
                return part
            continue
        flat.extend(part.parts if isinstance(part, AllOf) else (part,))
    if not flat:
        return Const(True)
    return flat[0] if len(flat) == 1 else AllOf(tuple(flat))


def any_of(*parts: Node) -> Node:
    flat: list[Node] = []
    for part in parts:
        if isinstance(part, Const):
            if part.value:
                return part
            continue
        flat.extend(part.parts if isinstance(part, AnyOf) else (part,))
    if not flat:
        return Const(False)
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def negation(part: Node) -> Node:
    if isinstance(part, Const):
        return Const(not part.value)
    if isinstance(part, Negation):
        return part.part
    return Negation(part)


def leaf(predicate: Predicate) -> Node:
    return Leaf(predicate)


def keyword_leaf(test: KeywordTest) -> Node:
    # no code yet: inside an and/or chain the test is inlined, and compiling it alone too would be wasted work
    # (a rule has dozens of such leaves, and hunting compiles a thousand rules)
    return Leaf(None, test)


# ---- code --------------------------------------------------------------------------------------------------------------


class _Code:
    """Source lines and the objects they refer to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"MISSING": MISSING}

    def bind(self, value: Any, prefix: str) -> str:
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name


def _guards(parts: tuple[str, ...], level: int, node: str) -> str:
    """`and "b.c" not in node ...`: the dotted keys that could also hold the rest of the path at this level."""
    keys = [".".join(parts[level:j]) for j in range(level + 2, len(parts) + 1)]
    return "".join(f" and {k!r} not in {node}" for k in keys)


def _walk(code: _Code, reader: FieldReader, indent: str) -> None:
    """Lines that leave the field's raw value in `raw`: MISSING, a scalar or a list."""
    parts = reader.source.parts
    if len(parts) == 1:
        code.lines.append(f"{indent}raw = s.get({parts[0]!r}, MISSING)")
        return
    walk = code.bind(reader.source.walk, "walk")
    nodes = ["s"] + [f"n{i}" for i in range(len(parts) - 1)]
    for level, part in enumerate(parts[:-1]):
        pad = indent + "    " * level
        code.lines.append(f"{pad}{nodes[level + 1]} = {nodes[level]}.get({part!r})")
        code.lines.append(f"{pad}if type({nodes[level + 1]}) is dict{_guards(parts, level, nodes[level])}:")
    code.lines.append(f"{indent}{'    ' * (len(parts) - 1)}raw = {nodes[-1]}.get({parts[-1]!r}, MISSING)")
    for level in range(len(parts) - 2, -1, -1):
        pad = indent + "    " * level
        code.lines.append(f"{pad}elif {nodes[level + 1]} is None{_guards(parts, level, nodes[level])}:")
        code.lines.append(f"{pad}    raw = MISSING")
        code.lines.append(f"{pad}else:")
        code.lines.append(f"{pad}    raw = {walk}(s)")


def _keyword(code: _Code, test: KeywordTest, indent: str) -> None:
    """Lines that set `r` to the result of a keyword test."""
    _walk(code, test.reader, indent)
    limit = test.reader.ignore_above
    values_test = code.bind(test.values_test, "values_test")
    normalize = code.bind(test.reader.normalize, "normalize")
    if test.equals is not None:
        check = f"== {test.equals!r}"
    else:
        check_fn = code.bind(test.text_test, "text_test")
        check = ""

    def condition(var: str) -> str:
        bound = f"len({var}) <= {int(limit)} and " if limit is not None else ""
        return f"{bound}{var} {check}" if check else f"{bound}{check_fn}({var})"

    code.lines += [
        f"{indent}kind = type(raw)",
        f"{indent}if kind is str:",
        f"{indent}    r = {condition('raw')}",
        f"{indent}elif kind is list and len(raw) == 1 and type(raw[0]) is str:",
        f"{indent}    only = raw[0]",
        f"{indent}    r = {condition('only')}",
        f"{indent}elif raw is MISSING:",
        f"{indent}    r = False",
        f"{indent}else:",
        f"{indent}    r = {values_test}({normalize}(raw))",
    ]


def _part(code: _Code, node: Node, indent: str) -> None:
    """Lines that set `r` to a node's result."""
    if isinstance(node, Leaf) and node.keyword is not None:
        _keyword(code, node.keyword, indent)
    elif isinstance(node, Leaf):
        code.lines.append(f"{indent}r = {code.bind(node.predicate, 'leaf')}(s)")
    elif isinstance(node, Negation) and isinstance(node.part, Leaf):
        _part(code, node.part, indent)
        code.lines.append(f"{indent}r = not r")
    elif isinstance(node, Const):
        code.lines.append(f"{indent}r = {node.value!r}")
    else:
        code.lines.append(f"{indent}r = {code.bind(generate(node), 'part')}(s)")


def _single(test: KeywordTest) -> _Code:
    code = _Code()
    _keyword(code, test, "    ")
    code.lines.append("    return r")
    return code


def _code(code: _Code) -> Predicate:
    source = "def predicate(s):\n" + "\n".join(code.lines) + "\n"
    exec(compile(source, "<filter>", "exec"), code.namespace)
    predicate: Predicate = code.namespace["predicate"]
    return predicate


# ECS categorization and OS fields take a handful of values (`event.type == "start"`, `host.os.type == "linux"`), so
# they reject few events; detection rules nevertheless tend to test them first. Testing them after the selective
# exact tests (process names, arguments) lets those reject most events after one lookup; patterns (wildcards over
# long command lines) cost more than any lookup and come last.
_UNSELECTIVE = {
    "event.kind": 2, "event.type": 2, "event.outcome": 2, "event.module": 2,
    "event.dataset": 2, "data_stream.type": 2, "data_stream.dataset": 2, "data_stream.namespace": 2,
    "host.os.type": 2, "host.os.family": 2, "host.os.platform": 2, "agent.type": 2, "ecs.version": 2,
    "event.action": 1, "network.transport": 2, "network.type": 2, "network.direction": 2,
    "event.category": 3,  # also what sequences and samples dispatch on: the least telling of all
}


def selectivity_rank(field: str) -> int:
    """0 for a field whose exact tests reject most events; higher for ECS categorization fields."""
    return _UNSELECTIVE.get(field, 0)


def _rank(node: Node) -> int:
    """0: an exact test on a selective field; 1-3: on a categorization field; 4: a pattern (wildcard, regex), which
    costs more than a lookup whatever its field and goes last."""
    if not isinstance(node, Leaf) or node.keyword is None:
        return 0
    test = node.keyword
    return selectivity_rank(test.reader.name) if test.exact_terms() is not None else 4


def _selective_first(parts: tuple[Node, ...]) -> list[Node]:
    """The parts of an `and`, each run of keyword leaves stably sorted by `_rank`. Keyword leaves are pure and
    cannot fail, so their order within a run is free; other leaves keep their place, because a script leaf can
    raise (`/ by zero`) and an earlier `false` must still keep it from running."""
    ordered: list[Node] = []
    run: list[Node] = []
    for part in parts:
        if isinstance(part, Leaf) and part.keyword is not None:
            run.append(part)
            continue
        ordered += sorted(run, key=_rank)
        run = []
        ordered.append(part)
    return ordered + sorted(run, key=_rank)


def generate(node: Node) -> Predicate:
    """One Python function for a filter plan."""
    if isinstance(node, Const):
        return (lambda _s: True) if node.value else (lambda _s: False)
    if isinstance(node, Leaf):
        if node.keyword is not None:
            return _code(_single(node.keyword))
        assert node.predicate is not None
        return node.predicate
    code = _Code()
    if isinstance(node, Negation):
        _part(code, node.part, "    ")
        code.lines.append("    return not r")
        return _code(code)
    stop, otherwise = ("if not r:", "return False") if isinstance(node, AllOf) else ("if r:", "return True")
    for part in _selective_first(node.parts) if isinstance(node, AllOf) else node.parts:
        _part(code, part, "    ")
        code.lines += [f"    {stop}", f"        {otherwise}"]
    code.lines.append(f"    return {'True' if isinstance(node, AllOf) else 'False'}")
    return _code(code)


__all__ = [
    "AllOf",
    "Token",
    "AnyOf",
    "Const",
    "KeywordTest",
    "Leaf",
    "Negation",
    "Node",
    "all_of",
    "any_of",
    "generate",
    "keyword_leaf",
    "leaf",
    "negation",
    "selectivity_rank",
]
