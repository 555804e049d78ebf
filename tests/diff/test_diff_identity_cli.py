"""`rumpolicy diff --identity-policy PRINCIPAL=FILE`: the flag, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
CANARY = str(ROOT / "fixtures" / "policies" / "alias-canary.json")
SHOP = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
ALICE = "arn:aws:iam::123456789012:user/alice"
IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*"}]}


@pytest.fixture
def identity(tmp_path: Path) -> str:
    path = tmp_path / "alice.json"
    path.write_text(json.dumps(IDENTITY), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_holder_keeps_what_its_identity_policy_allows(capsys, identity):
    """Detaching the resource policy takes nothing from alice: her identity policy allows
    PutRumEvents, and within one account either kind of policy is enough (IAM policy
    evaluation logic, requests within a single account). Like the root user, she gains the
    alias the resource policy's Deny kept from her."""
    code, out, err = run(capsys, CANARY, "none", "--monitor", SHOP, "--json",
                         "--identity-policy", f"{ALICE}={identity}")
    assert code == 1 and not err
    with_alice = [(c["from"], c["to"]) for c in json.loads(out)["changes"]
                  if ALICE in c["description"].partition(" except ")[0]]
    assert with_alice == [("explicit_deny", "allow")]
    code, out, _ = run(capsys, CANARY, "none", "--monitor", SHOP, "--json")
    without = [c["description"] for c in json.loads(out)["changes"]]
    assert any("principals of account 123456789012 other than its root user" in d
               for d in without)
    code, out, _ = run(capsys, CANARY, "none", "--monitor", SHOP,
                       "--identity-policy", f"{ALICE}={identity}")
    assert f"analysed: rum:PutRumEvents on {SHOP}; identity policies of {ALICE}" in out


def test_an_equals_sign_in_a_user_name_is_kept_in_the_principal(capsys, identity):
    """IAM user names may contain '='; the split is the '=' after which a file exists."""
    odd = "arn:aws:iam::123456789012:user/a=b"
    code, out, _ = run(capsys, CANARY, CANARY, "--monitor", SHOP,
                       "--identity-policy", f"{odd}={identity}")
    assert code == 0, out
    assert f"identity policies of {odd}" in out


@pytest.mark.parametrize(("value", "message"), [
    ("{identity}", "write PRINCIPAL=FILE"),
    ("not-an-arn={identity}", "'not-an-arn' is not an IAM user or role ARN or an STS session"),
    ("arn:aws:iam::123456789012:root={identity}", "is the root user, which holds no identity"),
    (f"{ALICE}=-", "identity policies are read from files, not from stdin"),
    (f"{ALICE}=missing.json", "missing.json: no such file"),
    (f"{ALICE}=", f"--identity-policy '{ALICE}=': no FILE after '='"),  # was '.: a directory'
])
def test_bad_identity_arguments_exit_2_with_one_line(capsys, identity, value, message):
    code, out, err = run(capsys, CANARY, CANARY, "--identity-policy",
                         value.format(identity=identity))
    assert code == 2 and not out
    assert message in err and err.count("\n") == 1


def test_a_principal_given_twice_exits_2(capsys, identity):
    code, out, err = run(capsys, CANARY, CANARY, "--identity-policy", f"{ALICE}={identity}",
                         "--identity-policy", f"{ALICE}={identity}")
    assert code == 2 and not out
    assert err == f"rumpolicy: error: --identity-policy: {ALICE} is given twice: give each " \
                  "principal one identity policy\n"


def test_an_identity_file_that_does_not_load_names_file_line_and_column(capsys, tmp_path):
    """A resource policy (it names a Principal) is no identity policy."""
    resource = tmp_path / "resource.json"
    resource.write_text(Path(CANARY).read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, CANARY, CANARY, "--identity-policy", f"{ALICE}={resource}")
    assert code == 2 and not out
    assert f"{resource}:" in err and "Principal" in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_the_installed_command_takes_the_flag(identity):
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "diff", CANARY, CANARY,
                           "--monitor", SHOP, "--identity-policy", f"{ALICE}={identity}",
                           "--json"], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["equivalent"] is True
