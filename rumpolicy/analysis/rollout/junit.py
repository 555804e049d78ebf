"""Rollout outcomes as JUnit XML, the format CI systems read test results from.

One `<testsuite>` per rollout file, one `<testcase>` per expectation (its name is the line as
written, `file` and `line` point at it). A file that cannot run becomes one test case with an
`<error>`, so CI shows it instead of silently counting zero tests. Characters XML 1.0 cannot
hold (control characters in an alias, say) are written as `\\xNN`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from rumpolicy.analysis.rollout.runner import FileOutcome

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def to_junit(files: Sequence[FileOutcome]) -> str:
    """The JUnit XML document (as text) for `files`."""
    root = ET.Element("testsuites", name="rumpolicy test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in files:
        suite = ET.SubElement(root, "testsuite", name=_clean(str(result.path)))
        counts = {"tests": len(result.outcomes) + (1 if result.problems else 0),
                  "failures": len(result.failed), "errors": 1 if result.problems else 0}
        classname = "rollout." + _clean(result.path.stem)
        for outcome in result.outcomes:
            case = ET.SubElement(suite, "testcase", classname=classname,
                                 name=_clean(f"line {outcome.expectation.position.line}: "
                                             f"{outcome.expectation.text}"),
                                 file=_clean(str(result.path)),
                                 line=str(outcome.expectation.position.line),
                                 time=f"{outcome.seconds:.6f}")
            if not outcome.passed:
                failure = ET.SubElement(case, "failure", message=_clean(outcome.summary),
                                        type="RolloutFailure")
                failure.text = _clean(outcome.summary + "\n" + outcome.detail)
        if result.problems:
            case = ET.SubElement(suite, "testcase", classname=classname, name="(file)",
                                 file=_clean(str(result.path)), time=f"{result.seconds:.6f}")
            error = ET.SubElement(case, "error", type="RolloutError",
                                  message=_clean(result.problems[0].format()))
            error.text = _clean("\n".join(p.format() for p in result.problems))
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        suite.set("time", f"{result.seconds:.6f}")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(f.seconds for f in files):.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
