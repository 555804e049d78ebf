"""The audit's configuration: `[tool.rumpolicy.audit]` in `pyproject.toml` or `[audit]` in
`rumpolicy.toml`, found from the current directory upwards (the nearest wins, `rumpolicy.toml`
before `pyproject.toml` in one directory; a `pyproject.toml` without `[tool.rumpolicy]` is
passed over), or named with `--config`.

    [tool.rumpolicy.audit]
    exclude = ["legacy/", "*.draft.json"]          # gitignore-style, relative to this file
    disable = ["missing-version"]
    fail-on = "warning"
    severity = { redundant-statement = "suggestion" }
    per-file-ignores = { "fixtures/**" = ["public-ingestion"] }

An unknown key or check id, a wrong type, a file that is not TOML: a `ConfigError` naming the
file, line and column, never a silent default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rumpolicy._suggest import did_you_mean
from rumpolicy.analysis.audit.catalogue import CATALOGUE
from rumpolicy.analysis.audit.findings import Finding, Severity
from rumpolicy.analysis.sources.globs import GlobError, PatternSet, parse_pattern

_SEVERITIES = tuple(s.value for s in Severity)


class ConfigError(ValueError):
    """One line: `file:line:column: what is wrong`."""


@dataclass(frozen=True, slots=True)
class AuditConfig:
    base: Path
    """The directory patterns are relative to (the configuration file's)."""
    source: str = ""
    """The file it was read from; empty for the defaults."""
    exclude: tuple[str, ...] = ()
    disable: frozenset[str] = frozenset()
    severity: tuple[tuple[str, Severity], ...] = ()
    per_file_ignores: tuple[tuple[PatternSet, frozenset[str]], ...] = ()
    fail_on: Severity | None = None

    def excludes(self) -> PatternSet:
        return PatternSet.of(self.base, self.exclude, self.source)

    def ignored(self, finding: Finding) -> bool:
        """Disabled, or ignored for this file by per-file-ignores."""
        if finding.id in self.disable:
            return True
        ignores = self.per_file_ignores
        if not ignores:
            return False
        path = Path(finding.file).absolute()
        return any(finding.id in ids and patterns.covers(path) for patterns, ids in ignores)

    def severity_of(self, check_id: str) -> Severity | None:
        return dict(self.severity).get(check_id)


def find_config(start: Path) -> Path | None:
    """The nearest configuration file from `start` upwards, or None."""
    for directory in (start.absolute(), *start.absolute().parents):
        own = directory / "rumpolicy.toml"
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(pyproject: Path) -> bool:
    """Whether the file sets `tool.rumpolicy`, in any of TOML's spellings (`[tool.rumpolicy]`,
    `[tool]` then `rumpolicy.audit...`, inline tables): decided by parsing, which only a file
    mentioning rumpolicy pays for. A file that is not TOML but mentions rumpolicy is taken,
    so the user hears why their configuration is not read."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "rumpolicy" not in text:
        return False
    try:
        tool = tomllib.loads(text).get("tool")
    except tomllib.TOMLDecodeError:
        return True
    return isinstance(tool, dict) and "rumpolicy" in tool


def load_config(path: Path) -> AuditConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"\(at line (\d+), column (\d+)\)$", str(err))
        lines = text.split("\n")
        where = (f"{found.group(1)}:{found.group(2)}" if found
                 else f"{len(lines)}:{len(lines[-1]) + 1}")  # "at end of document"
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", str(err))
        raise ConfigError(f"{path}:{where}: not valid TOML: {message}") from None
    return _Reader(path, text).read(data)


@dataclass(frozen=True, slots=True)
class _Reader:
    path: Path
    text: str

    def fail(self, key: str, message: str) -> ConfigError:
        line, column = _locate(self.text, key)
        return ConfigError(f"{self.path}:{line}:{column}: {message}")

    def read(self, data: dict[str, Any]) -> AuditConfig:
        if self.path.name == "pyproject.toml":
            tool = self.table(self.table(data, "tool", "tool"), "rumpolicy", "tool.rumpolicy")
            prefix = "tool.rumpolicy"
        else:
            tool, prefix = data, ""
        self.only(tool, ("audit",), prefix or "the file")
        section = tool.get("audit", {})
        where = f"{prefix}.audit" if prefix else "audit"
        if not isinstance(section, dict):
            raise self.fail("audit", f"[{where}] must be a table")
        readers: dict[str, Callable[[Any, str], Any]] = {
            "exclude": self.globs, "disable": self.check_ids, "severity": self.severities,
            "per-file-ignores": self.per_file, "fail-on": self.one_severity}
        self.only(section, tuple(readers), f"[{where}]")
        values = {key.replace("-", "_"): readers[key](value, key)
                  for key, value in section.items()}
        return AuditConfig(base=self.path.parent.absolute(), source=str(self.path), **values)

    def table(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        """`parent[key]` ({} when absent), which must be a table: `tool = 3` is an error
        naming the file, not a crash."""
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"[{where}] must be a table, not {_kind(value)}")
        return value

    def only(self, table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                raise self.fail(key, f"unknown key '{key}' in {where}"
                                f"{did_you_mean(key, known)} (known: {', '.join(known)})")

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"'{key}' must be a list of strings")
        return tuple(value)

    def globs(self, value: Any, key: str) -> tuple[str, ...]:
        """Checked now, so that a pattern that cannot be compiled is reported at its line."""
        patterns = self.strings(value, key)
        for pattern in patterns:
            self.glob(pattern, key)
        return patterns

    def glob(self, pattern: str, key: str) -> None:
        try:
            parse_pattern(pattern)
        except GlobError as err:
            raise self.fail(pattern, f"'{key}': {err}") from None

    def check_ids(self, value: Any, key: str) -> frozenset[str]:
        ids = self.strings(value, key)
        for check_id in ids:
            self.known_check(check_id)
        return frozenset(ids)

    def known_check(self, check_id: str) -> None:
        if check_id not in CATALOGUE:
            raise self.fail(check_id, f"unknown check id '{check_id}'"
                            f"{did_you_mean(check_id, CATALOGUE)} (rumpolicy audit "
                            "--list-checks lists them)")

    def one_severity(self, value: Any, key: str) -> Severity:
        if value not in _SEVERITIES:
            raise self.fail(key, f"'{key}' must be one of {', '.join(_SEVERITIES)}, not "
                            f"{value!r}{did_you_mean(str(value), _SEVERITIES)}")
        return Severity(value)

    def severities(self, value: Any, key: str) -> tuple[tuple[str, Severity], ...]:
        if not isinstance(value, dict):
            raise self.fail(key, "'severity' must be a table of check id = severity")
        for check_id in value:
            self.known_check(check_id)
        return tuple((c, self.one_severity(s, c)) for c, s in value.items())

    def per_file(self, value: Any, key: str
                 ) -> tuple[tuple[PatternSet, frozenset[str]], ...]:
        if not isinstance(value, dict):
            raise self.fail(key, "'per-file-ignores' must be a table of glob = [check ids]")
        base = self.path.parent.absolute()
        ignores = []
        for glob, ids in value.items():
            self.glob(glob, key)
            ignores.append((PatternSet.of(base, [glob], str(self.path)),
                            self.check_ids(ids, glob)))
        return tuple(ignores)


def _kind(value: Any) -> str:
    """How a message names a TOML value's type."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "an array"}
    return names.get(type(value), "a date or time")


def _locate(text: str, key: str) -> tuple[int, int]:
    """Where `key` is written (bare, quoted, or in a table header); 1:1 when not found.
    tomllib keeps no positions, so the text is searched."""
    escaped = re.escape(key)
    pattern = re.compile(rf"(?:^|[\s{{,.\[])([\"']?){escaped}\1\s*(?:=|\])", re.MULTILINE)
    quoted = re.compile(rf"([\"']){escaped}\1")
    for regex in (pattern, quoted):
        found = regex.search(text)
        if found:
            offset = found.start() if regex is quoted else found.start(1)
            line = text.count("\n", 0, offset) + 1
            return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
    return 1, 1
