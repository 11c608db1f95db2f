"""The README's set-up commands are the ones CI runs, its Python examples run, and every
picture and page it links to exists."""
import re
from pathlib import Path

from jitgrad.backend import dtypes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_two_setup_commands_and_ci_runs_its_test_command():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block.start() < README.index("\n## ")  # before any section
    install_and_train, install_and_test = first_block.group(1).strip().splitlines()
    assert install_and_train.startswith("pip install ") and install_and_train.endswith("jitgrad train")
    test_command = install_and_test.split(" && ")[1]
    assert "[test]" in install_and_test and test_command.startswith("python -m pytest")
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples may write files
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 3
    defaults = (dtypes._default_dtype, dtypes._default_chosen)
    for number, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), {})
        finally:  # each block starts from the defaults, as a script
            dtypes._default_dtype, dtypes._default_chosen = defaults


def test_readme_pictures_and_links_exist():
    targets = re.findall(r"\]\(([^)#:]+)\)", README)
    assert "docs/pytorch.md" in targets
    for target in targets:
        assert (ROOT / target).stat().st_size > 0, target


def test_docs_links_between_pages_exist():
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
