"""`rumpolicy replay --policy P [--against Q] LOG...`: what recorded traffic would get.

Exit 0 after a replay (bad lines are reported, not fatal); with `--against`, 1 by `--fail-on`:
`any` (default) when a request changes decision, `new-access` only when one is newly allowed,
`none` never; 2 when a policy or log cannot be read, or `--monitor` matches no record.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rumpolicy.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    UsageError,
    add_fail_on_changes,
    add_format,
    add_monitor,
    add_output,
    emit,
    load_policy_file,
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay", help="replay recorded requests (decision log or JSONL) through a policy")
    parser.add_argument("logs", nargs="+", metavar="LOG",
                        help="decision-log or request JSONL files ('-' for stdin, .gz read "
                             "as gzip)")
    parser.add_argument("--policy", required=True, metavar="POLICY",
                        help="the policy to replay through ('none' for no policy)")
    parser.add_argument("--against", metavar="POLICY",
                        help="also decide with this policy and report what changes")
    add_monitor(parser, "replay only records for this app monitor")
    add_format(parser)
    add_output(parser)
    add_fail_on_changes(parser, None)  # None: not given, which --against makes "any"
    parser.add_argument("--fail-on-change", dest="fail_on", action="store_const", const="any",
                        help=argparse.SUPPRESS)  # before --fail-on existed
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress on stderr: auto shows it on a terminal only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.replay import LogError, Replayer, format_report, open_log
    from rumpolicy.analysis.replay.progress import ProgressLine
    from rumpolicy.engine import Effect

    if args.fail_on is not None and args.against is None:
        raise UsageError("--fail-on needs --against POLICY to compare with")
    policy = None if args.policy == "none" else load_policy_file(args.policy)
    compare = args.against is not None
    against = None if args.against in (None, "none") else load_policy_file(args.against)
    replayer = Replayer(policy, against, compare=compare, monitor=args.monitor)
    progress = ProgressLine(sys.stderr, enabled=_PROGRESS[args.progress])
    try:
        for name in args.logs:
            size = _size(name)
            stream = open_log(name)
            try:
                for step in replayer.feed(name, stream):
                    progress.update(step, size)
            finally:
                if name != "-":
                    stream.close()
    except LogError as err:
        raise UsageError(str(err)) from None
    finally:
        progress.finish()
    report = replayer.report(policy_name=args.policy, against_name=args.against)
    if args.monitor is not None and report.records == 0 and report.skipped:
        raise UsageError(f"no record in the logs is for {args.monitor} ({report.skipped:,} "
                         "records for other app monitors)")
    if args.format == "json":
        emit(args, json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        emit(args, format_report(report))
    fail_on = args.fail_on or "any"
    if args.against is None or fail_on == "none":
        return EXIT_OK
    changes = [c for c in report.changes
               if fail_on == "any" or (c.now is Effect.ALLOW and c.before is not Effect.ALLOW)]
    return EXIT_FAIL if any(c.count for c in changes) else EXIT_OK


_PROGRESS: dict[str, bool | None] = {"auto": None, "always": True, "never": False}


def _size(name: str) -> int | None:
    if name == "-" or name.endswith(".gz"):
        return None
    try:
        return os.path.getsize(name)
    except OSError:
        return None
