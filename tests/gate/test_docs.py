"""Every recipe in docs/gate.md runs: the in-process gate, the mounted ASGI app, and the pytest
plugin (in a pytest subprocess, as a user's suite would load it)."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import pytest

PLUGIN = "rumpolicy.testing.gate_fixture"
DOC = Path(__file__).resolve().parents[2] / "docs" / "gate.md"


def recipes(kind: str) -> list[str]:
    """The doc's Python blocks whose first line is `# recipe: <kind>`."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [block for block in blocks if block.startswith(f"# recipe: {kind}\n")]


def test_every_python_block_is_a_recipe() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == len(recipes("run")) + len(recipes("pytest")) >= 6


@pytest.mark.parametrize("index", range(len(recipes("run"))))
def test_python_recipes_run(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(recipes("run")[index], f"{DOC}:run-recipe-{index}", "exec"), {})


def _plugin_is_registered() -> bool:
    return any(e.value == PLUGIN for e in entry_points(group="pytest11"))


@pytest.mark.parametrize("index", range(len(recipes("pytest"))))
def test_the_pytest_fixture_recipes_pass(tmp_path: Path, index: int) -> None:
    """As a user's suite: the plugin comes from the entry point once rumpolicy's packaging
    declares it, else from `-p` (passing both would register it twice)."""
    (tmp_path / "test_recipe.py").write_text(recipes("pytest")[index], encoding="utf-8")
    plugin = [] if _plugin_is_registered() else ["-p", PLUGIN]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
         "test_recipe.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
