"""GetAppMonitorData: the events an app monitor ingested, as RUM returns them.

What the API Reference and the user guide say, and what the gate does (docs/semantics.md, "The
gate", lists each choice with its test):

- **TimeRange** is epoch milliseconds, `After` required, `Before` defaulting to "the time that
  this operation is performed" (the gate's clock). It selects on each event's own `timestamp`
  (the RumEvent member: "the exact time that this event occurred"), the `event_timestamp` of the
  returned document, both ends included; After later than Before is a ValidationException.
- **Filters**: `Browser`, `Device`, `Country`, `Page`, `OS` and `EventType` match the event's
  `metadata.browserName`, `.deviceType`, `.countryCode`, `.pageId`, `.osName` and its type,
  exactly; the values of one filter are alternatives ("Chrome,Firefox"), and so are filters:
  "The only performance events that are returned are those that have values matching the ones
  that you specify in one of your QueryFilter structures". `Invert` is "not equal to": an event
  any of whose six values is one of Invert's values is left out. Any other name, a filter
  without a name or without values is a ValidationException.
- **Order and pages**: by event_timestamp, then in the order the events were stored; at most
  MaxResults (default 100) a page; NextToken resumes after the last event returned, so a page
  never repeats or skips an event that was there when the first page was read.
- **Each event** is a JSON document in the shape RUM writes them to CloudWatch Logs, whose
  `event_type`, `metadata.*` and `event_details.*` are the paths metric definitions name:
  `event_timestamp` (ms), `event_type`, `event_id`, `event_version` ("1.0.0"), `log_stream`
  (the UTC hour the batch was received, `YYYY-MM-DDTHH`), `application_id` (the monitor's id),
  `application_version` (AppMonitorDetails.version), `metadata` (SessionMetadata with the
  event's metadata over it), `user_details` (userId, sessionId) and `event_details` (the
  event's details, parsed). A member whose source was not sent is left out. What RUM adds from
  the caller's address (`countryCode`, `subdivisionCode`) the gate cannot know: it has what the
  client sent.

Speed: every stored body is read once. A monitor's events are indexed in memory (event
timestamp, position, type and the five filtered metadata values) from the batches committed
since the index last looked; a page is a binary search on the time range and a scan for the
filters, and only the batches of the events on the page are read again to build their documents.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from rumpolicy.gate import api
from rumpolicy.gate.errors import validation
from rumpolicy.gate.paging import decode_token, encode_token
from rumpolicy.gate.registry import AppMonitor, Registry
from rumpolicy.gate.storage import Storage
from rumpolicy.gate.validation import member_error

DEFAULT_MAX_RESULTS = 100
EVENT_VERSION = "1.0.0"
FACETS = ("browserName", "deviceType", "countryCode", "pageId", "osName")
"""The metadata members the filters read, in the order an index entry keeps them."""
_BY_FACET = {"Browser": 0, "Device": 1, "Country": 2, "Page": 3, "OS": 4}
FILTER_NAMES = (*_BY_FACET, "EventType", "Invert")
"""QueryFilter names, as the API Reference lists them."""

Facets = tuple[str | None, ...]
Entry = tuple[int, int, int, str, Facets]
"""One indexed event: (event_timestamp in ms, the batch's row, the event's position in it, its
type, its FACETS values)."""
Match = Callable[[Entry], bool]


def get_app_monitor_data(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    monitor = registry.monitor(members["Name"])
    after, before = _time_range(members["TimeRange"], registry.clock)
    match = _matcher(members.get("Filters", ()))
    limit = members.get("MaxResults", DEFAULT_MAX_RESULTS)
    resume = None if "NextToken" not in members else _position(members["NextToken"])
    index = _index(registry, monitor.id)
    chosen, more = index.page(after, before, match, resume, limit)
    answer: dict[str, Any] = {"Events": _documents(registry.storage, monitor, chosen)}
    if more:
        answer["NextToken"] = encode_token(".".join(map(str, chosen[-1][:3])))
    return answer


# -- the request -------------------------------------------------------------------------------

def _time_range(time_range: Mapping[str, int], clock: Callable[[], float]) -> tuple[int, int]:
    after = time_range["After"]
    if "Before" in time_range:
        before = time_range["Before"]
        if after > before:
            raise member_error("TimeRange.Before", before, f"Member must be greater than or "
                                                           f"equal to TimeRange.After ({after})")
        return after, before
    now = int(clock() * 1000)
    if after > now:
        raise member_error("TimeRange.After", after, f"Member must be less than or equal to the "
                                                     f"current time ({now}) when TimeRange."
                                                     "Before is omitted")
    return after, now


def _matcher(filters: Sequence[Mapping[str, Any]]) -> Match:
    """Whether an event passes the filters: one of the positive filters matches (or there is
    none), and no Invert value is one of its values."""
    problems: list[api.Problem] = []
    wanted: list[tuple[str, frozenset[str]]] = []
    for n, query in enumerate(filters):
        name, values = query.get("Name"), query.get("Values")
        if name is None:
            problems.append((("Filters", n, "Name"), None, "Member must not be null"))
        elif name not in FILTER_NAMES:
            problems.append((("Filters", n, "Name"), name, "Member must satisfy enum value "
                                                           f"set: [{', '.join(FILTER_NAMES)}]"))
        if values is None:
            problems.append((("Filters", n, "Values"), None, "Member must not be null"))
        elif not values:
            problems.append((("Filters", n, "Values"), values,
                             "Member must have length greater than or equal to 1"))
        if name is not None and values:
            wanted.append((name, frozenset(values)))
    if problems:
        raise validation(api.describe(problems))
    inverted = frozenset(v for name, values in wanted if name == "Invert" for v in values)
    positive = [_one(name, values) for name, values in wanted if name != "Invert"]

    def match(entry: Entry) -> bool:
        if inverted and (entry[3] in inverted or not inverted.isdisjoint(entry[4])):
            return False
        return not positive or any(test(entry) for test in positive)
    return match


def _one(name: str, values: frozenset[str]) -> Match:
    if name == "EventType":
        return lambda entry: entry[3] in values
    facet = _BY_FACET[name]
    return lambda entry: entry[4][facet] in values


_INTEGER = re.compile(r"-?\d+", re.ASCII)


def _position(token: str) -> tuple[int, int, int]:
    parts = decode_token(token).split(".")
    if len(parts) != 3 or not all(_INTEGER.fullmatch(p) for p in parts):
        raise member_error("NextToken", token, "Member must be a token returned by a previous "
                                               "call")
    return int(parts[0]), int(parts[1]), int(parts[2])


# -- the index ---------------------------------------------------------------------------------

class _Index:
    """One monitor's events in (event_timestamp, row, position) order, grown from the batches
    committed since it last looked (batches are only ever added, under increasing row ids)."""

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
        with self.lock:
            rows = storage.query(  # `+monitor_id`: search by row id, not the monitor's index
                "SELECT seq, session_metadata, body FROM batches WHERE seq > ? AND "
                "+monitor_id = ? ORDER BY seq", (self.seen, self.monitor_id))
            if not rows:
                return
            added: list[Entry] = []
            for seq, session_metadata, body in rows:
                for position, event in enumerate(orjson.loads(body)["RumEvents"]):
                    added.append((_millis(event["timestamp"]), seq, position, event["type"],
                                  self._facets_of(session_metadata, event.get("metadata"))))
            self.seen = rows[-1][0]
            added.sort()
            behind = bool(self.entries) and bool(added) and added[0] < self.entries[-1]
            self.entries.extend(added)
            if behind:
                self.entries.sort()  # two sorted runs: timsort merges them in one pass

    def _facets_of(self, session_metadata: str | None, metadata: str | None) -> Facets:
        """The filtered metadata values; aws-rum-web repeats both texts, so each pair is
        parsed once (and its values shared by every event that has it)."""
        key = (session_metadata, metadata)
        found = self._facets.get(key)
        if found is None:
            merged = _merged_metadata(session_metadata, metadata)
            values = merged if isinstance(merged, dict) else {}
            found = tuple(v if isinstance(v := values.get(k), str) else None for k in FACETS)
            if len(self._facets) >= 4096:
                self._facets.clear()
            self._facets[key] = found
        return found


_indexes: weakref.WeakKeyDictionary[Storage, dict[str, _Index]] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _index(registry: Registry, monitor_id: str) -> _Index:
    """The monitor's index, caught up with the store; indexes of deleted monitors are let go."""
    with _indexes_lock:
        held = _indexes.setdefault(registry.storage, {})
        for gone in [i for i in held if i not in registry.by_id]:
            del held[gone]
        index = held.setdefault(monitor_id, _Index(monitor_id))
    index.catch_up(registry.storage)
    return index


