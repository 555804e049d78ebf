"""The policy language as immutable typed values.

Frozen slotted dataclasses rather than pydantic models: `rumpolicy eval` must start, decide and
exit in under 150 ms, and importing pydantic alone costs about 100 ms here (see
docs/architecture.md). Source positions never take part in equality, so
`load_policy(policy.to_json()) == policy`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from rumpolicy.policy.operators import Operator

PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
CURRENT_VERSION = "2012-10-17"
VERSIONS = (CURRENT_VERSION, "2008-10-17")

EffectName = Literal["Allow", "Deny"]
PolicyKind = Literal["resource", "identity"]


@dataclass(frozen=True, slots=True)
class Location:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Principals:
    """A `Principal` or `NotPrincipal` element: the bare `"*"`, or kind -> values."""

    wildcard: bool = False
    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def values(self, kind: str) -> tuple[str, ...]:
        return tuple(v for k, values in self.entries if k == kind for v in values)

    def to_json(self) -> object:
        if self.wildcard:
            return "*"
        return {kind: _scalar_or_list(values) for kind, values in self.entries}


@dataclass(frozen=True, slots=True)
class Condition:
    """One key under one operator: `{"StringEquals": {"rum:alias": ["a", "b"]}}` is one."""

    operator: Operator
    key: str
    values: tuple[str, ...]
    path: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Statement:
    effect: EffectName
    sid: str | None = None
    principal: Principals | None = None
    not_principal: Principals | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()
    path: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        for name, principals in (("Principal", self.principal),
                                 ("NotPrincipal", self.not_principal)):
            if principals is not None:
                out[name] = principals.to_json()
        for name, values in (("Action", self.action), ("NotAction", self.not_action),
                             ("Resource", self.resource), ("NotResource", self.not_resource)):
            if values is not None:
                out[name] = _scalar_or_list(values)
        if self.conditions:
            block: dict[str, dict[str, object]] = {}
            for condition in self.conditions:
                block.setdefault(condition.operator.name, {})[condition.key] = _scalar_or_list(
                    condition.values
                )
            out["Condition"] = block
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    kind: PolicyKind = "resource"
    text: str | None = field(default=None, compare=False, repr=False)
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    @property
    def substitutes_variables(self) -> bool:
        """Only Version 2012-10-17 substitutes `${...}`; older or missing Version keeps text."""
        return self.version == CURRENT_VERSION

    def locate(self, path: str) -> Location:
        """Where the element at JSON `path` stands in the source (1:1 if unknown)."""
        while path:
            found = self.locations.get(path)
            if found is not None:
                return found
            path = path.rpartition("[")[0] if path.endswith("]") else path.rpartition(".")[0]
        return Location(1, 1)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_dict() for s in self.statements]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _scalar_or_list(values: tuple[str, ...]) -> object:
    return values[0] if len(values) == 1 else list(values)
