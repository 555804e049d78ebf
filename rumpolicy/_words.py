"""Words for what the commands print."""

from __future__ import annotations


def counted(count: int, noun: str, rest: str = "") -> str:
    """`1 file skipped`, `2 files skipped`: the noun takes an s unless there is one."""
    return f"{count} {noun}{'' if count == 1 else 's'}{' ' + rest if rest else ''}"
