"""Fresh copies of JSON values, made faster than `copy.deepcopy` makes them.

Fast paths of `copy.deepcopy` (the reference) for plain JSON; checked against it by
tests/alerts/test_fast_paths.py::test_copies_are_deep_copies and ::test_what_is_not_json_is_deep_copied.

Alerts share no dict or list with each other, with the rule or with the response (callers mutate them), so whatever
goes into an alert is either built for it or copied. `copy.deepcopy` pays for generality on every node (a memo dict,
a dispatch table, a keep-alive list); the documents here are plain JSON trees, which copy with one `type()` test per
value and C-level `dict.copy`/`list.copy` for the scalars.

- `copy_json(value)`: a fresh copy of a plain JSON value; `NotPlainJson` on anything else (a tuple, a dict subclass,
  a datetime), so that the caller can take the general (deepcopy) path for that document;
- `fresh_copy(value)`: the same, with `copy.deepcopy` for what is not plain JSON;
- `compile_copier(value)`: for a value copied again and again (the rule's parameters go into every alert), a function
  that makes the copy without looking at the value at all.
"""

from __future__ import annotations

import ast
import copy
import threading
from collections.abc import Callable
from typing import Any

from runner.errors import RuleRunnerError

Copier = Callable[[], Any]

# immutable JSON scalars: shared between copies, as deepcopy shares them
ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None)})


class NotPlainJson(RuleRunnerError):
    """A value that is not a plain JSON tree (a tuple, a dict subclass, ...): the caller takes the general path.
    A signal inside the alerts package, never raised out of it."""


def copy_json(value: Any) -> Any:
    """A fresh copy of a plain JSON value (dicts and lists copied at every depth, scalars shared)."""
    kind = type(value)
    if kind is dict:
        return _copy_dict(value)
    if kind is list:
        return _copy_list(value)
    if kind in ATOMIC:
        return value
    raise NotPlainJson(kind.__name__)


def _copy_dict(value: dict[str, Any]) -> dict[str, Any]:
    result = value.copy()  # the scalars in one C-level step; containers replaced below
    for key, child in value.items():
        kind = type(child)
        if kind is dict:
            result[key] = _copy_dict(child)
        elif kind is list:
            result[key] = _copy_list(child)
        elif kind not in ATOMIC:
            raise NotPlainJson(kind.__name__)
    return result


def _copy_list(value: list[Any]) -> list[Any]:
    result = value.copy()
    for index, child in enumerate(value):
        kind = type(child)
        if kind is dict:
            result[index] = _copy_dict(child)
        elif kind is list:
            result[index] = _copy_list(child)
        elif kind not in ATOMIC:
            raise NotPlainJson(kind.__name__)
    return result


def fresh_copy(value: Any) -> Any:
    """`copy_json`, or `copy.deepcopy` when the value is not plain JSON."""
    try:
        return copy_json(value)
    except NotPlainJson:
        return copy.deepcopy(value)


def compile_copier(value: Any) -> Copier:
    """A function returning a fresh copy of `value` on each call; `value` must not change afterwards.

    A dict or list holding no containers copies with one `copy()` call. A deeper one is compiled to a function whose
    body is the value written as a literal (`lambda: {"author": ["Elastic"], "threat": [{...}], ...}`): the
    interpreter then builds the copy from constants, without a Python call per container. What is not plain JSON is
    deep-copied.
    """
    kind = type(value)
    if kind in ATOMIC:
        return lambda: value
    if kind is dict or kind is list:
        children = value.values() if kind is dict else value
        if all(type(child) in ATOMIC for child in children):
            shallow: Copier = value.copy
            return shallow
        try:
            return _literal_function(value)
        # SystemError: CPython 3.11's "AST constructor recursion depth mismatch" (python/cpython#106905), which a
        # compile in another thread can provoke; the copier is only faster, so the general path does the job
        except (NotPlainJson, RecursionError, ValueError, SystemError):
            pass
    return lambda: copy.deepcopy(value)


# executions build alerts in several threads; on Python 3.11 the AST conversion keeps global state
_COMPILING = threading.Lock()


def _literal_function(value: Any) -> Copier:
    no_arguments = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    expression = ast.Expression(ast.Lambda(args=no_arguments, body=_literal(value)))
    ast.fix_missing_locations(expression)
    with _COMPILING:
        function: Copier = eval(compile(expression, "<alert copier>", "eval"))
    return function


def _literal(value: Any) -> ast.expr:
    kind = type(value)
    if kind is dict:
        return ast.Dict(keys=[_constant(key) for key in value], values=[_literal(child) for child in value.values()])
    if kind is list:
        return ast.List(elts=[_literal(child) for child in value], ctx=ast.Load())
    return _constant(value)


def _constant(value: Any) -> ast.Constant:
    if type(value) not in ATOMIC:
        raise NotPlainJson(type(value).__name__)
    return ast.Constant(value)


__all__ = ["ATOMIC", "Copier", "NotPlainJson", "compile_copier", "copy_json", "fresh_copy"]
