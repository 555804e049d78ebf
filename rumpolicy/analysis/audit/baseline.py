"""Baselines: accept today's findings, fail only on new ones.

A finding is known by its file, check id and place in the policy (its JSON path, behind the
template resource for a policy in a template), never by line: adding lines above it does not
make it new. Two findings with the same key are counted, so a third copy of a problem the
baseline holds twice is new.

    {"rumpolicy-baseline": 1, "files-relative-to": "project-root",
     "findings": [{"file": "policies/shop.json", "id": "missing-version", "path": "$",
                   "message": "..."}]}

`file` is relative to the project root (the directory of the configuration file in use, else
the directory the audit ran in), with `/` between names on every OS, so one baseline matches
whether the audit runs from the root, from a subdirectory, or is given absolute or `./`
paths. Baselines written before that carry no `files-relative-to`: their names are as the audit
printed them, and they are matched that way, so they keep working where they did (the same
directory, the same spelling). The format stays version 1: a reader that does not know
`files-relative-to` ignores it and still matches a baseline used from the root.

`message` is kept for people reading the file and for review; matching ignores it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.sources import STDIN
from rumpolicy.analysis.sources.tree import (
    Mapping,
    Scalar,
    Sequence,
    Text,
    TreeError,
    from_json,
)

FORMAT_KEY = "rumpolicy-baseline"
VERSION = 1
RELATIVE_KEY = "files-relative-to"
PROJECT_ROOT = "project-root"
Key = tuple[str, str, str]


class BaselineError(ValueError):
    """One line: `file:line:column: what is wrong`."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The findings a baseline file holds, and how its file names are to be read."""

    known: Counter[Key]
    by_project_root: bool = True
    """File names relative to the project root; False for a baseline written before, whose
    names are as the audit printed them (relative to where it ran, or absolute)."""


def project_path(file: str, root: str | os.PathLike[str], here: str | None = None) -> str:
    """`file` as the audit names it (relative to `here`, the current directory, or absolute),
    relative to `root` with `/` separators: the same name whatever directory the audit runs in
    and however the path was spelled. Lexical: symbolic links are not followed. Standard input
    keeps its name."""
    if file == STDIN:
        return file
    absolute = os.path.normpath(os.path.join(os.getcwd() if here is None else here, file))
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive than the root's (Windows): no relative path exists
        relative = absolute
    return PurePath(relative).as_posix()


def render(findings: Iterable[Finding], root: str | os.PathLike[str]) -> str:
    """The baseline file for `findings`, their files named relative to `root`."""
    rows = sorted(({"file": project_path(f.file, root), "id": f.id, "path": f.path,
                    "message": f.message} for f in findings),
                  key=lambda r: (r["file"], r["id"], r["path"], r["message"]))
    # ASCII: a file name that is not UTF-8 (surrogate escapes) is written as \u escapes
    body = ",\n".join("    " + json.dumps(row, ensure_ascii=True) for row in rows)
    head = f'{{"{FORMAT_KEY}": {VERSION}, "{RELATIVE_KEY}": "{PROJECT_ROOT}", "findings": '
    return f"{head}[\n{body}\n]}}\n" if rows else f"{head}[]}}\n"


def load(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (write one with "
                            f"--write-baseline {path})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BaselineError(f"{path}: cannot read: {err}") from None
    try:
        root = from_json(text)
    except TreeError as err:
        raise BaselineError(f"{path}:{err.line}:{err.column}: not a baseline: "
                            f"{err.message}") from None

    def fail(node: object, message: str) -> BaselineError:
        line, column = getattr(node, "line", 1), getattr(node, "column", 1)
        return BaselineError(f"{path}:{line}:{column}: {message}")

    version = root.get(FORMAT_KEY) if isinstance(root, Mapping) else None
    if not _is_version(version):
        raise fail(version or root, f'not a rumpolicy baseline: expected {{"{FORMAT_KEY}": '
                   f'{VERSION}, "findings": [...]}} (written by --write-baseline)')
    assert isinstance(root, Mapping)
    relative_to = root.get(RELATIVE_KEY)
    if relative_to is not None and not (isinstance(relative_to, Text)
                                        and relative_to.value == PROJECT_ROOT):
        raise fail(relative_to, f'"{RELATIVE_KEY}" must be "{PROJECT_ROOT}" (or absent, for '
                   "file names as an older rumpolicy printed them)")
    rows = root.get("findings")
    if not isinstance(rows, Sequence):
        raise fail(rows or root, '"findings" must be a list')
    known: Counter[Key] = Counter()
    starts = [0, *(i + 1 for i, c in enumerate(text) if c == "\n")]
    for row in rows.items:
        values = []
        for name in ("file", "id", "path"):
            value = row.get(name) if isinstance(row, Mapping) else None
            if not isinstance(value, Text):
                raise fail(value or row, f'each finding needs "{name}" as a string')
            values.append(_string_at(text, starts, value))
        known[(values[0], values[1], values[2])] += 1
    return Baseline(known, by_project_root=relative_to is not None)


def _string_at(text: str, starts: list[int], node: Text) -> str:
    """The string as JSON decodes it, lone surrogate escapes included: a file name that is not
    UTF-8 is written as `\\udcff` and must read back as the name the audit reports (the
    positioned parser refuses such escapes, as a policy must)."""
    offset = starts[node.line - 1] + node.column - 1
    if text.startswith('"', offset):
        try:
            return str(json.JSONDecoder().raw_decode(text, offset)[0])
        except ValueError:
            pass
    return node.value


def _is_version(node: object) -> bool:
    """The integer 1 itself: JSON's `true` and `1.0` compare equal to 1 in Python, but are not
    what --write-baseline writes."""
    value = getattr(node, "value", None)
    return isinstance(node, Scalar) and type(value) is int and value == VERSION


def key(finding: Finding, root: str | os.PathLike[str] | None) -> Key:
    """How a baseline knows `finding`: its file relative to `root`, or as printed when `root`
    is None (an older baseline)."""
    file = Path(finding.file).as_posix() if root is None else project_path(finding.file, root)
    return (file, finding.id, finding.path)


def split(findings: Iterable[Finding], baseline: Baseline, root: str | os.PathLike[str]
          ) -> tuple[list[Finding], int]:
    """(the findings the baseline does not hold, how many it suppressed); `root` is the project
    root the baseline's file names are relative to."""
    left = Counter(baseline.known)
    base = root if baseline.by_project_root else None
    new: list[Finding] = []
    suppressed = 0
    for finding in findings:
        k = key(finding, base)
        if left[k] > 0:
            left[k] -= 1
            suppressed += 1
        else:
            new.append(finding)
    return new, suppressed
