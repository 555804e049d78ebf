"""Baselines are keyed by the file's path relative to the project root (the configuration file's
directory, else the current directory), so one baseline matches from the root, from a
subdirectory, with absolute paths and with `./` or `a/../` spellings; a baseline written before
(no `files-relative-to`: names as printed) keeps matching the way it did."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rumpolicy.analysis.audit.baseline import BaselineError, load, project_path
from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
SECURITY = (FIXTURES / "alias-allows-missing" / "trigger.json").read_text()
NO_VERSION = (FIXTURES / "missing-version" / "trigger.json").read_text()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project whose pyproject.toml configures the audit, with policies two levels down."""
    (tmp_path / "pyproject.toml").write_text('[tool.rumpolicy.audit]\nfail-on = "warning"\n')
    (tmp_path / "policies" / "web").mkdir(parents=True)
    (tmp_path / "policies" / "web" / "shop.json").write_text(SECURITY)
    (tmp_path / "policies" / "old.json").write_text(NO_VERSION)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _audit(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["audit", *argv, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _write(capsys, where: Path, baseline: Path, *paths: str) -> str:
    os.chdir(where)
    assert main(["audit", *paths, "--write-baseline", str(baseline)]) == 0
    assert "wrote 2 findings" in capsys.readouterr().err
    return baseline.read_text()


def test_baselines_written_anywhere_name_files_from_the_project_root(project, capsys):
    baseline = project / "b.json"
    from_root = _write(capsys, project, baseline, "policies")
    assert from_root == _write(capsys, project / "policies" / "web", baseline, "..")
    assert from_root == _write(capsys, project / "policies", baseline, str(project / "policies"))
    assert from_root == _write(capsys, project, baseline, "./policies/web/shop.json",
                               "policies/web/../old.json")
    rows = json.loads(from_root)
    assert rows["files-relative-to"] == "project-root"
    assert [r["file"] for r in rows["findings"]] == ["policies/old.json",
                                                     "policies/web/shop.json"]


def test_a_baseline_written_at_the_root_matches_from_anywhere(project, capsys):
    assert main(["audit", "policies", "--write-baseline", "b.json"]) == 0
    capsys.readouterr()
    for where, paths in [(".", ["policies"]),
                         (".", ["./policies/web/shop.json", "./policies/old.json"]),
                         ("policies", ["."]),
                         ("policies/web", ["shop.json", "../old.json"]),
                         ("policies/web", [str(project / "policies")]),
                         ("policies", [str(project / "policies" / "web" / ".." / "old.json"),
                                       "web/./shop.json"])]:
        os.chdir(project / where)
        code, report = _audit(capsys, *paths, "--baseline", str(project / "b.json"))
        assert (code, report["findings"], report["summary"]["suppressed"]) == (0, [], 2), \
            (where, paths)


def test_from_outside_the_project_the_current_directory_is_the_root(project, capsys):
    """Run from / (above the configuration), the root is where the audit runs: the files are
    named by their whole path, and a baseline written there is matched there."""
    os.chdir("/")
    assert main(["audit", str(project / "policies"), "--write-baseline",
                 str(project / "b.json")]) == 0
    capsys.readouterr()
    files = {r["file"] for r in json.loads((project / "b.json").read_text())["findings"]}
    assert files == {str(project / "policies" / "old.json").lstrip("/"),
                     str(project / "policies" / "web" / "shop.json").lstrip("/")}
    code, report = _audit(capsys, str(project / "policies"), "--baseline",
                          str(project / "b.json"))
    assert (code, report["summary"]["suppressed"]) == (0, 2)


def test_a_new_finding_in_another_directory_with_the_same_name_is_new(project, capsys):
    """Keys keep the directories: policies/web/shop.json in the baseline does not cover a
    shop.json elsewhere, whichever directory the audit runs in."""
    assert main(["audit", "policies", "--write-baseline", "b.json"]) == 0
    capsys.readouterr()
    (project / "policies" / "shop.json").write_text(SECURITY)
    os.chdir(project / "policies" / "web")
    code, report = _audit(capsys, "..", "--baseline", str(project / "b.json"))
    assert code == 1 and report["summary"]["suppressed"] == 2
    assert [f["file"] for f in report["findings"]] == ["../shop.json"]


def test_an_old_baseline_keeps_matching_where_it_did(project, capsys):
    """Without files-relative-to (written before it), names are as printed where the audit ran,
    here policies/web; with it (written at the root), they are relative to the project root.
    Both match in policies/web."""
    os.chdir(project / "policies" / "web")
    _, report = _audit(capsys, "shop.json", "../old.json")
    rows = [{"file": f["file"], "id": f["id"], "path": f["path"], "message": f["message"]}
            for f in report["findings"]]
    assert {r["file"] for r in rows} == {"shop.json", "../old.json"}
    (project / "old.json").write_text(json.dumps({"rumpolicy-baseline": 1, "findings": rows}))
    os.chdir(project)
    assert main(["audit", "policies", "--write-baseline", "new.json"]) == 0
    capsys.readouterr()
    os.chdir(project / "policies" / "web")
    for baseline in ("old.json", "new.json"):
        code, report = _audit(capsys, "shop.json", "../old.json", "--baseline",
                              str(project / baseline))
        assert (code, report["findings"], report["summary"]["suppressed"]) == (0, [], 2), \
            baseline


def test_files_relative_to_must_be_the_project_root(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"rumpolicy-baseline": 1,\n "files-relative-to": "cwd", "findings": []}')
    with pytest.raises(BaselineError, match=r"b\.json:2:23: \"files-relative-to\" must be "):
        load(path)


_NAMES = st.text(alphabet="abz._-", min_size=1, max_size=4).filter(lambda n: n not in
                                                                    (".", ".."))


@given(st.lists(_NAMES, min_size=1, max_size=5), st.lists(_NAMES, max_size=3),
       st.data())
def test_the_key_is_the_same_from_any_directory_and_spelling(tail, head, data):
    """A file under root/head/tail, named from any directory on the way down, relative or
    absolute, with `./` and `name/..` detours, has one key: head/tail."""
    root = "/project"
    file = PurePosixPath(root, *head, *tail)
    depth = data.draw(st.integers(0, len(head) + len(tail) - 1), label="depth")
    here = PurePosixPath(root, *(head + tail)[:depth])
    relative = os.path.relpath(file, here)
    detour = data.draw(_NAMES, label="detour")
    spellings = [str(file), relative, f"./{relative}", f"{detour}/../{relative}",
                 f"{here}/./{relative}"]
    expected = PurePosixPath(*head, *tail).as_posix()
    assert {project_path(s, root, str(here)) for s in spellings} == {expected}
