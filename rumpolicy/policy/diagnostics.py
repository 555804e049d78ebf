"""Diagnostics: what is wrong in a policy, and exactly where.

Every problem the loader finds becomes a `Diagnostic` with a stable code, so that the CLI, the
audit and the gate's MalformedPolicyDocumentException can all show the same place and words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of byte `offset` in UTF-8 `data` valid up to it, as editors count: lines
    end at a newline, columns count characters from 1. Names where text that is not UTF-8
    starts."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8")) + 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    line: int
    column: int
    path: str

    def format(self, filename: str | None = None) -> str:
        where = f"{filename}:" if filename else ""
        return f"{where}{self.line}:{self.column}: {self.code}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }


class PolicyError(ValueError):
    """Raised by `load_policy` with every diagnostic found, sorted by position."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(diagnostics, key=lambda d: (d.line, d.column, d.code))
        )
        first = self.diagnostics[0].format() if self.diagnostics else "invalid policy"
        more = len(self.diagnostics) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    def format(self, filename: str | None = None) -> str:
        return "\n".join(d.format(filename) for d in self.diagnostics)
