"""Elasticsearch's "did you mean" suggestions (Levenshtein similarity of at least 0.5, most similar first)."""

from __future__ import annotations

from collections.abc import Iterable


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """The suffix Elasticsearch appends: `, did you mean [x]?` or `, did you mean any of [x, y]?` (or nothing)."""
    scored = []
    for candidate in candidates:
        similarity = 1 - levenshtein(name, candidate) / max(len(name), len(candidate), 1)
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
