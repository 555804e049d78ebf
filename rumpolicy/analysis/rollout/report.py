"""The test-runner view of rollout outcomes: one line per expectation, failures explained,
and a summary line at the end."""

from __future__ import annotations

from collections.abc import Sequence

from rumpolicy._words import counted
from rumpolicy.analysis.rollout.runner import FileOutcome


def format_outcomes(files: Sequence[FileOutcome], *, verbose: bool = True) -> str:
    """Text for a terminal or a CI log; `verbose=False` lists only failures and errors."""
    lines: list[str] = []
    for result in files:
        if not verbose and not result.problems and not result.failed:
            continue
        lines.append(str(result.path))
        for problem in result.problems:
            lines.append(f"  ERROR {problem.format()}")
        for outcome in result.outcomes:
            if outcome.passed and not verbose:
                continue
            mark = "ok  " if outcome.passed else "FAIL"
            where = outcome.expectation.position.line
            lines.append(f"  {mark} {where:>4}  {outcome.expectation.text}")
            if not outcome.passed:
                lines.append(f"             {outcome.summary}")
                lines.extend(f"             {line}" for line in outcome.detail.splitlines())
    lines.append(summary_line(files))
    return "\n".join(lines) + "\n"


def summary_line(files: Sequence[FileOutcome]) -> str:
    passed = sum(len(f.outcomes) - len(f.failed) for f in files)
    failed = sum(len(f.failed) for f in files)
    errors = sum(1 for f in files if f.problems)
    seconds = sum(f.seconds for f in files)
    parts = [f"{passed} passed", f"{failed} failed"]
    if errors:
        parts.append(counted(errors, "file", "with errors"))
    return f"{', '.join(parts)} in {counted(len(files), 'file')} ({seconds:.2f}s)"
