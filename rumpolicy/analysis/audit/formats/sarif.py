"""Findings as SARIF 2.1.0, the format GitHub code scanning uploads.

Every catalogue check is a rule (so rule indexes are stable between runs); severities map to
SARIF levels (error and security -> error, warning -> warning, suggestion -> note), and
security rules carry GitHub's `security-severity` so they rank as High. Paths are relative to
`%SRCROOT%` (the directory the audit ran in) when they can be, columns count code points.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rumpolicy.analysis.audit.catalogue import CHECKS, CheckInfo
from rumpolicy.analysis.audit.findings import Finding, Severity
from rumpolicy.analysis.audit.runner import AuditResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.SECURITY: "error", Severity.WARNING: "warning",
           Severity.SUGGESTION: "note"}
_SECURITY_SEVERITY = "8.0"


def _rule(check: CheckInfo) -> dict[str, Any]:
    tags = ["rum", "iam", check.basis]
    properties: dict[str, Any] = {"tags": tags, "precision": "high"}
    if check.severity is Severity.SECURITY:
        tags.insert(0, "security")
        properties["security-severity"] = _SECURITY_SEVERITY
    return {
        "id": check.id,
        "name": "".join(part.capitalize() for part in check.id.split("-")),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.why},
        "help": {"text": f"{check.why}\nFix: {check.fix}",
                 "markdown": f"{check.why}\n\n**Fix:** {check.fix}\n\n[AWS documentation]"
                             f"({check.doc})"},
        "helpUri": check.doc,
        "defaultConfiguration": {"level": _LEVELS[check.severity]},
        "properties": properties,
    }


def _artifact(file: str, root: Path) -> dict[str, Any]:
    """A path under the audit's directory is relative to %SRCROOT%; any other is a file URI."""
    path = Path(file)
    try:
        relative = path.resolve().relative_to(root) if path.is_absolute() else path
    except ValueError:
        return {"uri": "file://" + _quoted(path.resolve())}
    return {"uri": _quoted(relative), "uriBaseId": "%SRCROOT%"}


def _quoted(path: Path) -> str:
    """The path's bytes, percent-encoded: a name that is not UTF-8 keeps its bytes."""
    return quote(os.fsencode(path.as_posix()))


def _location(finding: Finding, root: Path) -> dict[str, Any]:
    artifact = _artifact(finding.file, root)
    region: dict[str, Any] = {"startLine": finding.line, "startColumn": finding.column}
    if finding.snippet:
        region["snippet"] = {"text": finding.snippet}
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _fingerprint(finding: Finding) -> str:
    """Stable when lines move: the check, the file and the offending text."""
    text = "\0".join((finding.id, finding.file, finding.snippet.strip(), finding.message))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def render(result: AuditResult, root: Path | None = None, version: str = "0") -> str:
    base = (root or Path.cwd()).resolve()
    index = {check.id: i for i, check in enumerate(CHECKS)}
    rules = [_rule(check) for check in CHECKS]
    results = []
    for finding in result.findings:
        entry: dict[str, Any] = {
            "ruleId": finding.id,
            "level": _LEVELS[finding.severity],
            "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
            "locations": [_location(finding, base)],
            "partialFingerprints": {"rumpolicyFinding/v1": _fingerprint(finding)},
        }
        if finding.id in index:
            entry["ruleIndex"] = index[finding.id]
        results.append(entry)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "rumpolicy", "version": version,
                                "semanticVersion": version, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            "artifacts": [{"location": _artifact(file, base)} for file in result.files],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"

