"""`rumpolicy audit`: exit codes (0 nothing reaches --fail-on, 1 something does, 2 usage),
directories, files that are not policies, formats and colour."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rumpolicy.cli import main
from rumpolicy.cli.audit import _colour

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
CLEAN = FIXTURES / "public-ingestion" / "near-miss.json"
SECURITY = FIXTURES / "alias-allows-missing" / "trigger.json"
WARNING = FIXTURES / "missing-version" / "trigger.json"
SUGGESTION = FIXTURES / "empty-sid" / "trigger.json"
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_policy_exits_0(capsys):
    code, out, _ = run(capsys, str(CLEAN))
    assert code == 0
    assert out == "no findings in 1 file\n"


def test_security_finding_fails_by_default(capsys):
    code, out, _ = run(capsys, str(SECURITY))
    assert code == 1
    assert f"{SECURITY}:11:9: security [alias-allows-missing]" in out


@pytest.mark.parametrize(("path", "fail_on", "expected"), [
    (SECURITY, "error", 0), (SECURITY, "security", 1), (WARNING, "security", 0),
    (WARNING, "warning", 1), (SUGGESTION, "warning", 0), (SUGGESTION, "suggestion", 1),
    (CLEAN, "suggestion", 0),
])
def test_fail_on_threshold(capsys, path, fail_on, expected):
    code, _, _ = run(capsys, str(path), "--fail-on", fail_on, "--format", "json")
    assert code == expected


def test_missing_path_exits_2_with_one_line(capsys):
    code, out, err = run(capsys, "missing.json")
    assert code == 2 and out == ""
    assert err == "rumpolicy: error: missing.json: no such file or directory\n"


@pytest.mark.parametrize("monitor", ["arn:aws:rum:us-east-1:123456789012:appmonitor/*",
                                     "arn:aws:s3:::bucket", ".hidden", "a b"])
def test_bad_monitor_is_a_usage_error_of_the_audit_command(capsys, monitor):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", str(CLEAN), "--monitor", monitor])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert err.startswith("usage: rumpolicy audit ")
    assert f"rumpolicy audit: error: argument --monitor: '{monitor}'" in err


def test_bad_choice_is_an_argparse_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", str(CLEAN), "--format", "xml"])
    assert exit_info.value.code == 2


def test_a_directory_walk_audits_policies_and_skips_and_counts_the_rest(capsys, tmp_path):
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "good.json").write_text(CLEAN.read_text())
    (tmp_path / "bad.json").write_text(SECURITY.read_text())
    (tmp_path / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "yaml.json").write_text("Version: '2012-10-17'\nStatement: []\n")
    (tmp_path / "ignored.yaml").write_text("Version: x\n")
    identity = tmp_path / "role-identity.json"
    identity.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*"}]}))
    code, out, _ = run(capsys, str(tmp_path), "--format", "json")
    assert code == 1
    report = json.loads(out)
    found = [(Path(f["file"]).name, f["id"]) for f in report["findings"]]
    assert found == [("bad.json", "alias-allows-missing")]
    assert report["summary"] == {"files": 2, "skipped": 4, "ignored": 0, "suppressed": 0}
    code, out, _ = run(capsys, str(identity), "--format", "json")  # named: audited, reported
    assert code == 1
    assert {f["id"] for f in json.loads(out)["findings"]} == {"missing-element"}


def test_yaml_file_named_explicitly_is_one_error_finding(capsys):
    yaml = FIXTURES / "not-a-policy" / "trigger.yaml"
    code, out, _ = run(capsys, str(yaml), str(CLEAN), "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1
    assert [(f["id"], f["severity"], f["line"]) for f in findings] == [
        ("not-a-policy", "error", 1)]
    assert "YAML" in findings[0]["message"]


def test_monitor_makes_resource_mismatch_an_error(capsys):
    policy = FIXTURES / "resource-not-monitor" / "trigger.json"
    code, _, _ = run(capsys, str(policy), "--fail-on", "error")
    assert code == 0
    code, out, _ = run(capsys, str(policy), "--monitor", MONITOR, "--fail-on", "error")
    assert code == 1 and "[resource-not-monitor]" in out


def test_sarif_format_is_json_with_version(capsys):
    code, out, _ = run(capsys, str(SECURITY), "--format", "sarif")
    log = json.loads(out)
    assert code == 1 and log["version"] == "2.1.0"
    assert log["runs"][0]["results"][0]["ruleId"] == "alias-allows-missing"


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_colour_only_on_a_tty_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _colour(_Stream(True)) is True
    assert _colour(_Stream(False)) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _colour(_Stream(True)) is False
    monkeypatch.setenv("NO_COLOR", "")
    assert _colour(_Stream(True)) is True


def test_as_a_process_a_binary_file_gives_a_finding_not_a_traceback(tmp_path):
    binary = tmp_path / "policy.json"
    binary.write_bytes(bytes(range(256)))
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "audit", str(binary)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{binary}:1:1: error [not-a-policy]" in done.stdout
    assert "\x1b[" not in done.stdout


def test_standard_input(capsys, monkeypatch):
    class _Stdin:
        buffer = io.BytesIO(SECURITY.read_bytes())

    monkeypatch.setattr(sys, "stdin", _Stdin())
    code, out, _ = run(capsys, "-", "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and [(f["file"], f["id"]) for f in findings] == [
        ("<stdin>", "alias-allows-missing")]


def test_progress_bar_on_stderr_is_erased_and_stdout_untouched(capsys, tmp_path):
    for index in range(3):
        (tmp_path / f"p{index}.json").write_text(CLEAN.read_text())
    code, out, err = run(capsys, str(tmp_path), "--progress", "always", "--jobs", "1")
    assert code == 0 and out == "no findings in 3 files\n"
    assert err.startswith("\rauditing [") and "3/3 files" in err and err.endswith("\r\x1b[K")
    code, out, err = run(capsys, str(tmp_path))  # auto: not a terminal here
    assert err == ""


def test_sarif_to_an_output_file(capsys, tmp_path):
    target = tmp_path / "audit.sarif"
    code, out, _ = run(capsys, str(SECURITY), "--format", "sarif", "--output", str(target))
    assert code == 1 and out == ""
    assert json.loads(target.read_text())["runs"][0]["results"][0]["ruleId"] == \
        "alias-allows-missing"


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--account", "12345"], "--account '12345': an AWS account id is 12 digits"),
    (["--region", "Mars"], "--region 'Mars': not a Region name"),
    (["--parameter", "NoValue"], "--parameter 'NoValue': write NAME=VALUE"),
    (["--baseline", "a.json", "--write-baseline", "b.json"], "cannot be used together"),
])
def test_template_and_baseline_option_errors(capsys, argv, fragment):
    code, out, err = run(capsys, str(CLEAN), *argv)
    assert code == 2 and out == "" and fragment in err


def test_nothing_left_to_read_is_a_warning_not_a_failure(capsys, tmp_path):
    """pre-commit may name only excluded files; ruff likewise warns and exits 0."""
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "p.json").write_text(SECURITY.read_text())
    code, out, err = run(capsys, str(tmp_path / "node_modules" / "p.json"), "--force-exclude")
    assert code == 0 and out == "no findings in 0 files\n"
    assert err.startswith("rumpolicy: warning: no files to read under ")
