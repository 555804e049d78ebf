"""Replaying traffic through a policy (and optionally the one it replaces), fast.

Real traffic repeats itself: a few thousand distinct contexts make up millions of requests. Three
levels of reuse follow from that, each exact:

1. Identical lines: each chunk's lines are counted (`collections.Counter`, which runs in C) and
   each distinct line is looked up in a cache of outcomes keyed by its raw bytes, so a repeated
   line is never decoded again. The cache is capped in bytes and starts afresh when full.
   Decision-log lines all differ (time, request id), so when a chunk is mostly distinct lines
   they are counted by a line key instead, which leaves out what no decision reads
   (linekeys.py); equal keys replay alike.
2. Identical decision inputs: a line seen for the first time is decoded, then projected onto
   what a decision can depend on (principal, action, resource and the context keys the
   policies read, plus the alias being counted); equal projections share one outcome without
   even building a `Request`.
3. The compiled evaluator's own memo, for everything else.

Memory is bounded by the chunk size, the caps of the two caches, the number of aliases counted
separately (`max_aliases`), and the number of examples kept.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from rumpolicy.analysis.replay.linekeys import blankable, line_key_function
from rumpolicy.analysis.replay.reader import (
    CHUNK_BYTES,
    LogError,
    chunks,
    decode,
    is_plain_shape,
)
from rumpolicy.analysis.replay.report import (
    OTHER_ALIASES,
    AliasValue,
    BadLine,
    Example,
    ReplayReport,
    alias_rows,
    change_rows,
)
from rumpolicy.engine import Effect, Request, compile_policy
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


class Replayer:
    """Feed it logs, then ask for the report."""

    def __init__(self, policy: Policy | None, against: Policy | None = None, *,
                 compare: bool = False, monitor: str | None = None,
                 chunk_bytes: int = CHUNK_BYTES, line_cache_bytes: int = LINE_CACHE_BYTES,
                 context_cache_entries: int = CONTEXT_CACHE_ENTRIES,
                 max_aliases: int = MAX_ALIASES, memo_size: int = MEMO_SIZE) -> None:
        """`compare=True` compares with `against` even when it is None (no policy)."""
        self._policy = compile_policy(policy, memo_size=memo_size)
        self._against = compile_policy(against, memo_size=memo_size) \
            if compare or against is not None else None
        self._monitor = monitor
        self._chunk_bytes = chunk_bytes
        self._line_cache: dict[bytes, Cached] = {}
        self._line_cache_bytes = 0
        self._line_cache_cap = line_cache_bytes
        self._contexts: dict[tuple[Any, ...], Outcome] = {}
        self._contexts_cap = context_cache_entries
        self._max_aliases = max_aliases
        self._aliases: set[AliasValue] = set()
        keys = dict.fromkeys(self._policy.keys_read)
        if self._against is not None:
            keys.update(dict.fromkeys(self._against.keys_read))
        keys.pop(ALIAS, None)
        self._keys = (ALIAS, *keys)
        self._line_key = line_key_function(blankable(self._keys))
        self.counts: Counter[Outcome] = Counter()
        self.records = 0
        self.skipped = 0
        self.bad = 0
        self.bad_lines: list[BadLine] = []
        self.bad_reasons: Counter[str] = Counter()
        self.examples: dict[tuple[Effect, Effect], list[Example]] = {}
        self._examples_seen: set[tuple[Effect, Effect, AliasValue]] = set()
        self.sources: list[str] = []
        self._started = time.perf_counter()

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, source: str, stream: IO[bytes]) -> Iterator[Progress]:
        """Replay every line of `stream`, yielding progress after each chunk."""
        self.sources.append(source)
        first_line = 1
        keyed = False
        try:
            for lines in chunks(stream, self._chunk_bytes):
                keyed = self._chunk(source, first_line, lines, keyed)
                first_line += len(lines)
                yield Progress(source, self.records, _tell(stream))
        except LogError as err:
            raise LogError(f"{source}: {err} (after line {first_line - 1})") from None

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
        originals: dict[bytes, bytes] | None = None
        cache = self._line_cache
        counts = self.counts
        against = self._against
        seen = self._examples_seen
        for key, n in found.items():
            outcome = cache.get(key)
            if outcome is None:
                if keys is not lines and originals is None:
                    originals = dict(zip(keys, lines, strict=True))
                outcome = self._outcome(key if originals is None else originals[key])
                if outcome is not _BLANK:
                    self._remember(key, outcome)
            if type(outcome) is tuple:
                counts[outcome] += n
                self.records += n
                if (against is not None and outcome[1] is not outcome[3]
                        and (outcome[3], outcome[1], outcome[0]) not in seen):
                    self._example(source, first_line, lines, keys.index(key), outcome)
            elif type(outcome) is str:
                self._bad(source, first_line, lines, keys, key, n, outcome)
            elif outcome is _SKIPPED:
                self.skipped += n
        return keyed

    def _remember(self, line: bytes, outcome: Cached) -> None:
        if self._line_cache_bytes + len(line) > self._line_cache_cap:
            self._line_cache.clear()
            self._line_cache_bytes = 0
        self._line_cache[line] = outcome
        self._line_cache_bytes += len(line)

    # -- deciding -----------------------------------------------------------------------------

    def _outcome(self, line: bytes) -> Cached:
        if not line.strip():
            return _BLANK
        shape = decode(line)
        if isinstance(shape, str):
            return shape
        if self._monitor is not None and shape.get("resource") != self._monitor:
            return _SKIPPED
        key = self._projection(shape)
        if key is not None:
            found = self._contexts.get(key)
            if found is not None:
                return found
        try:
            request = Request.from_dict(shape)
        except (ValueError, TypeError) as err:
            return f"not a request: {err}"
        outcome = self._decide(request)
        if key is not None:
            if len(self._contexts) >= self._contexts_cap:
                self._contexts.clear()
            self._contexts[key] = outcome
        return outcome

    def _projection(self, shape: dict[str, Any]) -> tuple[Any, ...] | None:
        """What a decision on `shape` can depend on; None for shapes that take the slow path
        (odd value types, unknown members), which always build a full Request."""
        if not is_plain_shape(shape):
            return None
        context = shape.get("context")
        lowered: dict[str, Any] = {}
        if context:
            if type(context) is not dict:
                return None
            for key, value in context.items():
                if type(value) is str:
                    lowered[key.lower()] = value
                elif type(value) is list and all(type(v) is str for v in value):
                    lowered[key.lower()] = tuple(value)
                else:
                    return None
        get = lowered.get
        return (shape.get("principal"), shape.get("action", "rum:PutRumEvents"),
                shape["resource"], *[get(k) for k in self._keys])

    def _decide(self, request: Request) -> Outcome:
        decision = self._policy.evaluate(request)
        alias: AliasValue = request.get(ALIAS)
        if alias not in self._aliases:
            if len(self._aliases) >= self._max_aliases:
                alias = OTHER_ALIASES
            else:
                self._aliases.add(alias)
        if self._against is None:
            return (alias, decision.effect, decision.reason, None, None)
        before = self._against.evaluate(request)
        return (alias, decision.effect, decision.reason, before.effect, before.reason)

    # -- recording ----------------------------------------------------------------------------

    def _example(self, source: str, first_line: int, lines: list[bytes], index: int,
                 outcome: Outcome) -> None:
        """Keep the first request of each (change, alias), up to MAX_EXAMPLES per change."""
        before, now, alias = outcome[3], outcome[1], outcome[0]
        assert before is not None
        self._examples_seen.add((before, now, alias))
        kept = self.examples.setdefault((before, now), [])
        if len(kept) >= MAX_EXAMPLES:
            return
        shape = decode(lines[index])
        assert not isinstance(shape, str)
        kept.append(Example(source, first_line + index, outcome[0], shape,
                            outcome[4] or "", outcome[2]))

    def _bad(self, source: str, first_line: int, lines: list[bytes], keys: list[bytes],
             key: bytes, n: int, reason: str) -> None:
        """Count `n` bad lines; keep the first few with their line numbers. Lines sharing a key
        are bad for the same kind of reason; the message shown is each line's own."""
        self.bad += n
        self.bad_reasons[reason.partition(":")[0]] += n
        start = 0
        while len(self.bad_lines) < MAX_BAD_LINES and start < len(keys):
            try:
                index = keys.index(key, start)
            except ValueError:
                break
            own = reason if keys is lines else self._outcome(lines[index])
            self.bad_lines.append(BadLine(source, first_line + index,
                                          own if isinstance(own, str) else reason))
            start = index + 1

    def report(self, *, policy_name: str, against_name: str | None = None) -> ReplayReport:
        compared = self._against is not None
        return ReplayReport(
            policy=policy_name, against=against_name if compared else None,
            sources=tuple(self.sources), records=self.records, skipped=self.skipped,
            bad=self.bad, bad_reasons=dict(self.bad_reasons), bad_lines=tuple(self.bad_lines),
            aliases=alias_rows(self.counts, compared),
            changes=change_rows(self.counts, self.examples) if compared else (),
            seconds=time.perf_counter() - self._started)



def _tell(stream: IO[bytes]) -> int | None:
    try:
        return stream.tell()
    except (OSError, ValueError, AttributeError):
        return None
