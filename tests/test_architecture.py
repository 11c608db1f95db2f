"""The architecture, read from the source with ``ast``: packages by layer, each importing only
the layers below it (or its own), no import cycle between modules, no module reaching for a
private (``_name``) helper of another package, ``kernels/`` never importing ``jitgrad``, and
the library never importing its applications."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The layers, lowest first: a module may import modules of its own layer or of layers below.
LAYERS = (
    ("kernels",),
    ("jitgrad.backend",),
    ("jitgrad.ops",),
    ("jitgrad.autograd",),
    ("jitgrad.nn", "jitgrad.optim", "jitgrad.utils", "jitgrad.book", "jitgrad.serialization",
     "jitgrad.distributed", "jitgrad.functional", "jitgrad.init", "jitgrad.data"),
    ("jitgrad.compiler", "jitgrad.fitting"),
    ("jitgrad",),  # the front door, jitgrad/__init__.py: re-exports from every layer below
    ("jitgrad.apps", "jitgrad.__main__"),
)
FRONT_DOOR = "jitgrad"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules():
    files = list((ROOT / "jitgrad").rglob("*.py")) + list((ROOT / "kernels").rglob("*.py"))
    return {module_name(p): p for p in files}


def imports(path, modules):
    """[(imported module, imported name or None, line)] of ``path``: ``from P import n`` is
    module ``P.n`` when that is a module, else name ``n`` of module ``P``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{source}.{alias.name}"
                found.append((full, None, node.lineno) if full in modules
                             else (source, alias.name, node.lineno))
    return found


def layer_of(module):
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or (p != FRONT_DOOR and module.startswith(p + ".")) for p in prefixes):
            return rank
    return None


def package_of(module):
    """The top package under jitgrad a module belongs to (``jitgrad.nn``), or the module."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "jitgrad" else parts[0]


@pytest.fixture(scope="module")
def graph():
    modules = source_modules()
    return modules, {name: imports(path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer(graph):
    modules, _ = graph
    assert [m for m in modules if layer_of(m) is None] == []


def test_each_layer_imports_only_downward(graph):
    modules, edges = graph
    offenders = [f"{m}:{line} imports {target}{'.' + name if name else ''} "
                 f"(layer {layer_of(target)} above {layer_of(m)})"
                 for m, found in edges.items() for target, name, line in found
                 if target in modules and layer_of(target) > layer_of(m)]
    assert offenders == []


def find_cycle(edges, modules):
    """One import cycle among ``modules`` as a list of names, or None (depth-first search)."""
    graph = {m: sorted({t for t, _, _ in edges[m] if t in modules and t != m}) for m in modules}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state and (cycle := visit(t)):
                return cycle
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_no_import_cycle(graph):
    modules, edges = graph
    assert find_cycle(edges, set(modules)) is None


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": [("b", None, 1)], "b": [("c", None, 1)], "c": [("a", None, 1)], "d": []}
    assert find_cycle(edges, {"a", "b", "c", "d"}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [("b", None, 1)], "b": []}, {"a", "b"}) is None


def private_uses(path, modules):
    """(line, what) for each private name of another package that ``path`` imports or reads
    from a module it imported (``engine.fits``)."""
    me = package_of(module_name(path))
    tree = ast.parse(path.read_text(), str(path))
    found, aliases = [], {}
    for target, name, line in imports(path, modules):
        if target not in modules or package_of(target) == me:
            continue
        if name and name.startswith("_") and not name.startswith("__"):
            found.append((line, f"{target}.{name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) or isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.attr.startswith("_") and not node.attr.startswith("__")
                and node.value.id in aliases):
            source = [m for m in modules if m.endswith("." + aliases[node.value.id]) or m == aliases[node.value.id]]
            if source and package_of(source[0]) != me:
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def test_no_module_uses_a_private_helper_of_another_package(graph):
    modules, _ = graph
    offenders = [f"{name}:{line} uses {what}" for name, path in modules.items()
                 for line, what in private_uses(path, modules)]
    assert offenders == []


def test_the_checks_see_upward_and_private_imports(tmp_path):
    """The checks themselves: a relative import resolved, an upward edge and a private name."""
    folder = tmp_path / "jitgrad" / "ops"
    folder.mkdir(parents=True)
    source = folder / "bad.py"
    source.write_text("from ..nn.module import _hidden\nfrom . import base\nimport kernels\n")
    modules = {"jitgrad.nn.module": None, "jitgrad.ops.base": None, "kernels": None}
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = imports(source, modules)
        assert ("jitgrad.nn.module", "_hidden", 1) in found and ("jitgrad.ops.base", None, 2) in found
        assert layer_of("jitgrad.nn.module") > layer_of("jitgrad.ops.bad")
        assert private_uses(source, modules) == [(1, "jitgrad.nn.module._hidden")]
    finally:
        ROOT = saved


def test_kernels_never_import_jitgrad(graph):
    modules, edges = graph
    offenders = [f"{m} imports {t}" for m, found in edges.items() if m.startswith("kernels")
                 for t, _, _ in found if t == "jitgrad" or t.startswith("jitgrad.")]
    assert offenders == []


def test_the_library_never_imports_the_apps(graph):
    modules, edges = graph
    offenders = [f"{m} imports {t}" for m, found in edges.items()
                 if not (m.startswith("jitgrad.apps") or m == "jitgrad.__main__")
                 for t, _, _ in found if t == "jitgrad.apps" or t.startswith("jitgrad.apps.")]
    assert offenders == []


def test_a_foreign_kernels_package_stops_the_import_with_what_to_do(tmp_path):
    """PyPI has a package named 'kernels': installed over jitgrad's, it must fail loudly."""
    foreign = tmp_path / "kernels"
    foreign.mkdir()
    (foreign / "__init__.py").write_text('"""Someone else\'s kernels."""\n')
    result = subprocess.run([sys.executable, "-c", "import jitgrad"], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "ImportError: jitgrad: the package 'kernels' at" in result.stderr
    assert "is not jitgrad's kernels folder" in result.stderr and "Uninstall the other one" in result.stderr
