"""What an audit reports: a `Finding` at an exact place, with a `Severity` that can be compared.

Severities follow IAM Access Analyzer's four finding types (ERROR, SECURITY_WARNING, WARNING,
SUGGESTION); they are ordered so that `--fail-on security` means "security or worse".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    SECURITY = "security"
    WARNING = "warning"
    SUGGESTION = "suggestion"

    @property
    def rank(self) -> int:
        """Higher is worse: error 3, security 2, warning 1, suggestion 0."""
        return _RANKS[self]

    def reaches(self, threshold: Severity) -> bool:
        """True when this severity is `threshold` or worse."""
        return self.rank >= threshold.rank


_RANKS = {Severity.ERROR: 3, Severity.SECURITY: 2, Severity.WARNING: 1, Severity.SUGGESTION: 0}


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    severity: Severity
    title: str
    message: str
    file: str
    line: int
    column: int
    fix: str
    snippet: str
    """The source line the finding points into (without its line break)."""
    path: str = "$"
    """Where in the policy: its JSON path (`$.Statement[0].Condition`), behind the template
    resource's path for a policy inside a template. Baselines match on it, so a finding keeps
    its identity when lines move above it."""

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.file, self.line, self.column, -self.severity.rank, self.id)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape scripts rely on; keys are never renamed, only added."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "fix": self.fix,
            "snippet": self.snippet,
            "path": self.path,
        }
