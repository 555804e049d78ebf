"""Replay recorded PutRumEvents traffic through a policy, and compare with another one.

    from rumpolicy.analysis.replay import Replayer, open_log
    replayer = Replayer(new_policy, against=old_policy, compare=True)
    with open_log("decisions.jsonl") as stream:
        replayer.replay("decisions.jsonl", stream)
    report = replayer.report(policy_name="new.json", against_name="old.json")

Input: the gate's decision log (docs/decision-log.md) or JSON Lines of `Request.to_dict()`.
"""

from rumpolicy.analysis.replay.format import format_report
from rumpolicy.analysis.replay.reader import LogError, open_log
from rumpolicy.analysis.replay.replayer import Progress, Replayer
from rumpolicy.analysis.replay.report import (
    AliasCounts,
    BadLine,
    Change,
    Example,
    ReplayReport,
)

__all__ = [
    "AliasCounts",
    "BadLine",
    "Change",
    "Example",
    "LogError",
    "Progress",
    "ReplayReport",
    "Replayer",
    "format_report",
    "open_log",
]
