"""The package's layout holds: layers import only downwards, no module imports itself back, nothing reads outside.

docs/DESIGN.md, "Layout", draws the layers; this file is what keeps the
drawing true.  Imports are read from the source (every ``import``
statement, at module level or in a function), not by importing: a lazy
import inside a function is a dependency all the same.  An import under
``if TYPE_CHECKING:`` is exempt from the layer rule only: it names a type
for the checker and runs nothing.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "actors"

LAYERS = (
    "core",
    "wire",
    "runtime",
    "markets",
    "venues",
    "telemetry",
    "roles",
    "assembly",
    "cluster",
    "cli",
    "testing",
    "tools",
)
"""Lowest first.  A module may import from its own layer and the ones before it; the package's root modules
(``actors/__init__.py``, ``_api.py``, ``__main__.py``) sit above them all."""


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def layer_of(module: str) -> int:
    """The rank of ``module``'s layer; the root (``actors`` itself, ``actors._api``) ranks above every layer."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)


def imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, module, only for the type checker) for every import of an ``actors`` module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names if is_module(f"{node.module}.{alias.name}")]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "actors" or name.startswith("actors."):
                yield node.lineno, name, id(node) in typing_only


def is_module(dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_package_of_the_tree_is_a_layer_and_every_layer_is_a_package() -> None:
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert packages == set(LAYERS)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in SOURCES
        for line, name, typing_only in imports(path)
        if not typing_only and name != "actors" and layer_of(name) > layer_of(module_name(path))
    ]
    assert upward == []


def test_the_core_imports_nothing_of_the_engine_but_the_core() -> None:
    """The pure core: no threads, no pykka, no I/O libraries, and no other layer."""
    banned = re.compile(r"^(threading|pykka|msgpack|socket|subprocess|asyncio|fcntl|loguru)\b")
    found = []
    for path in (PACKAGE / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [f"{path.name}:{node.lineno} {name}" for name in names if banned.match(name)]
            found += [
                f"{path.name}:{node.lineno} {name}"
                for name in names
                if name.startswith("actors.") and not name.startswith("actors.core")
            ]
    assert found == []


def test_no_two_modules_import_each_other_even_through_others() -> None:
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        module = module_name(path)
        graph[module] = {name for _, name, typing_only in imports(path) if not typing_only and name != module}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            if other not in graph or other == "actors":
                continue  # a name in a package's __init__, or the root's version
            if state.get(other) == 1 and not is_package_import(module, other):
                cycles.append(" -> ".join([*path[path.index(other) :], other]) if other in path else other)
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def is_package_import(module: str, other: str) -> bool:
    """A module importing its own package's ``__init__`` (which re-exports it) is how packages are built."""
    return module.startswith(other + ".")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_no_module_reads_a_path_by_climbing_out_of_the_package(path: Path) -> None:
    """The installed package reads its own data through importlib.resources, never ``__file__``'s parents."""
    text = path.read_text(encoding="utf-8")
    assert ".parent.parent" not in text
    assert "parents[" not in text
    assert '"shared"' not in text


def test_every_type_ignore_says_why() -> None:
    """A ``type: ignore`` carries a comment after it on its line, or on the line just before it."""
    silent = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "# type: ignore" not in line:
                continue
            after = line.split("# type: ignore", 1)[1]
            explained = re.search(r"\]\s+#\s*\S", after) or lines[number - 1].strip().startswith("#")
            if not explained:
                silent.append(f"{path.relative_to(PACKAGE.parent)}:{number + 1}")
    assert silent == []


PUBLIC_MODULES = {"actors/tools/bench.py", "actors/tools/conformance.py"}
"""Modules a user runs (``python -m actors.tools.bench``); every other one is reached through a package's names."""


def test_every_module_below_a_package_is_private_but_the_commands() -> None:
    """pykka's habit: the public names are the packages' (``actors.__all__``, ``actors.runtime``, ``actors.wire``,
    ``actors.testing`` ...); a module file is an implementation detail that may move."""
    public = {
        str(path.relative_to(PACKAGE.parent))
        for path in SOURCES
        if path.parent != PACKAGE and not path.name.startswith("_")
    }
    assert public == PUBLIC_MODULES


def test_the_pytest_plugin_loads_no_module_of_the_engine() -> None:
    """pytest loads it before coverage starts: whatever it imported then would be measured as never run."""
    code = "import sys, actors._pytest_plugin; print(sorted(m for m in sys.modules if m.startswith('actors.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert done.stdout.strip() == "['actors._pytest_plugin']"
