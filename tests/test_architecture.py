"""Import rules: the contracts in pyproject.toml ([tool.importlinter]) and no cycles.

``lint-imports`` (import-linter) checks the forbidden and layers contracts; CI runs
it in './setup.sh test'. Here it is shown to pass on this tree and to fail on a
copy with one deliberate violation, so a contract that silently checks nothing
(a renamed package, a config that is not read) cannot go unnoticed.

A layers contract says nothing about imports inside one layer, so the cycle test
builds the import graph with grimp (import-linter's own graph builder) and fails
on any cycle between octohome modules. Every import statement counts: module
level, inside functions and under ``if TYPE_CHECKING:``. A function-level import
does not fail at import time, but it is still a dependency that makes the two
modules one unit; a TYPE_CHECKING import is still a dependency for mypy and the
reader. Neither is excluded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

from tests.paths import ROOT

PACKAGE = "octohome"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS_CONTRACT = "layers: cli > bench > training > service > hear | understand | act > core"
FORBIDDEN_CONTRACT = "the runtime never imports training, bench or the command line"


def _lint_imports(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the contracts of pyproject.toml, octohome taken from
    ``package_parent`` (PYTHONPATH precedes the editable install's finder)."""
    if not LINT_IMPORTS.exists():
        pytest.skip(f"{LINT_IMPORTS} is missing: pip install -e '.[dev]'")
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd, env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin",
                      "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=300,
    )


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    out = _lint_imports(ROOT, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 2 kept, 0 broken." in out.stdout, out.stdout


def test_import_contracts_fail_on_a_deliberate_violation(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / PACKAGE, copy / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    calls = copy / PACKAGE / "core" / "calls.py"
    calls.write_text(calls.read_text() + "\nimport octohome.training.dataset\n")
    out = _lint_imports(copy, tmp_path)
    assert out.returncode != 0, out.stdout
    text = out.stdout
    # both contracts name it: core is the bottom layer and part of the runtime
    assert f"{FORBIDDEN_CONTRACT} BROKEN" in text, text
    assert f"{LAYERS_CONTRACT} BROKEN" in text, text
    assert "octohome.core.calls -> octohome.training.dataset" in text, text


# -- cycles ------------------------------------------------------------------------------


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import graph's strongly connected components with more than one module,
    or one module importing itself (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ[nxt])))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1 or node in succ[node]:
                    found.append(sorted(component))
    return found


def _describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    inside = set(component)
    edges = []
    for m in component:
        for n in sorted(graph.find_modules_directly_imported_by(m) & inside):
            lines = sorted({d["line_number"] for d in
                            graph.get_import_details(importer=m, imported=n)})
            edges.append(f"  {m} -> {n} (l.{', l.'.join(map(str, lines))})")
    return "\n".join(edges)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # all imports: module level, in functions and under TYPE_CHECKING (see above)
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_the_graph_sees_function_and_type_checking_imports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle test would be blind without these: grimp, built as ``graph`` is,
    records an import inside a function and one under TYPE_CHECKING."""
    pkg = tmp_path / "archprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from archprobe.c import C\n"
        "def f() -> None:\n    from archprobe import b\n")
    (pkg / "b.py").write_text("")
    (pkg / "c.py").write_text("class C: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = grimp.build_graph("archprobe", cache_dir=None)
    assert probe.find_modules_directly_imported_by("archprobe.a") == {
        "archprobe.b", "archprobe.c"}


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    cycles = _cycles(graph)
    assert not cycles, "import cycles between octohome modules:\n" + "\n\n".join(
        _describe(graph, c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c", "p.d"):
        g.add_module(m)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.c")
    g.add_import(importer="p.c", imported="p.a")
    g.add_import(importer="p.c", imported="p.d")
    assert _cycles(g) == [["p.a", "p.b", "p.c"]]
