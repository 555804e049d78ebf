"""The wheel carries the grammars and the samples: build it, install it into a fresh virtual
environment, and run the CLI from there (not from this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(out), str(ROOT)], check=True, capture_output=True)
    (found,) = out.glob("rumpolicy-*.whl")
    return found


def test_wheel_contains_grammar_and_fixtures(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "rumpolicy/grammar/policy.lark" in names
    assert "rumpolicy/_fixtures/policies/aws-sample-alias.json" in names


def test_wheel_is_typed_and_describes_itself(wheel: Path) -> None:
    """PEP 561's marker, the testing extra the docs advertise, classifiers and project URLs."""
    archive = zipfile.ZipFile(wheel)
    assert "rumpolicy/py.typed" in archive.namelist()
    (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = archive.read(metadata_name).decode()
    assert "Provides-Extra: testing" in metadata
    for requirement in ("pytest", "hypothesis", "boto3"):
        assert any(line.startswith(f"Requires-Dist: {requirement}") and "extra == 'testing'"
                   in line for line in metadata.splitlines()), requirement
    assert "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: Documentation, " in metadata and "Project-URL: Source, " in metadata


def test_installed_wheel_runs_the_cli(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([str(env_dir / "bin" / "rumpolicy"), "demo"], capture_output=True,
                         text=True, cwd=tmp_path, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert "site-packages/rumpolicy/_fixtures/policies" in run.stdout
    assert "resource_policy_allow" in run.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": []}')
    checked = subprocess.run([str(env_dir / "bin" / "rumpolicy"), "validate", str(bad)],
                             capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert checked.returncode == 1
    assert f"{bad}:1:15: no-statements:" in checked.stdout
