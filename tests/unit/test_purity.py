"""Import layers (STYLE.md, issue 11): the core stays pure, dependencies point one way, no cycles.

Layers, lowest first; a module may import (at module level) only from its own layer or below:

0. core: every ``graphexp_db/*.py`` and ``graphexp_db/montecarlo/*`` except the ones below
   (spec, expand, pair, embed, finite, limits, montecarlo, backend, distributed, counts, ...);
1. ``studies`` and ``plots`` (sweeps and figures over the core);
2. ``catalogue/`` (SQLAlchemy);
3. ``cli/`` (typer); the Streamlit ``app/`` lives outside the package.

The facade ``graphexp_db/__init__.py`` re-exports verbs from layers 0-1 and reaches the catalogue
only lazily.  Checks:

* every module of layers 0-1 is imported alone, in a fresh interpreter (so an import cycle that
  only bites in one import order fails here), and must not pull in sqlalchemy, streamlit, typer,
  matplotlib, dask, cupy or alembic;
* a static graph of the module-level imports of the whole package (networkx) has no cycle and no
  edge that points up a layer; with function-level imports added there is still no cycle (the
  facade aside); core modules import nothing from catalogue/ or cli/, even lazily.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "graphexp_db"
FORBIDDEN = ("sqlalchemy", "streamlit", "typer", "matplotlib", "dask", "cupy", "alembic")
UPPER = {"graphexp_db.studies": 1, "graphexp_db.plots": 1}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _layer(name: str) -> int:
    if name.startswith("graphexp_db.cli"):
        return 3
    if name.startswith("graphexp_db.catalogue"):
        return 2
    return UPPER.get(name, 0)


CORE = [n for n in _all_modules() if _layer(n) <= 1 and n != "graphexp_db"]


def test_the_core_list_covers_the_package():
    # the parametrisation below is discovered, not hand-written: new core modules are covered
    assert {"graphexp_db.spec", "graphexp_db.limits", "graphexp_db.gaussian", "graphexp_db.finite",
            "graphexp_db.counts", "graphexp_db.montecarlo", "graphexp_db.montecarlo.estimators",
            "graphexp_db.montecarlo.networks", "graphexp_db.montecarlo.stats", "graphexp_db.studies",
            "graphexp_db.plots", "graphexp_db.distributed", "graphexp_db.backend",
            # the modules split out of expand, spec, kernels and montecarlo/estimators
            "graphexp_db.graph", "graphexp_db.size_estimate", "graphexp_db.spec_numbers", "graphexp_db.spec_activation",
            "graphexp_db.spec_ensemble", "graphexp_db.kernel_recursions", "graphexp_db.kernels_exact",
            "graphexp_db.montecarlo.results"} <= set(CORE)
    assert not any(n.startswith(("graphexp_db.catalogue", "graphexp_db.cli")) for n in CORE)


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, tuple[int, str]]:
    """For each module: (exit code, JSON list of forbidden modules present | stderr), all run in parallel."""
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            f"print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))")
    procs = {n: subprocess.Popen([sys.executable, "-c", code, n], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=PACKAGE.parent) for n in CORE + ["graphexp_db"]}
    out = {}
    for n, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        out[n] = (p.returncode, stdout.strip() if p.returncode == 0 else stderr.strip()[-2000:])
    return out


@pytest.mark.parametrize("module", CORE + ["graphexp_db"])
def test_core_module_imports_alone_without_io_libraries(module, imported_alone):
    rc, text = imported_alone[module]
    assert rc == 0, f"`import {module}` in a fresh interpreter failed:\n{text}"
    assert json.loads(text) == [], f"{module} imports {json.loads(text)}"


def _imports(name: str, path: Path, module_level_only: bool, known=None) -> set[str]:
    """graphexp_db modules imported by ``name`` (relative imports resolved; ``from pkg import mod`` -> pkg.mod)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    known = _all_modules() if known is None else known
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only:  # module level includes try/except and if blocks, not function bodies or TYPE_CHECKING
        nodes = list(_module_level(tree.body))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("graphexp_db"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("graphexp_db"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if sub in known else target)
    return {m for m in out if m != name}


def _module_level(body):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _module_level(inner)


def _graph(module_level_only: bool = True) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, path in _all_modules().items():
        g.add_node(name)
        for target in _imports(name, path, module_level_only):
            g.add_edge(name, target)
    return g


def test_no_import_cycle_at_module_level():
    g = _graph()
    assert g.number_of_edges() > 50  # the graph was really built
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], f"module-level import cycles: {cycles}"


def test_no_import_cycle_even_through_function_level_imports():
    # a cycle hidden in function bodies (as presets <-> limits_store was) is still a cycle; only the
    # facade graphexp_db/__init__.py may reach up lazily (its build() uses the catalogue)
    g = _graph(module_level_only=False)
    g.remove_node("graphexp_db")
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], f"import cycles through function-level imports: {cycles}"


def test_imports_point_down_the_layers():
    g = _graph()
    up = [(a, b) for a, b in g.edges if a != "graphexp_db" and _layer(b) > _layer(a)]
    assert up == [], f"imports that point up a layer (core < studies/plots < catalogue < cli): {up}"


def test_core_never_reaches_catalogue_or_cli_even_lazily():
    g = _graph(module_level_only=False)
    bad = [(a, b) for a, b in g.edges if a != "graphexp_db" and _layer(a) <= 1 and _layer(b) >= 2]
    assert bad == [], f"core modules importing the catalogue or the CLI: {bad}"


def test_the_static_checker_sees_a_planted_cycle(tmp_path):
    # the checker itself can fail: two modules importing each other at module level form a cycle
    (tmp_path / "a.py").write_text("from graphexp_db import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from graphexp_db import a\nfrom graphexp_db import a\n")
    g = nx.DiGraph()
    for n in ("a", "b"):
        for t in _imports(f"graphexp_db.{n}", tmp_path / f"{n}.py", True, known={"graphexp_db.a", "graphexp_db.b"}):
            g.add_edge(f"graphexp_db.{n}", t)
    assert list(nx.simple_cycles(g)) != []
