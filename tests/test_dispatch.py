"""`runner.dispatch.dispatchmethod`: dispatches as `functools.singledispatchmethod` does, without rebuilding a
wrapper function on every call (what makes the stdlib one slow before Python 3.12)."""

from __future__ import annotations

import functools

import pytest

from runner.dispatch import dispatchmethod


class Walker:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @dispatchmethod
    def visit(self, node: object) -> str:
        raise TypeError(f"cannot visit {type(node).__name__}")

    @visit.register
    def _(self, node: int) -> str:
        return f"{self.prefix}int {node}"

    @visit.register(str)
    def _(self, node: object, suffix: str = "") -> str:
        return f"{self.prefix}str {node}{suffix}"


class Flag(int):
    pass


def test_it_dispatches_on_the_first_argument_after_self_like_singledispatchmethod() -> None:
    walker = Walker("> ")
    assert walker.visit(3) == "> int 3"
    assert walker.visit(Flag(1)) == "> int 1"  # a subclass takes its base's implementation
    assert walker.visit("a", suffix="!") == "> str a!"  # registered by class; keyword arguments pass through
    assert Walker("# ").visit(4) == "# int 4"  # bound to its own instance
    with pytest.raises(TypeError, match="cannot visit float"):  # the default: loud
        walker.visit(1.5)


def test_a_call_builds_no_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    walker = Walker("")
    calls = []
    original = functools.update_wrapper

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]  # passed through as received

    monkeypatch.setattr(functools, "update_wrapper", counting)
    for number in range(10):
        walker.visit(number)
    assert calls == []