# -- the documents -----------------------------------------------------------------------------

def _documents(storage: Storage, monitor: AppMonitor, chosen: Sequence[Entry]) -> list[str]:
    batches = _batches(storage, monitor.id, {entry[1] for entry in chosen})
    documents = []
    for timestamp, seq, position, _, _ in chosen:
        batch = batches[seq]
        event = batch["events"][position]
        document: dict[str, Any] = {
            "event_timestamp": timestamp, "event_type": event["type"], "event_id": event["id"],
            "event_version": EVENT_VERSION, "log_stream": batch["log_stream"],
            "application_id": monitor.id}
        if batch["version"] is not None:
            document["application_version"] = batch["version"]
        metadata = _merged_metadata(batch["session_metadata"], event.get("metadata"))
        if metadata is not None:
            document["metadata"] = metadata
        if batch["user_details"]:
            document["user_details"] = batch["user_details"]
        document["event_details"] = orjson.loads(event["details"])
        documents.append(orjson.dumps(document).decode())
    return documents


def _batches(storage: Storage, monitor_id: str, rows: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(rows)
    if not wanted:
        return {}
    found = storage.query(
        "SELECT seq, received_at, app_monitor_details, user_id, session_id, session_metadata, "
        f"body FROM batches WHERE seq IN ({','.join('?' * len(wanted))}) AND +monitor_id = ?",
        (*wanted, monitor_id))
    batches = {}
    for seq, received_at, details, user_id, session_id, session_metadata, body in found:
        user = {k: v for k, v in (("userId", user_id), ("sessionId", session_id)) if v is not None}
        batches[seq] = {
            "events": orjson.loads(body)["RumEvents"], "session_metadata": session_metadata,
            "log_stream": time.strftime("%Y-%m-%dT%H", time.gmtime(received_at)),
            "version": orjson.loads(details).get("version"), "user_details": user}
    return batches


def _merged_metadata(session_metadata: str | None, metadata: str | None) -> Any:
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
