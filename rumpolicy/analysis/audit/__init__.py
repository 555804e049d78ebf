"""`rumpolicy audit`: find what is wrong or dangerous in app-monitor policies, at exact lines.

    from rumpolicy.analysis.audit import audit_text
    for finding in audit_text(open("policy.json").read(), "policy.json"):
        print(finding.line, finding.severity, finding.id, finding.message)

The checks are described in `catalogue.py`, implemented in `checks/`, registered in
`registry.py`; `formats/` renders findings as text, JSON or SARIF 2.1.0.

The names below are imported when first used, so that importing one small module of the package
(`validate` uses `named`) does not import the checks and the engine behind them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rumpolicy.analysis.audit.catalogue import CATALOGUE, CHECKS, CheckInfo
    from rumpolicy.analysis.audit.findings import Finding, Severity
    from rumpolicy.analysis.audit.runner import (
        AuditResult,
        audit_bytes,
        audit_file,
        audit_paths,
        audit_text,
    )

_HOMES = {
    "CATALOGUE": "catalogue", "CHECKS": "catalogue", "CheckInfo": "catalogue",
    "Finding": "findings", "Severity": "findings",
    "AuditResult": "runner", "audit_bytes": "runner", "audit_file": "runner",
    "audit_paths": "runner", "audit_text": "runner",
}
"""Each exported name and the module of this package it lives in."""

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


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
