"""Every audit check against its fixtures: each trigger policy reports exactly the findings in
`expected.json` (check id, line and column), which include the check itself; each near-miss
reports exactly its expected findings, which never include the check.

The AWS rule behind each check is the `doc` page of its catalogue entry (docs/audit.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rumpolicy.analysis.audit import CATALOGUE, audit_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"


def _cases() -> list[tuple[str, str, str | None, list[str]]]:
    cases = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        for name, findings in expected["files"].items():
            cases.append((folder.name, name, expected.get("monitor"), findings))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("check_id", "name", "monitor", "expected"), CASES,
                         ids=[f"{c[0]}/{c[1]}" for c in CASES])
def test_fixture_reports_exactly_the_expected_findings(check_id, name, monitor, expected):
    findings = audit_file(FIXTURES / check_id / name, monitor, name=name)
    got = [f"{f.line}:{f.column} {f.id}" for f in findings]
    rule = CATALOGUE[check_id].doc
    assert got == expected, f"{check_id}/{name} (rule: {rule})"
    ids = {f.id for f in findings}
    if name.startswith("trigger"):
        assert check_id in ids, f"{name} must trigger {check_id} (rule: {rule})"
    else:
        assert check_id not in ids, f"{name} is a near-miss of {check_id} (rule: {rule})"


def test_every_check_has_a_trigger_and_a_near_miss():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders == set(CATALOGUE)
    for check_id in CATALOGUE:
        names = [p.name for p in (FIXTURES / check_id).iterdir()]
        assert any(n.startswith("trigger") for n in names), check_id
        assert any(n.startswith("near-miss") for n in names), check_id
        listed = json.loads((FIXTURES / check_id / "expected.json").read_text())["files"]
        assert set(listed) == set(names) - {"expected.json"}, check_id


def test_every_loader_code_of_the_corpus_is_a_catalogued_error():
    """The loader's diagnostics all reach the audit as `error` findings with their own ids."""
    codes = set()
    for case_file in (ROOT / "tests" / "cases" / "loader").glob("*.json"):
        for case in json.loads(case_file.read_text(encoding="utf-8"))["cases"]:
            codes.update(e["code"] for e in case.get("errors", ()))
    assert codes
    for code in codes:
        assert code in CATALOGUE and CATALOGUE[code].basis == "loader", code
        assert CATALOGUE[code].severity.value == "error"


def test_findings_carry_the_source_line_as_snippet():
    findings = audit_file(FIXTURES / "alias-allows-missing" / "trigger.json")
    lines = (FIXTURES / "alias-allows-missing" / "trigger.json").read_text().split("\n")
    for finding in findings:
        assert finding.snippet == lines[finding.line - 1]
        assert finding.snippet[finding.column - 1] == '"'
