"""The interpreter: evaluates a policy by walking its model, preparing every pattern afresh.

It is the reference the compiled evaluator is tested against, so it favours plainness over speed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rumpolicy.engine import patterns
from rumpolicy.engine.combine import decide
from rumpolicy.engine.conditions import (
    condition_templates,
    judge,
    resolve,
    resolved_values,
    template_of,
)
from rumpolicy.engine.decision import Check, ConditionTrace, Decision, StatementTrace
from rumpolicy.engine.principals import Caller, match_not_principal, match_principal
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Policy, Statement
from rumpolicy.policy.variables import Template


def evaluate(
    policy: Policy | None, request: Request, identity_policies: Sequence[Policy] = ()
) -> Decision:
    """Decide `request` against the app monitor's resource policy (None: no policy attached)
    and, for a signed caller, its identity policies."""
    resource_traces = [] if policy is None else [
        statement_trace(s, i, "resource", policy, request) for i, s in enumerate(policy.statements)
    ]
    identity_traces = [] if request.caller.anonymous else [
        statement_trace(s, i, f"identity[{n}]", p, request)
        for n, p in enumerate(identity_policies)
        for i, s in enumerate(p.statements)
    ]
    return decide(request, resource_traces, identity_traces, policy is not None)


def statement_trace(
    statement: Statement, index: int, label: str, policy: Policy, request: Request
) -> StatementTrace:
    principal = None
    if label == "resource":
        principal = principal_check(statement, request)
    action = action_check(statement, request.action)
    resource = resource_check(statement, policy.substitutes_variables, request)
    conditions = []
    for condition in statement.conditions:
        templates = condition_templates(condition, policy.substitutes_variables)
        shown, prepared = resolved_values(condition, templates, request)
        conditions.append(judge(condition, shown, prepared, request.get(condition.key)))
    return StatementTrace(
        policy=label, index=index, sid=statement.sid, effect=statement.effect,
        principal=principal, action=action, resource=resource,
        conditions=tuple(conditions),
        applies=applies(statement.effect, principal, action, resource, conditions),
    )


def applies(effect: str, principal: Check | None, action: Check, resource: Check,
            conditions: Sequence[ConditionTrace]) -> bool:
    """Every element must match; an undecidable condition (None) fails closed: it keeps an Allow
    from applying and lets a Deny apply."""
    if (principal is not None and not principal.matched) or not action.matched \
            or not resource.matched:
        return False
    return all(c.result is True or (c.result is None and effect == "Deny") for c in conditions)


def principal_check(statement: Statement, request: Request) -> Check:
    return caller_check(statement, request.caller)


def caller_check(statement: Statement, caller: Caller) -> Check:
    """`principal_check` on the caller alone, all that a Principal reads: for callers that
    judge many callers without building a request for each (the audit's truth table)."""
    if statement.principal is not None:
        found, entry = match_principal(statement.principal, caller)
    elif statement.not_principal is not None:
        if statement.effect == "Allow":  # the loader refuses it; a hand-built model never grants
            return Check(False, "not_principal_with_allow")
        found, entry = match_not_principal(statement.not_principal, caller)
    else:  # an identity-style statement in a resource policy names nobody
        return Check(False, "principal_missing")
    return Check(found.matched, found.value, entry)


def action_check(statement: Statement, action: str) -> Check:
    listed = statement.action if statement.action is not None else statement.not_action or ()
    hit = next((p for p in listed if patterns.glob([(p, False)], ignore_case=True).fullmatch(
        action)), None)
    return element_check("action", statement.action is None, hit)


def resource_check(statement: Statement, substitutes: bool, request: Request) -> Check:
    listed = statement.resource if statement.resource is not None else \
        statement.not_resource or ()
    hit = None
    for pattern in listed:
        parts = resolve(resource_template(pattern, substitutes), request)
        if parts is not None and patterns.arn_glob(
                parts, star_may_cross_colons=True).fullmatch(request.resource):
            hit = pattern
            break
    return element_check("resource", statement.resource is None, hit)


def element_check(element: str, negated: bool, hit: str | None) -> Check:
    """Action/Resource match when a listed pattern hits; NotAction/NotResource when none does."""
    if negated:
        return Check(False, f"not_{element}_listed", hit) if hit else \
            Check(True, f"not_{element}_unlisted")
    return Check(True, f"{element}_listed", hit) if hit else Check(False, f"{element}_not_listed")


def resource_template(pattern: str, substitutes: bool) -> Template:
    """Variables count only in the resource part, after the fifth colon."""
    head, sep, tail = _split_resource_part(pattern)
    if not sep:
        return (pattern,)
    return (head, *template_of(tail, substitutes))


def _split_resource_part(pattern: str) -> tuple[str, str, str]:
    pieces = pattern.split(":", 5)
    if len(pieces) < 6:
        return pattern, "", ""
    return ":".join(pieces[:5]) + ":", ":", pieces[5]
