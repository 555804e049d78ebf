"""Request bodies, policies and an in-memory gate for the gate's tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from rumpolicy.gate import Gate, GateConfig
from rumpolicy.gate.storage import MonitorRecord, Storage, StoredBatch

NOW = 1_795_000_000.0  # 2026-11-18T...Z, the fixed clock of in-process gates
ACCOUNT = "123456789012"


def arn(name: str = "shop") -> str:
    return f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/{name}"


def alias_policy(name: str = "shop", aliases: tuple[str, ...] = ("v1", "v2")) -> str:
    """AWS's sample (c): anyone may put events carrying one of the aliases."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowRUMPutEvents", "Effect": "Allow", "Action": "rum:PutRumEvents",
        "Resource": arn(name), "Principal": "*",
        "Condition": {"StringEquals": {"rum:alias": list(aliases)}}}]})


def allow_all_policy(name: str = "shop") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": arn(name),
        "Principal": "*"}]})


def event(n: int = 0, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()), "timestamp": 1_795_000_000 + n,
        "type": "com.amazon.rum.page_view_event",
        "metadata": json.dumps({"title": "probe", "pageId": "/probe"}),
        "details": json.dumps({"version": "1.0.0", "pageId": "/probe", "interaction": n}),
    }
    base.update(changes)
    return base


def batch(monitor_id: str, alias: str | None = None, events: int = 2,
          **changes: Any) -> dict[str, Any]:
    """A body as aws-rum-web sends it (members in its order; Alias only when set)."""
    body: dict[str, Any] = {
        "BatchId": str(uuid.uuid4()),
        "AppMonitorDetails": {"id": monitor_id, "version": "1.0.0"},
        "UserDetails": {"userId": "00000000-0000-0000-0000-000000000000",
                        "sessionId": str(uuid.uuid4())},
        "RumEvents": [event(n) for n in range(events)],
        "SessionMetadata": json.dumps({"browserName": "Chrome", "domain": "127.0.0.1"}),
    }
    if alias is not None:
        body["Alias"] = alias
    body.update(changes)
    return body


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def make_gate(config: GateConfig | None = None, **kwargs: Any) -> tuple[Gate, str]:
    """An in-memory gate with monitor 'shop' under AWS's alias sample policy."""
    gate = Gate(None, config, clock=kwargs.pop("clock", lambda: NOW), **kwargs)
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    return gate, monitor_id


STORED_MONITOR = "0d4e0000-0000-4000-8000-000000000001"


def stored_batch(batch_id: str, events: int = 3) -> StoredBatch:
    """A batch as the store keeps it, for STORED_MONITOR."""
    body = {"BatchId": batch_id, "RumEvents": [
        {"id": f"e{n}", "timestamp": 10 + n, "type": "t", "details": "{}"}
        for n in range(events)]}
    return StoredBatch(
        monitor_id=STORED_MONITOR, batch_id=batch_id, received_at=1.5, request_id="r",
        alias="v1", principal=None, source_ip="127.0.0.1", app_monitor_details='{"id":"x"}',
        event_count=events, user_id=None, session_id=None, session_metadata=None,
        body=json.dumps(body).encode())


def store_with_monitor(data_dir: Any) -> Storage:
    """A store (None: in memory) that has STORED_MONITOR."""
    store = Storage(data_dir)
    store.insert_monitor(MonitorRecord(STORED_MONITOR, "shop", 1.0, 1.0, "{}"))
    return store


def delete_after(monkeypatch: Any, owner: type, method: str, gate: Gate,
                 name: str = "shop") -> None:
    """Make `owner.method` delete app monitor `name` as soon as it returns: a DeleteAppMonitor
    that lands at exactly that point of a call the control plane does not wait for."""
    real = getattr(owner, method)

    def then_delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        found = real(self, *args, **kwargs)
        gate.delete_app_monitor(Name=name)
        return found

    monkeypatch.setattr(owner, method, then_delete)
