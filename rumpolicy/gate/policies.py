"""The resource-policy operations: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy.

A policy is loaded and compiled once, when it is put; the data plane only runs the compiled
evaluator. A PolicyRevisionId, when given, must be the current one; every successful put gets a
new one (docs/semantics.md).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from rumpolicy.gate.errors import GateError
from rumpolicy.gate.registry import AppMonitor, Registry
from rumpolicy.policy import Policy, PolicyError, load_policy


def put_resource_policy(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    document = members["PolicyDocument"]
    with registry.lock:
        live = registry.live(members["Name"])
        policy = _load(document)
        _check_revision(live.monitor, members.get("PolicyRevisionId"), deleting=False)
        evaluator = registry.compiler(policy)
        revision = str(uuid.uuid4())
        monitor = dataclasses.replace(registry.touched(live.monitor), policy_document=document,
                                      policy_revision_id=revision)
        registry.set_policy(monitor, evaluator)
    return {"PolicyDocument": document, "PolicyRevisionId": revision}


def get_resource_policy(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    monitor = registry.monitor(members["Name"])
    if monitor.policy_document is None:
        raise _no_policy(monitor.name)
    return {"PolicyDocument": monitor.policy_document,
            "PolicyRevisionId": monitor.policy_revision_id}


def delete_resource_policy(registry: Registry, members: Mapping[str, Any]) -> dict[str, Any]:
    with registry.lock:
        live = registry.live(members["Name"])
        if live.monitor.policy_document is None:
            raise _no_policy(live.monitor.name)
        _check_revision(live.monitor, members.get("PolicyRevisionId"), deleting=True)
        removed = live.monitor.policy_revision_id
        monitor = dataclasses.replace(registry.touched(live.monitor), policy_document=None,
                                      policy_revision_id=None)
        registry.set_policy(monitor, registry.compiler(None))
    return {} if removed is None else {"PolicyRevisionId": removed}


def _load(document: str) -> Policy:
    """PutResourcePolicy's document -> Policy, or the AWS error carrying the diagnostics."""
    try:
        return load_policy(document)
    except PolicyError as err:
        shown = "; ".join(d.format() for d in err.diagnostics)
        if any(d.code == "policy-too-large" for d in err.diagnostics):
            raise GateError("PolicySizeLimitExceededException",
                            f"The policy document is too large. The limit is 4 KB. "
                            f"{shown}") from None
        raise GateError("MalformedPolicyDocumentException",
                        f"The policy document is malformed: {shown}") from None


def _check_revision(monitor: AppMonitor, given: str | None, *, deleting: bool) -> None:
    if given is None or given == monitor.policy_revision_id:
        return
    current = "has no policy" if monitor.policy_revision_id is None else \
        f"is at policy revision {monitor.policy_revision_id}"
    action = "delete" if deleting else "update"
    raise GateError("InvalidPolicyRevisionIdException",
                    f"The policy revision id {given} does not match: app monitor "
                    f"{monitor.name} {current}; cannot {action} its policy.")


def _no_policy(name: str) -> GateError:
    return GateError("PolicyNotFoundException",
                     f"The resource-based policy doesn't exist on the app monitor {name}.")
