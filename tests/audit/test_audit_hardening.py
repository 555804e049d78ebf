"""Inputs that used to hang or crash the audit: YAML aliases and odd YAML values, patterns that
cannot be compiled, configurations of the wrong shape, file names that are not UTF-8, an empty
`!Sub` and a baseline version that is only equal to 1. Each is a finding or a one-line error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rumpolicy.analysis.audit.baseline import BaselineError
from rumpolicy.analysis.audit.baseline import load as load_baseline
from rumpolicy.analysis.sources import discover
from rumpolicy.analysis.sources.tree import Scalar, TreeError, describe, from_yaml
from rumpolicy.cli import main
from rumpolicy.cli._common import UsageError, write_file

ROOT = Path(__file__).resolve().parents[2]
NO_VERSION = (ROOT / "fixtures" / "audit" / "missing-version" / "trigger.json").read_text()
ALIASES = "YAML aliases (&anchor / *alias) are not supported by CloudFormation"


def _template(document: str) -> str:
    return ("Resources:\n  M:\n    Type: AWS::RUM::AppMonitor\n    Properties:\n"
            f"      ResourcePolicy:\n        PolicyDocument: {document}\n")


def _audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. YAML aliases ----------------------------------------------------------------------------


def test_billion_laughs_template_is_refused_quickly_at_the_first_alias(tmp_path):
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    body = "\n".join("          " + line for line in levels)
    path = tmp_path / "t.yaml"
    path.write_text(_template("") + body + "\n")
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "audit", str(path)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert "Traceback" not in done.stderr
    assert f"{path}:8:18: error [template-syntax]" in done.stdout
    assert ALIASES in done.stdout


@pytest.mark.parametrize(("text", "where"), [
    ("a: &x [1]\nb: *x\n", (2, 4)),
    ("a: &x foo\nb: [*x]\n", (2, 5)),
    ("a: &x\n  b: *x\n", (2, 6)),  # recursive: was "nested more than 64 levels"
])
def test_aliases_are_a_tree_error_at_the_alias(text, where):
    with pytest.raises(TreeError) as caught:
        from_yaml(text)
    assert caught.value.message == ALIASES
    assert (caught.value.line, caught.value.column) == where


def test_an_anchor_without_an_alias_is_fine():
    assert from_yaml("a: &x [1]\nb: [1]\n") is not None


# -- 3. YAML values the template reader did not expect -----------------------------------------


@pytest.mark.parametrize(("document", "shown"), [
    ("2012-10-17", 'the value "2012-10-17"'),
    ("!!binary aGVsbG8=", "the value \"b'hello'\""),
])
def test_dates_and_binary_are_template_findings(capsys, tmp_path, document, shown):
    path = tmp_path / "t.yaml"
    path.write_text(_template(document))
    code, out, _ = _audit(capsys, str(path))
    assert code == 1
    assert f"{path}:6:25: error [template-invalid]" in out and shown in out


def test_describe_names_any_scalar():
    assert describe(Scalar(b"x", 1, 1)) == "the value \"b'x'\""


def test_a_merge_key_is_a_template_finding_at_the_key(capsys, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(_template("") + "          <<: {Version: x}\n")
    code, out, _ = _audit(capsys, str(path))
    assert code == 1
    assert f"{path}:7:11: error [template-syntax]" in out
    assert "YAML merge keys (<<) are not supported by CloudFormation" in out


@pytest.mark.parametrize("text", [
    "# deploys AWS::RUM::AppMonitor stacks\n.defaults: &defaults\n  image: x\n"
    "deploy:\n  <<: *defaults\n  script: [make]\n",
    "services:\n  web:\n    environment: &env {TYPE: AWS::RUM::AppMonitor}\n"
    "  worker:\n    environment: *env\n",
    "kind: A\nnote: AWS::RUM::AppMonitor\n---\nkind: B\n",
])
def test_yaml_that_is_no_template_is_skipped_whatever_yaml_it_uses(capsys, tmp_path, text):
    """A CI workflow or compose file may name the type and use what CloudFormation refuses
    (anchors, merge keys, several documents): a walk skips it, as docs/audit.md says, rather
    than fail CI with a template-syntax error (review)."""
    (tmp_path / "ci.yml").write_text(text)
    code, out, _ = _audit(capsys, str(tmp_path))
    assert code == 0 and "1 file without policies skipped" in out, out


# -- 2. Patterns that cannot be compiled --------------------------------------------------------


def test_a_gitignore_pattern_that_cannot_compile_matches_nothing(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("sub/[!]\nskip.json\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text("{}")
    (tmp_path / "skip.json").write_text("{}")
    found = discover([tmp_path])
    assert sorted(c.path.name for c in found.files) == ["a.json"]


def test_an_exclude_option_that_cannot_compile_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "a.json").write_text(NO_VERSION)
    code, out, err = _audit(capsys, str(tmp_path), "--exclude", "[b-a]")
    assert code == 2 and out == ""
    assert err == ("rumpolicy: error: --exclude: invalid pattern '[b-a]': bad character range "
                   "b-a\n")


@pytest.mark.parametrize("command", ["audit", "validate"])
def test_both_commands_refuse_an_exclude_that_cannot_compile(capsys, tmp_path, command):
    (tmp_path / "a.json").write_text(NO_VERSION)
    code = main([command, str(tmp_path), "--exclude", "[b-a]"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert "--exclude: invalid pattern '[b-a]'" in captured.err


@pytest.mark.parametrize(("text", "where", "fragment"), [
    ('[audit]\nexclude = ["ok", "[z-a]"]\n', "2:18", "'exclude': invalid pattern '[z-a]'"),
    ('[audit.per-file-ignores]\n"sub/[!]" = ["missing-version"]\n', "2:1",
     "'per-file-ignores': invalid pattern 'sub/[!]'"),
])
def test_configured_patterns_that_cannot_compile_name_the_file(capsys, tmp_path, text, where,
                                                               fragment):
    config = tmp_path / "rumpolicy.toml"
    config.write_text(text)
    (tmp_path / "a.json").write_text(NO_VERSION)
    code, _, err = _audit(capsys, str(tmp_path), "--config", str(config))
    assert code == 2 and err.startswith(f"rumpolicy: error: {config}:{where}: ")
    assert fragment in err and err.count("\n") == 1


# -- 4. Configurations of the wrong shape -------------------------------------------------------


@pytest.mark.parametrize(("text", "where", "fragment"), [
    ("tool = 3\n", "1:1", "[tool] must be a table, not a number"),
    ("[tool]\nrumpolicy = 3\n", "2:1", "[tool.rumpolicy] must be a table, not a number"),
    ('[tool]\nrumpolicy = "x"\n', "2:1", "[tool.rumpolicy] must be a table, not a string"),
])
def test_pyproject_tables_of_the_wrong_type_name_the_file(capsys, tmp_path, text, where,
                                                          fragment):
    config = tmp_path / "pyproject.toml"
    config.write_text(text)
    code, _, err = _audit(capsys, str(tmp_path), "--config", str(config))
    assert code == 2 and err == f"rumpolicy: error: {config}:{where}: {fragment}\n"


def test_dotted_keys_under_tool_are_found_and_read(capsys, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool]\nrumpolicy.audit.fail-on = "nonsense"\n')
    (tmp_path / "a.json").write_text(NO_VERSION)
    monkeypatch.chdir(tmp_path)
    code, _, err = _audit(capsys, ".")
    assert code == 2 and "'fail-on' must be one of" in err


def test_a_pyproject_that_only_mentions_rumpolicy_is_passed_over(capsys, tmp_path,
                                                                monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\ndependencies = ["rumpolicy"]\n[tool.ruff]\nline-length = 99\n')
    (tmp_path / "a.json").write_text(NO_VERSION)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _audit(capsys, ".")
    assert code == 0 and "missing-version" in out


# -- 5. File names that are not UTF-8, and writing outputs whole --------------------------------


@pytest.fixture
def odd_name(tmp_path, monkeypatch):
    """A directory holding a policy whose name has the byte 0xff (not UTF-8)."""
    policies = tmp_path / "policies"
    policies.mkdir()
    try:
        (policies / os.fsdecode(b"p\xff.json")).write_text(NO_VERSION)
    except (OSError, UnicodeError):
        pytest.skip("the file system does not take non-UTF-8 names")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_baseline_with_a_non_utf8_name_is_written_and_read_back(capsys, odd_name):
    assert main(["audit", "policies", "--write-baseline", "b.json"]) == 0
    capsys.readouterr()
    text = (odd_name / "b.json").read_text(encoding="ascii")
    assert "p\\udcff.json" in text
    code, out, _ = _audit(capsys, "policies", "--baseline", "b.json", "--fail-on", "warning")
    assert code == 0 and "1 finding already in the baseline" in out


def test_an_output_file_keeps_a_non_utf8_name_as_its_bytes(capsys, odd_name):
    code, out, _ = _audit(capsys, "policies", "--output", "report.txt")
    assert code == 0 and out == ""
    assert b"policies/p\xff.json:1:1: warning [missing-version]" in \
        (odd_name / "report.txt").read_bytes()


def test_sarif_names_a_non_utf8_file_by_its_bytes(capsys, odd_name):
    code, out, _ = _audit(capsys, "policies", "--format", "sarif")
    assert code == 0
    [run] = json.loads(out)["runs"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]}
    assert uris == {"policies/p%FF.json"}


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.txt"
    target.write_text("before\n")

    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UsageError, match=r"^--output report.txt: cannot write: No space left"):
        write_file(target, "after\n", "--output report.txt")
    assert target.read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_write_file_replaces_and_keeps_the_mode(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("before\n")
    target.chmod(0o640)
    write_file(target, "after\n", "--output report.txt")
    assert target.read_text() == "after\n" and target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(UsageError, match=r"^--junit x: cannot write: No such file"):
        write_file(tmp_path / "missing" / "x.xml", "", "--junit x")


# -- 6. An empty !Sub, and the baseline's version -----------------------------------------------


def test_an_empty_sub_is_a_template_finding_at_the_document(capsys, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(_template('!Sub ""'))
    code, out, _ = _audit(capsys, str(path))
    assert code == 1
    assert f"{path}:6:25: error [template-invalid]" in out and "PolicyDocument is empty" in out
    assert "the file is empty" not in out


@pytest.mark.parametrize("version", ["true", "1.0", '"1"'])
def test_a_baseline_version_must_be_the_integer_1(tmp_path, version):
    path = tmp_path / "b.json"
    path.write_text(f'{{"rumpolicy-baseline": {version}, "findings": []}}\n')
    with pytest.raises(BaselineError, match=r":1:24: not a rumpolicy baseline"):
        load_baseline(path)


def test_a_baseline_of_version_1_loads(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"rumpolicy-baseline": 1, "findings": []}))
    assert not load_baseline(path).known
