"""The in-memory index GetAppMonitorData pages through: one per app monitor, held by the registry
that holds the monitor (`EventIndexes`), so two gates in one process (two `mock_rum` sessions, two
embedded apps) never share one, and a closed gate lets its indexes go.

An index keeps a monitor's events in (event_timestamp, row, position) order and grows from the
batches committed since it last looked (batches are only ever added, under increasing row ids).
Catching up reads the store through `Storage.snapshot`, never holding the store's write lock
for long: on disk it is not taken at all (a read connection of its own sees a committed
snapshot), and in memory, where the gate's connection is the only one, the rows come in chunks
of CHUNK_ROWS with the lock let go between them, so PutRumEvents' commits are not held up
behind a long read. New entries are merged into the sorted index rather than sorted with it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Container
from typing import Any

import orjson

from rumpolicy.gate.storage import Storage

FACETS = ("browserName", "deviceType", "countryCode", "pageId", "osName")
"""The metadata members the filters read, in the order an index entry keeps them."""
CHUNK_ROWS = 256
"""Batches read from the store at a time while catching up (a few hundred KB as aws-rum-web
sends them): on an in-memory store the write lock is held for one chunk, not the whole read."""
MOVES_PER_ENTRY = 32
"""Inserting new entries one by one moves every entry after each of them; past this many moves
per entry of the index, letting `list.sort` merge the two sorted runs in C costs less."""

Facets = tuple[str | None, ...]
Entry = tuple[int, int, int, str, Facets]
"""One indexed event: (event_timestamp in ms, the batch's row, the event's position in it, its
type, its FACETS values)."""
Match = Callable[[Entry], bool]

_CATCH_UP = ("SELECT seq, session_metadata, body FROM batches WHERE seq > ? AND +monitor_id = ?"
             " ORDER BY seq LIMIT ?")
"""`+monitor_id`: search by row id, not by the monitor's index."""


class EventIndex:
    """One monitor's events in (event_timestamp, row, position) order."""

    def __init__(self, monitor_id: str) -> None:
        self.monitor_id = monitor_id
        self.lock = threading.Lock()
        self.entries: list[Entry] = []
        self.seen = 0
        """The highest batch row read."""
        self._facets: dict[tuple[str | None, str | None], Facets] = {}

    def page(self, after: int, before: int, match: Match, resume: tuple[int, int, int] | None,
             limit: int) -> tuple[list[Entry], bool]:
        """(up to `limit` matching entries in the range after `resume`, whether more follow)."""
        with self.lock:
            entries = self.entries
            start = bisect_left(entries, (after,))
            if resume is not None:
                start = max(start, bisect_left(entries, (resume[0], resume[1], resume[2] + 1)))
            end = bisect_left(entries, (before + 1,))
            chosen: list[Entry] = []
            for n in range(start, end):
                if match(entries[n]):
                    if len(chosen) == limit:
                        return chosen, bool(chosen)  # MaxResults 0: no page, no token
                    chosen.append(entries[n])
            return chosen, False

    def catch_up(self, storage: Storage) -> None:
        """Index the batches committed since the last look, a chunk of rows at a time."""
        with self.lock:
            while True:
                rows = storage.snapshot(_CATCH_UP, (self.seen, self.monitor_id, CHUNK_ROWS))
                if not rows:
                    return
                added: list[Entry] = []
                for seq, session_metadata, body in rows:
                    for position, event in enumerate(orjson.loads(body)["RumEvents"]):
                        added.append((_millis(event["timestamp"]), seq, position, event["type"],
                                      self._facets_of(session_metadata, event.get("metadata"))))
                self.seen = rows[-1][0]
                self._merge(added)
                if len(rows) < CHUNK_ROWS:
                    return

    def _merge(self, added: list[Entry]) -> None:
        """Put `added` in order among the entries. Their rows are newer than every entry's,
        so an entry before the first of them by time stays where it is: the usual batch
        appends, and one that brings a few earlier events inserts them in place."""
        if not added:
            return
        added.sort()
        entries = self.entries
        cut = bisect_left(entries, added[0])
        if cut == len(entries):
            entries.extend(added)
        elif len(added) * (len(entries) - cut + len(added)) <= MOVES_PER_ENTRY * len(entries):
            for entry in added:  # sorted: each goes after the one before it
                cut = bisect_left(entries, entry, cut)
                entries.insert(cut, entry)
                cut += 1
        else:
            entries.extend(added)
            entries.sort()  # two sorted runs: timsort merges them in one pass

    def _facets_of(self, session_metadata: str | None, metadata: str | None) -> Facets:
        """The filtered metadata values; aws-rum-web repeats both texts, so each pair is
        parsed once (and its values shared by every event that has it)."""
        key = (session_metadata, metadata)
        found = self._facets.get(key)
        if found is None:
            merged = merged_metadata(session_metadata, metadata)
            values = merged if isinstance(merged, dict) else {}
            found = tuple(v if isinstance(v := values.get(k), str) else None for k in FACETS)
            if len(self._facets) >= 4096:
                self._facets.clear()
            self._facets[key] = found
        return found


class EventIndexes:
    """One gate's indexes by monitor id; those of deleted monitors are let go."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, EventIndex] = {}

    def get(self, monitor_id: str, live: Container[str]) -> EventIndex:
        """The index of `monitor_id`, made if needed; indexes of monitors not in `live` (the
        registry's ids) are dropped."""
        with self._lock:
            for gone in [i for i in self._held if i not in live]:
                del self._held[gone]
            index = self._held.get(monitor_id)
            if index is None:
                index = self._held[monitor_id] = EventIndex(monitor_id)
            return index

    def clear(self) -> None:
        """Let every index go (the gate is closing)."""
        with self._lock:
            self._held.clear()


def merged_metadata(session_metadata: str | None, metadata: str | None) -> Any:
    """SessionMetadata with the event's own metadata over it (aws-facts.md 2.2: "JSON attributes
    merged into every event; per-event metadata wins"); None when neither was sent. When either
    is not a JSON object there is nothing to merge: the event's own wins whole."""
    own = None if metadata is None else orjson.loads(metadata)
    session = None if session_metadata is None else orjson.loads(session_metadata)
    if isinstance(own, dict) and isinstance(session, dict):
        return {**session, **own}
    return own if own is not None else session


def _millis(seconds: float) -> int:
    return round(seconds * 1000)
