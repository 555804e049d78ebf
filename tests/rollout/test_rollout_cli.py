"""`rumpolicy test`: the summary, JUnit XML for CI, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rumpolicy.analysis.rollout import run_file, to_junit
from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fixtures" / "rollouts"
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": MONITOR,
    "Condition": {"StringEquals": {"rum:alias": "v2"}}}]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    (tmp_path / "good.rollout").write_text(
        f'policy "policy.json"\nmonitor {MONITOR}\nallow alias "v2"\ndeny alias "v1"\n')
    (tmp_path / "bad.rollout").write_text(
        f'policy "policy.json"\nmonitor {MONITOR}\nallow alias "v1"\ndeny without alias\n')
    (tmp_path / "broken.rollout").write_text(f'policy "policy.json"\nmonitor {MONITOR}\nalow\n')
    return tmp_path


def test_all_passing_exits_0_and_lists_every_expectation(capsys, project):
    code, out, _ = run(capsys, "test", str(project / "good.rollout"))
    assert code == 0
    assert out.splitlines() == [
        str(project / "good.rollout"),
        '  ok      3  allow alias "v2"',
        '  ok      4  deny alias "v1"',
        out.splitlines()[-1],
    ]
    assert out.splitlines()[-1].startswith("2 passed, 0 failed in 1 file (")


def test_a_failure_exits_1_and_shows_the_explanation(capsys, project):
    code, out, _ = run(capsys, "test", str(project / "good.rollout"), str(project / "bad.rollout"))
    assert code == 1
    assert '  FAIL    3  allow alias "v1"' in out
    assert "             expected allow, got implicit_deny (no_matching_allow)" in out
    assert "             DENY (implicit): User: anonymous is not authorized" in out
    assert out.splitlines()[-1].startswith("3 passed, 1 failed in 2 files")


def test_quiet_lists_only_failures(capsys, project):
    code, out, _ = run(capsys, "test", "-q", str(project / "good.rollout"),
                       str(project / "bad.rollout"))
    assert code == 1
    assert str(project / "good.rollout") not in out
    assert "  ok      " not in out and "  FAIL    3" in out


def test_a_file_that_cannot_run_exits_2_even_next_to_failures(capsys, project):
    code, out, _ = run(capsys, "test", str(project))  # a directory: every *.rollout under it
    assert code == 2
    assert f"  ERROR {project / 'broken.rollout'}:3:1: unexpected 'alow'" in out
    assert out.splitlines()[-1].startswith("3 passed, 1 failed, 1 file with errors in 3 files")


def test_usage_errors_exit_2_with_one_line(capsys, project, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "test", str(empty))
    assert (code, err) == (2, f"rumpolicy: error: {empty}: no *.rollout files in this "
                              "directory\n")
    code, out, _ = run(capsys, "test", str(project / "missing.rollout"))
    assert code == 2 and f"ERROR {project / 'missing.rollout'}: no such file" in out
    code, _, err = run(capsys, "test", str(project / "good.rollout"), "--junit",
                       str(tmp_path / "no-dir" / "out.xml"))
    assert code == 2 and err.startswith(f"rumpolicy: error: --junit {tmp_path}/no-dir/out.xml: "
                                        "cannot write:")


def test_junit_xml_parses_back_with_counts_failures_and_errors(capsys, project, tmp_path):
    report = tmp_path / "junit.xml"
    code, _, _ = run(capsys, "test", str(project), "--junit", str(report))
    assert code == 2
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "1")
    suites = {Path(s.get("name") or "").name: s for s in root.iter("testsuite")}
    assert set(suites) == {"good.rollout", "bad.rollout", "broken.rollout"}
    bad = suites["bad.rollout"]
    assert (bad.get("tests"), bad.get("failures"), bad.get("errors")) == ("2", "1", "0")
    first, second = bad.iter("testcase")
    assert first.get("name") == 'line 3: allow alias "v1"'
    assert first.get("classname") == "rollout.bad"
    assert first.get("line") == "3" and first.get("file") == str(project / "bad.rollout")
    failure = first.find("failure")
    assert failure is not None
    assert failure.get("message") == "expected allow, got implicit_deny (no_matching_allow)"
    assert "DENY (implicit)" in (failure.text or "")
    assert second.find("failure") is None
    (broken,) = suites["broken.rollout"].iter("testcase")
    error = broken.find("error")
    assert error is not None and "3:1: unexpected 'alow'" in (error.get("message") or "")


def test_junit_writes_characters_xml_cannot_hold_as_escapes(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(POLICY))
    (tmp_path / "ctl.rollout").write_text(f'policy "p.json"\nmonitor {MONITOR}\n'
                                          'allow alias "a\\u0001b"\n')
    document = to_junit([run_file(tmp_path / "ctl.rollout")])
    case = ET.fromstring(document).find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == 'line 3: allow alias "a\\u0001b"'  # the line as written
    failure = case.find("failure")
    assert failure is not None and "a\\x01b" in (failure.text or "")


def test_the_worked_examples_pass_from_any_working_directory(capsys, tmp_path, monkeypatch):
    copy = tmp_path / "rollouts"
    shutil.copytree(EXAMPLES, copy)
    monkeypatch.chdir(tmp_path / "..")
    code, out, _ = run(capsys, "test", str(copy))
    assert code == 0, out
    assert "0 failed in 5 files" in out
