"""The app monitors a gate holds, in memory beside the store: each with its resource policy
compiled once, when it was put, so that the data plane never loads a policy.

The control-plane operations (`monitors.py`, `policies.py`, `metrics.py`, `data.py`) change
monitors through the registry, under its lock, and write the store first: what the registry
holds is always what the store holds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from rumpolicy.engine import Decision, Request
from rumpolicy.gate.config import GateConfig
from rumpolicy.gate.errors import monitor_not_found
from rumpolicy.gate.event_index import EventIndexes
from rumpolicy.gate.records import MonitorRecord
from rumpolicy.gate.storage import Storage
from rumpolicy.policy import Policy, load_policy

_log = logging.getLogger("rumpolicy.gate")


class Evaluator(Protocol):
    """What decides: `rumpolicy.compile_policy(policy)` by default."""

    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
        ...


Compiler = Callable[[Policy | None], Evaluator]


@dataclass(frozen=True, slots=True)
class AppMonitor:
    id: str
    name: str
    arn: str
    created: float
    last_modified: float
    spec: Mapping[str, Any]
    """CreateAppMonitor's settings (every member but Name and Tags), as last set."""
    policy_document: str | None = None
    policy_revision_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """GetAppMonitor's `AppMonitor` structure."""
        spec = dict(self.spec)
        cw_log: dict[str, Any] = {"CwLogEnabled": bool(spec.pop("CwLogEnabled", False))}
        if cw_log["CwLogEnabled"]:
            cw_log["CwLogGroup"] = self.log_group
        described: dict[str, Any] = {
            "Name": self.name, "Id": self.id, "Created": iso_time(self.created),
            "LastModified": iso_time(self.last_modified), "State": "ACTIVE",
            "Platform": spec.pop("Platform", "Web"),
            "DataStorage": {"CwLog": cw_log},
            "CustomEvents": spec.pop("CustomEvents", {"Status": "DISABLED"}),
            "Tags": dict(self.tags),
        }
        described.update(spec)
        return described

    @property
    def log_group(self) -> str:
        """The CloudWatch Logs group RUM copies the monitor's events to when CwLogEnabled is
        true, which GetAppMonitor returns as DataStorage.CwLog.CwLogGroup ("If it does, this
        structure also contains the name of the log group", API Reference, CwLog). RUM names it
        itself, `/aws/vendedlogs/RUMService_` + the monitor's name + the first 8 characters of
        its id (docs/semantics.md), so it is derived, never stored."""
        return f"/aws/vendedlogs/RUMService_{self.name}{self.id[:8]}"

    def summary(self) -> dict[str, Any]:
        """ListAppMonitors' AppMonitorSummary."""
        return {"Name": self.name, "Id": self.id, "Created": iso_time(self.created),
                "LastModified": iso_time(self.last_modified), "State": "ACTIVE",
                "Platform": self.spec.get("Platform", "Web")}

    def record(self) -> MonitorRecord:
        return MonitorRecord(self.id, self.name, self.created, self.last_modified,
                             json.dumps(dict(self.spec)), self.policy_document,
                             self.policy_revision_id, json.dumps(dict(self.tags)))


@dataclass(frozen=True, slots=True)
class Live:
    """A monitor as the data plane sees it: its policy compiled once, when it was put."""

    monitor: AppMonitor
    evaluator: Evaluator | None
    problem: str | None = None
    """Why the stored policy could not be compiled; PutRumEvents then fails closed (500)."""
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    """`aws:ResourceTag/<key>` for each tag, as PutRumEvents' request context carries them."""


class Registry:
    """The gate's app monitors by id and by name. Changes hold `lock`; reads need not (a dict
    lookup sees the old or the new monitor, never half of one)."""

    def __init__(self, config: GateConfig, storage: Storage, clock: Callable[[], float],
                 compiler: Compiler) -> None:
        self.config = config
        self.storage = storage
        self.clock = clock
        self.compiler = compiler
        self.lock = threading.RLock()
        self.by_id: dict[str, Live] = {}
        self._by_name: dict[str, str] = {}
        self.event_indexes = EventIndexes()
        """GetAppMonitorData's indexes of this registry's monitors (`event_index.py`)."""
        for record in storage.monitors():
            self._install_record(record)

    def arn(self, name: str) -> str:
        return f"arn:aws:rum:{self.config.region}:{self.config.account}:appmonitor/{name}"

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def live(self, name: str) -> Live:
        """The monitor called `name`, or ResourceNotFoundException."""
        monitor_id = self._by_name.get(name)
        live = None if monitor_id is None else self.by_id.get(monitor_id)
        if live is None:
            raise monitor_not_found(name)
        return live

    def monitor(self, name: str) -> AppMonitor:
        return self.live(name).monitor

    def add(self, monitor: AppMonitor) -> Live:
        """A new monitor, stored, with no policy."""
        self.storage.insert_monitor(monitor.record())
        return self._install(monitor, self.compiler(None))

    def update(self, monitor: AppMonitor) -> Live:
        """New settings or tags for a monitor already held (its policy unchanged)."""
        self.storage.update_monitor(monitor.record())
        live = self.by_id[monitor.id]
        return self._install(monitor, live.evaluator, live.problem)

    def set_policy(self, monitor: AppMonitor, evaluator: Evaluator) -> Live:
        self.storage.set_policy(monitor.id, monitor.policy_document,
                                monitor.policy_revision_id, monitor.last_modified)
        return self._install(monitor, evaluator)

    def remove(self, live: Live) -> None:
        self.storage.delete_monitor(live.monitor.id)
        del self.by_id[live.monitor.id]
        del self._by_name[live.monitor.name]

    def touched(self, monitor: AppMonitor) -> AppMonitor:
        return dataclasses.replace(monitor, last_modified=self.clock())

    def _install_record(self, record: MonitorRecord) -> None:
        monitor = AppMonitor(record.id, record.name, self.arn(record.name), record.created,
                             record.last_modified, MappingProxyType(json.loads(record.spec)),
                             record.policy_document, record.policy_revision_id,
                             MappingProxyType(json.loads(record.tags)))
        try:
            policy = None if record.policy_document is None else \
                load_policy(record.policy_document)
            self._install(monitor, self.compiler(policy))
        except Exception as err:  # a stored policy this engine no longer accepts
            _log.error("app monitor %s: stored policy unusable: %s", record.name, err)
            self._install(monitor, None, str(err))

    def _install(self, monitor: AppMonitor, evaluator: Evaluator | None,
                 problem: str | None = None) -> Live:
        tags = MappingProxyType({f"aws:ResourceTag/{k}": v for k, v in monitor.tags.items()})
        live = Live(monitor, evaluator, problem, tags)
        self.by_id[monitor.id] = live
        self._by_name[monitor.name] = monitor.id
        return live


def iso_time(epoch: float) -> str:
    """ISOTimestampString: 19 characters, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))
