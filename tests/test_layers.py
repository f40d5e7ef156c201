"""The package layers read top-down: imports only point down, and each third-party library stays in its layer."""

from __future__ import annotations

import ast
from pathlib import Path

import runner

ROOT = Path(runner.__file__).parent
# the bottom modules, below every layer: each layer may import them; they import only what is listed here
BOTTOM = {
    "errors": set(),
    "problems": {"errors"},
    "dispatch": set(),
    "dateunits": set(),
}
# a package may import itself, the packages listed, and the bottom modules
ALLOWED = {
    "ecs": {"eql", "engine"},
    "eql": set(),
    "kql": set(),
    "engine": {"eql"},
    "catalog": {"eql", "kql"},
    "settings": {"catalog"},
    "alerts": {"catalog", "ecs"},
    "backends": {"engine", "eql", "catalog", "settings", "ecs", "alerts"},
    "ruletypes": {"alerts", "catalog", "backends", "kql"},
    "execution": {"alerts", "catalog", "settings", "backends", "eql", "ruletypes"},
    "service": {"execution", "alerts", "catalog", "settings", "backends", "ruletypes"},
}
# each third-party library stays in the layers named here
THIRD_PARTY = {
    "lark": {"eql", "kql"},
    "pydantic": {"catalog", "settings"},
    "yaml": {"settings"},
    "apscheduler": {"service"},
    "elasticsearch": {"backends"},
    "elastic_transport": {"backends"},
    "orjson": {"backends"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_imports_point_down() -> None:
    problems = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        layer = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "runner" and len(parts) > 1 and layer in BOTTOM:
                if parts[1] != layer and parts[1] not in BOTTOM[layer]:
                    problems.append(f"{relative} imports {name}")
            elif parts[0] == "runner" and len(parts) > 1 and layer in ALLOWED:
                target = parts[1]
                if target != layer and target not in BOTTOM and target not in ALLOWED[layer]:
                    problems.append(f"{relative} imports {name}")
            if parts[0] in THIRD_PARTY and layer not in THIRD_PARTY[parts[0]]:
                problems.append(f"{relative} imports {parts[0]} outside {sorted(THIRD_PARTY[parts[0]])}")
    assert not problems, "\n".join(problems)


def test_no_module_is_named_like_an_eql_plugin() -> None:
    # the PyPI `eql` package imports every top-level `eql_*` module it can find as a plugin
    assert not [p for p in ROOT.parent.rglob("eql_*.py") if ".venv" not in p.parts]


def test_public_names_are_sorted_and_exist() -> None:
    import runner.engine
    import runner.eql

    for module in (runner, runner.eql, runner.engine):
        assert list(module.__all__) == sorted(module.__all__), module.__name__
        assert all(hasattr(module, name) for name in module.__all__), module.__name__
