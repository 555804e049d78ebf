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

from rumpolicy.cli._common import EXIT_OK, EXIT_USAGE, Parser, UsageError

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
    args, extras = parser.parse_known_args(argv)
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
