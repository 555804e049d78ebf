"""The command line: exit codes, formats, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "policies"
ALIAS = str(SAMPLES / "aws-sample-alias.json")
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/MyApplication"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_allow_exits_0_and_explains(capsys):
    code, out, _ = run(capsys, "eval", ALIAS, "--monitor", MONITOR, "--alias", "alias1")
    assert code == 0
    assert out.startswith("ALLOW")
    assert "StringEquals rum:alias: request 'alias1'" in out


def test_eval_deny_exits_1(capsys):
    code, out, _ = run(capsys, "eval", ALIAS, "--monitor", MONITOR, "--alias", "Alias1")
    assert code == 1
    assert out.startswith("DENY (implicit)")


def test_eval_json_is_the_decision_dict(capsys):
    code, out, _ = run(capsys, "eval", ALIAS, "--monitor", MONITOR, "--json")
    data = json.loads(out)
    assert code == 1
    assert data["effect"] == "implicit_deny"
    assert data["statements"][0]["conditions"][0]["request_value"] is None


def test_eval_context_repeats_make_a_multi_valued_key(tmp_path, capsys):
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}}}))
    args = ("eval", str(policy), "--monitor", MONITOR)
    assert run(capsys, *args, "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=b")[0] == 0
    assert run(capsys, *args, "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=c")[0] == 1


def test_eval_identity_policy_grants_same_account_caller(tmp_path, capsys):
    identity = tmp_path / "id.json"
    identity.write_text(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*"}}))
    code, out, _ = run(capsys, "eval", "none", "--monitor", MONITOR, "--principal",
                       "arn:aws:iam::123456789012:user/alice", "--identity-policy", str(identity))
    assert code == 0
    assert "identity policy 0" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["eval", "missing.json", "--monitor", MONITOR], "missing.json: no such file"),
        (["eval", ALIAS, "--monitor", MONITOR, "--principal", "bob"], "'bob' is not a caller ARN"),
        (["eval", ALIAS, "--monitor", MONITOR, "--context", "novalue"], "write KEY=VALUE"),
    ],
)
def test_eval_usage_errors_are_one_line_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_eval_bad_policy_names_file_line_column(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Version": "2012-10-17",\n "Statement": {"Effect": "allow"}}')
    code, _, err = run(capsys, "eval", str(bad), "--monitor", MONITOR)
    assert code == 2
    assert err.startswith(f"rumpolicy: error: {bad}:2:15: missing-element:")
    assert "(and 3 more; run `rumpolicy validate" in err


def test_validate_reports_every_problem_as_file_line_column(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "Version": "2012-10-18",\n  "Statement": {"Effect": "Allow", '
                   '"Principal": "*", "Action": "rum:PutRumEvents", "Resource": "arn:aws"}\n}')
    code, out, _ = run(capsys, "validate", str(bad), ALIAS)
    assert code == 1
    lines = out.splitlines()
    assert f"{bad}:2:14: invalid-version:" in lines[0]
    assert lines[1].startswith(f"{bad}:3:") and "invalid-arn" in lines[1]
    assert lines[2] == f"{ALIAS}: valid"


def test_validate_directory_all_valid_exits_0(capsys):
    code, out, _ = run(capsys, "validate", str(SAMPLES))
    assert code == 0
    assert out.count(": valid") == len(list(SAMPLES.glob("*.json")))


def test_validate_unreadable_file_is_reported_not_raised(tmp_path, capsys):
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfejunk")
    code, out, _ = run(capsys, "validate", str(binary))
    assert code == 1
    assert out.startswith(f"{binary}:1:1: not-a-policy: this file is not UTF-8 text")
    binary.write_bytes('{\n  "Id": "é'.encode() + b"\xff")  # where the bytes stop being text
    assert run(capsys, "validate", str(binary))[1].startswith(f"{binary}:2:11: not-a-policy: ")


def test_demo_decides_the_bundled_samples(capsys):
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert "aws-sample-alias.json" in out and "explicit_deny" in out and "allow" in out


def test_module_entry_point_runs_without_traceback():
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "eval", ALIAS, "--monitor", MONITOR,
                           "--alias", "alias2"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ALLOW")
