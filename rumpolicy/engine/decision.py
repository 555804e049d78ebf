"""A decision and why it was taken: the verdict plus, for every statement, what matched.

Traces hold only what the evaluation read (the caller, action, resource and the context keys the
policy names), so equal inputs give equal decisions and the compiled evaluator can share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ContextValue = str | tuple[str, ...]


class Effect(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


@dataclass(frozen=True, slots=True)
class Check:
    """Whether one element (Principal, Action, Resource) matched, and by what."""

    matched: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    operator: str
    key: str
    policy_values: tuple[str, ...]
    request_value: ContextValue | None
    result: bool | None
    """True or False; None when the request value cannot be read as the operator's type."""
    reason: str


@dataclass(frozen=True, slots=True)
class StatementTrace:
    policy: str
    """"resource" or "identity[N]"."""
    index: int
    sid: str | None
    effect: str
    principal: Check | None
    action: Check
    resource: Check
    conditions: tuple[ConditionTrace, ...]
    applies: bool

    @property
    def label(self) -> str:
        name = f" '{self.sid}'" if self.sid else ""
        where = "resource policy" if self.policy == "resource" else \
            "identity policy " + self.policy.removeprefix("identity[").rstrip("]")
        return f"statement {self.index}{name} ({self.effect}) of the {where}"

    def to_dict(self) -> dict[str, Any]:
        def check(c: Check | None) -> dict[str, Any] | None:
            return None if c is None else {"matched": c.matched, "reason": c.reason,
                                            "detail": c.detail}
        return {
            "policy": self.policy,
            "index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "applies": self.applies,
            "principal": check(self.principal),
            "action": check(self.action),
            "resource": check(self.resource),
            "conditions": [
                {
                    "operator": c.operator,
                    "key": c.key,
                    "policy_values": list(c.policy_values),
                    "request_value": (list(c.request_value)
                                      if isinstance(c.request_value, tuple)
                                      else c.request_value),
                    "result": c.result,
                    "reason": c.reason,
                }
                for c in self.conditions
            ],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    effect: Effect
    reason: str
    """A stable code: explicit_deny, resource_policy_allow, identity_policy_allow, account_root,
    no_policy, no_matching_allow, account_principal_needs_identity_allow, cross_account."""
    message: str
    caller: str
    action: str
    resource: str
    statements: tuple[StatementTrace, ...]

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW

    def explain(self) -> str:
        verdict = {Effect.ALLOW: "ALLOW", Effect.EXPLICIT_DENY: "DENY (explicit)",
                   Effect.IMPLICIT_DENY: "DENY (implicit)"}[self.effect]
        lines = [f"{verdict}: {self.message}",
                 f"  caller: {self.caller}", f"  action: {self.action}",
                 f"  resource: {self.resource}"]
        if not self.statements:
            lines.append("  no statements were evaluated")
        for trace in self.statements:
            mark = "applies" if trace.applies else "does not apply"
            lines.append(f"  - {trace.label}: {mark}")
            for name, check in (("principal", trace.principal), ("action", trace.action),
                                ("resource", trace.resource)):
                if check is not None:
                    ok = "ok  " if check.matched else "FAIL"
                    detail = f" ({check.detail})" if check.detail else ""
                    lines.append(f"      {ok} {name}: {check.reason}{detail}")
            for c in trace.conditions:
                ok = {True: "ok  ", False: "FAIL", None: "??  "}[c.result]
                shown = "absent" if c.request_value is None else (
                    repr(list(c.request_value)) if isinstance(c.request_value, tuple)
                    else repr(c.request_value))
                values = ", ".join(repr(v) for v in c.policy_values) or "(none)"
                lines.append(f"      {ok} {c.operator} {c.key}: request {shown} vs "
                             f"[{values}]: {c.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "effect": self.effect.value,
            "allowed": self.allowed,
            "reason": self.reason,
            "message": self.message,
            "caller": self.caller,
            "action": self.action,
            "resource": self.resource,
            "statements": [t.to_dict() for t in self.statements],
        }
