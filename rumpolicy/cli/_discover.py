"""The file-finding options `validate` and `audit` share, and the configuration they read."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rumpolicy.cli._common import UsageError

if TYPE_CHECKING:
    from rumpolicy.analysis.audit.config import AuditConfig
    from rumpolicy.analysis.sources import Discovery, Settings


def add_discovery(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                        help="files, directories to search, or '-' for standard input "
                             "(default: .)")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="leave out what matches this gitignore-style pattern (repeatable; "
                             "adds to the configuration's exclude)")
    parser.add_argument("--force-exclude", action="store_true",
                        help="apply the excludes to files named on the command line too, and "
                             "skip named files that hold no policy (for pre-commit)")
    parser.add_argument("--config", metavar="FILE",
                        help="the configuration file (default: the nearest rumpolicy.toml or "
                             "pyproject.toml with [tool.rumpolicy], from here upwards)")
    parser.add_argument("--account", metavar="ID",
                        help="the account templates' ${AWS::AccountId} stands for "
                             "(default: 123456789012)")
    parser.add_argument("--region", metavar="REGION",
                        help="the Region templates' ${AWS::Region} stands for "
                             "(default: us-east-1)")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter's value (repeatable; default: its Default)")


def load_config(args: argparse.Namespace) -> AuditConfig:
    from rumpolicy.analysis.audit.config import AuditConfig, ConfigError, find_config
    from rumpolicy.analysis.audit.config import load_config as load

    path = Path(args.config) if args.config else find_config(Path.cwd())
    if path is None:
        return AuditConfig(base=Path.cwd())
    try:
        return load(path)
    except ConfigError as err:
        raise UsageError(str(err)) from None


def settings(args: argparse.Namespace) -> Settings:
    import re

    from rumpolicy.analysis.sources import Settings

    defaults = Settings()
    account = args.account or defaults.account
    region = args.region or defaults.region
    if not re.fullmatch(r"\d{12}", account):
        raise UsageError(f"--account '{account}': an AWS account id is 12 digits")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
        raise UsageError(f"--region '{region}': not a Region name (e.g. eu-west-1)")
    parameters = []
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--parameter '{item}': write NAME=VALUE")
        parameters.append((name, value))
    return Settings(account, region, tuple(parameters))


def discover(args: argparse.Namespace, config: AuditConfig) -> Discovery:
    """The files to read (not '-'); a path that does not exist, or an `--exclude` pattern
    that cannot be compiled, is a usage error."""
    from rumpolicy.analysis.sources import PatternSet
    from rumpolicy.analysis.sources import discover as walk
    from rumpolicy.analysis.sources.globs import GlobError

    paths = [Path(p) for p in args.paths if p != "-"]
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
    try:
        excludes = [config.excludes(), PatternSet.of(Path.cwd(), args.exclude, "--exclude")]
    except GlobError as err:
        raise UsageError(str(err)) from None
    found = walk(paths, excludes, force_exclude=args.force_exclude)
    if not found.files and "-" not in args.paths:  # like ruff: said, but not an error
        print(f"rumpolicy: warning: no files to read under {' '.join(args.paths)} (after "
              "excludes)", file=sys.stderr)
    return found
