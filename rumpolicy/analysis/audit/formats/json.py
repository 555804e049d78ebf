"""Findings for scripts: `{"findings": [{"id", "severity", "title", "message", "file", "line",
"column", "fix", "snippet", "path"}, ...], "summary": {"files", "skipped", "ignored",
"suppressed"}}`, findings in a stable order (file, line, column). Keys are only ever added."""

from __future__ import annotations

import json

from rumpolicy.analysis.audit.runner import AuditResult


def render(result: AuditResult) -> str:
    summary = {"files": len(result.files), "skipped": result.skipped,
               "ignored": result.ignored, "suppressed": result.suppressed}
    return json.dumps({"findings": [f.to_dict() for f in result.findings], "summary": summary},
                      indent=2, ensure_ascii=False) + "\n"
