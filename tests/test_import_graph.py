"""The import graph of ``src/satnav`` flows one way (docs/architecture.md).

Every ``import`` statement of every module (module level and inside functions alike: a lazy
import is still a dependency) is read with :mod:`ast`. Each module belongs to a layer; a
module may import only its own layer or lower ones, the library never imports the command
line, and there is no cycle between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "satnav"

#: Layers from the bottom up: (rank, module-name prefixes). The longest matching prefix
#: decides a module's layer. The package façade ``satnav/__init__.py`` and ``__main__`` sit on
#: top and are not ranked.
LAYERS = (
    (0, ("errors", "constants", "gnss_time", "satellites", "signals", "frames", "_version", "_jit", "progress",
         "parallel")),
    (1, ("observations", "navigation", "satellite_states", "options")),
    (2, ("io", "models")),
    (3, ("orbits", "dynamics")),
    (4, ("estimators",)),
    (5, ("report", "evaluation")),
    (6, ("constellation",)),
    (7, ("info", "pipeline", "batch", "streams")),
    (9, ("cli",)),
)


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path  # "" is the package itself
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports (relative names, "" = the package)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "satnav" or node.module.startswith("satnav.")):
                target = node.module[len("satnav"):].lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                out.add(sub if sub in mods else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "satnav" or alias.name.startswith("satnav."):
                    out.add(alias.name[len("satnav"):].lstrip("."))
    out.discard(name)
    return {m for m in out if m in mods}


def _rank(name: str) -> int | None:
    best, rank = -1, None
    for r, prefixes in LAYERS:
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), r
    return rank


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def test_every_module_has_a_layer(graph):
    unranked = sorted(m for m in graph if m not in ("", "__main__") and _rank(m) is None)
    assert not unranked, f"modules without a layer (add them to LAYERS and docs/architecture.md): {unranked}"


def test_no_backward_edges(graph):
    backward = []
    for name, targets in graph.items():
        r = _rank(name)
        if r is None:
            continue
        for t in targets:
            rt = _rank(t)
            if t == "":
                backward.append(f"{name} -> satnav (the package façade)")
            elif rt is not None and rt > r:
                backward.append(f"{name} (layer {r}) -> {t} (layer {rt})")
    assert not backward, "imports against the data flow:\n" + "\n".join(sorted(backward))


def test_library_never_imports_the_cli(graph):
    bad = sorted(f"{n} -> {t}" for n, ts in graph.items() for t in ts
                 if (t == "cli" or t.startswith("cli.")) and not (n == "cli" or n.startswith("cli.") or n == "__main__"))
    assert not bad, "library modules importing the command line:\n" + "\n".join(bad)


def test_io_imports_no_estimator_orbit_or_report(graph):
    bad = sorted(f"{n} -> {t}" for n, ts in graph.items() if n.startswith("io") for t in ts
                 if t.split(".")[0] in ("estimators", "orbits", "report", "constellation", "pipeline"))
    assert not bad, "\n".join(bad)


def test_no_cycles(graph):
    # Tarjan's strongly connected components over the ranked modules (the façade excluded)
    nodes = [n for n in graph if n not in ("", "__main__")]
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w in ("", "__main__"):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
