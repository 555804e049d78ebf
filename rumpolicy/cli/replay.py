"""`rumpolicy replay --policy P [--against Q] LOG...`: what recorded traffic would get.

Exit 0 after a replay (bad lines are reported, not fatal); 1 with `--fail-on-change` when a
request changes decision; 2 when a policy or log cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rumpolicy.cli._common import EXIT_FAIL, EXIT_OK, UsageError, load_policy_file


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
    parser.add_argument("--monitor", metavar="ARN",
                        help="replay only records for this app monitor")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--fail-on-change", action="store_true",
                        help="exit 1 when a request changes decision (with --against)")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress on stderr: auto shows it on a terminal only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.replay import LogError, Replayer, format_report, open_log
    from rumpolicy.analysis.replay.progress import ProgressLine

    if args.fail_on_change and args.against is None:
        raise UsageError("--fail-on-change needs --against POLICY to compare with")
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
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(format_report(report))
    if args.fail_on_change and report.changed:
        return EXIT_FAIL
    return EXIT_OK


_PROGRESS: dict[str, bool | None] = {"auto": None, "always": True, "never": False}


def _size(name: str) -> int | None:
    if name == "-" or name.endswith(".gz"):
        return None
    try:
        return os.path.getsize(name)
    except OSError:
        return None
