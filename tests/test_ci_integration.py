"""CI integration as users run it: the pre-commit hooks through pre-commit itself on a sample
git repository, and the GitHub Action's own script run as the runner would run it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                   cwd=cwd, check=True, capture_output=True)


def _sample_repository(root: Path) -> Path:
    repo = root / "sample"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(FIXTURES / "audit" / "alias-allows-missing" / "trigger.json",
                repo / "monitor-policy.json")
    shutil.copytree(FIXTURES / "rollouts" / "canary", repo / "rollouts")
    (repo / "package.json").write_text('{"name": "shop", "private": true}\n')
    (repo / "tsconfig.json").write_text('{\n  // JSONC\n  "strict": true\n}\n')
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "sample")
    return repo


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hooks_run_through_pre_commit(tmp_path):
    """`pre-commit try-repo` installs this repository's hooks (from .pre-commit-hooks.yaml) into
    its own environment and runs them on every file of the sample repository."""
    if not (ROOT / ".git").exists():
        pytest.skip("pre-commit installs hooks from a git repository")
    repo = _sample_repository(tmp_path)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT),
                           "--all-files", "--color", "never"], cwd=repo, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out  # the audit fails on the security finding
    statuses = dict(re.findall(r"^(rumpolicy \w+)\.+(Passed|Failed)$", out, re.MULTILINE))
    assert statuses == {"rumpolicy audit": "Failed", "rumpolicy validate": "Passed",
                        "rumpolicy test": "Passed"}, out
    assert "monitor-policy.json:11:9: security [alias-allows-missing]" in out
    assert "package.json" not in out.split("rumpolicy validate")[0].split("rumpolicy audit")[1]


def test_hooks_file_names_commands_the_cli_accepts():
    from rumpolicy.cli import build_parser

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"rumpolicy-audit", "rumpolicy-validate", "rumpolicy-test"}
    for hook in hooks:
        command = hook["entry"].split()[1:] + hook.get("args", [])
        args = build_parser().parse_args([*command, "x.json"] if hook.get(
            "pass_filenames", True) else command)
        assert args.command == command[0]


def _action_script(inputs: dict[str, str], workspace: Path, output: Path) -> str:
    """The composite action's audit step with the runner's expressions filled in."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "audit"]
    defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    values = {**defaults, **inputs}
    script = step["run"]
    for name, value in values.items():
        script = script.replace("${{ inputs." + name + " }}", value)
    script = script.replace("${{ github.workspace }}", str(workspace))
    assert "${{" not in script, script
    env = {k: v for k, v in step.get("env", {}).items()}
    for key, value in env.items():
        for name, given in values.items():
            value = value.replace("${{ inputs." + name + " }}", given)
        script = f"export {key}={json.dumps(value)}\n" + script
    return f"export GITHUB_OUTPUT={output}\n" + script


def test_action_audits_writes_sarif_and_reports_the_exit_status(tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    upload = [s for s in action["runs"]["steps"] if "upload-sarif" in str(s.get("uses", ""))]
    assert upload and upload[0]["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    workspace = tmp_path / "ws"
    (workspace / "policies").mkdir(parents=True)
    shutil.copy(FIXTURES / "audit" / "alias-allows-missing" / "trigger.json",
                workspace / "policies" / "shop.json")
    output = tmp_path / "github_output"
    script = _action_script({"paths": "policies"}, workspace, output)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # the step records the status, a later step fails
    assert "exit-code=1" in output.read_text()
    log = json.loads((workspace / "rumpolicy.sarif").read_text())
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "alias-allows-missing"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "policies/shop.json"


def test_example_workflow_uses_the_action_with_its_inputs():
    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "rumpolicy-audit.yml").read_text())
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = workflow["jobs"]["audit"]["steps"]
    (ours,) = [s for s in steps if str(s.get("uses", "")).startswith("rumpolicy/rumpolicy@")]
    assert set(ours["with"]) <= set(action["inputs"])
    assert workflow["permissions"]["security-events"] == "write"
    from rumpolicy.cli import build_parser

    args = build_parser().parse_args(["audit", *ours["with"]["paths"].split(),
                                      *ours["with"]["args"].split()])
    assert args.fail_on == "security" and args.baseline == "rumpolicy-baseline.json"
