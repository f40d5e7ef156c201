"""The EQL function table, shared by the analyzer (arity, types, `~`) and the engine (implementations by name).

Function names are case-insensitive, as in Elasticsearch (`cidrmatch`, `startswith~` and `CONCAT` all resolve).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ArgKind(Enum):
    """What an argument position accepts (Elasticsearch's type-resolution families)."""

    STRING = "string"  # keyword family (keyword, constant_keyword, wildcard, text with an exact sub-field)
    NUMERIC = "numeric"
    INTEGER = "integer"
    IP = "ip"
    BOOLEAN = "boolean"
    EXACT = "exact"  # any type with exact values (concat, string)
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: ArgKind
    optional: bool = False
    variadic: bool = False
    foldable: bool = False  # must be a constant (no field references)


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    params: tuple[Param, ...]
    returns: str
    case_insensitive: bool = False  # accepts the `fn~` spelling

    @property
    def min_args(self) -> int:
        return sum(1 for p in self.params if not p.optional)

    @property
    def max_args(self) -> int | None:
        if any(p.variadic for p in self.params):
            return None
        return len(self.params)

    def arity_error(self, count: int) -> str | None:
        """Elasticsearch's "expects ..." text when `count` arguments do not fit, else None."""
        low, high = self.min_args, self.max_args
        if count >= low and (high is None or count <= high):
            return None
        words = ["no", "one", "two", "three", "four", "five"]
        if high is None:
            return f"expects at least {words[low]} argument{'s' if low != 1 else ''}"
        if low == high:
            return f"expects exactly {words[low]} argument{'s' if low != 1 else ''}"
        return f"expects {words[low]} or {words[high]} arguments"

    def param_at(self, index: int) -> Param:
        if index < len(self.params):
            return self.params[index]
        return self.params[-1]  # the variadic tail


_S, _N, _I, _IP, _B, _X = ArgKind.STRING, ArgKind.NUMERIC, ArgKind.INTEGER, ArgKind.IP, ArgKind.BOOLEAN, ArgKind.EXACT

SIGNATURES: dict[str, Signature] = {
    s.name: s
    for s in (
        Signature("add", (Param("left", _N), Param("right", _N)), "number"),
        Signature(
            "between",
            (
                Param("source", _S),
                Param("left", _S),
                Param("right", _S),
                Param("greedy", _B, optional=True, foldable=True),
            ),
            "keyword",
            case_insensitive=True,
        ),
        Signature(
            "cidrMatch", (Param("input", _IP), Param("addresses", _S, variadic=True, foldable=True)), "boolean"
        ),
        Signature("concat", (Param("values", _X, optional=True, variadic=True),), "keyword"),
        Signature("divide", (Param("left", _N), Param("right", _N)), "number"),
        Signature("endsWith", (Param("input", _S), Param("pattern", _S)), "boolean", case_insensitive=True),
        Signature(
            "indexOf",
            (Param("input", _S), Param("substring", _S), Param("start", _I, optional=True)),
            "integer",
            case_insensitive=True,
        ),
        Signature("length", (Param("input", _S),), "integer"),
        Signature("modulo", (Param("left", _N), Param("right", _N)), "number"),
        Signature("multiply", (Param("left", _N), Param("right", _N)), "number"),
        Signature("number", (Param("input", _S), Param("base", _I, optional=True)), "number"),
        Signature("startsWith", (Param("input", _S), Param("pattern", _S)), "boolean", case_insensitive=True),
        Signature("string", (Param("input", _X),), "keyword"),
        Signature(
            "stringContains", (Param("input", _S), Param("substring", _S)), "boolean", case_insensitive=True
        ),
        Signature(
            "substring", (Param("input", _S), Param("start", _I), Param("end", _I, optional=True)), "keyword"
        ),
        Signature("subtract", (Param("left", _N), Param("right", _N)), "number"),
    )
}

_BY_LOWER = {name.lower(): name for name in SIGNATURES}


def canonical_function_name(name: str) -> str | None:
    """The canonical spelling of a function name written in any case, or None if EQL has no such function."""
    return _BY_LOWER.get(name.lower())


def signature(name: str) -> Signature | None:
    canonical = canonical_function_name(name)
    return SIGNATURES[canonical] if canonical else None


__all__ = ["SIGNATURES", "ArgKind", "Param", "Signature", "canonical_function_name", "signature"]
