"""`rumpolicy validate [PATH...]`: every diagnostic as file:line:column: code: message, for the
same files `audit` reads (policies, templates, plans), classified the same way."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rumpolicy._words import counted
from rumpolicy.cli._common import EXIT_FAIL, EXIT_OK, STDIN, add_format, add_output, emit
from rumpolicy.cli._discover import add_discovery, discover, load_config, settings

if TYPE_CHECKING:
    from rumpolicy.analysis.sources import FileContents


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate", help="check that policies load as AWS would accept them; exit 1 if not",
        description="Check policy files, and the policies in CloudFormation templates and "
                    "Terraform plans. Exit 0 when all are valid, 1 when one is not, 2 for "
                    "usage errors.")
    add_discovery(parser)
    add_format(parser)
    add_output(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.audit.named import named_without_policy
    from rumpolicy.analysis.sources import read_bytes, read_path

    config = load_config(args)
    resolve = settings(args)
    found = discover(args, config)
    contents = [named_without_policy(read_path(c.path, c.named, resolve), c.named)
                for c in found.files]
    if "-" in args.paths:
        contents.append(named_without_policy(read_bytes(sys.stdin.buffer.read(), STDIN, True,
                                                        resolve), True))
    reports = [_report(c) for c in contents if c.kind != "skipped"]
    skipped = sum(1 for c in contents if c.kind == "skipped")
    if args.format == "json":
        emit(args, json.dumps({"files": reports, "summary": {"files": len(reports),
                                                             "skipped": skipped}},
                              indent=2, ensure_ascii=False))
    else:
        lines = []
        for report in reports:
            lines += [f"{report['file']}:{d['line']}:{d['column']}: {d['code']}: {d['message']}"
                      for d in report["diagnostics"]] or [
                f"{report['file']}: valid" + (f" ({counted(report['ignored'], 'problem')} "
                                              "ignored by the template's Metadata)"
                                              if report["ignored"] else "")]
        if skipped:
            lines.append(counted(skipped, "file", "without policies skipped"))
        emit(args, "\n".join(lines))
    return EXIT_FAIL if any(r["diagnostics"] for r in reports) else EXIT_OK


def _report(contents: FileContents) -> dict[str, Any]:
    """The file's diagnostics, each at its place in the file (a template's policy mapped back)."""
    from rumpolicy.policy import PolicyError, load_policy

    # A template's Metadata may silence a problem (unresolved-policy, say), as in the audit.
    diagnostics = [{"code": p.code, "message": p.message, "line": p.line, "column": p.column,
                    "path": p.place or "$"} for p in contents.problems if p.code not in p.ignore]
    for policy in contents.policies:
        try:
            load_policy(policy.text)
        except PolicyError as err:
            for d in err.diagnostics:
                line, column = (policy.positions.locate(d.line, d.column) if policy.positions
                                else (d.line, d.column))
                path = f"{policy.place}:{d.path}" if policy.place else d.path
                diagnostics.append({"code": d.code, "message": d.message, "line": line,
                                    "column": column, "path": path})
    diagnostics.sort(key=lambda d: (d["line"], d["column"], d["code"]))
    ignored = sum(p.code in p.ignore for p in contents.problems)
    return {"file": contents.file, "kind": contents.kind, "valid": not diagnostics,
            "diagnostics": diagnostics, "ignored": ignored}
