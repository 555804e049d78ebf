"""What every command shares: the usage error and exit codes, the parser that suggests what a
mistyped flag meant, `--format`/`--output`, what `--monitor` means, reading and loading files."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rumpolicy._suggest import did_you_mean
from rumpolicy.policy.diagnostics import byte_position

if TYPE_CHECKING:
    from rumpolicy.policy import Policy
    from rumpolicy.policy.models import PolicyKind

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports a command stopped by Ctrl-C."""
STDIN = "<stdin>"
"""How every command names standard input ('-' on the command line) in what it prints."""


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (`--mon` is not `--monitor`: a later option could make it
    ambiguous), whose errors print the command's own usage and the nearest option or choice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2))
            message += did_you_mean(choice.group(1), options)
        super().error(message)

    def unrecognized(self, extras: list[str]) -> NoReturn:
        """Unknown arguments: this command's usage, and the option the first one may mean."""
        flags = [o for o, a in self._option_string_actions.items()
                 if o.startswith("--") and a.help != argparse.SUPPRESS]
        hint = ""
        for extra in extras:
            if extra.startswith("-"):
                typed = extra.split("=", 1)[0]
                prefixed = [f for f in flags if f.startswith(typed)]  # an abbreviation
                hint = (f"; did you mean '{prefixed[0]}'?" if len(prefixed) == 1
                        else did_you_mean(typed, flags))
                break
        self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def add_format(parser: argparse.ArgumentParser, *more: str) -> None:
    """`--format text|json` (plus `more`, e.g. sarif or junit); `--json` stays as a hidden alias
    of `--format json` for scripts written before `--format`."""
    choices = ("text", "json", *more)
    parser.add_argument("--format", choices=choices, default="text",
                        help=f"output format: {', '.join(choices)} (default: text)")
    parser.add_argument("--json", dest="format", action="store_const", const="json",
                        help=argparse.SUPPRESS)


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", metavar="FILE",
                        help="write the report to FILE instead of standard output")


def emit(args: argparse.Namespace, text: str) -> None:
    """The report, to --output or standard output."""
    if not text.endswith("\n"):
        text += "\n"
    output = getattr(args, "output", None)
    if output is None:
        sys.stdout.write(text)
        return
    write_file(Path(output), text, f"--output {output}")


def write_file(path: Path, text: str, label: str) -> None:
    """Write a report, a baseline or JUnit XML whole or not at all: into a temporary file beside
    the target, then renamed over it, so a failure never leaves an empty or cut-off file where
    a good one was. `label` names the target in the error (`--output FILE`)."""
    data = _encode(text)
    target = Path(os.path.realpath(path))  # through a symlink, as a plain write would go
    try:
        if target.exists() and not target.is_file():  # /dev/null, a FIFO: nothing to replace
            with open(target, "wb") as stream:
                stream.write(data)
            return
        _replace(target, data)
    except OSError as err:
        raise UsageError(f"{label}: cannot write: {err.strerror or err}") from None


def _encode(text: str) -> bytes:
    """UTF-8; a file name that is not UTF-8 (held as surrogate escapes) gets its own bytes back,
    any other unencodable character a backslash escape, never a crash."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def _replace(target: Path, data: bytes) -> None:
    """The temporary file gets the mode the target has, or a new file's usual mode."""
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def to_stdout(args: argparse.Namespace) -> bool:
    """Whether the report goes to standard output (then colour may apply)."""
    return getattr(args, "output", None) is None


FAIL_ON_CHANGES = ("any", "new-access", "none")
"""`--fail-on` of the commands that compare two policies (diff, replay --against)."""


def add_fail_on_changes(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument("--fail-on", choices=FAIL_ON_CHANGES, default=default,
                        help="exit 1 on any change (default), only on new access (the new "
                             "policy allows a request the old one did not), or never")


def add_monitor(parser: argparse.ArgumentParser, help: str, required: bool = False) -> None:
    from rumpolicy.policy.arns import PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION

    parser.add_argument(
        "--monitor", type=monitor_arn, required=required, metavar="MONITOR",
        help=f"{help}: an app monitor ARN, or a NAME meaning arn:aws:rum:{PLACEHOLDER_REGION}:"
             f"{PLACEHOLDER_ACCOUNT}:appmonitor/NAME")


def monitor_arn(value: str) -> str:
    """`--monitor`: an app monitor ARN as given, or a name completed with the placeholder
    account and Region (the gate's defaults)."""
    from rumpolicy.policy.arns import (
        APP_MONITOR_ARN,
        APP_MONITOR_NAME,
        PLACEHOLDER_ACCOUNT,
        PLACEHOLDER_REGION,
    )

    if value.startswith("arn:"):
        if APP_MONITOR_ARN.fullmatch(value):
            return value
        raise argparse.ArgumentTypeError(
            f"'{value}' is not an app monitor ARN: write arn:aws:rum:REGION:ACCOUNT:appmonitor/"
            "NAME, or just NAME")
    if APP_MONITOR_NAME.fullmatch(value):
        return f"arn:aws:rum:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:appmonitor/{value}"
    raise argparse.ArgumentTypeError(
        f"'{value}' is neither an app monitor ARN nor an app monitor name (1 to 255 of "
        "A-Z a-z 0-9 . - _ #, not starting with '.')")


def read_text(path: Path) -> str:
    """The file's text, or a UsageError naming the file ('-' reads stdin)."""
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as err:
        line, column = byte_position(err.object, err.start)
        raise UsageError(f"{path}:{line}:{column}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None


def load_policy_file(path: str, kind: PolicyKind = "resource") -> Policy:
    """Load a policy file; a bad policy is a UsageError showing its first diagnostic."""
    from rumpolicy.policy import PolicyError, load_policy

    shown = STDIN if path == "-" else path
    try:
        return load_policy(read_text(Path(path)), kind=kind)
    except PolicyError as err:
        first = err.diagnostics[0]
        more = len(err.diagnostics) - 1
        hint = f" (and {more} more; run `rumpolicy validate {path}`)" if more else ""
        raise UsageError(first.format(shown) + hint) from None


def policy_files(paths: list[str], pattern: str = "*.json") -> list[Path]:
    """Files named, and files matching `pattern` under directories named."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob(pattern) if p.is_file())
            if not found:
                raise UsageError(f"{name}: no {pattern} files in this directory")
            files.extend(found)
        else:
            files.append(path)
    return files
