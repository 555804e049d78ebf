"""`rumpolicy diff`: exit codes, text and JSON output, one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rumpolicy as rp
from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "fixtures" / "policies"
BLUE_GREEN = str(POLICIES / "alias-blue-green.json")
CANARY = str(POLICIES / "alias-canary.json")
SHOP = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_differences_exit_1_with_each_change_and_its_witness(capsys):
    code, out, err = run(capsys, BLUE_GREEN, CANARY, "--monitor", SHOP)
    assert code == 1 and not err
    assert "analysed: rum:PutRumEvents on " + SHOP in out
    assert "5 changes" in out
    assert "1. newly allowed: requests from anonymous callers" in out
    assert 'witness: {"resource": "' + SHOP + '", "principal": null' in out
    assert "old: implicit_deny, new: allow" in out


def test_equivalent_policies_exit_0(capsys):
    code, out, _ = run(capsys, CANARY, CANARY, "--monitor", SHOP)
    assert code == 0
    assert "equivalent: every request gets the same decision" in out


def test_json_has_the_documented_shape_and_replayable_witnesses(capsys):
    code, out, _ = run(capsys, BLUE_GREEN, CANARY, "--monitor", SHOP, "--json")
    assert code == 1
    shape = json.loads(out)
    assert set(shape) == {"equivalent", "changes", "not_analysed"}
    old = rp.load_policy(Path(BLUE_GREEN).read_text(encoding="utf-8"))
    for change in shape["changes"]:
        witness = rp.Request.from_dict(change["witness"])
        assert rp.evaluate(old, witness).effect.value == change["from"]


def test_none_stands_for_no_policy_attached(capsys):
    code, out, _ = run(capsys, "none", "none")
    assert code == 0
    code, out, _ = run(capsys, "none", CANARY, "--monitor", SHOP, "--json")
    assert code == 1
    changes = json.loads(out)["changes"]
    # without a policy only the account's root user is allowed (IAM: root by default)
    assert {c["witness"]["principal"] for c in changes if c["from"] == "allow"} == \
        {"arn:aws:iam::123456789012:root"}


def test_unanalysable_parts_are_listed_and_exit_1(capsys, tmp_path):
    policy = tmp_path / "user-alias.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": SHOP,
        "Condition": {"StringEquals": {"rum:alias": "${aws:username}"}}}]}), encoding="utf-8")
    code, out, _ = run(capsys, str(policy), str(policy), "--monitor", SHOP)
    assert code == 1
    assert "not analysed (decisions there may differ; not proven equivalent):" in out
    assert "aws:username has a single value" in out


def test_all_actions_widens_the_scope(capsys):
    code, out, _ = run(capsys, CANARY, CANARY, "--monitor", SHOP, "--all-actions")
    assert code == 0
    assert "analysed: every action on " + SHOP in out


@pytest.mark.parametrize(("argv", "message"), [
    (("missing.json", CANARY), "missing.json: no such file"),
    (("-", "-"), "OLD and NEW cannot both be read from stdin"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out
    assert message in err and err.count("\n") == 1


def test_an_invalid_policy_names_file_line_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Permit"}]}',
                   encoding="utf-8")
    code, _, err = run(capsys, str(bad), CANARY)
    assert code == 2
    assert f"{bad}:1:" in err and "Traceback" not in err


def test_new_policy_read_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(CANARY).read_text(encoding="utf-8")))
    code, out, _ = run(capsys, CANARY, "-", "--monitor", SHOP)
    assert code == 0, out


def test_the_installed_command_runs_diff():
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "diff", BLUE_GREEN, CANARY,
                           "--monitor", SHOP, "--json"], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["equivalent"] is False
