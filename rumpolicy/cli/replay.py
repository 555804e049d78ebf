"""`rumpolicy replay --policy P [--against Q] LOG...`: what recorded traffic would get.

LOG is a file, a directory, a glob, `.gz`, `-` or an fsspec URL (s3://bucket/2026/11/*.gz);
`--workers N` or `--scheduler ADDRESS` replays on Dask (docs/rollouts.md).
Exit 0 after a replay (bad lines are reported, not fatal); with `--against`, 1 by `--fail-on`:
`any` (default) when a request changes decision, `new-access` only when one is newly allowed,
`none` never; 2 when a policy or log cannot be read, the replay cannot complete, or `--monitor`
matches no record.
"""

from __future__ import annotations

import argparse
import json
import re
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
                        help="decision-log or request JSONL: files, directories, globs, .gz, "
                             "fsspec URLs such as s3://bucket/logs/*.gz, or '-' for stdin")
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
    parser.add_argument("--caller", metavar="anonymous|ARN",
                        help="who sent the requests of CloudWatch RUM log events, which do not "
                             "record it (see docs/rollouts.md)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="replay on a local Dask cluster of N processes "
                            "(needs rumpolicy[distributed])")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="replay on a running Dask cluster, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--split-bytes", type=_size, metavar="BYTES", default=None,
                        help="with --workers/--scheduler: cut plain logs into units of about "
                             "this size (64MiB; K, M, G suffixes); a .gz log is one unit")
    parser.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                        help="fsspec storage option for URLs, e.g. endpoint_url=http://... "
                             "(repeatable; needs rumpolicy[s3] for s3://)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.replay import ReplayError, format_report, replay_logs, storage_options
    from rumpolicy.analysis.replay.units import SPLIT_BYTES
    from rumpolicy.cli._progress import ProgressLine
    from rumpolicy.engine import Effect

    if args.fail_on is not None and args.against is None:
        raise UsageError("--fail-on needs --against POLICY to compare with")
    if args.split_bytes is not None and args.workers is None and args.scheduler is None:
        raise UsageError("--split-bytes needs --workers N or --scheduler ADDRESS")
    try:
        options = storage_options(args.storage_option)
    except ValueError as err:
        raise UsageError(f"--storage-option {err}") from None
    if [args.policy, args.against, *args.logs].count("-") > 1:
        raise UsageError("standard input ('-') can be read only once: name one of the policy "
                         "and the logs '-', the others by file")
    policy = None if args.policy == "none" else load_policy_file(args.policy)
    against = None if args.against in (None, "none") else load_policy_file(args.against)
    progress = ProgressLine(sys.stderr, enabled=_PROGRESS[args.progress])
    try:
        report = replay_logs(policy, args.logs, against=against,
                             compare=args.against is not None, monitor=args.monitor,
                             storage_options=options, workers=args.workers,
                             scheduler=args.scheduler,
                             split_bytes=args.split_bytes or SPLIT_BYTES,
                             policy_name=args.policy, against_name=args.against,
                             caller=args.caller, progress=progress.update)
    except ReplayError as err:
        raise UsageError(str(err)) from None
    finally:
        progress.finish()
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


_SIZE = re.compile(r"(\d+)\s*(?:([KMG])(?:i?B)?|B)?", re.IGNORECASE)
_MULTIPLES = {None: 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _size(text: str) -> int:
    """A byte count: 1048576, 64M, 64MiB, 1G (binary multiples)."""
    found = _SIZE.fullmatch(text.strip())
    if found is None or int(found[1]) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size such as 1048576, 64M or 1G")
    unit = found[2].upper() if found[2] else None
    return int(found[1]) * _MULTIPLES[unit]
