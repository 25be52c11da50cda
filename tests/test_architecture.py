"""The layout docs/architecture.md promises: no import circles inside brian_snn/ or hwmodel/,
nothing imports the CLI, hwmodel never imports brian2, and the doc's plug-in examples work."""
import ast
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("brian_snn", "hwmodel")


def _modules():
    mods = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = p.relative_to(ROOT).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def _imports(name, path, mods):
    """Modules of the two packages that ``name`` imports (anywhere in the file, lazy ones too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods] or [base]
        else:
            continue
        # importing a module of a package also imports the package itself: not an edge of its own
        out |= {t for t in targets if t in mods and t != name and not name.startswith(t + ".")}
    return out


def _graph():
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def _cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_nothing_imports_the_cli_and_hwmodel_never_imports_brian2():
    edges = _graph()
    assert [m for m, deps in edges.items() if "brian_snn.cli" in deps] == ["brian_snn.__main__"]
    for p in (ROOT / "hwmodel").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+brian2", p.read_text(), re.M), p


def _doc_blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "architecture.md").read_text(), re.S)


def test_the_model_example_builds():
    import brian2
    from brian_snn import integration, models  # noqa: F401  (registers the state updater the models use)
    from brian_snn.encoding import Presentation
    code = _doc_blocks()[0].replace("from ..", "from brian_snn.").replace("from .", "from brian_snn.models.")
    ns = {}
    exec(code, ns)
    spec = ns["LocalInhibition"](n_exc=6, reach=2)
    images = np.zeros((3, 784))
    built = spec.build(images, np.zeros(4), Presentation())
    lat = next(o for o in built.objects if getattr(o, "name", "") == "exc_exc")
    target, brian2.prefs.codegen.target = brian2.prefs.codegen.target, "numpy"   # no compilation
    try:
        brian2.Network(built.objects).run(0 * brian2.ms)      # creates the synapses
    finally:
        brian2.prefs.codegen.target = target
    pairs = [(i, j) for i in range(6) for j in range(6) if i != j and abs(i - j) <= 2]
    assert len(lat) == len(pairs)
    # the same model as 3 batched copies: the pattern once per copy, block-diagonal
    from brian_snn.copies import Copies
    brian2.start_scope()
    batch = Copies.of(spec, 3).build(images, np.zeros((4, 3)), Presentation())
    lat = next(o for o in batch.objects if getattr(o, "name", "") == "exc_exc")
    brian2.prefs.codegen.target = "numpy"
    try:
        brian2.Network(batch.objects).run(0 * brian2.ms)
    finally:
        brian2.prefs.codegen.target = target
    assert sorted(zip(lat.i[:], lat.j[:])) == [(i + 6 * k, j + 6 * k) for k in range(3) for i, j in pairs]
    assert "reach" in spec.structure()
    assert set(models.MODELS) >= {"spikedyn", "diehl-cook"}
