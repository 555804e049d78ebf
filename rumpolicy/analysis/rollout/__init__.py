"""Rollout tests: a small language stating what an app monitor's policy must decide.

    from rumpolicy.analysis.rollout import format_outcomes, run_file
    outcome = run_file(Path("fixtures/rollouts/blue-green/blue-green.rollout"))
    print(format_outcomes([outcome]))

The grammar is `grammar/rollout.lark`; the language is described in docs/rollouts.md.
"""

from rumpolicy.analysis.rollout.junit import to_junit
from rumpolicy.analysis.rollout.model import (
    ChangeExpectation,
    ChangeKind,
    DecisionExpectation,
    Exemption,
    ExemptionKind,
    Expectation,
    IdentitySource,
    PolicySource,
    Position,
    Problem,
    RolloutError,
    RolloutFile,
    Verdict,
)
from rumpolicy.analysis.rollout.parser import parse_rollout, read_rollout
from rumpolicy.analysis.rollout.report import format_outcomes, summary_line
from rumpolicy.analysis.rollout.runner import (
    FileOutcome,
    LoadedRollout,
    Outcome,
    check,
    load_rollout,
    run_file,
    run_files,
)

__all__ = [
    "ChangeExpectation",
    "ChangeKind",
    "DecisionExpectation",
    "Exemption",
    "ExemptionKind",
    "Expectation",
    "FileOutcome",
    "IdentitySource",
    "LoadedRollout",
    "Outcome",
    "PolicySource",
    "Position",
    "Problem",
    "RolloutError",
    "RolloutFile",
    "Verdict",
    "check",
    "format_outcomes",
    "load_rollout",
    "parse_rollout",
    "read_rollout",
    "run_file",
    "run_files",
    "summary_line",
    "to_junit",
]
