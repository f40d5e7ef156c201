"""Public names are declared and checked, the way httpx checks its own (`tests/test_exported_members.py` there).

- every package of `runner` declares its public names in `__all__`, and its namespace holds exactly those (besides
  its submodules): a name imported into an `__init__` for use there, not for export, is a mistake the test shows;
- the other packages import only those names: `from runner.engine import search`, never
  `from runner.engine.search import search` (a package's modules are its own business and may move);
- every public exception derives from the project's root error `RuleRunnerError`, so "our failures" are one class;
- no module of ours shadows a standard library module or a name of `typing`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
import typing
from pathlib import Path

import runner
from runner.errors import RuleRunnerError

ROOT = Path(runner.__file__).parent


def _packages() -> list[str]:
    names = ["runner"]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="runner."):
        if info.ispkg:
            names.append(info.name)
    return sorted(names)


def _modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages([str(ROOT)], prefix="runner.")
                  if not info.name.endswith("__main__"))


def test_every_package_declares_exactly_its_public_names() -> None:
    problems = []
    for name in _packages():
        package = importlib.import_module(name)
        declared = getattr(package, "__all__", None)
        if declared is None:
            problems.append(f"{name}: no __all__")
            continue
        missing = [item for item in declared if not hasattr(package, item)]
        public = {item for item, value in vars(package).items()
                  if not item.startswith("_") and not inspect.ismodule(value) and item != "annotations"}
        undeclared = sorted(public - set(declared))
        if list(declared) != sorted(declared):
            problems.append(f"{name}: __all__ is not in sorted order")
        if missing:
            problems.append(f"{name}: __all__ names what the package does not have: {missing}")
        if undeclared:
            problems.append(f"{name}: public names not in __all__: {undeclared}")
    assert not problems, "\n".join(problems)


def _owner(path: Path) -> str:
    """The top-level package a module belongs to (`runner.backends` for runner/backends/embedded/store.py)."""
    relative = path.relative_to(ROOT)
    return "runner." + (relative.parts[0] if len(relative.parts) > 1 else relative.stem)


def test_packages_import_only_each_others_public_names() -> None:
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        owner = _owner(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.append((node.module, [alias.name for alias in node.names]))
            elif isinstance(node, ast.Import):
                modules.extend((alias.name, []) for alias in node.names)
            for module, names in modules:
                parts = module.split(".")
                if parts[0] != "runner" or len(parts) < 2 or ".".join(parts[:2]) == owner:
                    continue
                where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                if len(parts) > 2:
                    problems.append(f"{where}: imports {module} (a module inside another package)")
                    continue
                declared = set(getattr(importlib.import_module(module), "__all__", ()))
                hidden = [item for item in names if item not in declared]
                if hidden:
                    problems.append(f"{where}: imports {hidden} from {module}, which does not declare them")
    assert not problems, "\n".join(problems)


def test_every_public_error_derives_from_the_root_error() -> None:
    problems = []
    for name in _modules():
        module = importlib.import_module(name)
        for item, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name
                    and not item.startswith("_") and not issubclass(value, RuleRunnerError)):
                problems.append(f"{name}.{item} derives from {[base.__name__ for base in value.__mro__[1:-2]]}")
    assert not problems, "\n".join(problems)


def test_no_module_shadows_a_standard_module_or_a_typing_name() -> None:
    standard = set(sys.stdlib_module_names)
    problems = [name for name in _modules() if name.rsplit(".", 1)[-1] in standard]
    for name in _modules():
        module = importlib.import_module(name)
        problems.extend(f"{name}.{item}" for item, value in vars(module).items()
                        if getattr(value, "__module__", None) == name and hasattr(typing, item)
                        and not item.startswith("_") and not isinstance(value, typing.TypeVar))
    assert not problems, "\n".join(problems)
