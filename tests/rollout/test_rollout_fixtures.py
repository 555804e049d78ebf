"""The worked examples in fixtures/rollouts/ pass, and their change expectations are real:
swapped around, the same files must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from rumpolicy.analysis.rollout import ChangeExpectation, load_rollout, read_rollout, run_file
from rumpolicy.policy import load_policy
from rumpolicy.policy.models import PolicyKind

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "rollouts"
FILES = sorted(EXAMPLES.rglob("*.rollout"))


def test_the_five_examples_are_there():
    assert [p.parent.name for p in FILES] == ["blue-green", "canary", "forwarder",
                                              "retire-alias", "time-boxed"]


def test_the_forwarder_example_needs_its_identity_policy(tmp_path: Path):
    """Without the role's identity policy its sessions lose shop-server: the resource policy no
    longer names the role, and nothing else allows them (IAM policy evaluation logic, requests
    within a single account: either kind of policy suffices, so one of them must allow)."""
    folder = EXAMPLES / "forwarder"
    for file in folder.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    copy = tmp_path / "forwarder.rollout"
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace("\nidentity policy", "\n# identity policy"), encoding="utf-8")
    result = run_file(copy)
    assert [o.expectation.position.line for o in result.failed] == [11, 12, 17]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_example_passes(path: Path):
    result = run_file(path)
    assert result.problems == ()
    failed = [f"{o.expectation.text}: {o.summary}\n{o.detail}" for o in result.failed]
    assert not failed, "\n".join(failed)
    loaded = load_rollout(path)
    assert any(isinstance(e, ChangeExpectation) for e in loaded.rollout.expectations)
    assert sum(not isinstance(e, ChangeExpectation) for e in loaded.rollout.expectations) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_example_policies_are_valid_and_within_the_size_limit(path: Path):
    rollout = read_rollout(path)
    assert rollout.baseline is not None and rollout.baseline.path and rollout.policy.path
    kinds: dict[Path, PolicyKind] = {rollout.policy.path: "resource",
                                     rollout.baseline.path: "resource",
                                     **{i.path: "identity" for i in rollout.identities}}
    assert sorted(kinds) == sorted(path.parent.glob("*.json"))  # every file is used
    for policy, kind in kinds.items():
        text = policy.read_text(encoding="utf-8")
        assert kind == "identity" or len(text.encode()) <= 4096, policy.name
        assert load_policy(text, kind=kind).statements, policy.name  # raises when invalid


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_swapping_old_and_new_makes_the_change_expectations_fail(path: Path, tmp_path: Path):
    # Every example adds or removes access on purpose, so comparing the other way round
    # cannot keep both "no new access ..." and "no lost access ..." true.
    loaded = load_rollout(path)
    assert loaded.rollout.baseline is not None and loaded.rollout.baseline.path is not None
    assert loaded.rollout.policy.path is not None
    text = path.read_text(encoding="utf-8")
    new, old = loaded.rollout.policy.written, loaded.rollout.baseline.written
    swapped = text.replace(f'policy "{new}"', 'policy "__NEW__"') \
        .replace(f'change from "{old}"', f'change from "{new}"') \
        .replace('policy "__NEW__"', f'policy "{old}"')
    for policy in path.parent.glob("*.json"):
        (tmp_path / policy.name).write_bytes(policy.read_bytes())
    copy = tmp_path / path.name
    copy.write_text(swapped, encoding="utf-8")
    result = run_file(copy)
    assert result.problems == ()
    changes = [o for o in result.outcomes if isinstance(o.expectation, ChangeExpectation)]
    assert any(not o.passed for o in changes)
