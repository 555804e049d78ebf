"""Baselines: accept today's findings, fail only on new ones.

A finding is known by its file, check id and place in the policy (its JSON path, behind the
template resource for a policy in a template), never by line: adding lines above it does not
make it new. Two findings with the same key are counted, so a third copy of a problem the
baseline holds twice is new.

    {"rumpolicy-baseline": 1,
     "findings": [{"file": "policies/shop.json", "id": "missing-version", "path": "$",
                   "message": "..."}]}

`message` is kept for people reading the file and for review; matching ignores it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from rumpolicy.analysis.audit.findings import Finding
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
Key = tuple[str, str, str]


class BaselineError(ValueError):
    """One line: `file:line:column: what is wrong`."""


def key(finding: Finding) -> Key:
    return (Path(finding.file).as_posix(), finding.id, finding.path)


def render(findings: Iterable[Finding]) -> str:
    rows = sorted(({"file": Path(f.file).as_posix(), "id": f.id, "path": f.path,
                    "message": f.message} for f in findings),
                  key=lambda r: (r["file"], r["id"], r["path"], r["message"]))
    # ASCII: a file name that is not UTF-8 (surrogate escapes) is written as \u escapes
    body = ",\n".join("    " + json.dumps(row, ensure_ascii=True) for row in rows)
    return (f'{{"{FORMAT_KEY}": {VERSION}, "findings": [\n{body}\n]}}\n' if rows
            else f'{{"{FORMAT_KEY}": {VERSION}, "findings": []}}\n')


def load(path: Path) -> Counter[Key]:
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
    return known


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


def split(findings: Iterable[Finding], known: Counter[Key]) -> tuple[list[Finding], int]:
    """(the findings the baseline does not hold, how many it suppressed)."""
    left = Counter(known)
    new: list[Finding] = []
    suppressed = 0
    for finding in findings:
        k = key(finding)
        if left[k] > 0:
            left[k] -= 1
            suppressed += 1
        else:
            new.append(finding)
    return new, suppressed
