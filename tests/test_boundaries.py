"""The architecture's two walls, read from the source: the library never imports its
applications (``jitgrad/apps/``), and ``kernels/`` never imports ``jitgrad``."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path, package):
    """Absolute names of the modules ``path`` imports (relative imports resolved against
    ``package``, the dotted package the file is in)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]  # from . import apps
    return names


def package_of(path):
    return ".".join(path.relative_to(ROOT).parent.parts)


def library_files():
    """Every module of jitgrad but the apps, and ``__main__`` (``python -m jitgrad`` is the
    command, so it starts the apps)."""
    return [p for p in (ROOT / "jitgrad").rglob("*.py")
            if "apps" not in p.relative_to(ROOT).parts and p.name != "__main__.py"]


def test_the_library_never_imports_the_apps():
    offenders = [f"{p.relative_to(ROOT)} imports {name}" for p in library_files()
                 for name in imported_modules(p, package_of(p))
                 if name == "jitgrad.apps" or name.startswith("jitgrad.apps.")]
    assert not offenders, offenders


def test_kernels_never_import_jitgrad():
    offenders = [f"{p.relative_to(ROOT)} imports {name}" for p in (ROOT / "kernels").rglob("*.py")
                 for name in imported_modules(p, package_of(p))
                 if name == "jitgrad" or name.startswith("jitgrad.")]
    assert not offenders, offenders


def test_the_checks_see_an_import_of_the_apps(tmp_path):
    """The walls' test itself: a relative import of the apps is resolved and caught."""
    source = tmp_path / "module.py"
    source.write_text("from .apps import cli\nfrom . import apps\nimport jitgrad.tensor\n")
    names = imported_modules(source, "jitgrad.ops")
    assert "jitgrad.ops.apps" in names  # from a subpackage, .apps is the subpackage's
    names = imported_modules(source, "jitgrad")
    assert {"jitgrad.apps", "jitgrad.apps.cli", "jitgrad.tensor"} <= set(names)


def test_a_foreign_kernels_package_stops_the_import_with_what_to_do(tmp_path):
    """PyPI has a package named 'kernels': installed over jitgrad's, it must fail loudly."""
    import os
    import subprocess
    import sys
    foreign = tmp_path / "kernels"
    foreign.mkdir()
    (foreign / "__init__.py").write_text('"""Someone else\'s kernels."""\n')
    result = subprocess.run([sys.executable, "-c", "import jitgrad"], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "ImportError: jitgrad: the package 'kernels' at" in result.stderr
    assert "is not jitgrad's kernels folder" in result.stderr and "Uninstall the other one" in result.stderr


def test_autograd_does_not_import_the_tensor_module():
    """tensor.py imports autograd to run backward; autograd works on whatever Tensor it is
    given, so the two form no import cycle."""
    names = imported_modules(ROOT / "jitgrad" / "autograd.py", "jitgrad")
    assert "jitgrad.tensor" not in names
