"""Audit a policy's text or file: loader diagnostics become `error` findings at their places; a
file that is not a policy at all is one `error` finding; a policy that loads goes through every
registered check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rumpolicy.analysis.audit.context import AuditContext, make_finding, source_lines
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.checks import registered
from rumpolicy.policy import Diagnostic, PolicyError, load_policy


@dataclass(frozen=True, slots=True)
class AuditResult:
    files: tuple[str, ...]
    findings: tuple[Finding, ...]


def audit_text(text: str, file: str = "<policy>", monitor: str | None = None
               ) -> list[Finding]:
    """Every finding for one policy document, sorted by place."""
    lines = source_lines(text)
    not_policy = _not_json(text)
    if not_policy is not None:
        return [make_finding("not-a-policy", file, 1, 1, not_policy, lines)]
    try:
        policy = load_policy(text)
    except PolicyError as err:
        return _sorted(_from_diagnostic(d, file, lines) for d in err.diagnostics)
    context = AuditContext(policy, file, lines, monitor)
    found: list[Finding] = []
    for _, function in registered():
        found.extend(function(context))
    context.release()
    return _sorted(found)


def audit_bytes(data: bytes, file: str, monitor: str | None = None) -> list[Finding]:
    """Like `audit_text`, for a file's raw bytes: a binary or non-UTF-8 file is not a policy."""
    if b"\x00" in data:
        return [make_finding("not-a-policy", file, 1, 1,
                             "this is a binary file, not a JSON policy document", [])]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return [make_finding("not-a-policy", file, 1, 1, f"this file is not UTF-8 text (byte "
                             f"{err.start} cannot be decoded), so it is not a JSON policy", [])]
    return audit_text(text, file, monitor)


def audit_file(path: Path, monitor: str | None = None, name: str | None = None
               ) -> list[Finding]:
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        return [make_finding("not-a-policy", shown, 1, 1,
                             f"cannot read this file: {err.strerror or err}", [])]
    return audit_bytes(data, shown, monitor)


def audit_paths(paths: Sequence[Path], monitor: str | None = None) -> AuditResult:
    found: list[Finding] = []
    for path in paths:
        found.extend(audit_file(path, monitor))
    return AuditResult(tuple(str(p) for p in paths), tuple(found))


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    unique = {(f.id, f.line, f.column, f.message): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)


_YAML_LINE = re.compile(r"[A-Za-z_][\w-]*\s*:(\s|$)")


def _not_json(text: str) -> str | None:
    """Why `text` is not a JSON document at all (then no diagnostic place would help)."""
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return "the file is empty: a policy is a JSON object with Version and Statement"
    first = stripped[0]
    if first in "{[\ufeff":
        return None
    if stripped.startswith("---") or _YAML_LINE.match(stripped):
        return ("this looks like a YAML document; PutResourcePolicy takes the policy as JSON, "
                "so convert it (e.g. with yq -o json)")
    if first in "\"-0123456789tfn":
        return "this is a JSON value, not a policy object: a policy is a JSON object"
    return f"this is not JSON: it starts with {stripped[:20]!r}"


# -- loader diagnostics -------------------------------------------------------------------------


def _token(lines: list[str], line: int, column: int) -> str:
    """The JSON string starting at line:column, decoded; '' when there is none."""
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1]
    if column - 1 >= len(text) or text[column - 1] != '"':
        return ""
    try:
        value, _ = json.JSONDecoder().raw_decode(text, column - 1)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _null_if_exists(token: str) -> bool:
    base = token.rpartition(":")[2]
    return base.startswith("Null") and base.endswith("IfExists")


def _variable_before_resource_part(token: str) -> bool:
    return token.startswith("arn:") and "${" in ":".join(token.split(":", 5)[:5])


_TYPED_VALUE_CODES = ("invalid-number", "invalid-date", "invalid-bool", "invalid-cidr",
                      "invalid-base64")
_REFINEMENTS: tuple[tuple[tuple[str, ...], Callable[[str], bool], str], ...] = (
    (("unknown-operator",), _null_if_exists, "null-with-if-exists"),
    (_TYPED_VALUE_CODES, lambda token: "${" in token, "variable-unsupported-for-operator"),
    (("invalid-action", "invalid-principal", "invalid-condition-key"),
     lambda token: "${" in token, "variable-unsupported-in-element"),
    (("invalid-variable", "invalid-arn"), _variable_before_resource_part,
     "variable-unsupported-in-element"),
)
"""Loader codes that name one of Access Analyzer's more specific checks, told apart by the
offending token: (codes, test on the token, the more specific check id)."""


def _from_diagnostic(diagnostic: Diagnostic, file: str, lines: list[str]) -> Finding:
    check_id = diagnostic.code
    token = _token(lines, diagnostic.line, diagnostic.column)
    for codes, test, refined in _REFINEMENTS:
        if diagnostic.code in codes and test(token):
            check_id = refined
            break
    return make_finding(check_id, file, diagnostic.line, diagnostic.column, diagnostic.message,
                        lines, path=diagnostic.path)
