"""A policy file far over 4 KB is reported `policy-too-large` without being parsed or split into
lines whole (a 50 MB file took 22 s and 1.2 GB); the finding is the one it always was."""

from __future__ import annotations

import json
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from rumpolicy.analysis.audit import runner
from rumpolicy.analysis.audit.context import source_lines
from rumpolicy.cli import main
from rumpolicy.policy import loader

STATEMENT = {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
             "Resource": "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"}


def test_a_huge_policy_is_one_finding_read_from_its_first_line(tmp_path, capsys, monkeypatch):
    text = json.dumps({"Version": "2012-10-17", "Statement": [
        {**STATEMENT, "Sid": f"S{i}"} for i in range(20_000)]}, indent=2)
    (tmp_path / "big.json").write_text(text)
    monkeypatch.chdir(tmp_path)
    split: list[int] = []

    def lines(part: str) -> list[str]:
        split.append(part.count("\n") + 1)
        return source_lines(part)

    def parse_json(_: str) -> object:
        raise AssertionError("an oversized policy was parsed")

    with mock.patch.object(runner, "source_lines", lines), \
            mock.patch.object(loader, "parse_json", parse_json):
        for args in (["big.json"], ["."]):
            assert main(["audit", *args, "--format", "json"]) == 1
            [finding] = json.loads(capsys.readouterr().out)["findings"]
            assert finding == {
                "id": "policy-too-large", "severity": "error", "title": "Policy over 4 KB",
                "message": f"the policy is {len(text)} bytes; a RUM resource policy may be at "
                           "most 4096 bytes of UTF-8",
                "file": "big.json", "line": 1, "column": 1, "fix": finding["fix"],
                "snippet": "{", "path": "$"}
    assert split and max(split) == 1


@given(st.text(alphabet="ab\n\r", max_size=30), st.integers(1, 12))
def test_first_lines_are_the_first_source_lines(text, count):
    assert runner._first_lines(text, count) == source_lines(text)[:count]
