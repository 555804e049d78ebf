"""Which files a run reads: default excludes, .gitignore as git itself decides it, --exclude,
--force-exclude, and JSON that holds no policy skipped and counted (issue: `audit .` on a
front-end repository reported package.json and tsconfig.json as broken policies)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.sources import PatternSet, discover
from rumpolicy.analysis.sources.globs import GlobError
from rumpolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "fixtures" / "audit" / "alias-allows-missing" / "trigger.json").read_text()


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _found(root: Path, **kwargs: object) -> list[str]:
    found = discover([root], **kwargs)  # type: ignore[arg-type]
    return sorted(c.path.relative_to(root).as_posix() for c in found.files)


def test_default_excludes_gitignore_and_virtual_environments(tmp_path):
    _tree(tmp_path, {
        "policies/shop.json": POLICY, "node_modules/pkg/policy.json": POLICY,
        ".venv/x.json": POLICY, "env2/pyvenv.cfg": "", "env2/lib/x.json": POLICY,
        "build/out.json": POLICY, ".gitignore": "build/\n*.tmp.json\n!keep.tmp.json\n",
        "a.tmp.json": POLICY, "keep.tmp.json": POLICY, "cdk.out/Stack.template.json": "{}",
        "README.md": "# not a candidate",
    })
    assert _found(tmp_path) == ["cdk.out/Stack.template.json", "keep.tmp.json",
                                "policies/shop.json"]
    assert "build/out.json" in _found(tmp_path, respect_gitignore=False)


def test_a_directory_named_is_read_even_when_a_gitignore_above_lists_it(tmp_path):
    _tree(tmp_path, {".git/HEAD": "", ".gitignore": "cdk.out\n",
                     "cdk.out/Stack.template.json": "{}", "cdk.out/manifest.json": "{}"})
    assert _found(tmp_path) == []
    assert _found(tmp_path / "cdk.out") == ["Stack.template.json", "manifest.json"]


def test_exclude_patterns_and_force_exclude(tmp_path):
    _tree(tmp_path, {"legacy/a.json": POLICY, "new/b.json": POLICY, "new/c.draft.json": POLICY})
    excludes = [PatternSet.of(tmp_path, ["legacy/", "*.draft.json"])]
    assert _found(tmp_path, excludes=excludes) == ["new/b.json"]
    named = [tmp_path / "legacy" / "a.json", tmp_path / "new" / "c.draft.json"]
    assert [c.named for c in discover(named, excludes).files] == [True, True]
    assert discover(named, excludes, force_exclude=True).files == ()
    # a named folder too, as ruff's --force-exclude (it was walked: review)
    assert [c.path.name for c in discover([tmp_path / "legacy"], excludes).files] == ["a.json"]
    assert discover([tmp_path / "legacy"], excludes, force_exclude=True).files == ()


def test_an_exclude_written_from_here_is_anchored_and_one_above_is_an_error(tmp_path):
    """`--exclude ./legacy` silently excluded nothing: git's rules never match `./` (review).
    A .gitignore keeps git's rules (`lenient`)."""
    _tree(tmp_path, {"legacy/a.json": POLICY, "new/legacy/b.json": POLICY})
    for written in ("./legacy", ".//legacy/", "././legacy"):
        assert _found(tmp_path, excludes=[PatternSet.of(tmp_path, [written])]) == \
            ["new/legacy/b.json"]
    assert _found(tmp_path, excludes=[PatternSet.of(tmp_path, ["./legacy"], lenient=True)]) \
        == ["legacy/a.json", "new/legacy/b.json"]
    with pytest.raises(GlobError, match=r"^--exclude: '\.\./src' points above the folder"):
        PatternSet.of(tmp_path, ["../src"], "--exclude")


_NAMES = st.sampled_from(["a", "b", "build", "x.json", "y.tmp.json", "deep"])
_PATTERNS = st.sampled_from([
    "build", "build/", "/build", "*.json", "!x.json", "a/*", "a/**/x.json", "**/b", "deep/**",
    "?.json", "[xy].json", "!/a", "b/x.json", "*.tmp.*", "!deep/", "a/b/",
])


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(_NAMES, min_size=1, max_size=3), min_size=1, max_size=8),
       patterns=st.lists(_PATTERNS, min_size=1, max_size=4),
       nested=st.lists(_PATTERNS, max_size=2))
def test_gitignore_matches_git_check_ignore(tmp_path_factory, paths, patterns, nested):
    """The walk keeps exactly the files git would track: `git ls-files --others
    --exclude-standard` on the same tree is the oracle."""
    root = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    files = {}
    for parts in paths:
        *dirs, name = parts
        if not name.endswith(".json"):
            name += ".json"
        files["/".join([*dirs, name])] = "{}"
    directories = {"/".join(parts[:i]) for parts in paths for i in range(1, len(parts))}
    assume(not directories & set(files))  # a name used both as a file and as a directory
    _tree(root, files)
    (root / ".gitignore").write_text("\n".join(patterns) + "\n")
    if (root / "a").is_dir():
        (root / "a" / ".gitignore").write_text("\n".join(nested) + "\n")
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split()
    expected = sorted(p for p in listed if p.endswith(".json"))
    assert _found(root) == expected


def test_audit_of_a_front_end_repository_reads_only_policies(tmp_path, capsys, monkeypatch):
    _tree(tmp_path, {"package.json": '{"name": "shop", "version": "1.0.0"}',
                     "tsconfig.json": '{\n  // comments are not JSON\n  "strict": true\n}',
                     ".github/workflows/ci.yml": "on: push\njobs: {}\n",
                     "infra/policy.json": POLICY, "node_modules/x/package.json": "{}",
                     "template.yaml": "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"})
    monkeypatch.chdir(tmp_path)
    code = main(["audit", ".", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {f["file"] for f in report["findings"]} == {"infra/policy.json"}
    assert report["summary"]["files"] == 1 and report["summary"]["skipped"] == 4
    code = main(["validate", "."])
    out = capsys.readouterr().out
    assert out == "infra/policy.json: valid\n4 files without policies skipped\n" and code == 0


@pytest.mark.parametrize(("content", "code"), [
    ("", "not-a-policy"), ("Version: x\n", "not-a-policy"), ('{"Version": ', "json-syntax"),
    ("\x00\x01", "not-a-policy"), ('{"name": "x"}', "missing-element"),
])
def test_validate_and_audit_classify_a_named_file_alike(tmp_path, capsys, content, code):
    path = tmp_path / "p.json"
    path.write_text(content)
    assert main(["validate", str(path), "--format", "json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    validated = [(d["code"], d["line"], d["column"]) for d in report["diagnostics"]]
    main(["audit", str(path), "--format", "json"])
    audited = [(f["id"], f["line"], f["column"])
               for f in json.loads(capsys.readouterr().out)["findings"]]
    assert validated == audited and validated[0][0] == code


def test_stdin_is_named_alike(capsys, monkeypatch):
    import io
    import sys

    for command in ("validate", "audit"):
        class _Stdin:
            buffer = io.BytesIO(b"")

        monkeypatch.setattr(sys, "stdin", _Stdin())
        main([command, "-", "--format", "json"])
        out = json.loads(capsys.readouterr().out)
        names = [f["file"] for f in out.get("files", out.get("findings", []))]
        assert names == ["<stdin>"], command
