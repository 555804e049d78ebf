"""`rumpolicy audit PATH... [--monitor ARN] [--format text|json|sarif] [--fail-on SEVERITY]`:
every finding in the policies named (directories are searched for *.json); exit 0 when none
reaches --fail-on, 1 when one does, 2 for usage errors."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from rumpolicy.cli._common import EXIT_FAIL, EXIT_OK, UsageError, policy_files

_SEVERITIES = ("error", "security", "warning", "suggestion")
_MONITOR = re.compile(r"arn:[a-z-]+:rum:[a-z0-9-]+:\d{12}:appmonitor/(?!\.)[.\-_#A-Za-z0-9]{1,255}")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "audit", help="find what is wrong or dangerous in policies (text, JSON or SARIF)",
        description="Audit app-monitor resource policies. Exit 0 when no finding reaches "
                    "--fail-on, 1 when one does, 2 for usage errors.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="policy files, directories searched for *.json, or '-' for "
                             "standard input")
    parser.add_argument("--monitor", metavar="ARN",
                        help="the app monitor the policies are attached to "
                             "(arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--fail-on", choices=_SEVERITIES, default="security",
                        help="exit 1 when a finding is this severe or worse (default: security)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy import __version__
    from rumpolicy.analysis.audit import AuditResult, Finding, Severity, audit_bytes, audit_file
    from rumpolicy.analysis.audit.formats import json as json_format
    from rumpolicy.analysis.audit.formats import sarif, text

    if args.monitor is not None and not _MONITOR.fullmatch(args.monitor):
        raise UsageError(f"--monitor '{args.monitor}' is not an app monitor ARN: write "
                         "arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME")
    for name in args.paths:
        if name != "-" and not Path(name).exists():
            raise UsageError(f"{name}: no such file or directory")
    files: list[str] = []
    findings: list[Finding] = []
    for name in args.paths:
        if name == "-":
            files.append("<stdin>")
            findings.extend(audit_bytes(sys.stdin.buffer.read(), "<stdin>", args.monitor))
            continue
        for path in policy_files([name]):
            files.append(str(path))
            findings.extend(audit_file(path, args.monitor))
    result = AuditResult(tuple(files), tuple(findings))
    if args.format == "json":
        output = json_format.render(result)
    elif args.format == "sarif":
        output = sarif.render(result, version=__version__)
    else:
        output = text.render(result, colour=_colour(sys.stdout))
    sys.stdout.write(output)
    threshold = Severity(args.fail_on)
    return EXIT_FAIL if any(f.severity.reaches(threshold) for f in result.findings) else EXIT_OK


def _colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
