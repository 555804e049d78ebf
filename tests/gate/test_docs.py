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


def recipes() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_has_four_recipes() -> None:
    assert len(recipes()) == 4


@pytest.mark.parametrize("index", [0, 1, 3])
def test_python_recipes_run(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(recipes()[index], f"{DOC}:recipe{index}", "exec"), {})


def _plugin_is_registered() -> bool:
    return any(e.value == PLUGIN for e in entry_points(group="pytest11"))


def test_the_pytest_fixture_recipe_passes(tmp_path: Path) -> None:
    """As a user's suite: the plugin comes from the entry point once rumpolicy's packaging
    declares it, else from `-p` (passing both would register it twice)."""
    (tmp_path / "test_recipe.py").write_text(recipes()[2], encoding="utf-8")
    plugin = [] if _plugin_is_registered() else ["-p", PLUGIN]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
         "test_recipe.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
