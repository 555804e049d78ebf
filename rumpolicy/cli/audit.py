"""`rumpolicy audit [PATH...]`: every finding in the policies under PATH (default: .), in policy
files, CloudFormation templates and Terraform plans; exit 0 when none reaches --fail-on, 1 when
one does, 2 for usage and input errors (a bad configuration or baseline included)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rumpolicy._words import counted
from rumpolicy.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    STDIN,
    UsageError,
    add_format,
    add_monitor,
    add_output,
    emit,
    to_stdout,
    write_file,
)
from rumpolicy.cli._discover import add_discovery, discover, load_config, settings

if TYPE_CHECKING:
    from rumpolicy.analysis.audit.baseline import Baseline

_SEVERITIES = ("error", "security", "warning", "suggestion")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "audit", help="find what is wrong or dangerous in policies, templates and plans",
        description="Audit app-monitor resource policies: policy files, CloudFormation/CDK "
                    "templates, Terraform plans. Exit 0 when no finding reaches --fail-on, 1 "
                    "when one does, 2 for usage and input errors.")
    add_discovery(parser)
    add_monitor(parser, "the app monitor the policies are attached to")
    add_format(parser, "sarif")
    add_output(parser)
    parser.add_argument("--fail-on", choices=_SEVERITIES,
                        help="exit 1 when a finding is this severe or worse (default: the "
                             "configuration's fail-on, else security)")
    parser.add_argument("--baseline", metavar="FILE",
                        help="report only findings this baseline does not hold")
    parser.add_argument("--write-baseline", metavar="FILE",
                        help="record today's findings in FILE (then exit 0)")
    parser.add_argument("--jobs", type=_jobs, metavar="N",
                        help="worker processes (default: the number of CPUs)")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress bar on stderr: auto shows it on a terminal for long runs")
    parser.add_argument("--list-checks", action="store_true",
                        help="list every check (id, severity, title) and exit")
    parser.set_defaults(run=run)


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of processes (1 or more)")
    return jobs


def run(args: argparse.Namespace) -> int:
    if args.list_checks:
        return _list_checks(args)
    from rumpolicy import __version__
    from rumpolicy.analysis.audit import Severity, baseline
    from rumpolicy.analysis.audit.batch import (
        FileResult,
        audit_candidates,
        collect,
        default_jobs,
    )
    from rumpolicy.analysis.audit.formats import json as json_format
    from rumpolicy.analysis.audit.formats import sarif, text
    from rumpolicy.analysis.audit.named import named_without_policy
    from rumpolicy.analysis.audit.runner import audit_contents
    from rumpolicy.analysis.sources import read_bytes
    from rumpolicy.cli._progress import ProgressBar

    if args.baseline and args.write_baseline:
        raise UsageError("--baseline and --write-baseline cannot be used together")
    config = load_config(args)
    known = _load_baseline(Path(args.baseline)) if args.baseline else None
    resolve = settings(args)
    found = discover(args, config)
    bar = ProgressBar(sys.stderr, len(found.files), "auditing",
                      enabled={"auto": None, "always": True, "never": False}[args.progress])
    results = list(audit_candidates(found.files, args.monitor, resolve,
                                    args.jobs or default_jobs(), bar.advance))
    bar.finish()
    if "-" in args.paths:
        contents = named_without_policy(read_bytes(sys.stdin.buffer.read(), STDIN, True,
                                                   resolve), True)
        findings, silenced = audit_contents(contents, args.monitor)
        results.append(FileResult(STDIN, contents.kind, tuple(findings), silenced))
    result = collect(iter(results), config)
    if args.write_baseline:
        write_file(Path(args.write_baseline), baseline.render(result.findings, config.base),
                   args.write_baseline)
        print(f"rumpolicy: wrote {counted(len(result.findings), 'finding')} to "
              f"{args.write_baseline}",
              file=sys.stderr)
        return EXIT_OK
    if known is not None:
        new, suppressed = baseline.split(result.findings, known, config.base)
        result = dataclasses.replace(result, findings=tuple(new), suppressed=suppressed)
    if args.format == "json":
        output = json_format.render(result)
    elif args.format == "sarif":
        output = sarif.render(result, version=__version__)
    else:
        output = text.render(result, colour=to_stdout(args) and _colour(sys.stdout))
    emit(args, output)
    threshold = Severity(args.fail_on or config.fail_on or "security")
    return EXIT_FAIL if any(f.severity.reaches(threshold) for f in result.findings) else EXIT_OK


def _load_baseline(path: Path) -> Baseline:
    from rumpolicy.analysis.audit.baseline import BaselineError, load

    try:
        return load(path)
    except BaselineError as err:
        raise UsageError(str(err)) from None


def _list_checks(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.audit import CHECKS

    if args.format == "json":
        rows = [{"id": c.id, "severity": c.severity.value, "title": c.title, "basis": c.basis,
                 "fix": c.fix, "doc": c.doc} for c in CHECKS]
        emit(args, json.dumps({"checks": rows}, indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.format != "text":
        raise UsageError("--list-checks prints text or json")
    width = max(len(c.id) for c in CHECKS)
    emit(args, "\n".join(f"{c.id:<{width}}  {c.severity.value:<10}  {c.title}" for c in CHECKS))
    return EXIT_OK


def _colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
