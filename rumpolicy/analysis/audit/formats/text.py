"""Findings for a terminal: grouped by file, each with file:line:column (which editors and
terminals turn into links), severity, title, message, the source line with a caret, and the fix.
Colour only when asked (the CLI asks when stdout is a TTY and NO_COLOR is unset)."""

from __future__ import annotations

from collections import Counter

from rumpolicy._words import counted
from rumpolicy.analysis.audit.findings import Finding, Severity
from rumpolicy.analysis.audit.runner import AuditResult

_COLOURS = {Severity.ERROR: "1;31", Severity.SECURITY: "1;35", Severity.WARNING: "33",
            Severity.SUGGESTION: "36"}
_WINDOW = 100
"""Snippets longer than this are cut around the column (minified policies are one line)."""


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _snippet(finding: Finding) -> tuple[str, str]:
    """(the source line or a window of it, a caret line under the column)."""
    line = finding.snippet
    start = 0
    if len(line) > _WINDOW:
        start = max(0, min(finding.column - 1 - _WINDOW // 2, len(line) - _WINDOW))
        line = line[start:start + _WINDOW]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + len(line) < len(finding.snippet) else ""
    before = line[: max(0, finding.column - 1 - start)]
    caret = "".join("\t" if c == "\t" else " " for c in prefix + before) + "^"
    return prefix + line + suffix, caret


def render(result: AuditResult, colour: bool = False) -> str:
    by_file: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_file.setdefault(finding.file, []).append(finding)
    out: list[str] = []
    for file, findings in by_file.items():
        out.append(_paint(file, "1", colour))
        for f in findings:
            severity = _paint(f.severity.value, _COLOURS[f.severity], colour)
            out.append(f"{f.file}:{f.line}:{f.column}: {severity} [{f.id}] {f.title}")
            out.append(f"    {f.message}")
            if f.snippet.strip():
                shown, caret = _snippet(f)
                number = str(f.line)
                out.append(f"    {number} | {shown}")
                out.append(f"    {' ' * len(number)} | {_paint(caret, '32', colour)}")
            out.append(f"    fix: {f.fix}")
        out.append("")
    out.append(summary(result))
    return "\n".join(out) + "\n"


def summary(result: AuditResult) -> str:
    files = counted(len(result.files), "file")
    if not result.findings:
        line = f"no findings in {files}"
    else:
        counts = Counter(f.severity for f in result.findings)
        parts = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
        affected = len({f.file for f in result.findings})
        line = f"{counted(len(result.findings), 'finding')} ({parts}) in {affected} of {files}"
    notes = [counted(count, noun, rest) for count, noun, rest in (
        (result.skipped, "file", "without policies skipped"),
        (result.ignored, "finding", "ignored by configuration"),
        (result.suppressed, "finding", "already in the baseline")) if count]
    return line + ("; " + ", ".join(notes) if notes else "")
