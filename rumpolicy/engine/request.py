"""The request context a decision is made on.

Context keys are normalised to lower case once, here, because IAM matches key names without
regard to case; values keep their case. Keys that IAM derives from the caller and the resource
(aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:username, aws:ResourceAccount)
are filled in unless the context gives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from rumpolicy.engine.principals import ANONYMOUS, Caller, CallerKind, parse_caller
from rumpolicy.policy.arns import split_arn

ContextValue = str | tuple[str, ...]
PUT_RUM_EVENTS = "rum:PutRumEvents"


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    resource: str
    action: str = PUT_RUM_EVENTS
    principal: str | None = None
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    values: Mapping[str, ContextValue] = field(init=False, repr=False, compare=False)
    caller: Caller = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.resource, str) or not self.resource:
            raise ValueError("a request needs a resource: the app monitor's ARN")
        if not isinstance(self.action, str) or not self.action:
            raise ValueError("a request's action must be a non-empty string")
        if self.principal is not None and not isinstance(self.principal, str):
            raise ValueError("principal must be an ARN string, or None for an anonymous caller")
        caller, derived = _derived(self.principal, self.resource)
        values: dict[str, ContextValue] = dict(derived)
        for key, value in self.context.items():
            if not isinstance(key, str):
                raise ValueError(f"context keys must be strings, not {key!r}")
            values[key.lower()] = value if type(value) is str else _context_value(key, value)
        object.__setattr__(self, "context", MappingProxyType(dict(self.context)))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "caller", caller)

    def get(self, key: str) -> ContextValue | None:
        """The value of condition key `key` (any case), or None when the key is absent."""
        return self.values.get(key.lower())

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "principal": self.principal,
            "context": {k: (list(v) if not isinstance(v, str) else v)
                        for k, v in self.context.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        """Build a request from its JSON shape (`to_dict`); raises ValueError naming the field."""
        unknown = set(data) - {"action", "resource", "principal", "context"}
        if unknown:
            raise ValueError(f"unknown request field(s): {', '.join(sorted(unknown))}")
        context = data.get("context") or {}
        if not isinstance(context, Mapping):
            raise ValueError("request.context must be an object of key -> value(s)")
        return cls(
            resource=data.get("resource", ""),
            action=data.get("action", PUT_RUM_EVENTS),
            principal=data.get("principal"),
            context=dict(context),
        )


def _context_value(key: str, value: object) -> ContextValue:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"context value of '{key}' must be a string or a list of strings")


@lru_cache(maxsize=1024)
def _derived(principal: str | None, resource: str) -> tuple[Caller, dict[str, ContextValue]]:
    """The caller, and the keys IAM derives from it and the resource (callers copy the dict).
    Keyed by the two strings, whose hashes Python keeps: every request of a gate asks this."""
    caller = parse_caller(principal)
    values: dict[str, ContextValue] = {}
    arn = split_arn(resource)
    if arn is not None and arn.account:
        values["aws:resourceaccount"] = arn.account
    values["aws:principaltype"] = caller.kind.value
    if caller.kind is CallerKind.ANONYMOUS:
        values["aws:principalaccount"] = ANONYMOUS
        return caller, values
    assert caller.account is not None and caller.arn is not None
    values["aws:principalaccount"] = caller.account
    values["aws:principalarn"] = caller.role_arn or caller.arn
    if caller.kind is CallerKind.USER and caller.name:
        values["aws:username"] = caller.name
    return caller, values
