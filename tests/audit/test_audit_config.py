"""Configuration (`[tool.rumpolicy.audit]`, `rumpolicy.toml`, `--config`), baselines, and
`--jobs`: what can be switched off or accepted, and that parallel runs change nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _bench import audit_bench  # tests/_bench.py

from rumpolicy.analysis.audit.batch import audit_candidates, collect
from rumpolicy.analysis.sources import discover
from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
SECURITY = (FIXTURES / "alias-allows-missing" / "trigger.json").read_text()
NO_VERSION = (FIXTURES / "missing-version" / "trigger.json").read_text()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "shop.json").write_text(SECURITY)
    (tmp_path / "policies" / "old.json").write_text(NO_VERSION)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # the configuration is found upwards
    return tmp_path


def _audit(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["audit", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else {}, err


def _ids(report: dict) -> list[tuple[str, str]]:
    return [(Path(f["file"]).name, f["id"]) for f in report["findings"]]


def test_pyproject_settings_apply(repo, capsys):
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.rumpolicy.audit]\n'
        'disable = ["missing-version"]\nfail-on = "error"\n'
        'severity = { alias-allows-missing = "warning" }\n')
    code, report, _ = _audit(capsys, "../policies")
    assert code == 0  # the security finding is now a warning, below fail-on = error
    assert [(n, i, f["severity"]) for (n, i), f in zip(_ids(report), report["findings"],
                                                       strict=True)] == [
        ("shop.json", "alias-allows-missing", "warning")]
    assert report["summary"]["ignored"] == 1
    code, _, _ = _audit(capsys, "../policies", "--fail-on", "warning")
    assert code == 1  # the command line beats the configuration


def test_rumpolicy_toml_wins_in_its_directory_and_per_file_ignores(repo, capsys):
    (repo / "pyproject.toml").write_text('[tool.rumpolicy.audit]\ndisable = ["empty-sid"]\n')
    (repo / "rumpolicy.toml").write_text(
        '[audit]\nexclude = ["old.json"]\n'
        '[audit.per-file-ignores]\n"policies/shop.*" = ["alias-allows-missing"]\n')
    code, report, _ = _audit(capsys, "../policies")
    assert code == 0 and _ids(report) == [] and report["summary"]["files"] == 1


@pytest.mark.parametrize(("text", "where", "fragment"), [
    ('[tool.rumpolicy.audit]\nexlude = ["x"]\n', "2:1", "unknown key 'exlude' in "
     "[tool.rumpolicy.audit]; did you mean 'exclude'?"),
    ('[tool.rumpolicy.audit]\ndisable = ["publc-ingestion"]\n', "2:12",
     "unknown check id 'publc-ingestion'; did you mean 'public-ingestion'?"),
    ('[tool.rumpolicy.audit]\nfail-on = "securty"\n', "2:1", "did you mean 'security'?"),
    ('[tool.rumpolicy.audit]\nexclude = "x"\n', "2:1", "'exclude' must be a list of strings"),
    ('[tool.rumpolicy.audit]\ndisable = [\n', "3:1", "not valid TOML"),
])
def test_bad_configuration_is_one_line_with_file_line_column(repo, capsys, text, where,
                                                             fragment):
    (repo / "pyproject.toml").write_text(text)
    code = main(["audit", "../policies"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"rumpolicy: error: {repo / 'pyproject.toml'}:{where}: ")
    assert fragment in err and err.count("\n") == 1


def test_config_option_names_the_file(repo, capsys, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "strict.toml"
    other.write_text('[audit]\nfail-on = "warning"\ndisable = ["alias-allows-missing"]\n')
    code, report, _ = _audit(capsys, "../policies", "--config", str(other))
    assert code == 1 and _ids(report) == [("old.json", "missing-version")]
    assert main(["audit", "../policies", "--config", "missing.toml"]) == 2
    assert "missing.toml: no such configuration file" in capsys.readouterr().err


def test_baseline_suppresses_known_findings_and_survives_moved_lines(repo, capsys):
    baseline = repo / "baseline.json"
    assert main(["audit", "../policies", "--write-baseline", str(baseline)]) == 0
    assert "wrote 2 findings" in capsys.readouterr().err
    code, report, _ = _audit(capsys, "../policies", "--baseline", str(baseline))
    assert code == 0 and report["findings"] == [] and report["summary"]["suppressed"] == 2
    shifted = json.dumps(json.loads(SECURITY), indent=8)  # every line moves
    (repo / "policies" / "shop.json").write_text("\n\n" + shifted)
    code, report, _ = _audit(capsys, "../policies", "--baseline", str(baseline))
    assert code == 0 and report["summary"]["suppressed"] == 2
    (repo / "policies" / "new.json").write_text(SECURITY)
    code, report, _ = _audit(capsys, "../policies", "--baseline", str(baseline))
    assert code == 1 and _ids(report) == [("new.json", "alias-allows-missing")]
    assert report["summary"]["suppressed"] == 2


@pytest.mark.parametrize(("text", "where"), [
    ('{"rumpolicy-baseline": 1, "findings": [{"file": "a", "id": 3}]}', "1:60"),
    ('{"findings": []}', "1:1"),
    ('{"rumpolicy-baseline": 1,\n "findings": [}', "2:15"),
])
def test_bad_baseline_is_one_line_with_file_line_column(repo, capsys, text, where):
    (repo / "b.json").write_text(text)
    code = main(["audit", "../policies", "--baseline", str(repo / "b.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"rumpolicy: error: {repo / 'b.json'}:{where}: ")


def test_list_checks_text_and_json(capsys):
    from rumpolicy.analysis.audit import CHECKS

    assert main(["audit", "--list-checks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CHECKS)
    assert lines[0].split()[:2] == [CHECKS[0].id, CHECKS[0].severity.value]
    assert main(["audit", "--list-checks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["checks"]
    assert [r["id"] for r in rows] == [c.id for c in CHECKS]


def test_jobs_give_exactly_the_findings_of_one_job(tmp_path):
    texts = audit_bench().corpus(150, 7)
    for index, text in enumerate(texts):
        (tmp_path / f"p{index:03}.json").write_text(text)
    shutil.copy(FIXTURES / "template-invalid" / "trigger-ignore.yaml", tmp_path / "t.yaml")
    (tmp_path / "package.json").write_text('{"name": "x"}')
    files = discover([tmp_path]).files
    one = collect(audit_candidates(files, jobs=1))
    two = collect(audit_candidates(files, jobs=2))
    assert one == two
    assert len(one.files) == 151 and one.skipped == 1 and one.findings


def test_this_repository_passes_its_own_audit(capsys, monkeypatch):
    """pyproject.toml's [tool.rumpolicy.audit] excludes the deliberately broken fixtures and
    accepts AWS's published allow-all sample; everything else must be clean."""
    monkeypatch.chdir(ROOT)
    code = main(["audit", "--format", "json", "--jobs", "1"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["findings"] == []
    assert report["summary"]["files"] >= 10 and report["summary"]["ignored"] == 2
