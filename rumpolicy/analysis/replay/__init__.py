"""Replay recorded PutRumEvents traffic through a policy, and compare with another one.

    from rumpolicy.analysis.replay import Replayer, open_log
    replayer = Replayer(new_policy, against=old_policy, compare=True)
    with open_log("decisions.jsonl") as stream:
        replayer.replay("decisions.jsonl", stream)
    report = replayer.report(policy_name="new.json", against_name="old.json")

    # or, from files, directories, globs, .gz or fsspec URLs, here or on a Dask cluster:
    report = replay_logs(new_policy, ["logs/"], against=old_policy, workers=2)

Input: the gate's decision log (docs/decision-log.md) or JSON Lines of `Request.to_dict()`.
"""

from rumpolicy.analysis.replay.distributed import ReplayError, replay_logs
from rumpolicy.analysis.replay.format import format_report
from rumpolicy.analysis.replay.merge import Merger, ReplayPart
from rumpolicy.analysis.replay.reader import LogError
from rumpolicy.analysis.replay.replayer import Progress, Replayer
from rumpolicy.analysis.replay.report import (
    AliasCounts,
    BadLine,
    Change,
    Example,
    ReplayReport,
)
from rumpolicy.analysis.replay.sources import Source, expand, open_log
from rumpolicy.analysis.replay.units import (
    ReplayJob,
    Unit,
    plan,
    replay_unit,
    replay_units,
    storage_options,
)

__all__ = [
    "AliasCounts",
    "BadLine",
    "Change",
    "Example",
    "LogError",
    "Merger",
    "Progress",
    "ReplayError",
    "ReplayJob",
    "ReplayPart",
    "ReplayReport",
    "Replayer",
    "Source",
    "Unit",
    "expand",
    "format_report",
    "open_log",
    "plan",
    "replay_logs",
    "replay_unit",
    "replay_units",
    "storage_options",
]
