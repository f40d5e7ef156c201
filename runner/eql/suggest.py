"""Elasticsearch's "did you mean" suggestions (Levenshtein similarity of at least 0.5, most similar first)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


def levenshtein(a: str, b: str) -> int:
    """The edit distance of `a` and `b`, with Myers' bit-parallel algorithm (Hyyrö's formulation): one pass over
    `b` with a few integer operations per character, instead of a cell per character pair (a mapping has
    thousands of fields to compare an unknown name with)."""
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """The suffix Elasticsearch appends: `, did you mean [x]?` or `, did you mean any of [x, y]?` (or nothing)."""
    return _did_you_mean(name, tuple(candidates))


@lru_cache(maxsize=4096)
def _did_you_mean(name: str, candidates: tuple[str, ...]) -> str:
    # cached: rules over the same indices misspell or miss the same fields, and a mapping has thousands of them
    scored = []
    for candidate in candidates:
        longest = max(len(name), len(candidate), 1)
        # similarity = 1 - distance / longest >= 0.5 needs distance <= longest / 2, and distance >= the length gap
        if abs(len(name) - len(candidate)) > longest // 2:
            continue
        similarity = 1 - levenshtein(name, candidate) / longest
        if similarity >= 0.5:
            scored.append((-similarity, candidate))
    scored.sort(key=lambda pair: pair[0])
    names = [c for _, c in scored]
    if not names:
        return ""
    if len(names) == 1:
        return f", did you mean [{names[0]}]?"
    return f", did you mean any of [{', '.join(names)}]?"


__all__ = ["did_you_mean", "levenshtein"]
