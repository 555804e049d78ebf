"""Findings for scripts: `{"findings": [{"id", "severity", "title", "message", "file", "line",
"column", "fix", "snippet"}, ...]}`, in a stable order (file, line, column)."""

from __future__ import annotations

import json

from rumpolicy.analysis.audit.runner import AuditResult


def render(result: AuditResult) -> str:
    return json.dumps({"findings": [f.to_dict() for f in result.findings]}, indent=2,
                      ensure_ascii=False) + "\n"
