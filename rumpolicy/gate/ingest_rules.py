"""What an accepted PutRumEvents batch keeps of its events, by the app monitor's settings.

The one setting that AWS documents as acting on ingestion is CustomEvents: "Custom events are
ingested only if the app monitor has custom events enabled" (user guide, "Send custom events"),
and an event RUM does not ingest is dropped, not refused: the call still succeeds (an AWS RUM
engineer on aws-rum-web issue 139: events of no accepted schema "will be dropped"). So a batch
carrying custom events to a monitor whose CustomEvents is DISABLED (the default) is answered 200
and stored without them. With ENABLED, a custom event is kept when it meets the documented
requirements (an event type of 1 to 256 letters, digits, `_`, `-` and `.`; details a JSON
object of at most 6 KB); one that does not is dropped the same way.

Every other setting is the web client's (aws-rum-web's configuration: `sessionSampleRate`,
`telemetries`, `pagesToInclude` / `pagesToExclude`, `allowCookies`, `enableXRay`): the service
does not filter on them, and neither does the gate (docs/semantics.md, "The gate").

This runs on every accepted call, after full validation: a batch with no custom event costs a
set lookup per event and nothing else. A batch that loses events is cut from the parse the gate
made of its body, not from a new one: it runs on the event loop. The body as received is held to
the store's JSON rules once, here, and the text written from the cut parse is marked as checked
(`json_rules.CheckedText`), so the store does not parse it again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from rumpolicy.gate.json_rules import CheckedText, parsed_refusal
from rumpolicy.gate.metric_rules import BUILT_IN_DETAILS
from rumpolicy.gate.models import PutRumEventsBody
from rumpolicy.gate.registry import AppMonitor

_log = logging.getLogger("rumpolicy.gate")

BUILT_IN_EVENT_TYPES = frozenset({*BUILT_IN_DETAILS, "com.amazon.rum.xray_trace_event"})
"""The event types RUM defines a schema for: those the user guide lists ("Information collected
by the CloudWatch RUM web client") and every type aws-rum-web sends (`metric_rules.py` has them
with their schemas' fields; X-Ray trace events, whose schema aws-rum-web files under
`com.amazon.xray_trace_event`, are sent as `com.amazon.rum.xray_trace_event`). Any other type is
a custom event."""

CUSTOM_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
"""A custom event's type: "between 1 and 256 characters", "alphanumeric characters,
underscores, hyphens, and periods" (user guide, "Send custom events")."""
MAX_CUSTOM_DETAILS = 6 * 1024
"""Bytes of UTF-8 a custom event's details may take: "Each custom event payload can be up to
6 KB"."""


def ingested(monitor: AppMonitor, body: PutRumEventsBody, raw: bytes,
             parsed: Mapping[str, Any] | None = None) -> tuple[PutRumEventsBody, bytes]:
    """(the validated body, the text to store) with the events RUM would not ingest left out;
    `body` and `raw` themselves when every event stays. `parsed` is `raw` as orjson parsed it
    (never modified here), when the caller has it; None: `raw` is parsed if events are cut."""
    events = body["RumEvents"]
    enabled = None
    for event in events:
        kind = event["type"]
        if kind in BUILT_IN_EVENT_TYPES:
            continue
        if enabled is None:
            enabled = monitor.spec.get("CustomEvents", _DISABLED).get("Status") == "ENABLED"
        if not (enabled and _acceptable(kind, event["details"])):
            break
    else:
        return body, raw
    kept = [n for n, event in enumerate(events) if event["type"] in BUILT_IN_EVENT_TYPES
            or (enabled and _acceptable(event["type"], event["details"]))]
    _log.info("PutRumEvents to app monitor %s: %d custom event(s) not ingested (%s)",
              monitor.name, len(events) - len(kept),
              "CustomEvents is ENABLED but they break its requirements" if enabled
              else "CustomEvents is DISABLED")
    return {**body, "RumEvents": [events[n] for n in kept]}, _without(raw, parsed, kept)


_DISABLED = {"Status": "DISABLED"}
"""CustomEvents when the monitor was created without it (CreateAppMonitor's default)."""


def _acceptable(kind: str, details: str) -> bool:
    """Whether a monitor with custom events enabled ingests a custom event."""
    return (_valid_custom_type(kind)
            and (details[:1] == "{" or details.lstrip(" \t\r\n")[:1] == "{")  # an object
            and (len(details) <= MAX_CUSTOM_DETAILS // 4  # at most 4 bytes a character
                 or len(details.encode("utf-8", "surrogatepass")) <= MAX_CUSTOM_DETAILS))


@lru_cache(maxsize=1024)
def _valid_custom_type(kind: str) -> bool:
    """Remembered: a client sends the same few custom types again and again."""
    return CUSTOM_EVENT_TYPE.fullmatch(kind) is not None


def _without(raw: bytes, parsed: Mapping[str, Any] | None, kept: list[int]) -> CheckedText:
    """The stored text: the body as received, its RumEvents cut to `kept`, members the gate
    ignores included (in their order: the copy keeps RumEvents where it was). The store's
    duplicate and nesting rules are applied to the text as received first: the rewritten text,
    written from a parse, could no longer show them, and keeps them by construction."""
    fields = orjson.loads(raw) if parsed is None else parsed
    problem = parsed_refusal(raw, fields)
    if problem is not None:
        raise problem
    events = fields["RumEvents"]
    return CheckedText(orjson.dumps({**fields, "RumEvents": [events[n] for n in kept]}))
