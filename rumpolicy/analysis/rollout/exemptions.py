"""`except alias matching "v2*"`: taking requests out of a change expectation.

The exempt requests are removed from the comparison by adding the same Deny statement to both
policies: inside the exempt region both then decide explicit deny, so the semantic diff finds no
change there, and outside it the statement does not apply, so every decision is untouched.
The statements are built as dataclasses, not text, so a policy near RUM's 4096-byte limit can
still be compared.
"""

from __future__ import annotations

from rumpolicy.analysis.rollout.model import Exemption, ExemptionKind
from rumpolicy.policy import Condition, Policy, Principals, Statement, parse_operator
from rumpolicy.policy.models import CURRENT_VERSION

_CONDITIONS: dict[ExemptionKind, tuple[str, str]] = {
    ExemptionKind.ALIAS_MATCHING: ("StringLike", "rum:alias"),
    ExemptionKind.ALIAS_IS: ("StringEquals", "rum:alias"),
    ExemptionKind.WITHOUT_ALIAS: ("Null", "rum:alias"),
    ExemptionKind.FROM_RANGE: ("IpAddress", "aws:SourceIp"),
    ExemptionKind.ALIAS_ANY_CASE: ("StringEqualsIgnoreCase", "rum:alias"),
}
"""The condition that holds exactly for the exempt requests."""


def with_exemptions(policy: Policy | None, exemptions: tuple[Exemption, ...]) -> Policy | None:
    """`policy` plus one Deny per exemption (`None`, no policy, stays None without exemptions).

    A policy holding only Deny statements decides like no policy outside them (implicit deny,
    only the reason code differs), so "no policy" can take the statements too.
    """
    if not exemptions:
        return policy
    substitutes = policy.substitutes_variables if policy is not None else True
    added = tuple(_statement(e, n, substitutes) for n, e in enumerate(exemptions))
    if policy is None:
        return Policy(statements=added, version=CURRENT_VERSION)
    return Policy(statements=policy.statements + added, version=policy.version, id=policy.id,
                  kind=policy.kind)


def _statement(exemption: Exemption, index: int, substitutes: bool) -> Statement:
    operator_name, key = _CONDITIONS[exemption.kind]
    operator = parse_operator(operator_name)
    assert operator is not None
    if exemption.value is None:
        value = "true"
    elif exemption.kind is ExemptionKind.FROM_RANGE or not substitutes:
        value = exemption.value
    else:
        # Under Version 2012-10-17 `${` starts a variable; `${$}` is a literal dollar sign.
        value = exemption.value.replace("$", "${$}")
    return Statement(
        effect="Deny",
        sid=f"RolloutExemption{index}",
        principal=Principals(wildcard=True),
        action=("*",),
        resource=("*",),
        conditions=(Condition(operator, key, (value,)),),
    )
