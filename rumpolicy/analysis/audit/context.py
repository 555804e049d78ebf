"""What a check sees: the loaded policy, its source lines, the monitor, and the probes.

The probe space is built on first use, so a run whose checks never ask the engine pays nothing
for it, and every engine-backed check of one policy shares it: the engine's judgment of each
statement part, the truth table, and the verdicts already taken.
"""

from __future__ import annotations

from functools import cached_property

from rumpolicy.analysis.audit.catalogue import info
from rumpolicy.analysis.audit.findings import Finding, Severity
from rumpolicy.analysis.audit.probes import Probes
from rumpolicy.policy.models import Policy


def source_lines(text: str) -> list[str]:
    """Lines as the loader counts them (only "\\n" ends a line)."""
    return [line.rstrip("\r") for line in text.split("\n")]


def make_finding(check_id: str, file: str, line: int, column: int, message: str,
                 lines: list[str], fix: str | None = None, path: str = "$") -> Finding:
    check = info(check_id)
    snippet = lines[line - 1] if 0 < line <= len(lines) else ""
    return Finding(check.id, check.severity, check.title, message, file, line, column,
                   fix or check.fix, snippet, path)


class AuditContext:
    """One policy under audit. Not a frozen record: it caches the probes lazily."""

    def __init__(self, policy: Policy, file: str, lines: list[str],
                 monitor: str | None = None) -> None:
        self.policy = policy
        self.file = file
        self.lines = lines
        self.monitor = monitor
        self._error_paths: list[str] = []

    @cached_property
    def probes(self) -> Probes:
        return Probes(self.policy, self.monitor)

    def release(self) -> None:
        """Called once every check has run: frees the probe space at once (see
        `Probes.release`)."""
        probes = self.__dict__.pop("probes", None)
        if probes is not None:
            probes.release()

    def finding(self, check_id: str, path: str, message: str, fix: str | None = None
                ) -> Finding:
        where = self.policy.locate(path)
        found = make_finding(check_id, self.file, where.line, where.column, message, self.lines,
                             fix, path)
        if found.severity is Severity.ERROR:
            self._error_paths.append(path)
        return found

    def has_error_in(self, path: str) -> bool:
        """Whether an error finding was made at `path` or inside it, other than at a Sid (a
        Sid names a statement; it does not change what the statement does)."""
        return any((p == path or p.startswith((path + ".", path + "[")))
                   and not p.endswith(".Sid") for p in self._error_paths)


def label(policy: Policy, index: int) -> str:
    """How findings name a statement: `statement 1 'DenyLegacy'`."""
    sid = policy.statements[index].sid
    return f"statement {index}" + (f" '{sid}'" if sid else "")
