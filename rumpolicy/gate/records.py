"""What the gate's store holds, as values: an app monitor's row and an accepted batch's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class MonitorRecord:
    id: str
    name: str
    created: float
    last_modified: float
    spec: str
    """The CreateAppMonitor members besides Name, as JSON text."""
    policy_document: str | None = None
    policy_revision_id: str | None = None
    tags: str = "{}"
    """The monitor's tags, as a JSON object."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    timestamp: float
    type: str
    metadata: str | None
    details: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "timestamp": self.timestamp, "type": self.type,
                "metadata": self.metadata, "details": self.details}


class StoredBatch(NamedTuple):
    """One accepted batch: the row the store keeps. A named tuple whose fields are the columns
    in `_INSERT`'s order, so the row is the value itself: the gate builds one per accepted call,
    and a frozen dataclass cost three times as much to build and then had to be turned into a
    tuple (docs/performance.md)."""

    monitor_id: str
    batch_id: str
    received_at: float
    request_id: str
    alias: str | None
    principal: str | None
    source_ip: str | None
    app_monitor_details: str
    """AppMonitorDetails as JSON text."""
    user_id: str | None
    session_id: str | None
    session_metadata: str | None
    event_count: int
    body: bytes
    """The request body as received (JSON, decompressed), less the events the monitor does not
    ingest (`ingest_rules.py`); the events are read from it."""

    def __repr__(self) -> str:  # the body can be megabytes
        return (f"StoredBatch(monitor_id={self.monitor_id!r}, batch_id={self.batch_id!r}, "
                f"event_count={self.event_count}, body=<{len(self.body)} bytes>)")

    @property
    def events(self) -> tuple[StoredEvent, ...]:
        events = json.loads(self.body)["RumEvents"]
        return tuple(StoredEvent(e["id"], float(e["timestamp"]), e["type"], e.get("metadata"),
                                 e["details"]) for e in events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor_id": self.monitor_id, "batch_id": self.batch_id,
            "received_at": self.received_at, "request_id": self.request_id,
            "alias": self.alias, "principal": self.principal, "source_ip": self.source_ip,
            "app_monitor_details": json.loads(self.app_monitor_details),
            "user_id": self.user_id, "session_id": self.session_id,
            "session_metadata": self.session_metadata,
            "events": [e.to_dict() for e in self.events],
        }
