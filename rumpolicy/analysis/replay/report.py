"""What a replay found, as data: per-alias counts, changed decisions, bad lines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rumpolicy.engine import Effect

EFFECTS = (Effect.ALLOW, Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY)
TOP_ALIASES = 10
"""A change lists its most frequent aliases, then the rest as one number."""


class _Standing:
    """An alias that stands for others: every alias past the `max_aliases` counted one by one,
    or the unknown alias of a record that does not say (a CloudWatch RUM log event)."""

    __slots__ = ("_label", "_name", "json_key")

    def __init__(self, label: str, name: str, json_key: str) -> None:
        self._label, self._name, self.json_key = label, name, json_key

    def __repr__(self) -> str:
        return self._label

    def __reduce__(self) -> str:
        """Unpickled (from a worker) as the one instance, which counts are keyed by."""
        return self._name


OTHER_ALIASES = _Standing("(other aliases)", "OTHER_ALIASES", "other_aliases")
NOT_RECORDED = _Standing("(alias not recorded)", "NOT_RECORDED", "not_recorded")
AliasValue = str | tuple[str, ...] | None | _Standing
"""An alias as the request carried it: a string, a list (malformed), absent, the rest, or
not recorded."""


def alias_label(alias: AliasValue) -> str:
    if alias is None:
        return "(no alias)"
    if isinstance(alias, tuple):
        return "[" + ", ".join(alias) + "]"
    return str(alias) if isinstance(alias, str) else repr(alias)


def alias_json(alias: AliasValue) -> Any:
    if isinstance(alias, _Standing):
        return {alias.json_key: True}
    return list(alias) if isinstance(alias, tuple) else alias


@dataclass(frozen=True, slots=True)
class BadLine:
    source: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Example:
    """One recorded request whose decision changes, and where it was recorded."""

    source: str
    line: int
    alias: AliasValue
    request: Mapping[str, Any]
    reason_before: str
    reason_now: str


@dataclass(frozen=True, slots=True)
class AliasCounts:
    alias: AliasValue
    counts: Mapping[Effect, int]
    """Decisions of the policy."""
    before: Mapping[Effect, int] | None
    """Decisions of the `--against` policy, when given."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Change:
    before: Effect
    now: Effect
    count: int
    aliases: tuple[tuple[AliasValue, int], ...]
    """The most frequent aliases among the changed requests."""
    other_aliases: int
    """Changed requests with other aliases than those listed."""
    examples: tuple[Example, ...]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    policy: str
    against: str | None
    sources: tuple[str, ...]
    records: int
    skipped: int
    bad: int
    bad_reasons: Mapping[str, int]
    bad_lines: tuple[BadLine, ...]
    aliases: tuple[AliasCounts, ...]
    changes: tuple[Change, ...]
    seconds: float

    @property
    def changed(self) -> int:
        return sum(c.count for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        def effects(counts: Mapping[Effect, int] | None) -> dict[str, int] | None:
            return None if counts is None else {e.value: counts.get(e, 0) for e in EFFECTS}

        return {
            "policy": self.policy,
            "against": self.against,
            "sources": list(self.sources),
            "records": self.records,
            "skipped_other_monitors": self.skipped,
            "bad_lines": {
                "count": self.bad,
                "reasons": dict(self.bad_reasons),
                "examples": [{"source": b.source, "line": b.line, "message": b.message}
                             for b in self.bad_lines],
            },
            "aliases": [{"alias": alias_json(a.alias), "requests": a.total,
                         "decisions": effects(a.counts), "before": effects(a.before)}
                        for a in self.aliases],
            "changes": [{
                "from": c.before.value, "to": c.now.value, "count": c.count,
                "aliases": [{"alias": alias_json(a), "count": n} for a, n in c.aliases],
                "other_aliases": c.other_aliases,
                "examples": [{"source": e.source, "line": e.line, "request": dict(e.request),
                              "reason_before": e.reason_before, "reason_now": e.reason_now}
                             for e in c.examples],
            } for c in self.changes],
            "seconds": round(self.seconds, 3),
        }


class Findings(Protocol):
    """What a replay found: a Replayer's, a ReplayPart's, or a Merger's of many parts."""

    @property
    def lines(self) -> Mapping[str, int]:
        """Lines read per source, in the order the sources came."""

    @property
    def counts(self) -> Mapping[tuple[Any, ...], int]:
        """Records per outcome (replayer.Outcome)."""

    @property
    def records(self) -> int: ...

    @property
    def skipped(self) -> int: ...

    @property
    def bad(self) -> int: ...

    @property
    def bad_reasons(self) -> Mapping[str, int]: ...

    @property
    def bad_lines(self) -> Sequence[BadLine]: ...

    @property
    def examples(self) -> Mapping[tuple[Effect, Effect], Sequence[Example]]: ...

    @property
    def compared(self) -> bool: ...


def build_report(found: Findings, *, policy_name: str, against_name: str | None,
                 seconds: float) -> ReplayReport:
    """The report of what a replay, or the merge of the replays of its units, found."""
    compared = found.compared
    return ReplayReport(
        policy=policy_name, against=against_name if compared else None,
        sources=tuple(found.lines), records=found.records, skipped=found.skipped,
        bad=found.bad, bad_reasons=dict(found.bad_reasons), bad_lines=tuple(found.bad_lines),
        aliases=alias_rows(found.counts, compared),
        changes=change_rows(found.counts, found.examples, tuple(found.lines)) if compared else (),
        seconds=seconds)


def alias_rows(counts: Mapping[tuple[Any, ...], int], compared: bool) -> tuple[AliasCounts, ...]:
    """Per-alias decision counts from the outcome counts, most requests first."""
    now: dict[AliasValue, Counter[Effect]] = {}
    before: dict[AliasValue, Counter[Effect]] = {}
    for (alias, effect, _, effect_before, _), n in counts.items():
        now.setdefault(alias, Counter())[effect] += n
        if effect_before is not None:
            before.setdefault(alias, Counter())[effect_before] += n
    rows = [AliasCounts(alias, dict(c), dict(before.get(alias, Counter())) if compared else None)
            for alias, c in now.items()]
    rows.sort(key=lambda r: (-r.total, alias_label(r.alias)))
    return tuple(rows)


def change_rows(counts: Mapping[tuple[Any, ...], int],
                examples: Mapping[tuple[Effect, Effect], Sequence[Example]],
                sources: Sequence[str]) -> tuple[Change, ...]:
    """The requests whose decision differs, grouped by (before, now), most first; examples
    in log order (`sources`, as the logs were named), then by line."""
    order = {source: index for index, source in enumerate(sources)}
    groups: dict[tuple[Effect, Effect], Counter[AliasValue]] = {}
    for (alias, effect, _, effect_before, _), n in counts.items():
        if effect_before is not None and effect_before is not effect:
            groups.setdefault((effect_before, effect), Counter())[alias] += n
    changes = []
    for (before, now), by_alias in groups.items():
        top = tuple(sorted(by_alias.items(), key=lambda i: (-i[1], alias_label(i[0]))
                           )[:TOP_ALIASES])
        total = sum(by_alias.values())
        changes.append(Change(before, now, total, top, total - sum(n for _, n in top),
                              tuple(sorted(examples.get((before, now), ()),
                                           key=lambda e: (order[e.source], e.line)))))
    changes.sort(key=lambda c: (-c.count, c.before.value, c.now.value))
    return tuple(changes)
