"""`rumpolicy test FILE...`: run rollout test files like a test runner.

Exit 0 when every expectation holds, 1 when one fails, 2 when a file cannot be run (a syntax
error, a policy that does not load) or the command is misused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rumpolicy.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    add_format,
    add_output,
    emit,
    policy_files,
    write_file,
)

if TYPE_CHECKING:
    from rumpolicy.analysis.rollout.runner import FileOutcome


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "test", help="run rollout test files (*.rollout); exit 1 if an expectation fails")
    parser.add_argument("paths", nargs="+", metavar="FILE",
                        help="rollout files, or directories searched for *.rollout")
    parser.add_argument("--junit", metavar="PATH",
                        help="also write the results as JUnit XML to PATH, for CI")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="list only failing expectations and file errors")
    add_format(parser, "junit")
    add_output(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.rollout import format_outcomes, run_files, to_junit

    results = run_files(policy_files(args.paths, "*.rollout"))
    if args.format == "junit":
        emit(args, to_junit(results))
    elif args.format == "json":
        emit(args, json.dumps({"files": [_file_json(r) for r in results]}, indent=2,
                              ensure_ascii=False))
    else:
        emit(args, format_outcomes(results, verbose=not args.quiet))
    if args.junit:
        write_file(Path(args.junit), to_junit(results), f"--junit {args.junit}")
    if any(r.problems for r in results):
        return EXIT_USAGE
    return EXIT_FAIL if any(r.failed for r in results) else EXIT_OK


def _file_json(result: FileOutcome) -> dict[str, Any]:
    return {
        "file": str(result.path),
        "passed": sum(1 for o in result.outcomes if o.passed),
        "failed": len(result.failed),
        "problems": [p.format() for p in result.problems],
        "expectations": [{"expectation": o.summary, "passed": o.passed, "detail": o.detail,
                          "seconds": round(o.seconds, 6)} for o in result.outcomes],
    }
