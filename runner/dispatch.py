"""`dispatchmethod`: `functools.singledispatchmethod`, without its cost per call on Python 3.11.

A bottom module (it imports nothing of rule-runner's): the tree walks of the EQL verifier (`runner.eql`) and of the
engine's compiler dispatch on the type of a node with a method per node type.

Before Python 3.12, `singledispatchmethod.__get__` makes a new function on every attribute access and copies the
wrapped method's attributes into it (`functools.update_wrapper`): about 3 µs per call, paid once per node of every
query, which made verifying and compiling the whole detection-rules corpus about 4% slower than the isinstance
chains the walks replaced. Here the bound dispatcher is one small closure. What is dispatched does not change:
`functools`' own registry and cache pick the implementation by the class of the first argument after `self`, and
`register` works as it does on `singledispatchmethod` (by annotation or by class).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:  # typeshed makes singledispatchmethod generic in what the method returns; Python 3.11 does not
    _Base = singledispatchmethod
else:

    class _Base(singledispatchmethod, Generic[_T]):
        pass


class dispatchmethod(_Base[_T]):
    """`functools.singledispatchmethod` for plain methods (not static or class methods), cheaper to call."""

    def __get__(self, obj: Any, cls: type[Any] | None = None) -> Callable[..., _T]:
        dispatch = self.dispatcher.dispatch

        def method(arg: Any, /, *args: Any, **kwargs: Any) -> _T:
            implementation: Callable[..., _T] = dispatch(arg.__class__)
            return implementation(obj, arg, *args, **kwargs)

        return method


__all__ = ["dispatchmethod"]
