"""Replaying traffic through a policy (and optionally the one it replaces), fast.

Real traffic repeats itself: a few thousand distinct contexts make up millions of requests. Three
levels of reuse follow from that, each exact:

1. Identical lines: each chunk's lines are counted (`collections.Counter`, which runs in C) and
   each distinct line is looked up in a cache of outcomes keyed by its raw bytes, so a repeated
   line is never decoded again. The cache is capped in bytes and starts afresh when full.
   Decision-log lines all differ (time, request id), so when a chunk is mostly distinct lines
   they are counted by a line key instead, itself a line that replays alike but leaves out
   what no decision reads (linekeys.py).
2. Identical decision inputs: a new line is decoded (with orjson, reader.py) and projected
   onto what a decision can depend on (principal, action, resource and the context keys the
   policies read, plus the alias being counted); equal projections share one outcome without
   even building a `Request`, and a new projection is decided from itself, the line is not
   decoded again. Lines the projector does not answer for are read by `json`.
3. The compiled evaluator's own memo, for everything else.

The report depends on the lines alone, never on how they were cut into chunks: aliases are
counted one by one in the order they first appear, examples are the first of their kind, and
bad lines are listed in line order. That is what lets a log cut into units replay on many
workers and merge into the same report (`merge.py`).

Memory is bounded by the chunk size, the caps of the two caches, the number of aliases counted
separately (`max_aliases`), and the number of examples and bad lines kept.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any

from rumpolicy.analysis.replay.linekeys import blankable, line_key_function
from rumpolicy.analysis.replay.reader import CHUNK_BYTES, LogError, chunks, decode, projector
from rumpolicy.analysis.replay.report import (
    NOT_RECORDED,
    OTHER_ALIASES,
    AliasValue,
    BadLine,
    Example,
    ReplayReport,
    build_report,
)
from rumpolicy.analysis.replay.rum_events import export_message, is_rum_event, rum_event_request
from rumpolicy.engine import CompiledPolicy, Effect, Request, compile_policy
from rumpolicy.policy import Policy

ALIAS = "rum:alias"
LINE_CACHE_BYTES = 32 << 20
CONTEXT_CACHE_ENTRIES = 100_000
MEMO_SIZE = 1_024
"""The compiled evaluators' own memo: level 2 already keeps one small tuple per distinct
input, so the memo of whole Decisions (with their traces) only needs to serve level 3."""
MAX_ALIASES = 10_000
MAX_EXAMPLES = 3
MAX_BAD_LINES = 20
Outcome = tuple[AliasValue, Effect, str, Effect | None, str | None]
"""(alias, effect, reason, effect against, reason against): what one record counts as."""


class _Mark:
    """An outcome that is neither counted nor bad."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_SKIPPED = _Mark("skipped")
"""A record for another app monitor than `monitor`."""
_BLANK = _Mark("blank")
"""An empty line: ignored, as JSON Lines readers do."""
Cached = Outcome | str | _Mark
"""A line's outcome, or why it is bad (a string), or a mark."""


@dataclass(frozen=True, slots=True)
class Progress:
    source: str
    records: int
    """Records replayed so far, over every log."""
    position: int | None
    """Bytes of this log read so far, when the log can tell."""


Evaluator = Policy | CompiledPolicy | None
"""A policy, or one already compiled (shared by the replays of one worker), or no policy."""


class ReplayCaches:
    """The outcomes a replay remembers (levels 1 and 2), kept apart from its counts so that
    the replays of many units on one worker share them: each unit would otherwise decide
    every distinct input again, which made a unit's records cost 3x a whole log's
    (docs/performance.md). Outcomes hold the alias as sent; capping happens when counting."""

    def __init__(self, keys: tuple[str, ...], *, line_cache_bytes: int = LINE_CACHE_BYTES,
                 context_cache_entries: int = CONTEXT_CACHE_ENTRIES) -> None:
        self.lines: dict[bytes, Cached] = {}
        self.line_bytes = 0
        self.line_cap = line_cache_bytes
        self.contexts: dict[tuple[Any, ...], Outcome] = {}
        self.contexts_cap = context_cache_entries
        self.keys = keys
        """What a projection holds the values of, after principal, action and resource."""
        self.project = projector(keys, cap=context_cache_entries)
        self.line_key = line_key_function(blankable(keys))
        self.keyed: dict[str, bool] = {}
        """Per log, whether its last chunk was counted by line keys: the next unit of the same
        log starts so, rather than first counting a chunk of distinct lines by their bytes (4 %
        of a decision log cut into 32 MiB units). Either way counts alike; only speed differs."""


