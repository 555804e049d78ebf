"""`rumpolicy validate POLICY...`: every diagnostic as file:line:column: code: message."""

from __future__ import annotations

import argparse
from typing import Any

from rumpolicy.cli._common import EXIT_FAIL, EXIT_OK, UsageError, policy_files, read_text


def register(commands: Any) -> None:
    parser = commands.add_parser("validate", help="check policy files; exit 1 if any is invalid")
    parser.add_argument("paths", nargs="+", metavar="POLICY",
                        help="policy files, or directories searched for *.json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rumpolicy.policy import PolicyError, load_policy

    status = EXIT_OK
    for path in policy_files(args.paths):
        try:
            load_policy(read_text(path))
        except UsageError as err:
            print(f"{path}: error: {str(err).removeprefix(f'{path}: ')}")
            status = EXIT_FAIL
        except PolicyError as err:
            print(err.format(str(path)))
            status = EXIT_FAIL
        else:
            print(f"{path}: valid")
    return status
