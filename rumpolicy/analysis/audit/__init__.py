"""`rumpolicy audit`: find what is wrong or dangerous in app-monitor policies, at exact lines.

    from rumpolicy.analysis.audit import audit_text
    for finding in audit_text(open("policy.json").read(), "policy.json"):
        print(finding.line, finding.severity, finding.id, finding.message)

The checks are described in `catalogue.py`, implemented in `checks/`, registered in
`registry.py`; `formats/` renders findings as text, JSON or SARIF 2.1.0.
"""

from rumpolicy.analysis.audit.catalogue import CATALOGUE, CHECKS, CheckInfo
from rumpolicy.analysis.audit.findings import Finding, Severity
from rumpolicy.analysis.audit.runner import (
    AuditResult,
    audit_bytes,
    audit_file,
    audit_paths,
    audit_text,
)

__all__ = [
    "CATALOGUE",
    "CHECKS",
    "AuditResult",
    "CheckInfo",
    "Finding",
    "Severity",
    "audit_bytes",
    "audit_file",
    "audit_paths",
    "audit_text",
]
