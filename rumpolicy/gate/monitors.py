"""The app-monitor operations: Create, Get, Update, Delete, List, and the tags of a monitor
(TagResource, UntagResource, ListTagsForResource).

Each takes the registry and the operation's members, already checked against botocore's model
(`api.checked`), and returns the operation's output. The rules the model cannot express are
here, each documented in docs/semantics.md ("The gate").
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rumpolicy.gate.errors import GateError, validation
from rumpolicy.gate.paging import page
from rumpolicy.gate.registry import AppMonitor, Registry
from rumpolicy.gate.validation import member_error

MAX_TAGS = 50
"""Tags per resource (TagResource in the API Reference: "as many as 50 tags")."""
_SETTINGS = ("Domain", "DomainList", "AppMonitorConfiguration", "CwLogEnabled", "CustomEvents",
             "DeobfuscationConfiguration", "Platform")
"""CreateAppMonitor's members that make up a monitor's settings (all but Name and Tags)."""


def create_app_monitor(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    name = members["Name"]
    spec = {k: members[k] for k in _SETTINGS if k in members}
    _check_domains(spec, creating=True)
    tags = _checked_tags({}, members.get("Tags", {}))
    with registry.lock:
        if name in registry.names():
            raise GateError("ConflictException", f"An app monitor named {name} already exists.",
                            resourceName=name, resourceType="AppMonitor")
        limit = registry.config.max_app_monitors
        if limit is not None and len(registry.names()) >= limit:
            raise GateError("ServiceQuotaExceededException",
                            f"This account already has {limit} app monitors in "
                            f"{registry.config.region}, the quota; delete one, or raise the "
                            "gate's max_app_monitors setting.")
        now = registry.clock()
        monitor = AppMonitor(str(uuid.uuid4()), name, registry.arn(name), now, now,
                             MappingProxyType(spec), tags=MappingProxyType(tags))
        registry.add(monitor)
    return {"Id": monitor.id}


def get_app_monitor(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    return {"AppMonitor": registry.monitor(members["Name"]).describe()}


def update_app_monitor(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    """Only the settings given change (API Reference); Domain and DomainList replace each
    other."""
    changes = {k: members[k] for k in _SETTINGS if k in members}
    _check_domains(changes, creating=False)
    with registry.lock:
        monitor = registry.monitor(members["Name"])
        spec = dict(monitor.spec)
        for replaced in ("Domain", "DomainList"):
            if replaced in changes:
                spec.pop("DomainList" if replaced == "Domain" else "Domain", None)
        spec.update(changes)
        registry.update(dataclasses.replace(registry.touched(monitor),
                                            spec=MappingProxyType(spec)))
    return {}


def delete_app_monitor(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    """Deletes the monitor with its policy, tags, metrics destinations and definitions, and the
    batches it accepted."""
    with registry.lock:
        registry.remove(registry.live(members["Name"]))
    return {}


def list_app_monitors(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    """Sorted by name; 50 a page unless MaxResults says otherwise (API Reference)."""
    monitors = [registry.monitor(name) for name in registry.names()]
    chosen, token = page(monitors, lambda m: m.name, members.get("MaxResults"),
                         members.get("NextToken"), default=50)
    answer: dict[str, Any] = {"AppMonitorSummaries": [m.summary() for m in chosen]}
    if token is not None:
        answer["NextToken"] = token
    return answer


# -- tags ------------------------------------------------------------------------------------------

def tag_resource(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    """New keys are added, existing ones get the new value; at most MAX_TAGS in all."""
    with registry.lock:
        monitor = _tagged(registry, members["ResourceArn"])
        tags = _checked_tags(monitor.tags, members["Tags"])
        registry.update(dataclasses.replace(monitor, tags=MappingProxyType(tags)))
    return {}


def untag_resource(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    """Keys the monitor does not have are ignored."""
    with registry.lock:
        monitor = _tagged(registry, members["ResourceArn"])
        tags = {k: v for k, v in monitor.tags.items() if k not in set(members["TagKeys"])}
        registry.update(dataclasses.replace(monitor, tags=MappingProxyType(tags)))
    return {}


def list_tags_for_resource(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    monitor = _tagged(registry, members["ResourceArn"])
    return {"ResourceArn": monitor.arn, "Tags": dict(monitor.tags)}


def _tagged(registry: Registry, arn: str) -> AppMonitor:
    """The monitor an ARN names: app monitors are the only resources RUM tags."""
    prefix = registry.arn("")
    name = arn.removeprefix(prefix)
    if name == arn or not name or name not in registry.names():
        raise GateError("ResourceNotFoundException",
                        f"No app monitor has the ARN {arn[:300]} in this account and Region.",
                        resourceName=arn[:300], resourceType="AppMonitor")
    return registry.monitor(name)


def _checked_tags(current: Mapping[str, str], added: Mapping[str, str]) -> dict[str, str]:
    """The tags after adding `added`. Keys differing only in case are refused: condition keys
    are case-insensitive, so `aws:ResourceTag/Stage` could not tell them apart
    (docs/semantics.md)."""
    tags = {**current, **added}
    if len(tags) > MAX_TAGS:
        raise member_error("Tags", f"<{len(tags)} tags>",
                           f"A resource may have at most {MAX_TAGS} tags")
    folded: dict[str, str] = {}
    for key in tags:
        other = folded.setdefault(key.casefold(), key)
        if other != key:
            raise member_error("Tags", key, f"Tag keys must differ by more than case: "
                                            f"{other!r} is already a key")
    return tags


def _check_domains(spec: Mapping[str, Any], *, creating: bool) -> None:
    if "Domain" in spec and "DomainList" in spec:
        raise validation("1 validation error detected: Give Domain or DomainList, not both "
                         "(the API Reference allows either the domain or the domain list)")
    web = spec.get("Platform", "Web") == "Web"
    if creating and web and "Domain" not in spec and "DomainList" not in spec:
        raise validation("1 validation error detected: Value null at 'Domain' failed to "
                         "satisfy constraint: CreateAppMonitor requires either Domain or "
                         "DomainList")


