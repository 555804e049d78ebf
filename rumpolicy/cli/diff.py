"""`rumpolicy diff OLD NEW [--monitor MONITOR] [--format text|json] [--fail-on ...]`: which
requests the two policies decide differently. Exit 1 by --fail-on: `any` (default) for any change
or a part not analysed, `new-access` only when NEW allows a request OLD did not (or a part was
not analysed, where that could hide), `none` never; 2 for usage errors."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rumpolicy._words import counted
from rumpolicy.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    STDIN,
    UsageError,
    add_fail_on_changes,
    add_format,
    add_monitor,
    add_output,
    emit,
    load_policy_file,
)

if TYPE_CHECKING:
    from rumpolicy.analysis.diff import IdentityPolicies, PolicyDiff
    from rumpolicy.policy import Policy


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "diff", help="every request two policies decide differently (exit 0 if none, else 1)")
    parser.add_argument("old", metavar="OLD",
                        help="the policy in force: a file, '-' for stdin, 'none' for no policy")
    parser.add_argument("new", metavar="NEW", help="the proposed policy (same forms as OLD)")
    add_monitor(parser, "only requests to this app monitor, and only rum:PutRumEvents "
                        "(default: every resource and every action)")
    parser.add_argument("--all-actions", action="store_true",
                        help="with --monitor, analyse every action, not only rum:PutRumEvents")
    add_format(parser)
    add_output(parser)
    add_fail_on_changes(parser, "any")
    parser.add_argument("--identity-policy", action="append", default=[],
                        metavar="PRINCIPAL=FILE",
                        help="an identity policy attached to an IAM user or role (a role's "
                             "sessions hold it too) or an STS session, held under both "
                             "policies (repeatable, one per principal)")
    parser.set_defaults(run=run)


def _load(path: str) -> Policy | None:
    return None if path == "none" else load_policy_file(path)


def _identities(items: list[str]) -> IdentityPolicies:
    """PRINCIPAL=FILE pairs. An ARN may itself hold '=' (IAM names allow it), so the split is
    the first '=' after which a file exists, else the first one."""
    from pathlib import Path

    from rumpolicy.analysis.diff import IdentityPolicies, holder_problem

    pairs = []
    for item in items:
        splits = [i for i, c in enumerate(item) if c == "="]
        if not splits:
            raise UsageError(f"--identity-policy '{item}': write PRINCIPAL=FILE, e.g. "
                             "arn:aws:iam::123456789012:role/rum-forwarder=forwarder.json")
        at = next((i for i in splits if Path(item[i + 1:]).is_file()), splits[0])
        principal, path = item[:at], item[at + 1:]
        problem = holder_problem(principal) or (
            "identity policies are read from files, not from stdin" if path == "-" else
            "no FILE after '=': write PRINCIPAL=FILE" if not path else None)
        if problem:
            raise UsageError(f"--identity-policy '{item}': {problem}")
        pairs.append((principal, load_policy_file(path, "identity")))
    try:
        return IdentityPolicies(tuple(pairs))
    except ValueError as err:
        raise UsageError(f"--identity-policy: {err}") from None


def run(args: argparse.Namespace) -> int:
    from rumpolicy.analysis.diff import diff_policies

    if args.old == "-" and args.new == "-":
        raise UsageError("OLD and NEW cannot both be read from stdin ('-')")
    old, new = _load(args.old), _load(args.new)
    result = diff_policies(old, new, monitor=args.monitor,
                           all_actions=True if args.all_actions else None,
                           identity_policies=_identities(args.identity_policy))
    if args.format == "json":
        emit(args, json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        emit(args, render(result, *(STDIN if n == "-" else n for n in (args.old, args.new))))
    return EXIT_FAIL if fails(args.fail_on, result) else EXIT_OK


def fails(fail_on: str, result: PolicyDiff) -> bool:
    """Whether the diff fails the run under --fail-on."""
    from rumpolicy.engine import Effect

    if fail_on == "none" or result.equivalent:
        return False
    if fail_on == "new-access":
        return bool(result.not_analysed) or any(
            c.to_effect is Effect.ALLOW and c.from_effect is not Effect.ALLOW
            for c in result.changes)
    return True


def render(result: PolicyDiff, old: str, new: str) -> str:
    lines = [f"{old} -> {new}", f"analysed: {result.scope}"]
    if result.equivalent:
        lines.append("equivalent: every request gets the same decision from both policies")
        return "\n".join(lines)
    count = len(result.changes)
    lines.append(counted(count, "change") if count else
                 "no change found in what was analysed")
    for number, change in enumerate(result.changes, start=1):
        witness = change.witness.to_dict()
        if witness["action"] == "rum:PutRumEvents":
            del witness["action"]
        lines += ["", f"{number}. {change.description}",
                  f"   witness: {json.dumps(witness, ensure_ascii=False)}",
                  f"   old: {change.from_effect.value}, new: {change.to_effect.value}"]
    if result.not_analysed:
        lines += ["", "not analysed (decisions there may differ; not proven equivalent):"]
        lines += [f"  - {item}" for item in result.not_analysed]
    return "\n".join(lines)
