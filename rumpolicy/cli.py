"""The `rumpolicy` command line: wiring only; the work is done by the library.

Every failure a user can cause ends in a one-line message naming the file and place, and exit
code 2; a traceback would mean a bug in rumpolicy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rumpolicy.engine import Effect, Request, evaluate
from rumpolicy.policy import Policy, PolicyError, load_policy

EXIT_OK, EXIT_DENY, EXIT_USAGE = 0, 1, 2


class _Usage(Exception):
    """A problem with what the user asked for; printed as one line, exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except _Usage as err:
        print(f"rumpolicy: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # pragma: no cover - e.g. `rumpolicy demo | head`
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rumpolicy",
        description="Load, check and evaluate CloudWatch RUM app-monitor resource policies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check policy files; exit 1 if any is invalid")
    validate.add_argument("paths", nargs="+", metavar="POLICY",
                          help="policy files, or directories searched for *.json")
    validate.set_defaults(run=_validate)

    ev = commands.add_parser("eval", help="decide one PutRumEvents request and explain it")
    ev.add_argument("policy", metavar="POLICY",
                    help="the app monitor's resource policy file ('-' for stdin, 'none' for "
                         "no policy attached)")
    ev.add_argument("--monitor", required=True, metavar="ARN",
                    help="the app monitor ARN (arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME)")
    ev.add_argument("--action", default="rum:PutRumEvents", help=argparse.SUPPRESS)
    ev.add_argument("--alias", help="the request's Alias (rum:alias)")
    ev.add_argument("--source-ip", metavar="IP", help="the caller's address (aws:SourceIp)")
    ev.add_argument("--principal", metavar="ARN",
                    help="a signed caller's IAM/STS ARN; omit for an anonymous (unsigned) caller")
    ev.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                    help="any condition key; repeat a key to make it multi-valued")
    ev.add_argument("--identity-policy", action="append", default=[], metavar="FILE",
                    help="an identity policy of the signed caller (repeatable)")
    ev.add_argument("--json", action="store_true", help="print the decision as JSON")
    ev.set_defaults(run=_eval)

    demo = commands.add_parser("demo", help="evaluate the bundled sample policies on example "
                                            "requests")
    demo.set_defaults(run=_demo)
    return parser


# -- validate -------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in _policy_files(args.paths):
        try:
            load_policy(_read(path))
        except _Usage as err:
            print(f"{path}: error: {err}")
            status = EXIT_DENY
        except PolicyError as err:
            print(err.format(str(path)))
            status = EXIT_DENY
        else:
            print(f"{path}: valid")
    return status


def _policy_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise _Usage(f"{name}: no *.json policy files in this directory")
            files.extend(found)
        else:
            files.append(path)
    return files


def _read(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _Usage(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise _Usage(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise _Usage(f"{path}: cannot read: {err.strerror}") from None


def _load(path: str, kind: str = "resource") -> Policy:
    try:
        return load_policy(_read(Path(path)), kind=kind)  # type: ignore[arg-type]
    except PolicyError as err:
        first = err.diagnostics[0]
        more = len(err.diagnostics) - 1
        raise _Usage(first.format(path) + (f" (and {more} more; run `rumpolicy validate "
                                           f"{path}`)" if more else "")) from None


# -- eval -----------------------------------------------------------------------------------


def _eval(args: argparse.Namespace) -> int:
    policy = None if args.policy == "none" else _load(args.policy)
    identities = [_load(p, "identity") for p in args.identity_policy]
    context: dict[str, str | list[str]] = {}
    if args.alias is not None:
        context["rum:alias"] = args.alias
    if args.source_ip is not None:
        context["aws:SourceIp"] = args.source_ip
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _Usage(f"--context '{item}': write KEY=VALUE, e.g. aws:SecureTransport=true")
        if key in context:
            previous = context[key]
            context[key] = [*([previous] if isinstance(previous, str) else previous), value]
        else:
            context[key] = value
    try:
        request = Request(resource=args.monitor, action=args.action, principal=args.principal,
                          context=context)
    except ValueError as err:
        raise _Usage(str(err)) from None
    decision = evaluate(policy, request, identity_policies=identities)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(decision.explain())
    return EXIT_OK if decision.effect is Effect.ALLOW else EXIT_DENY


# -- demo -----------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from rumpolicy._demo import run_demo

    run_demo(sys.stdout)
    return EXIT_OK
