"""The `rumpolicy` command line: one module per command, each with `register(commands)` adding
its sub-parser and a `run(args) -> exit code`. Wiring only; the library does the work, and each
command imports what it needs when it runs, so `rumpolicy eval` starts fast.

A failure the user can cause ends in a one-line message and exit code 2; a traceback would be a
bug in rumpolicy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import cast

from rumpolicy.cli._common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Parser, UsageError

COMMANDS = ("validate", "eval", "demo", "serve", "events", "audit", "test", "replay", "diff")
"""Modules under `rumpolicy.cli`, in the order `--help` lists them."""


def build_parser() -> Parser:
    from rumpolicy import __version__

    parser = Parser(
        prog="rumpolicy",
        description="Load, check and evaluate CloudWatch RUM app-monitor resource policies.",
        epilog="Exit status: 0 ok; 1 findings, denies, failed expectations or changes; "
               "2 usage or input errors.",
    )
    parser.add_argument("--version", action="version", version=f"rumpolicy {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"rumpolicy.cli.{name}").register(commands)
        commands.choices[name].set_defaults(command_parser=commands.choices[name])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    _refuse_unknown_flags(parser, arguments)
    args, extras = parser.parse_known_args(arguments)
    if extras:
        command: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        (command if isinstance(command, Parser) else parser).unrecognized(extras)
    try:
        return int(args.run(args))
    except UsageError as err:
        print(f"rumpolicy: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `rumpolicy demo | head`
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C: no report, and no traceback either
        print("rumpolicy: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _refuse_unknown_flags(parser: Parser, argv: list[str]) -> None:
    """A flag the command does not have is reported first, with a suggestion: argparse would
    otherwise complain about the required option it hides (`--mon ARN` for `--monitor ARN`)."""
    action = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    choices = cast(dict[str, Parser], action.choices)
    for index, token in enumerate(argv):
        if token in choices:
            command = choices[token]
            rest = argv[index + 1:]
            rest = rest[:rest.index("--")] if "--" in rest else rest
            unknown = [t for t in rest if t.startswith("--")
                       and t.split("=", 1)[0] not in command._option_string_actions]
            if unknown:
                command.unrecognized(unknown)
            return
        if not token.startswith("-"):
            return
