"""From statement traces to the verdict: IAM's evaluation logic for an app-monitor policy.

Explicit deny wins; anonymous callers can only be let in by the resource policy; a same-account
signed caller is let in by the resource policy OR its identity policies (a union); a caller from
another account never is, because RUM resource policies do not support cross-account access.
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
    traces = (*resource_traces, *identity_traces)

    def verdict(effect: Effect, reason: str, message: str) -> Decision:
        return Decision(effect, reason, message, caller.label, request.action,
                        request.resource, traces)

    denied_by = next((t for t in traces if t.applies and t.effect == "Deny"), None)
    if denied_by is not None:
        kind = "resource-based" if denied_by.policy == "resource" else "identity-based"
        return verdict(Effect.EXPLICIT_DENY, "explicit_deny",
                       f"{_not_authorized(request, caller)} with an explicit deny in a {kind} "
                       f"policy ({denied_by.label})")
    allows = [t for t in resource_traces if t.applies and t.effect == "Allow"]
    granting = [t for t in allows if t.principal is None or t.principal.reason in _GRANTS]
    if caller.anonymous:
        if granting:
            return verdict(Effect.ALLOW, "resource_policy_allow",
                           f"allowed by {granting[0].label}")
        return verdict(Effect.IMPLICIT_DENY, "no_matching_allow" if has_policy else "no_policy",
                       f"{_not_authorized(request, caller)} because no resource-based policy "
                       f"allows the {request.action} action")
    resource_account = _account_of(request.resource)
    if caller.account != resource_account:
        return verdict(Effect.IMPLICIT_DENY, "cross_account",
                       f"{_not_authorized(request, caller)} because the caller's account "
                       f"{caller.account} is not the app monitor's account "
                       f"{resource_account or '(none)'}: CloudWatch RUM resource-based policies "
                       "do not support cross-account access")
    if granting:
        return verdict(Effect.ALLOW, "resource_policy_allow", f"allowed by {granting[0].label}")
    identity_allow = next((t for t in identity_traces if t.applies and t.effect == "Allow"), None)
    if identity_allow is not None:
        return verdict(Effect.ALLOW, "identity_policy_allow",
                       f"allowed by {identity_allow.label}")
    if caller.kind is CallerKind.ROOT:
        return verdict(Effect.ALLOW, "account_root",
                       "the root user of the app monitor's account is allowed unless a Deny "
                       "applies")
    if allows:
        return verdict(Effect.IMPLICIT_DENY, "account_principal_needs_identity_allow",
                       f"{_not_authorized(request, caller)}: {allows[0].label} names only the "
                       "account, which delegates to the account's identity-based policies, and "
                       "none of them allows the action")
    return verdict(Effect.IMPLICIT_DENY, "no_matching_allow" if has_policy else "no_policy",
                   f"{_not_authorized(request, caller)} because no resource-based policy or "
                   f"identity-based policy allows the {request.action} action")


def _not_authorized(request: Request, caller: Caller) -> str:
    return (f"User: {caller.label} is not authorized to perform: {request.action} on resource: "
            f"{request.resource}")


def _account_of(resource: str) -> str | None:
    arn = split_arn(resource)
    return arn.account if arn else None
