"""Merging the replays of consecutive units into the report one replay of them all gives.

Counts and bad-line tallies add up. Line numbers move by the lines of the earlier units of the
same log. Bad lines are listed in line order and each unit keeps its first MAX_BAD_LINES, so the
first MAX_BAD_LINES of the concatenation are the log's. Examples are the first request of each
(change, alias) in log order: a unit keeps the first MAX_EXAMPLES of its own, and when k
examples of a change are already kept, the unit's first MAX_EXAMPLES contain at least the
MAX_EXAMPLES - k first new ones, because at most k of them can be aliases already seen.

Aliases are counted one by one in the order they first appear, up to `max_aliases`; the rest
count together. That depends on what came before, so a unit replayed on its own counts every
alias it sees (up to the cap) and reports them in order. While the aliases of all units so far
fit under the cap the unit's counts are the log's. Once they do not, the set of aliases counted
one by one is final (the first `max_aliases`), and the units from there on are replayed again
knowing it (`needs_rerun`); that happens only past `max_aliases` distinct aliases.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from rumpolicy.analysis.replay.replayer import (
    MAX_BAD_LINES,
    MAX_EXAMPLES,
    Outcome,
    Replayer,
)
from rumpolicy.analysis.replay.report import (
    AliasValue,
    BadLine,
    Example,
    ReplayReport,
    build_report,
)
from rumpolicy.engine import Effect

U = TypeVar("U")
H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class ReplayPart:
    """What one unit's replay found, with line numbers counted from the unit's start."""

    lines: dict[str, int]
    counts: Counter[Outcome]
    records: int
    skipped: int
    bad: int
    bad_reasons: Counter[str]
    bad_lines: tuple[BadLine, ...]
    examples: dict[tuple[Effect, Effect], list[Example]]
    aliases: tuple[AliasValue, ...]
    """Aliases counted one by one, in the order they first appeared."""
    overflowed: bool
    compared: bool


def part_of(replayer: Replayer) -> ReplayPart:
    return ReplayPart(dict(replayer.lines), replayer.counts, replayer.records,
                      replayer.skipped, replayer.bad, replayer.bad_reasons,
                      tuple(replayer.bad_lines), replayer.examples, tuple(replayer.aliases),
                      replayer.overflowed, replayer.compared)


class Merger:
    """Add parts in log order, then ask for the report."""

    def __init__(self, max_aliases: int) -> None:
        self._max_aliases = max_aliases
        self.aliases: dict[AliasValue, None] = {}
        """Aliases counted one by one so far; final once it holds `max_aliases`."""
        # What the parts so far found, as a Replayer holds it (report.Findings).
        self.lines: dict[str, int] = {}
        self.counts: Counter[Outcome] = Counter()
        self.records = self.skipped = self.bad = 0
        self.bad_reasons: Counter[str] = Counter()
        self.bad_lines: list[BadLine] = []
        self.examples: dict[tuple[Effect, Effect], list[Example]] = {}
        self._seen: set[tuple[Effect, Effect, AliasValue]] = set()
        self.compared = False
        self._started = time.perf_counter()

    @property
    def final(self) -> bool:
        """Whether the aliases counted one by one can no longer change."""
        return len(self.aliases) >= self._max_aliases

    def needs_rerun(self, part: ReplayPart) -> bool:
        """Whether `part`, replayed knowing nothing of the units before it, counts some alias
        differently from one replay of them all; if so, `self.aliases` is completed to its
        final set and the part must be replayed again knowing it (`known_aliases`), and so
        must every later part that is not already; such replays are added without asking."""
        if self.final:
            return not set(part.aliases) <= self.aliases.keys() or part.overflowed
        new = [a for a in part.aliases if a not in self.aliases]
        if len(self.aliases) + len(new) <= self._max_aliases and not part.overflowed:
            return False
        self.aliases.update(dict.fromkeys(new[:self._max_aliases - len(self.aliases)]))
        return True

    def add(self, part: ReplayPart) -> None:
        """Add the next part (see `needs_rerun`)."""
        for alias in part.aliases:
            if alias not in self.aliases and not self.final:
                self.aliases[alias] = None
        self.compared = self.compared or part.compared
        shifts: dict[str, int] = {}
        for source, lines in part.lines.items():
            shifts[source] = self.lines.get(source, 0)
            self.lines[source] = shifts[source] + lines
        self.counts.update(part.counts)
        self.records += part.records
        self.skipped += part.skipped
        self.bad += part.bad
        self.bad_reasons.update(part.bad_reasons)
        for bad in part.bad_lines[:MAX_BAD_LINES - len(self.bad_lines)]:
            self.bad_lines.append(replace(bad, line=bad.line + shifts[bad.source]))
        for change, examples in part.examples.items():
            kept = self.examples.setdefault(change, [])
            for example in examples:
                seen = (*change, example.alias)
                if seen in self._seen or len(kept) >= MAX_EXAMPLES:
                    continue
                self._seen.add(seen)
                kept.append(replace(example, line=example.line + shifts[example.source]))

    def report(self, *, policy_name: str = "policy", against_name: str | None = None,
               seconds: float | None = None) -> ReplayReport:
        return build_report(self, policy_name=policy_name, against_name=against_name,
                            seconds=time.perf_counter() - self._started if seconds is None
                            else seconds)


def merge_units(units: Sequence[U], max_aliases: int,
                submit: Callable[[U, tuple[AliasValue, ...]], H],
                result: Callable[[H, U], ReplayPart],
                cancel: Callable[[list[H]], object], **names: Any) -> ReplayReport:
    """Replay consecutive units and merge them in order: `submit(unit, known_aliases)` starts
    one (a Dask task, or nothing yet in this process), `result` waits for its part, `cancel`
    drops those no longer wanted. Every unit is submitted at once; past `max_aliases` distinct
    aliases the units from there on are submitted again knowing the final set."""
    handles = [submit(unit, ()) for unit in units]
    merger = Merger(max_aliases)
    seeded = False
    try:
        for index, unit in enumerate(units):
            part = result(handles[index], unit)
            if not seeded and merger.needs_rerun(part):
                seeded = True
                known = tuple(merger.aliases)
                cancel(handles[index:])
                handles[index:] = [submit(later, known) for later in units[index:]]
                part = result(handles[index], unit)
            merger.add(part)
    finally:
        cancel(handles)
    return merger.report(**names)
