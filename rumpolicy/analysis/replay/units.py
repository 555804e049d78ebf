"""Work units: a log cut into pieces that replay on their own and merge into one report.

A gzip log is one unit (a deflate stream cannot be entered in the middle); a plain log is cut
into byte ranges of about `split_bytes`, and each line belongs to the range its first byte falls
in (`sources.open_range`), so no line is lost or read twice and nothing needs reading to plan.
A unit replays with line numbers counted from its own start; `merge.py` adds the lines of the
units before it.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rumpolicy.analysis.replay.merge import ReplayPart, merge_units, part_of
from rumpolicy.analysis.replay.replayer import (
    CONTEXT_CACHE_ENTRIES,
    LINE_CACHE_BYTES,
    MAX_ALIASES,
    MEMO_SIZE,
    ReplayCaches,
    Replayer,
    compiled_pair,
    keys_read,
)
from rumpolicy.analysis.replay.report import AliasValue, ReplayReport
from rumpolicy.analysis.replay.sources import Source, reading
from rumpolicy.engine import CompiledPolicy
from rumpolicy.policy import Policy

SPLIT_BYTES = 64 << 20
"""About this many bytes of a plain log per unit: large enough that a unit's caches warm up
on a small part of it, small enough that two workers share a log of a few hundred MB."""


@dataclass(frozen=True, slots=True)
class Unit:
    source: Source
    start: int = 0
    end: int | None = None
    """None: the whole log (a small one, or a gzip log); else [start, end) of a plain log."""

    @property
    def label(self) -> str:
        if self.end is None and not self.start:
            return self.source.name
        end = "end" if self.end is None else f"{self.end:,}"
        return f"{self.source.name} (bytes {self.start:,} to {end})"


@dataclass(frozen=True, slots=True)
class ReplayJob:
    """Everything a worker needs to replay units: sent once, compiled once per worker."""

    policy: Policy | None
    against: Policy | None = None
    compare: bool = False
    monitor: str | None = None
    chunk_bytes: int = 8 << 20
    line_cache_bytes: int = LINE_CACHE_BYTES
    context_cache_entries: int = CONTEXT_CACHE_ENTRIES
    max_aliases: int = MAX_ALIASES
    memo_size: int = MEMO_SIZE
    caller: str | None = None
    """The caller of CloudWatch RUM log events (rum_events.py)."""
    token: str = field(default="", compare=False)

    def with_token(self) -> ReplayJob:
        """The job stamped with a digest of itself, the key of its compiled policies."""
        digest = hashlib.sha256(pickle.dumps((
            self.policy, self.against, self.compare, self.monitor, self.memo_size,
            self.line_cache_bytes, self.context_cache_entries, self.caller))).hexdigest()
        return replace(self, token=digest)

    def replayer(self, known_aliases: Iterable[AliasValue] = ()) -> Replayer:
        """A Replayer of this job. With a token, it has the compiled policies and the warm
        caches of the job's earlier replays in this process (`_prepared`)."""
        policy, against, caches = _prepared(self)
        return Replayer(policy, against, compare=self.compare, monitor=self.monitor,
                        chunk_bytes=self.chunk_bytes, max_aliases=self.max_aliases,
                        known_aliases=known_aliases, caches=caches, caller=self.caller)


def plan(sources: Sequence[Source], split_bytes: int = SPLIT_BYTES) -> list[Unit]:
    """The units of these logs, in log order."""
    if split_bytes < 1:
        raise ValueError("split_bytes must be at least 1")
    units: list[Unit] = []
    for source in sources:
        if source.compressed or source.size is None or source.size <= split_bytes:
            units.append(Unit(source))
            continue
        starts = range(0, source.size, split_bytes)
        units.extend(Unit(source, start, min(start + split_bytes, source.size))
                     for start in starts)
    return units


_Prepared = tuple[CompiledPolicy, CompiledPolicy | None, ReplayCaches]
_PREPARED: dict[str, _Prepared] = {}
"""Per process: the compiled policies and warm caches of the jobs seen, as a worker replays
many units of one job (docs/performance.md: a unit with cold caches cost 3x)."""


def _prepared(job: ReplayJob) -> _Prepared:
    found = _PREPARED.get(job.token) if job.token else None
    if found is None:
        policy, against = compiled_pair(job.policy, job.against, job.compare, job.memo_size)
        caches = ReplayCaches(keys_read(policy, against), line_cache_bytes=job.line_cache_bytes,
                              context_cache_entries=job.context_cache_entries)
        found = (policy, against, caches)
        if job.token:
            if len(_PREPARED) >= 4:
                _PREPARED.clear()
            _PREPARED[job.token] = found
    return found


def replay_unit(job: ReplayJob, unit: Unit,
                known_aliases: Iterable[AliasValue] = ()) -> ReplayPart:
    """Replay one unit: what a worker runs."""
    replayer = job.replayer(known_aliases)
    with reading(unit.source, unit.start, unit.end) as stream:
        replayer.replay(unit.source.name, stream)
    return part_of(replayer)


def replay_units(job: ReplayJob, units: Sequence[Unit], **names: Any) -> ReplayReport:
    """Replay units one after the other in this process and merge them, as a cluster would:
    the same report as one replay of the logs (tests/replay/test_replay_units.py)."""
    return merge_units(units, job.max_aliases, lambda unit, known: (unit, known),
                       lambda handle, _: replay_unit(job, *handle), lambda _: None, **names)


def storage_options(pairs: Iterable[str]) -> Mapping[str, Any]:
    """`KEY=VALUE` pairs as fsspec storage options; true/false/null and numbers are read as
    JSON would, and `client_kwargs.endpoint_url=...` sets a nested member."""
    import json

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"'{pair}' is not KEY=VALUE")
        try:
            value: Any = json.loads(text)
            if not isinstance(value, bool | int | float) and value is not None:
                value = text
        except ValueError:
            value = text
        target = options
        *path, last = key.split(".")
        if not all(path) or not last:
            raise ValueError(f"'{pair}': an empty name in {key} (write a.b=VALUE)")
        for part in path:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"'{pair}': {part} is already set to a value")
        if isinstance(target.get(last), dict):
            raise ValueError(f"'{pair}': {key} already holds options set one by one")
        target[last] = value
    return options
