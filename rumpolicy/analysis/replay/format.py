"""A replay report as text: per-alias counts, then what changes, then bad lines."""

from __future__ import annotations

import json

from rumpolicy._words import counted
from rumpolicy.analysis.replay.report import EFFECTS, ReplayReport, alias_label

MAX_ALIAS_ROWS = 50


def format_report(report: ReplayReport) -> str:
    out: list[str] = []
    logs = len(report.sources)
    rate = report.records / report.seconds if report.seconds > 0 else 0.0
    out.append(f"Replayed {report.records:,} requests from {counted(logs, 'log')} "
               f"through {report.policy} "
               f"in {report.seconds:.2f}s ({rate:,.0f}/s)")
    if report.skipped:
        out.append(f"  {report.skipped:,} records for other app monitors were skipped")
    out.append("")
    out.extend(_alias_table(report))
    if report.against is not None:
        out.append("")
        out.extend(_changes(report))
    if report.bad:
        out.append("")
        reasons = ", ".join(f"{r}: {n:,}" for r, n in sorted(report.bad_reasons.items()))
        out.append(f"Bad lines: {report.bad:,} ({reasons}), not replayed")
        for bad in report.bad_lines:
            out.append(f"  {bad.source}:{bad.line}: {bad.message}")
        if report.bad > len(report.bad_lines):
            out.append(f"  ... first {len(report.bad_lines)} shown")
    return "\n".join(out) + "\n"


SHOWN_ALIAS, SHOWN_REQUEST = 80, 1_000
"""Characters of an alias and of an example request the text report shows; --json has all."""


def _shown(text: str, limit: int) -> str:
    """`text` with control characters escaped (an alias is whatever a client sent, and a
    terminal obeys escape sequences), cut at `limit` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters; --json shows them all)"


def _alias_table(report: ReplayReport) -> list[str]:
    header = ["alias", "requests", *(e.value for e in EFFECTS)]
    if report.against is not None:
        header += [f"{e.value} before" for e in EFFECTS[:1]]
    rows = []
    for row in report.aliases[:MAX_ALIAS_ROWS]:
        cells = [_shown(alias_label(row.alias), SHOWN_ALIAS), f"{row.total:,}",
                 *(f"{row.counts.get(e, 0):,}" for e in EFFECTS)]
        if row.before is not None:
            cells.append(f"{row.before.get(EFFECTS[0], 0):,}")
        rows.append(cells)
    if not rows:
        return ["No requests replayed."]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in (header, *rows)]
    hidden = len(report.aliases) - MAX_ALIAS_ROWS
    if hidden > 0:
        lines.append(f"... and {hidden:,} more aliases (--json lists them all)")
    return lines


def _changes(report: ReplayReport) -> list[str]:
    if not report.changes:
        return [f"No request changes decision against {report.against}."]
    lines = [f"{report.changed:,} of {report.records:,} requests change decision against "
             f"{report.against}:"]
    for change in report.changes:
        lines.append(f"  {change.before.value} -> {change.now.value}: {change.count:,}")
        for alias, count in change.aliases:
            lines.append(f"      alias {_shown(alias_label(alias), SHOWN_ALIAS)}: {count:,}")
        if change.other_aliases:
            lines.append(f"      other aliases: {change.other_aliases:,}")
        for example in change.examples:
            request = json.dumps(dict(example.request), ensure_ascii=False)
            lines.append(f"    e.g. {example.source}:{example.line} "
                         f"{_shown(request, SHOWN_REQUEST)}")
            lines.append(f"         was {example.reason_before}, now {example.reason_now}")
    return lines
