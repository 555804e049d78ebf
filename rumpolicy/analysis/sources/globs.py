"""Gitignore-style patterns, for `.gitignore` files, `--exclude` and the configuration's
`exclude` and `per-file-ignores`: one syntax everywhere, the one users already know.

The walk tests every entry on its own and does not descend into an excluded directory (as git
and ripgrep do), so a pattern never needs to match a directory's descendants, and a directory
named on the command line is read even when a `.gitignore` above it lists it (`cdk.out`).
Semantics follow gitignore(5): a pattern with no slash, or only a trailing one, matches a name at
any depth; any other slash anchors it to the directory of the file (or the configuration) it comes
from; a trailing slash matches directories only; `*` and `?` stop at slashes, `**` does not;
`!` re-includes; the last matching pattern wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class GlobError(ValueError):
    """A pattern that cannot be compiled (`[z-a]`, `[!]`): one line naming where it came from
    and the pattern."""


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    regex: re.Pattern[str]
    negated: bool
    anchored: bool
    """True: matched against the path relative to the pattern's base; False: the name only."""
    directory_only: bool

    def matches(self, relative: str, name: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        return self.regex.fullmatch(relative if self.anchored else name) is not None


def _as_written_from_base(line: str, source: str) -> str:
    """`./src` as the `/src` gitignore would need: a user names a path from where the
    patterns are read (git itself never matches `./`). `../` cannot be matched from there,
    so it is an error rather than a pattern that silently matches nothing."""
    bang = "!" if line.startswith("!") else ""
    body = line[len(bang):]
    if body.startswith("../") or body == "..":
        where = f"{source}: " if source else ""
        raise GlobError(f"{where}'{line}' points above the folder patterns are read from; "
                        "exclude it from there, or write the pattern without '..'")
    if body.startswith("./"):
        while body.startswith("./"):
            body = body[2:].lstrip("/")
        body = "/" + body
    return bang + body


def parse_pattern(text: str) -> Pattern | None:
    """One gitignore line as a pattern; None for blanks and comments; a GlobError for a
    pattern that cannot be compiled."""
    line = text.rstrip("\n\r")
    line = re.sub(r"(?<!\\)\s+$", "", line)  # trailing spaces, unless escaped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    if line.startswith(("\\#", "\\!")):
        line = line[1:]
    directory_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.removeprefix("/")
    try:
        regex = _compile(line)
    except re.error as err:
        raise GlobError(f"invalid pattern '{text.strip()}': {err.msg}") from None
    return Pattern(text, regex, negated, anchored, directory_only)


@cache
def _compile(glob: str) -> re.Pattern[str]:
    out: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index) and (index == 0 or glob[index - 1] == "/"):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("/**", index) and index + 3 == len(glob):
            out.append("/.*")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            end = glob.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
                index += 1
                continue
            body = glob[index + 1:end]
            if body[0] in "!^":
                body = "^" + body[1:]
            out.append("(?!/)[" + body.replace("\\", "\\\\") + "]")
            index = end + 1
        elif char == "\\" and index + 1 < len(glob):
            out.append(re.escape(glob[index + 1]))
            index += 2
        else:
            out.append(re.escape(char))
            index += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True, slots=True)
class PatternSet:
    """Patterns from one source (a `.gitignore`, `--exclude`, a configuration), relative to
    `base`."""

    base: Path
    patterns: tuple[Pattern, ...]
    source: str = ""

    @classmethod
    def of(cls, base: Path, lines: Iterable[str], source: str = "",
           lenient: bool = False) -> PatternSet:
        """`lenient` (a `.gitignore`) drops a pattern that cannot be compiled, as git treats it
        as matching nothing; otherwise (`--exclude`, a configuration) it is a GlobError naming
        `source`, since the user asked for it and would not see it ignored."""
        patterns: list[Pattern] = []
        for line in lines:
            if not lenient:
                line = _as_written_from_base(line, source)
            try:
                parsed = parse_pattern(line)
            except GlobError as err:
                if lenient:
                    continue
                raise GlobError(f"{source}: {err}" if source else str(err)) from None
            if parsed is not None:
                patterns.append(parsed)
        return cls(base, tuple(patterns), source)

    def decide(self, path: Path, is_dir: bool) -> bool | None:
        """True: excluded; False: re-included by a `!` pattern; None: no pattern matches."""
        relative = _relative(path, self.base)
        for pattern in reversed(self.patterns):
            if relative is None and pattern.anchored:
                continue
            if pattern.matches(relative or "", path.name, is_dir):
                return not pattern.negated
        return None

    def covers(self, path: Path, is_dir: bool = False) -> bool:
        """Whether a file (or, with `is_dir`, a directory) found some other way (named on the
        command line, or for per-file-ignores) falls under the patterns: it, or a directory
        above it up to the base, is matched (a walk would not have entered that directory)."""
        path = Path(os.path.normpath(path))
        parents = [p for p in reversed(path.parents) if _relative(p, self.base) not in (None, ".")]
        for parent in parents:
            if self.decide(parent, True):
                return True
        return self.decide(path, is_dir) is True


def _relative(path: Path, base: Path) -> str | None:
    try:  # normpath: `../policies/x.json` from a subdirectory must meet patterns of its base
        return Path(os.path.normpath(path)).relative_to(os.path.normpath(base)).as_posix()
    except ValueError:
        return None
