"""The pytest plugin: *.rollout files collected as tests, run in a separate pytest session
(pytester), with failures shown as explanations rather than tracebacks."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import lark  # noqa: F401 - see below
import pytest

pytest_plugins = ["pytester"]

# pytester's in-process runs unload every module first imported inside them. rumpolicy's policy
# parser is cached in a module the outer session already holds (another plugin imports it), so
# if lark itself were first imported inside a run, the next run would get fresh lark classes
# while the cached parser still built trees of the old ones. Importing lark here keeps one lark.

PLUGIN = "rumpolicy.testing.rollout_plugin"
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": MONITOR,
    "Condition": {"StringEquals": {"rum:alias": "v2"}}}]}


def _plugin_args() -> list[str]:
    """Load the plugin with -p unless it is already installed as a pytest11 entry point
    (registering one module twice is an error)."""
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return ["-p", "no:cacheprovider"] + ([] if installed else ["-p", PLUGIN])


@pytest.fixture
def tree(pytester: pytest.Pytester) -> Path:
    (pytester.path / "policy.json").write_text(json.dumps(POLICY))
    (pytester.path / "shop.rollout").write_text(
        f'policy "policy.json"\nmonitor {MONITOR}\n'
        'allow alias "v2"\n'
        'deny alias "v1"\n'
        "change from \"policy.json\"\n"
        "no change\n")
    return pytester.path


def test_rollout_files_are_collected_one_test_per_expectation(pytester, tree):
    result = pytester.runpytest(*_plugin_args(), "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*shop.rollout::line 3 PASSED*",
                                 "*shop.rollout::line 4 PASSED*",
                                 "*shop.rollout::line 6 PASSED*"])


def test_a_failing_expectation_shows_the_decision_not_a_traceback(pytester, tree):
    (tree / "wrong.rollout").write_text(f'policy "policy.json"\nmonitor {MONITOR}\n'
                                        'allow alias "v1"\n')
    result = pytester.runpytest(*_plugin_args(), str(tree / "wrong.rollout"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        '*line 3: allow alias "v1"*',
        '*wrong.rollout:3: allow alias "v1"',
        "expected allow, got implicit_deny (no_matching_allow)",
        "DENY (implicit): User: anonymous is not authorized*",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()


def test_a_malformed_file_is_a_collection_error_with_line_and_column(pytester, tree):
    (tree / "broken.rollout").write_text(f'policy "policy.json"\nmonitor {MONITOR}\n'
                                         'allow alias v2\n')
    result = pytester.runpytest(*_plugin_args(), "--continue-on-collection-errors")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [f"*{tree / 'broken.rollout'}:3:13: unexpected 'v2'; expected a quoted string*"])


def test_other_files_are_left_to_pytest(pytester, tree):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    (tree / "notes.txt").write_text("allow everything")
    result = pytester.runpytest(*_plugin_args(), "-k", "ok or line")
    result.assert_outcomes(passed=4)
