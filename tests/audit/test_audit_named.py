"""A template or plan named on the command line that holds no RUM resource policy is reported
(`not-a-policy`, as any named file without a policy is) by `audit` and `validate` alike; met in
a directory walk, or read as one with --force-exclude, it is skipped and counted, quietly."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from rumpolicy.analysis.audit import audit_bytes, audit_file
from rumpolicy.cli import main

EMPTY = {
    "bucket.template.json": json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}),
    "monitor.json": json.dumps({"Resources": {"M": {"Type": "AWS::RUM::AppMonitor",
                                                    "Properties": {"Name": "shop"}}}}),
    "monitor.yaml": "Resources:\n  M:\n    Type: AWS::RUM::AppMonitor\n"
                    "    Properties:\n      Name: shop\n",
    "plan.json": json.dumps({"terraform_version": "1.9.0",
                             "planned_values": {"root_module": {"resources": []}}}),
}
"""Each holds nothing to check: a template without an app monitor, app monitors without a
ResourcePolicy (JSON and YAML), a plan without an aws_rum_resource_policy."""
WHY = {
    "bucket.template.json": "this CloudFormation template has no AWS::RUM::AppMonitor",
    "monitor.json": "no AWS::RUM::AppMonitor in this template has a ResourcePolicy",
    "monitor.yaml": "no AWS::RUM::AppMonitor in this template has a ResourcePolicy",
    "plan.json": "this Terraform plan or state has no aws_rum_resource_policy resource",
}


@pytest.fixture
def files(tmp_path, monkeypatch):
    for name, text in EMPTY.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_a_named_file_without_a_policy_is_a_finding_in_audit_and_validate(files, capsys, name):
    code, out, err = _run(capsys, "audit", name, "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert (code, err) == (1, "")
    assert (finding["file"], finding["line"], finding["column"], finding["id"],
            finding["severity"]) == (name, 1, 1, "not-a-policy", "error")
    assert finding["message"].startswith(WHY[name])
    assert finding["message"].endswith(", so there is no resource policy to check")
    code, out, _ = _run(capsys, "validate", name)
    assert (code, out) == (1, f"{name}:1:1: not-a-policy: {finding['message']}\n")


def test_walked_or_force_excluded_they_stay_quiet_and_named_they_do_not(files, capsys):
    names = sorted(EMPTY)
    for argv in (["."], ["--force-exclude", *names]):
        code, out, err = _run(capsys, "audit", *argv)
        assert (code, out, err) == (0, "no findings in 0 files; 4 files without policies "
                                       "skipped\n", "")
        code, out, err = _run(capsys, "validate", *argv)
        assert (code, out, err) == (0, "4 files without policies skipped\n", "")
    code, out, _ = _run(capsys, "audit", *names, "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["summary"]["skipped"] == 0
    assert [(f["file"], f["id"]) for f in report["findings"]] == [
        (name, "not-a-policy") for name in names]


def test_standard_input_and_the_python_api_are_named_files(files, capsys, monkeypatch):
    text = EMPTY["bucket.template.json"]

    class _Stdin:
        buffer = io.BytesIO(text.encode())

    monkeypatch.setattr(sys, "stdin", _Stdin())
    code, out, _ = _run(capsys, "audit", "-", "--format", "json")
    assert code == 1 and [(f["file"], f["id"]) for f in json.loads(out)["findings"]] == [
        ("<stdin>", "not-a-policy")]
    assert [f.id for f in audit_bytes(text.encode(), "t.json")] == ["not-a-policy"]
    assert [f.id for f in audit_file(Path("plan.json"))] == ["not-a-policy"]