class Replayer:
    """Feed it logs, then ask for the report."""

    def __init__(self, policy: Evaluator, against: Evaluator = None, *,
                 compare: bool = False, monitor: str | None = None,
                 chunk_bytes: int = CHUNK_BYTES, line_cache_bytes: int = LINE_CACHE_BYTES,
                 context_cache_entries: int = CONTEXT_CACHE_ENTRIES,
                 max_aliases: int = MAX_ALIASES, memo_size: int = MEMO_SIZE,
                 known_aliases: Iterable[AliasValue] = (),
                 caches: ReplayCaches | None = None, caller: str | None = None) -> None:
        """`compare=True` compares with `against` even when it is None (no policy).
        `known_aliases`: aliases already counted one by one before this replay's lines (a
        unit of a larger log, see merge.py); when there are `max_aliases` of them, any other
        alias is counted with the rest. `caches`: those of earlier replays with the same
        policies, against, monitor and caller (units.py keeps one per job on a worker).
        `caller`: the caller of CloudWatch RUM log events, which record none
        (rum_events.py)."""
        self._policy, self._against = compiled_pair(policy, against, compare, memo_size)
        self.compared = self._against is not None
        self._monitor = monitor
        self._caller = caller
        self._chunk_bytes = chunk_bytes
        self._max_aliases = max_aliases
        self.aliases: dict[AliasValue, None] = dict.fromkeys(known_aliases)
        """Aliases counted one by one, in the order they first appeared."""
        self.overflowed = False
        """Whether some alias was counted with the rest (OTHER_ALIASES)."""
        self.caches = caches or ReplayCaches(
            keys_read(self._policy, self._against), line_cache_bytes=line_cache_bytes,
            context_cache_entries=context_cache_entries)
        self._project = self.caches.project
        self._line_key = self.caches.line_key
        self.counts: Counter[Outcome] = Counter()
        self.records = 0
        self.skipped = 0
        self.bad = 0
        self.bad_lines: list[BadLine] = []
        self.bad_reasons: Counter[str] = Counter()
        self.examples: dict[tuple[Effect, Effect], list[Example]] = {}
        self._examples_seen: set[tuple[Effect, Effect, AliasValue]] = set()
        self.lines: dict[str, int] = {}
        """Lines read per source, blank and bad ones included."""
        self._started = time.perf_counter()

    @property
    def sources(self) -> list[str]:
        return list(self.lines)

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, source: str, stream: IO[bytes]) -> Iterator[Progress]:
        """Replay every line of `stream`, yielding progress after each chunk."""
        first_line = self.lines.setdefault(source, 0) + 1
        modes = self.caches.keyed
        try:
            for lines in chunks(stream, self._chunk_bytes, lines_before=first_line - 1):
                modes[source] = self._chunk(source, first_line, lines, modes.get(source, False))
                first_line += len(lines)
                self.lines[source] = first_line - 1
                yield Progress(source, self.records, _tell(stream))
        except LogError as err:
            raise LogError(f"{source}: {err}") from None

    def replay(self, source: str, stream: IO[bytes]) -> None:
        for _ in self.feed(source, stream):
            pass

    def _chunk(self, source: str, first_line: int, lines: list[bytes], keyed: bool) -> bool:
        """Replay one chunk; return whether the next chunk should be counted by line keys.

        Mostly-distinct lines (a decision log) are counted by their line keys (linekeys.py)
        rather than by their bytes; `keys` stays parallel to `lines` for line numbers.
        """
        keys = lines
        if keyed:
            keys = list(map(self._line_key, lines))
            found = Counter(keys)
        else:
            found = Counter(lines)
            if len(found) * 2 > len(lines):
                keyed = True
                keys = list(map(self._line_key, lines))
                found = Counter(keys)
        cache = self.caches.lines
        of_key: dict[bytes, Cached] = {}
        tally: Counter[Cached] = Counter()
        for key, n in found.items():
            outcome = cache.get(key)
            if outcome is None:
                outcome = self._outcome(key)
                if outcome is not _BLANK:
                    self._remember(key, outcome)
            of_key[key] = outcome
            tally[outcome] += n
        if self._count(tally):
            self._locate(source, first_line, lines, keys, of_key)
        return keyed

    def _count(self, tally: Counter[Cached]) -> bool:
        """Add one chunk's outcomes; return whether its lines must be looked at one by one
        for a new example or bad lines to list."""
        counts = self.counts
        against = self._against
        seen = self._examples_seen
        aliases = self.aliases
        locate = False
        for outcome, n in tally.items():
            if type(outcome) is tuple:
                if outcome[0] not in aliases:
                    if len(aliases) < self._max_aliases:
                        aliases[outcome[0]] = None
                    else:
                        outcome = (OTHER_ALIASES, *outcome[1:])
                        self.overflowed = True
                counts[outcome] += n
                self.records += n
                if (against is not None and outcome[1] is not outcome[3]
                        and (outcome[3], outcome[1], outcome[0]) not in seen):
                    locate = True
            elif type(outcome) is str:
                self.bad += n
                self.bad_reasons[outcome.partition(":")[0]] += n
                locate = locate or len(self.bad_lines) < MAX_BAD_LINES
            elif outcome is _SKIPPED:
                self.skipped += n
        return locate

    def _locate(self, source: str, first_line: int, lines: list[bytes], keys: list[bytes],
                of_key: dict[bytes, Cached]) -> None:
        """Find a chunk's new examples and bad lines in line order: the first request of each
        (change, alias) becomes an example (up to MAX_EXAMPLES per change), and bad lines are
        listed (up to MAX_BAD_LINES), each with the reason read from its own text (a key's may
        put an error in another column).

        `of_key` holds the chunk's distinct keys in the order they first appear, so the first
        line of each (change, alias) is the first line of the first key of its kind, found
        with `list.index` (in C). Walking every line in Python instead cost each unit of a log
        cut for a cluster 10 % more than the same lines replayed whole, as every unit looks
        for its own first examples (docs/performance.md)."""
        seen = self._examples_seen
        for key, outcome in of_key.items():
            if type(outcome) is not tuple:
                continue
            before, now, alias = outcome[3], outcome[1], outcome[0]
            if alias not in self.aliases:
                alias = OTHER_ALIASES
            if before is None or before is now or (before, now, alias) in seen:
                continue
            seen.add((before, now, alias))
            kept = self.examples.setdefault((before, now), [])
            if len(kept) < MAX_EXAMPLES:
                index = keys.index(key)
                shape = self._shape(lines[index])
                assert not isinstance(shape, str)
                if is_rum_event(shape):  # decided as the request it stands for
                    shape = self._rum_event_request
                    assert not isinstance(shape, str)
                kept.append(Example(source, first_line + index, alias,
                                    shape.get("request", shape), outcome[4] or "",
                                    outcome[2]))
        if len(self.bad_lines) >= MAX_BAD_LINES or \
                not any(type(outcome) is str for outcome in of_key.values()):
            return
        for index, key in enumerate(keys):
            outcome = of_key[key]
            if type(outcome) is str:
                own = self._outcome(lines[index]) if keys is not lines else outcome
                self.bad_lines.append(BadLine(source, first_line + index,
                                              own if isinstance(own, str) else outcome))
                if len(self.bad_lines) >= MAX_BAD_LINES:
                    return

    def _remember(self, line: bytes, outcome: Cached) -> None:
        caches = self.caches
        if caches.line_bytes + len(line) > caches.line_cap:
            caches.lines.clear()
            caches.line_bytes = 0
        caches.lines[line] = outcome
        caches.line_bytes += len(line)

    # -- deciding -----------------------------------------------------------------------------

    def _outcome(self, line: bytes) -> Cached:
        key = self._project(line)
        if key is None:
            return self._slow_outcome(line)
        if self._monitor is not None and key[2] != self._monitor:
            return _SKIPPED
        contexts = self.caches.contexts
        found = contexts.get(key)
        if found is not None:
            return found
        outcome = self._projected_outcome(line, key)
        if type(outcome) is tuple:
            if len(contexts) >= self.caches.contexts_cap:
                contexts.clear()
            contexts[key] = outcome
        return outcome

    def _projected_outcome(self, line: bytes, key: tuple[Any, ...]) -> Cached:
        """A plain line decided from its projection, which holds all a decision reads: the
        compiled evaluators key their memo on exactly those values (engine/compiled.py), and
        whether it holds a request at all depends on its principal, action and resource
        (reader.projector). So orjson's decoding is the only one: `json` would give the same
        record (tests/replay/test_replay_reader.py), but for one refusal, lines nested deeper
        than it decodes (about 1,000 levels; orjson reads 1,023), which the projector leaves
        to `json` (reader.PLAIN_NESTING)."""
        return self._decided({"principal": key[0], "action": key[1], "resource": key[2],
                              "context": {name: value for name, value
                                          in zip(self.caches.keys, key[3:], strict=True)
                                          if value is not None}})

    @staticmethod
    def _shape(line: bytes) -> dict[str, Any] | str:
        """A line decoded by `json` (reader.decode), a CloudWatch Logs export line by its
        message; or why it is no record."""
        shape = decode(line)
        if not isinstance(shape, str):
            return shape
        message = export_message(line)
        if message is None:
            return shape
        shape = decode(message)
        if isinstance(shape, str) or not is_rum_event(shape):
            return "not JSON: a CloudWatch Logs export line whose message is not a " \
                "CloudWatch RUM event"
        return shape

    def _slow_outcome(self, line: bytes) -> Cached:
        """A line decoded, its request built and decided."""
        if not line.strip():
            return _BLANK
        shape = self._shape(line)
        if isinstance(shape, str):
            return shape
        if is_rum_event(shape):
            return self._rum_event_outcome
        if self._monitor is not None and shape.get("resource") != self._monitor:
            return _SKIPPED
        return self._decided(shape)

    def _decided(self, shape: Mapping[str, Any]) -> Cached:
        """A request shape decided, or why it holds no request."""
        try:
            request = Request.from_dict(shape)
        except (ValueError, TypeError) as err:
            return f"not a request: {err}"
        return self._decide(request)

    @cached_property
    def _rum_event_request(self) -> dict[str, Any] | str:
        """The request every CloudWatch RUM log event of this replay stands for, or why none
        can be replayed: it depends on the policies, the monitor and the caller alone, so it
        is worked out at the first event (rum_events.py)."""
        read = [*self._policy.keys_read, *(self._against.keys_read if self._against else ())]
        return rum_event_request(monitor=self._monitor, caller=self._caller, keys_read=read)

    @cached_property
    def _rum_event_outcome(self) -> Cached:
        """What every CloudWatch RUM log event of this replay counts as."""
        shape = self._rum_event_request
        if isinstance(shape, str):
            return shape
        outcome = self._decide(Request.from_dict(shape))
        return (NOT_RECORDED, *outcome[1:])

    def _decide(self, request: Request) -> Outcome:
        decision = self._policy.evaluate(request)
        alias: AliasValue = request.get(ALIAS)
        if self._against is None:
            return (alias, decision.effect, decision.reason, None, None)
        before = self._against.evaluate(request)
        return (alias, decision.effect, decision.reason, before.effect, before.reason)

    # -- recording ----------------------------------------------------------------------------

    def report(self, *, policy_name: str, against_name: str | None = None) -> ReplayReport:
        return build_report(self, policy_name=policy_name, against_name=against_name,
                            seconds=time.perf_counter() - self._started)


def keys_read(policy: CompiledPolicy, against: CompiledPolicy | None) -> tuple[str, ...]:
    """What a replay's projections hold: the alias being counted, then every key read."""
    keys = dict.fromkeys(policy.keys_read)
    if against is not None:
        keys.update(dict.fromkeys(against.keys_read))
    keys.pop(ALIAS, None)
    return (ALIAS, *keys)


def compiled(policy: Evaluator, memo_size: int) -> CompiledPolicy:
    """The policy compiled (or as it is, when it already is)."""
    if isinstance(policy, CompiledPolicy):
        return policy
    return compile_policy(policy, memo_size=memo_size)


def compiled_pair(policy: Evaluator, against: Evaluator, compare: bool, memo_size: int
                  ) -> tuple[CompiledPolicy, CompiledPolicy | None]:
    """The policy and what it is compared with, compiled: None when nothing is (no `against`
    and not `compare`)."""
    return compiled(policy, memo_size), \
        compiled(against, memo_size) if compare or against is not None else None


def _tell(stream: IO[bytes]) -> int | None:
    try:
        return stream.tell()
    except (OSError, ValueError, AttributeError):
        return None
