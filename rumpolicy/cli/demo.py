"""`rumpolicy demo`: the bundled AWS sample and alias policies decided on example requests.

The README's first command runs this, so a new user sees the engine's answers (and one
explanation) without writing a policy first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from rumpolicy.cli._common import EXIT_OK

_ACCOUNT = "123456789012"
_EXAMPLES: tuple[tuple[str, str, dict[str, str], str | None], ...] = (
    ("aws-sample-alias.json", "MyApplication", {"rum:alias": "alias1"}, None),
    ("aws-sample-alias.json", "MyApplication", {"rum:alias": "Alias1"}, None),
    ("aws-sample-alias.json", "MyApplication", {}, None),
    ("aws-sample-notipaddress.json", "AppMonitorName", {"aws:SourceIp": "198.51.100.252"}, None),
    ("aws-sample-notipaddress.json", "AppMonitorName", {"aws:SourceIp": "203.0.113.9"}, None),
    ("aws-sample-allow-all.json", "app monitor name", {}, None),
    ("aws-sample-allow-all.json", "MyApplication", {}, None),
    ("alias-canary.json", "shop", {"rum:alias": "canary-7", "aws:SourceIp": "203.0.113.9"}, None),
    ("alias-canary.json", "shop", {"rum:alias": "canary-internal",
                                   "aws:SourceIp": "203.0.113.9"}, None),
    ("alias-canary.json", "shop", {"rum:alias": "shop-v2", "aws:SourceIp": "2001:db8::7"}, None),
    ("alias-canary.json", "shop", {"rum:alias": "shop-v2"},
     f"arn:aws:iam::{_ACCOUNT}:user/alice"),
    ("alias-canary.json", "shop", {"rum:alias": "shop-v2", "aws:SourceIp": "203.0.113.9"},
     "arn:aws:iam::999999999999:user/mallory"),
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="evaluate the bundled sample policies on example requests")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    run_demo(sys.stdout)
    return EXIT_OK


def fixtures_dir() -> Path:
    """Inside the wheel the samples ship as `rumpolicy/_fixtures`; in a checkout, top-level."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_fixtures" / "policies"
    if packaged.is_dir():
        return packaged
    return package.parent / "fixtures" / "policies"


def run_demo(out: TextIO) -> None:
    from rumpolicy.engine import Request, compile_policy
    from rumpolicy.policy import load_policy

    folder = fixtures_dir()
    compiled = {}
    rows = []
    explained = None
    for name, monitor, context, principal in _EXAMPLES:
        if name not in compiled:
            compiled[name] = compile_policy(load_policy((folder / name).read_text("utf-8")))
        region = "us-east-1"
        request = Request(resource=f"arn:aws:rum:{region}:{_ACCOUNT}:appmonitor/{monitor}",
                          principal=principal, context=context)
        decision = compiled[name].evaluate(request)
        caller = principal.rsplit(":", 2)[-2] + ":" + principal.rsplit("/", 1)[-1] \
            if principal else "anonymous"
        shown = ", ".join(f"{k}={v}" for k, v in context.items()) or "(no context)"
        rows.append((name, monitor, caller, shown, decision.effect.value, decision.reason))
        if explained is None and not decision.allowed:
            explained = decision
    widths = [max(len(str(row[i])) for row in rows) for i in range(6)]
    header = ("policy", "monitor", "caller", "context", "decision", "reason")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        out.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")
    if explained is not None:
        out.write("\nWhy the first deny was denied:\n" + explained.explain() + "\n")
    out.write(f"\nPolicies: {folder}\nTry: rumpolicy eval {folder / 'aws-sample-alias.json'} "
              f"--monitor arn:aws:rum:us-east-1:{_ACCOUNT}:appmonitor/MyApplication "
              "--alias alias1\n")
