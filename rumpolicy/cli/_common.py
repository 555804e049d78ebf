"""What every command shares: the usage error, exit codes, reading and loading files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rumpolicy.policy import Policy
    from rumpolicy.policy.models import PolicyKind

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit 2."""


def read_text(path: Path) -> str:
    """The file's text, or a UsageError naming the file ('-' reads stdin)."""
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None


def load_policy_file(path: str, kind: PolicyKind = "resource") -> Policy:
    """Load a policy file; a bad policy is a UsageError showing its first diagnostic."""
    from rumpolicy.policy import PolicyError, load_policy

    try:
        return load_policy(read_text(Path(path)), kind=kind)
    except PolicyError as err:
        first = err.diagnostics[0]
        more = len(err.diagnostics) - 1
        hint = f" (and {more} more; run `rumpolicy validate {path}`)" if more else ""
        raise UsageError(first.format(path) + hint) from None


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
