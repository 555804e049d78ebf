"""`rumpolicy eval POLICY --monitor ARN ...`: one decision, explained; exit 0 allow, 1 deny."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rumpolicy.cli._common import (
    EXIT_FAIL,
    EXIT_OK,
    UsageError,
    add_format,
    add_monitor,
    add_output,
    emit,
    load_policy_file,
)


def register(commands: Any) -> None:
    parser = commands.add_parser("eval", help="decide one PutRumEvents request and explain it")
    parser.add_argument("policy", metavar="POLICY",
                        help="the app monitor's resource policy file ('-' for stdin, 'none' for "
                             "no policy attached)")
    add_monitor(parser, "the app monitor the request is sent to", required=True)
    parser.add_argument("--action", default="rum:PutRumEvents", help=argparse.SUPPRESS)
    parser.add_argument("--alias", help="the request's Alias (rum:alias)")
    parser.add_argument("--source-ip", metavar="IP",
                        help="the caller's address (aws:SourceIp); to try a malformed value, "
                             "give it as --context aws:SourceIp=VALUE")
    parser.add_argument("--principal", metavar="ARN",
                        help="a signed caller's IAM/STS ARN; omit for an anonymous caller")
    parser.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                        help="any condition key; repeat a key to make it multi-valued")
    parser.add_argument("--identity-policy", action="append", default=[], metavar="FILE",
                        help="an identity policy of the signed caller (repeatable)")
    add_format(parser)
    add_output(parser)
    parser.set_defaults(run=run)


def parse_context(items: list[str]) -> dict[str, str | list[str]]:
    """KEY=VALUE pairs; a key given twice becomes multi-valued."""
    context: dict[str, str | list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--context '{item}': write KEY=VALUE, e.g. aws:SecureTransport=true")
        previous = context.get(key)
        if previous is None:
            context[key] = value
        else:
            context[key] = [*([previous] if isinstance(previous, str) else previous), value]
    return context


def run(args: argparse.Namespace) -> int:
    from rumpolicy.engine import Effect, Request, evaluate

    policy = None if args.policy == "none" else load_policy_file(args.policy)
    identities = [load_policy_file(p, "identity") for p in args.identity_policy]
    context = parse_context(args.context)
    for flag, key, value in (("--alias", "rum:alias", args.alias),
                             ("--source-ip", "aws:SourceIp", args.source_ip)):
        if value is None:
            continue
        if any(k.lower() == key.lower() for k in context):  # condition keys ignore case
            raise UsageError(f"{flag} and --context {key}= both give {key}: keep one")
        context[key] = value
    if args.source_ip is not None:
        _check_address(args.source_ip)
    try:
        request = Request(resource=args.monitor, action=args.action, principal=args.principal,
                          context=context)
    except ValueError as err:
        raise UsageError(str(err)) from None
    decision = evaluate(policy, request, identity_policies=identities)
    if args.format == "json":
        emit(args, json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    else:
        emit(args, decision.explain())
    return EXIT_OK if decision.effect is Effect.ALLOW else EXIT_FAIL


def _check_address(value: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise UsageError(f"--source-ip '{value}' is not an IP address; to try a malformed "
                         f"value, give it as --context aws:SourceIp={value}") from None
