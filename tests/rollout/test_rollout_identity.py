"""`identity policy "FILE" for ARN` in rollout files: read, checked, and used by every
expectation (decisions and changes), the same for the policy and its baseline.

Holding an identity policy follows IAM (reference_policies_evaluation-logic_policy-eval-basics:
within one account either kind of policy may allow; an explicit deny anywhere wins); RUM grants
no cross-account access, so a caller of another account gains nothing from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rumpolicy.analysis.rollout import IdentitySource, RolloutError, parse_rollout, run_file

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
ROLE = "arn:aws:iam::123456789012:role/rum-forwarder"
SESSION = "arn:aws:sts::123456789012:assumed-role/rum-forwarder/replay-1"
HEAD = f'policy "new.json"\nmonitor {MONITOR}\n'
ANONYMOUS_V1 = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": MONITOR,
    "Condition": {"StringEquals": {"rum:alias": "v1"}}}]}
FORWARD = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": MONITOR,
     "Condition": {"StringEquals": {"rum:alias": "server"}}},
    {"Effect": "Deny", "Action": "rum:*", "Resource": "*",
     "Condition": {"StringEquals": {"rum:alias": "v1-debug"}}}]}


def problems(text: str) -> list[str]:
    with pytest.raises(RolloutError) as caught:
        parse_rollout(text, Path("t.rollout"))
    return [p.format() for p in caught.value.problems]


def test_identity_lines_name_a_file_and_its_principal():
    rollout = parse_rollout(HEAD + f'identity policy "forward.json" for {ROLE}\n'
                                   f'identity policy "one.json" for "{SESSION}"\n'
                                   'allow alias "v1"\n', Path("/r/t.rollout"))
    assert rollout.identities == (
        IdentitySource(ROLE, Path("/r/forward.json"), "forward.json", rollout.identities[0]
                       .position),
        IdentitySource(SESSION, Path("/r/one.json"), "one.json", rollout.identities[1].position))
    assert [i.position.line for i in rollout.identities] == [3, 4]


@pytest.mark.parametrize(("line", "expected"), [
    ('identity policy "f.json" for arn:aws:iam::123456789012:root',
     "t.rollout:3:30: 'arn:aws:iam::123456789012:root' is the root user, which holds no "
     "identity policies"),
    ('identity policy "f.json" for arn:aws:iam::123456789012:group/devs',
     "t.rollout:3:30: 'arn:aws:iam::123456789012:group/devs' is not an IAM user or role ARN or "
     "an STS session ARN: which users belong to a group is not known"),
    ('identity policy "" for ' + ROLE, "t.rollout:3:17: empty file name"),
    ('identity policy "a\\u0000b" for ' + ROLE,
     "t.rollout:3:17: a file name cannot hold a NUL character (\\u0000)"),
    ('identity policy "f.json"', "t.rollout:3:25: the line ends too early: expected 'for'"),
    (f'identity policy "a.json" for {ROLE}\nidentity policy "b.json" for {ROLE}',
     f"t.rollout:4:30: {ROLE} is given twice: give each principal one identity policy; "
     "the first is on line 3"),
    (f'identity policy "a.json" for {ROLE}\n'
     'identity policy "b.json" for arn:aws:iam::123456789012:role/team/rum-forwarder',
     f"t.rollout:4:30: {ROLE} and arn:aws:iam::123456789012:role/team/rum-forwarder name the "
     "same role"),
])
def test_bad_identity_lines_name_line_and_column(line, expected):
    (message,) = problems(HEAD + line + '\nallow alias "v1"\n')
    assert message.startswith(expected), message


@pytest.fixture
def write(tmp_path: Path):
    def write(name: str, content: dict[str, Any] | str) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content),
                        encoding="utf-8")
        return path

    return write


def test_decisions_use_the_identity_policies_the_caller_holds(write):
    write("new.json", ANONYMOUS_V1)
    write("forward.json", FORWARD)
    path = write("t.rollout", HEAD + f'identity policy "forward.json" for {ROLE}\n'
                                     f'allow principal {SESSION} alias "server"\n'
                                     f'allow principal {ROLE} alias "server"\n'
                                     'implicit deny anonymous alias "server"\n'
                                     f'explicit deny principal {SESSION} alias "v1-debug"\n'
                                     "implicit deny principal "
                                     "arn:aws:sts::999999999999:assumed-role/rum-forwarder/x "
                                     'alias "server"\n'
                                     f'deny principal {SESSION} alias "v2"\n')
    result = run_file(path)
    assert result.problems == ()
    assert [o.passed for o in result.outcomes] == [True, True, True, True, True, True]
    write("t.rollout", HEAD + f'identity policy "forward.json" for {ROLE}\n'
                              f'allow principal {SESSION} alias "v1-debug"\n')
    (failed,) = run_file(path).outcomes
    assert failed.summary == "expected allow, got explicit_deny (explicit_deny)"
    assert f"holds the identity policies given for: [0] {ROLE}\n" in failed.detail
    assert "statement 1 (Deny) of the identity policy 0: applies" in failed.detail


def test_change_expectations_compare_with_the_same_identity_policies(write):
    """The old policy names the role; the new one relies on its identity policy: no access is
    lost with that policy, and the role's sessions lose `server` without it."""
    named = {**ANONYMOUS_V1, "Statement": [*ANONYMOUS_V1["Statement"], {
        "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "rum:PutRumEvents",
        "Resource": MONITOR, "Condition": {"StringEquals": {"rum:alias": "server"}}}]}
    write("old.json", named)
    write("new.json", ANONYMOUS_V1)
    write("forward.json", FORWARD)
    body = 'change from "old.json"\nno lost access\nno change\n'
    path = write("t.rollout", HEAD + f'identity policy "forward.json" for {ROLE}\n' + body)
    assert [o.passed for o in run_file(path).outcomes] == [True, True]
    write("t.rollout", HEAD + body)
    lost, changed = run_file(path).outcomes
    assert not lost.passed and not changed.passed
    assert "sessions of role rum-forwarder in account 123456789012" in lost.detail
    write("t.rollout", HEAD + f'identity policy "forward.json" for {SESSION}\n' + body)
    lost, _ = run_file(path).outcomes  # one session holds it, the role's others do not
    assert not lost.passed and SESSION not in lost.detail.partition(" where ")[0]


def test_identity_policy_files_that_do_not_load_point_at_their_line(write):
    write("new.json", ANONYMOUS_V1)
    write("resource.json", ANONYMOUS_V1)  # names a Principal: not an identity policy
    path = write("t.rollout", HEAD + f'identity policy "resource.json" for {ROLE}\n'
                                     f'identity policy "missing.json" for {SESSION}\n'
                                     'allow alias "v1"\n')
    result = run_file(path)
    assert result.outcomes == ()
    bad, missing = (p.format() for p in result.problems)
    assert bad.startswith(f'{path}:3:1: identity policy "resource.json" is not valid: '
                          "resource.json:1:")
    assert "Principal" in bad
    assert missing.startswith(f'{path}:4:1: identity policy file "missing.json" not found')
