"""`rumpolicy replay`: text and JSON reports, exit codes, stdin, progress only on a terminal."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from rumpolicy.cli import main

from ._helpers import MONITOR, alias_in, policy_document, statement
from ._helpers import request_line as _line


def _policy(aliases: list[str]) -> str:
    return json.dumps(policy_document(statement(condition=alias_in(aliases))))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "new.json").write_text(_policy(["v2"]))
    (tmp_path / "old.json").write_text(_policy(["v1", "v2"]))
    (tmp_path / "traffic.jsonl").write_text(
        "\n".join([_line("v2"), _line("v1"), _line(None), "garbage", _line("v2")]) + "\n")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report(capsys, files):
    code, out, err = run(capsys, "replay", "--policy", str(files / "new.json"),
                         str(files / "traffic.jsonl"))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"Replayed 4 requests from 1 log through {files / 'new.json'} in ")
    assert lines[2].split() == ["alias", "requests", "allow", "explicit_deny", "implicit_deny"]
    assert lines[3].split() == ["v2", "2", "2", "0", "0"]
    assert f"  {files / 'traffic.jsonl'}:4: not JSON: Expecting value at column 1" in lines


def test_json_report_with_against(capsys, files):
    code, out, _ = run(capsys, "replay", "--policy", str(files / "new.json"), "--against",
                       str(files / "old.json"), str(files / "traffic.jsonl"), "--json")
    assert code == 1  # --fail-on any is the default with --against: one request changed
    report = json.loads(out)
    assert report["records"] == 4 and report["bad_lines"]["count"] == 1
    assert report["bad_lines"]["examples"] == [{
        "source": str(files / "traffic.jsonl"), "line": 4,
        "message": "not JSON: Expecting value at column 1"}]
    (change,) = report["changes"]
    assert change["from"] == "allow" and change["to"] == "implicit_deny"
    assert change["count"] == 1 and change["aliases"] == [{"alias": "v1", "count": 1}]
    (example,) = change["examples"]
    assert example["line"] == 2 and example["request"] == json.loads(_line("v1"))
    rows = {json.dumps(a["alias"]): a for a in report["aliases"]}
    assert rows['"v1"']["decisions"] == {"allow": 0, "explicit_deny": 0, "implicit_deny": 1}
    assert rows['"v1"']["before"] == {"allow": 1, "explicit_deny": 0, "implicit_deny": 0}
    assert rows["null"]["requests"] == 1


def test_fail_on_change(capsys, files):
    args = ["replay", "--policy", str(files / "new.json"), str(files / "traffic.jsonl"),
            "--fail-on-change"]
    code, _, err = run(capsys, *args)
    assert code == 2 and "--fail-on needs --against" in err
    code, _, _ = run(capsys, *args, "--against", str(files / "old.json"))
    assert code == 1
    code, _, _ = run(capsys, *args, "--against", str(files / "new.json"))
    assert code == 0


def test_against_none_compares_with_no_policy(capsys, files):
    code, out, _ = run(capsys, "replay", "--policy", str(files / "new.json"), "--against",
                       "none", str(files / "traffic.jsonl"), "--json")
    assert code == 1
    (change,) = json.loads(out)["changes"]
    assert (change["from"], change["to"], change["count"]) == ("implicit_deny", "allow", 2)


def test_usage_errors_exit_2(capsys, files):
    code, _, err = run(capsys, "replay", "--policy", str(files / "new.json"),
                       str(files / "missing.jsonl"))
    assert (code, err) == (2, f"rumpolicy: error: {files / 'missing.jsonl'}: no such file\n")
    (files / "bad.json").write_text("{")
    code, _, err = run(capsys, "replay", "--policy", str(files / "bad.json"),
                       str(files / "traffic.jsonl"))
    assert code == 2 and err.startswith(f"rumpolicy: error: {files / 'bad.json'}:1:2: ")
    (files / "cut.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    code, _, err = run(capsys, "replay", "--policy", str(files / "new.json"),
                       str(files / "cut.jsonl.gz"))
    assert code == 2 and err.startswith(f"rumpolicy: error: {files / 'cut.jsonl.gz'}: "
                                        "unreadable after line ")


def test_stdin_and_several_logs(capsys, files, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        (_line("v2") + "\n").encode())))
    code, out, _ = run(capsys, "replay", "--policy", str(files / "new.json"), "-",
                       str(files / "traffic.jsonl"), "--json")
    report = json.loads(out)
    assert code == 0 and report["sources"] == ["-", str(files / "traffic.jsonl")]
    assert report["records"] == 5


def test_progress_goes_to_stderr_only_when_asked_or_on_a_terminal(capsys, files):
    args = ["replay", "--policy", str(files / "new.json"), str(files / "traffic.jsonl")]
    _, _, err = run(capsys, *args)
    assert err == ""  # captured stderr is not a terminal
    _, out, err = run(capsys, *args, "--progress", "always")
    assert err.startswith("\rreplay: ") and "4 records" in err and err.endswith("\r")
    assert "\r" not in out


def test_lines_json_accepts_beyond_json_are_bad_lines_not_a_crash(capsys, files, tmp_path):
    """A lone surrogate escape and NaN/Infinity: `json` decodes them, orjson and the gate
    refuse them; the report (text, JSON, a file) must list them as bad lines, not crash."""
    log = tmp_path / "odd.jsonl"
    head = '{"resource":' + json.dumps(MONITOR) + ',"context":'
    log.write_text("\n".join([
        head + '{"rum:alias":"v2\\ud800"}}',
        head + '{"x":"\\udc00","rum:alias":"v2"}}',
        head + '{"rum:alias":NaN}}',
        head + '{"rum:alias":-Infinity}}',
        head + '{"rum:alias":"v2\\ud83d\\ude00"}}',  # a surrogate pair is text
        _line("v2")]) + "\n")
    args = ["replay", "--policy", str(files / "new.json"), str(log)]
    code, out, err = run(capsys, *args)
    assert code == 0 and err == ""
    for line, message in [(1, "a lone surrogate is not Unicode text"),
                          (2, "a lone surrogate is not Unicode text"),
                          (3, "NaN is not a JSON value"), (4, "-Infinity is not a JSON value")]:
        assert f"  {log}:{line}: not JSON: {message}" in out.splitlines()
    code, out, err = run(capsys, *args, "--format", "json")
    report = json.loads(out)
    assert code == 0 and err == "" and report["records"] == 2
    assert [b["line"] for b in report["bad_lines"]["examples"]] == [1, 2, 3, 4]
    assert "nan" not in {json.dumps(a["alias"]) for a in report["aliases"]}
    code, _, err = run(capsys, *args, "--output", str(tmp_path / "report.txt"))
    assert code == 0 and err == ""
    assert f"{log}:1: not JSON: a lone surrogate" in (tmp_path / "report.txt").read_text()
