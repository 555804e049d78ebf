"""The worked examples in fixtures/rollouts/ pass, and their change expectations are real:
swapped around, the same files must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from rumpolicy.analysis.rollout import ChangeExpectation, load_rollout, run_file
from rumpolicy.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "rollouts"
FILES = sorted(EXAMPLES.rglob("*.rollout"))


def test_the_four_examples_are_there():
    assert [p.parent.name for p in FILES] == ["blue-green", "canary", "retire-alias",
                                              "time-boxed"]


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
    policies = sorted(path.parent.glob("*.json"))
    assert len(policies) >= 2  # a baseline and a candidate at least
    for policy in policies:
        text = policy.read_text(encoding="utf-8")
        assert len(text.encode()) <= 4096, policy.name
        assert load_policy(text).statements, policy.name  # load_policy raises when invalid


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
