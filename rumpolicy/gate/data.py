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
since the index last looked (`event_index.py`); a page is a binary search on the time range and
a scan for the filters, and only the batches of the events on the page are read again to build
their documents. Reads go through `Storage.snapshot`, so they do not hold up PutRumEvents.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from rumpolicy.gate import api
from rumpolicy.gate.errors import monitor_not_found, validation
from rumpolicy.gate.event_index import Entry, Match, merged_metadata
from rumpolicy.gate.paging import decode_token, encode_token
from rumpolicy.gate.registry import AppMonitor, Registry
from rumpolicy.gate.storage import Storage
from rumpolicy.gate.validation import member_error

DEFAULT_MAX_RESULTS = 100
EVENT_VERSION = "1.0.0"
_BY_FACET = {"Browser": 0, "Device": 1, "Country": 2, "Page": 3, "OS": 4}
FILTER_NAMES = (*_BY_FACET, "EventType", "Invert")
"""QueryFilter names, as the API Reference lists them."""


def get_app_monitor_data(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    monitor = registry.monitor(members["Name"])
    after, before = _time_range(members["TimeRange"], registry.clock)
    match = _matcher(members.get("Filters", ()))
    limit = members.get("MaxResults", DEFAULT_MAX_RESULTS)
    resume = None if "NextToken" not in members else _position(members["NextToken"])
    index = registry.event_indexes.get(monitor.id, registry.by_id)
    index.catch_up(registry.storage)
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


# -- the documents -----------------------------------------------------------------------------

def _documents(storage: Storage, monitor: AppMonitor, chosen: Sequence[Entry]) -> list[str]:
    batches = _batches(storage, monitor.id, {entry[1] for entry in chosen})
    documents = []
    for timestamp, seq, position, _, _ in chosen:
        batch = batches.get(seq)
        if batch is None:  # only DeleteAppMonitor removes batches: it ran during this call
            raise monitor_not_found(monitor.name)
        event = batch["events"][position]
        document: dict[str, Any] = {
            "event_timestamp": timestamp, "event_type": event["type"], "event_id": event["id"],
            "event_version": EVENT_VERSION, "log_stream": batch["log_stream"],
            "application_id": monitor.id}
        if batch["version"] is not None:
            document["application_version"] = batch["version"]
        metadata = merged_metadata(batch["session_metadata"], event.get("metadata"))
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
    found = storage.snapshot(
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
