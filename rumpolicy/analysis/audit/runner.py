"""Audit a policy's text or file: loader diagnostics become `error` findings at their places; a
file that is not a policy at all is one `error` finding; a policy that loads goes through every
registered check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rumpolicy._suggest import did_you_mean
from rumpolicy.analysis.audit.catalogue import CATALOGUE
from rumpolicy.analysis.audit.checks import registered
from rumpolicy.analysis.audit.context import AuditContext, make_finding, source_lines
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.named import named_without_policy
from rumpolicy.analysis.sources import FileContents, PolicyText, Settings, read_bytes, read_path
from rumpolicy.analysis.sources.files import not_json
from rumpolicy.policy import Diagnostic, PolicyError, load_policy


@dataclass(frozen=True, slots=True)
class AuditResult:
    files: tuple[str, ...]
    """The files read for policies."""
    findings: tuple[Finding, ...]
    skipped: int = 0
    """Files met in a directory walk that hold no policy (package.json, a template without app
    monitors, ...)."""
    ignored: int = 0
    """Findings silenced by the configuration or a template's Metadata."""
    suppressed: int = 0
    """Findings the baseline already holds."""


def audit_text(text: str, file: str = "<policy>", monitor: str | None = None
               ) -> list[Finding]:
    """Every finding for one policy document, sorted by place."""
    not_policy = not_json(text)
    if not_policy is not None:
        return [make_finding("not-a-policy", file, 1, 1, not_policy, _first_lines(text, 1))]
    try:
        policy = load_policy(text)
    except PolicyError as err:
        lines = _first_lines(text, max((d.line for d in err.diagnostics), default=1))
        return _sorted(_from_diagnostic(d, file, lines) for d in err.diagnostics)
    context = AuditContext(policy, file, source_lines(text), monitor)
    found: list[Finding] = []
    for _, function in registered():
        found.extend(function(context))
    context.release()
    return _sorted(found)


def _first_lines(text: str, count: int) -> list[str]:
    """The text's first `count` lines (all of them if it has fewer), as `source_lines` gives
    them: the snippets of findings that stop at the loader need no more, and a file refused by
    its size (50 MB, say) is not split whole for the one line its finding shows."""
    end = -1
    for _ in range(count):
        end = text.find("\n", end + 1)
        if end < 0:
            return source_lines(text)
    return source_lines(text[:end])


def audit_bytes(data: bytes, file: str, monitor: str | None = None,
                settings: Settings | None = None) -> list[Finding]:
    """Every finding for a file's raw bytes, read as a file named on the command line: a policy,
    a template or a plan is audited; anything else is one `not-a-policy` finding."""
    contents = read_bytes(data, file, True, settings or Settings(), Path(file).suffix.lower())
    return audit_contents(named_without_policy(contents, True), monitor)[0]


def audit_file(path: Path, monitor: str | None = None, name: str | None = None,
               settings: Settings | None = None) -> list[Finding]:
    contents = read_path(path, True, settings or Settings(), name)
    return audit_contents(named_without_policy(contents, True), monitor)[0]


def audit_paths(paths: Sequence[Path], monitor: str | None = None) -> AuditResult:
    found: list[Finding] = []
    for path in paths:
        found.extend(audit_file(path, monitor))
    return AuditResult(tuple(str(p) for p in paths), tuple(found))


def audit_contents(contents: FileContents, monitor: str | None = None
                   ) -> tuple[list[Finding], int]:
    """The findings for what a file holds, and how many its inline ignores silenced."""
    found: list[Finding] = []
    silenced = 0
    for problem in contents.problems:
        finding = make_finding(problem.code, problem.file, problem.line, problem.column,
                               problem.message, [], path=problem.place or "$")
        finding = replace(finding, snippet=problem.snippet)
        if finding.id in problem.ignore:
            silenced += 1
        else:
            found.append(finding)
    for policy in contents.policies:
        findings = audit_text(policy.text, policy.file, monitor)
        if policy.positions is not None:
            findings = [_into_file(f, policy) for f in findings]
        ignored = {check_id for check_id, _ in policy.ignore}
        kept = [f for f in findings if f.id not in ignored]
        silenced += len(findings) - len(kept)
        found.extend(kept)
        found.extend(_unknown_ignores(policy))
    return _sorted(found), silenced


def _into_file(finding: Finding, policy: PolicyText) -> Finding:
    """A finding on a policy taken from a template, placed in the template."""
    assert policy.positions is not None
    line, column = policy.positions.locate(finding.line, finding.column)
    lines = policy.file_lines
    snippet = lines[line - 1] if 0 < line <= len(lines) else ""
    return replace(finding, line=line, column=column, snippet=snippet,
                   path=f"{policy.place}:{finding.path}")


def _unknown_ignores(policy: PolicyText) -> list[Finding]:
    return [make_finding("template-invalid", policy.file, line, column,
                         f"Metadata.rumpolicy.ignore names no check '{check_id}'"
                         f"{did_you_mean(check_id, CATALOGUE)}", list(policy.file_lines),
                         path=f"{policy.place}:Metadata")
            for check_id, (line, column) in policy.ignore if check_id not in CATALOGUE]


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    unique = {(f.id, f.line, f.column, f.message): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)


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
