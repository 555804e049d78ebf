"""The request context a decision is made on.

Context keys are normalised to lower case once, here, because IAM matches key names without
regard to case; values keep their case. Keys that IAM derives from the caller and the resource
(aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:username, aws:ResourceAccount,
and aws:userid for an anonymous caller) are filled in unless the context gives them.

Every unique record of a replay, every call to the gate and every dict-in user builds one, so
construction is kept within about twice a bare frozen dataclass of the same fields
(`bench/decisions.py` prints both): a hand-written `__init__` that stores through the slots'
own descriptors, and bounded caches for what repeats across requests (the derived keys per
caller and resource, the lower-case spelling of each key name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rumpolicy.engine.principals import ANONYMOUS, Caller, CallerKind, parse_caller
from rumpolicy.policy.arns import split_arn

ContextValue = str | tuple[str, ...]
PUT_RUM_EVENTS = "rum:PutRumEvents"
REQUEST_FIELDS = frozenset({"action", "resource", "principal", "context"})
"""The members of `Request.to_dict()`."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CACHE_ENTRIES = 16_384
"""Per cache; a full cache starts afresh, which costs one miss per entry, never a wrong answer."""
_CACHED_TEXT = 128
"""Longer key names (and callers and resources past four times this) are not remembered, so a
hostile context cannot fill the caches with megabytes of text."""


@dataclass(frozen=True, slots=True, kw_only=True, init=False)
class Request:
    resource: str
    action: str = PUT_RUM_EVENTS
    principal: str | None = None
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    values: Mapping[str, ContextValue] = field(init=False, repr=False, compare=False)
    caller: Caller = field(init=False, repr=False, compare=False)

    def __init__(self, *, resource: str, action: str = PUT_RUM_EVENTS,
                 principal: str | None = None,
                 context: Mapping[str, str | Sequence[str]] = _EMPTY) -> None:
        if (type(resource) is not str and not isinstance(resource, str)) or not resource:
            raise ValueError("a request needs a resource: the app monitor's ARN")
        if (type(action) is not str and not isinstance(action, str)) or not action:
            raise ValueError("a request's action must be a non-empty string")
        if principal is not None and type(principal) is not str \
                and not isinstance(principal, str):
            raise ValueError("principal must be an ARN string, or None for an anonymous caller")
        found = _derived_get((principal, resource))
        if found is None:
            found = _derive(principal, resource)
        caller, derived = found
        values = derived.copy()
        if type(context) is not dict and not isinstance(context, Mapping):
            raise ValueError("a request's context must be a mapping of key -> value(s)")
        if context:
            copy = dict(context)
            lower = _lowered_get
            for key, value in copy.items():
                low = lower(key)
                if low is None:
                    low = _lower(key)
                values[low] = value if type(value) is str else _context_value(key, value)
            context = MappingProxyType(copy)
        elif context is not _EMPTY:
            context = _EMPTY
        _set_resource(self, resource)
        _set_action(self, action)
        _set_principal(self, principal)
        _set_context(self, context)
        _set_values(self, values)
        _set_caller(self, caller)

    def get(self, key: str) -> ContextValue | None:
        """The value of condition key `key` (any case), or None when the key is absent."""
        return self.values.get(key.lower())

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "principal": self.principal,
            "context": {k: (v if isinstance(v, str | bool | int | float) else list(v))
                        for k, v in self.context.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        """Build a request from its JSON shape (`to_dict`); raises ValueError naming the field."""
        if not isinstance(data, Mapping):
            raise ValueError("a request must be an object of action, resource, principal and "
                             "context")
        if not data.keys() <= REQUEST_FIELDS:
            unknown = sorted(set(data) - REQUEST_FIELDS)
            raise ValueError(f"unknown request field(s): {', '.join(unknown)}")
        context = data.get("context") or _EMPTY
        if not isinstance(context, Mapping):
            raise ValueError("request.context must be an object of key -> value(s)")
        return cls(resource=data.get("resource", ""), action=data.get("action", PUT_RUM_EVENTS),
                   principal=data.get("principal"), context=context)


_set_resource, _set_action, _set_principal, _set_context, _set_values, _set_caller = (
    Request.__dict__[name].__set__
    for name in ("resource", "action", "principal", "context", "values", "caller"))
"""The slots' descriptors: storing through them skips the frozen class's `__setattr__`."""


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


_lowered: dict[str, str] = {}
_lowered_get = _lowered.get


def _lower(key: object) -> str:
    """A key name in lower case, remembered: a few dozen names recur in every request."""
    if not isinstance(key, str):
        raise ValueError(f"context keys must be strings, not {key!r}")
    low = key.lower()
    if len(key) <= _CACHED_TEXT:
        if len(_lowered) >= _CACHE_ENTRIES:
            _lowered.clear()
        _lowered[key] = low
    return low


_Derived = tuple[Caller, dict[str, ContextValue]]
_derived: dict[tuple[str | None, str], _Derived] = {}
_derived_get = _derived.get


def _derive(principal: str | None, resource: str) -> _Derived:
    """The caller, and the keys IAM derives from it and the resource (callers copy the dict).
    Raises ValueError for a principal that is not a caller ARN."""
    caller = parse_caller(principal)
    values: dict[str, ContextValue] = {}
    arn = split_arn(resource)
    if arn is not None and arn.account:
        values["aws:resourceaccount"] = arn.account
    values["aws:principaltype"] = caller.kind.value
    if caller.kind is CallerKind.ANONYMOUS:
        values["aws:principalaccount"] = ANONYMOUS
        values["aws:userid"] = ANONYMOUS  # the principal-key table's row, as PrincipalType
    else:
        assert caller.account is not None and caller.arn is not None
        values["aws:principalaccount"] = caller.account
        values["aws:principalarn"] = caller.role_arn or caller.arn
        if caller.kind is CallerKind.USER and caller.name:
            values["aws:username"] = caller.name
    found = (caller, values)
    if len(resource) + len(principal or "") <= 4 * _CACHED_TEXT:
        if len(_derived) >= _CACHE_ENTRIES:
            _derived.clear()
        _derived[(principal, resource)] = found
    return found
