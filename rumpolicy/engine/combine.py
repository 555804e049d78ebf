"""From statement traces to the verdict: IAM's evaluation logic for an app-monitor policy.

Explicit deny wins; anonymous callers can only be let in by the resource policy; a same-account
signed caller is let in by the resource policy OR its identity policies (a union); a caller from
another account never is, because RUM resource policies do not support cross-account access.

The verdict (`outcome`) is taken apart from its message: callers that search many requests and
read only the effect and reason (the audit's probes) should not pay for formatting a sentence
nobody reads; `decide` adds the message from the same outcome, so both always agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from rumpolicy.engine.decision import Decision, Effect, StatementTrace
from rumpolicy.engine.principals import Caller, CallerKind, PrincipalMatch
from rumpolicy.engine.request import Request
from rumpolicy.policy.arns import split_arn

_GRANTS = frozenset({PrincipalMatch.WILDCARD.value, PrincipalMatch.EXACT.value,
                     PrincipalMatch.ROLE.value, PrincipalMatch.NOT_PRINCIPAL.value})


def decide(
    request: Request,
    resource_traces: Sequence[StatementTrace],
    identity_traces: Sequence[StatementTrace],
    has_policy: bool,
) -> Decision:
    caller = request.caller
    effect, reason, quoted = _outcome(caller, request.resource, resource_traces, identity_traces,
                                      has_policy)
    return Decision(effect, reason, _message(reason, quoted, request, caller), caller.label,
                    request.action, request.resource, (*resource_traces, *identity_traces))


def outcome(
    caller: Caller,
    resource: str,
    resource_traces: Sequence[StatementTrace],
    identity_traces: Sequence[StatementTrace],
    has_policy: bool,
) -> tuple[Effect, str]:
    """The effect and reason `decide` gives, without its message: what IAM's combination reads
    is the caller, the monitor's account and the traces, not the action."""
    effect, reason, _ = _outcome(caller, resource, resource_traces, identity_traces, has_policy)
    return effect, reason


def _outcome(
    caller: Caller,
    resource: str,
    resource_traces: Sequence[StatementTrace],
    identity_traces: Sequence[StatementTrace],
    has_policy: bool,
) -> tuple[Effect, str, StatementTrace | None]:
    """(effect, reason, the statement the message names, if any)."""
    for trace in resource_traces:
        if trace.applies and trace.effect == "Deny":
            return Effect.EXPLICIT_DENY, "explicit_deny", trace
    for trace in identity_traces:
        if trace.applies and trace.effect == "Deny":
            return Effect.EXPLICIT_DENY, "explicit_deny", trace
    allows = [t for t in resource_traces if t.applies and t.effect == "Allow"]
    granting = next((t for t in allows if t.principal is None or t.principal.reason in _GRANTS),
                    None)
    if caller.anonymous:
        if granting is not None:
            return Effect.ALLOW, "resource_policy_allow", granting
        return Effect.IMPLICIT_DENY, "no_matching_allow" if has_policy else "no_policy", None
    if caller.account != _account_of(resource):
        return Effect.IMPLICIT_DENY, "cross_account", None
    if granting is not None:
        return Effect.ALLOW, "resource_policy_allow", granting
    identity_allow = next((t for t in identity_traces if t.applies and t.effect == "Allow"), None)
    if identity_allow is not None:
        return Effect.ALLOW, "identity_policy_allow", identity_allow
    if caller.kind is CallerKind.ROOT:
        return Effect.ALLOW, "account_root", None
    if allows:
        return Effect.IMPLICIT_DENY, "account_principal_needs_identity_allow", allows[0]
    return Effect.IMPLICIT_DENY, "no_matching_allow" if has_policy else "no_policy", None


def _message(reason: str, quoted: StatementTrace | None, request: Request, caller: Caller
             ) -> str:
    if reason == "explicit_deny":
        assert quoted is not None
        kind = "resource-based" if quoted.policy == "resource" else "identity-based"
        return (f"{_not_authorized(request, caller)} with an explicit deny in a {kind} "
                f"policy ({quoted.label})")
    if reason in ("resource_policy_allow", "identity_policy_allow"):
        assert quoted is not None
        return f"allowed by {quoted.label}"
    if reason == "cross_account":
        resource_account = _account_of(request.resource)
        return (f"{_not_authorized(request, caller)} because the caller's account "
                f"{caller.account} is not the app monitor's account "
                f"{resource_account or '(none)'}: CloudWatch RUM resource-based policies "
                "do not support cross-account access")
    if reason == "account_root":
        return "the root user of the app monitor's account is allowed unless a Deny applies"
    if reason == "account_principal_needs_identity_allow":
        assert quoted is not None
        return (f"{_not_authorized(request, caller)}: {quoted.label} names only the "
                "account, which delegates to the account's identity-based policies, and "
                "none of them allows the action")
    if caller.anonymous:  # no_matching_allow / no_policy
        return (f"{_not_authorized(request, caller)} because no resource-based policy "
                f"allows the {request.action} action")
    return (f"{_not_authorized(request, caller)} because no resource-based policy or "
            f"identity-based policy allows the {request.action} action")


def _not_authorized(request: Request, caller: Caller) -> str:
    return (f"User: {caller.label} is not authorized to perform: {request.action} on resource: "
            f"{request.resource}")


def _account_of(resource: str) -> str | None:
    arn = split_arn(resource)
    return arn.account if arn else None
