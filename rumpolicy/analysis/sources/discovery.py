"""Which files a run reads, the way ruff and ripgrep choose them.

A directory is walked in sorted order, skipping the usual suspects (`DEFAULT_EXCLUDES`: version
control, dependencies, virtual environments, caches, build output), every directory holding a
`pyvenv.cfg` (a virtual environment by any name), whatever the `.gitignore` files from the
walked directory down (and `.git/info/exclude`) ignore, and whatever the exclude patterns
(`--exclude`, the configuration's `exclude`) match. Only files whose names end in
`WALKED_SUFFIXES` are candidates. A file named on the command line is always read, unless
`force_exclude` (for pre-commit, which names every changed file) applies the excludes to it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rumpolicy.analysis.sources.files import WALKED_SUFFIXES
from rumpolicy.analysis.sources.globs import PatternSet

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".bzr", ".jj", ".direnv", ".venv", "venv", ".tox", ".nox",
    "node_modules", "bower_components", "__pycache__", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".hypothesis", ".eggs", "site-packages", "__pypackages__", ".terraform",
    ".terragrunt-cache", ".aws-sam", ".serverless", ".idea", ".vscode", "dist", "_build",
    "buck-out",
)
"""Directory names never walked into (they can still be named on the command line). `cdk.out`
is not among them: CDK's synthesized templates are what the audit reads there."""


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    named: bool
    """Given on the command line (not found by walking a directory)."""


@dataclass(frozen=True, slots=True)
class Discovery:
    files: tuple[Candidate, ...]


def discover(paths: Sequence[Path], excludes: Sequence[PatternSet] = (),
             respect_gitignore: bool = True, force_exclude: bool = False) -> Discovery:
    """Every candidate file under `paths`, in order, each once."""
    found: list[Candidate] = []
    seen: set[str] = set()
    defaults = PatternSet.of(Path("/"), [name + "/" for name in DEFAULT_EXCLUDES])

    def add(path: Path, named: bool) -> None:
        key = os.path.abspath(path)  # not resolve(): a syscall per component, per file
        if key not in seen:
            seen.add(key)
            found.append(Candidate(path, named))

    for path in paths:
        if force_exclude and path.is_dir() and any(
                p.covers(path.absolute(), is_dir=True) for p in (*excludes, defaults)):
            continue  # as ruff's --force-exclude: a named folder the excludes cover too
        if not path.is_dir():
            absolute = path.absolute()
            if force_exclude and any(p.covers(absolute) for p in (*excludes, defaults)):
                continue
            add(path, not force_exclude)  # forced: read like a walked file
            continue
        for entry in _walk(path, excludes, defaults, respect_gitignore):
            add(entry, False)
    return Discovery(tuple(found))


def _walk(root: Path, excludes: Sequence[PatternSet], defaults: PatternSet,
          respect_gitignore: bool) -> Iterable[Path]:
    """Every candidate file below `root` that nothing excludes."""
    ignores = _ancestor_ignores(root) if respect_gitignore else []
    stack: list[tuple[Path, list[PatternSet]]] = [(root, ignores)]
    while stack:
        directory, inherited = stack.pop()
        rules = list(inherited)
        if respect_gitignore:
            rules.extend(_gitignore(directory))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        below: list[Path] = []
        absolute = directory.absolute()
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if not is_dir and not entry.name.lower().endswith(WALKED_SUFFIXES):
                continue
            path = absolute / entry.name
            shown = directory / entry.name
            if _excluded(path, is_dir, rules, excludes, defaults) or (
                    is_dir and (path / "pyvenv.cfg").is_file()):
                continue
            if is_dir:
                below.append(shown)
            elif entry.is_file():
                yield shown
        stack.extend((d, rules) for d in reversed(below))


def _excluded(path: Path, is_dir: bool, gitignores: Sequence[PatternSet],
              excludes: Sequence[PatternSet], defaults: PatternSet) -> bool:
    if is_dir and defaults.decide(path, True):
        return True
    if any(p.decide(path, is_dir) for p in excludes):
        return True
    for rules in reversed(gitignores):  # the deepest .gitignore that has a say decides
        decided = rules.decide(path, is_dir)
        if decided is not None:
            return decided
    return False


def _gitignore(directory: Path) -> list[PatternSet]:
    rules = []
    for name in (".gitignore", ".git/info/exclude"):
        file = directory / name
        if file.is_file():
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            rules.append(PatternSet.of(directory.absolute(), lines, str(file), lenient=True))
    return rules


def _ancestor_ignores(root: Path) -> list[PatternSet]:
    """The .gitignore files above `root` inside its git repository, outermost first. They are
    tested only on entries below `root`, which is therefore read even when they list it."""
    absolute = root.absolute()
    chain: list[Path] = []
    for parent in absolute.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    rules: list[PatternSet] = []
    for parent in reversed(chain):
        rules.extend(_gitignore(parent))
    return rules
