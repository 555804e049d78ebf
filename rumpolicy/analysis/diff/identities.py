"""Identity policies attached to principals, and which callers hold them.

IAM attaches identity policies to users, groups and roles; a role's sessions act with the
role's policies. So a policy given for a user ARN (or an STS session or federated-user ARN) is
held by exactly that caller, and one given for a role ARN by the role and by every session of a
role of that name in that account and partition (session ARNs carry no role path: the rule
`rumpolicy.engine.principals` applies to Principal elements). The root user holds none, and
group membership is not known here, so both are refused rather than guessed.

Whether holding a policy matters is the engine's business (`rumpolicy.engine.combine`): an
anonymous caller has no identity, a caller of another account gains nothing from an Allow, and
an identity Deny denies any caller that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rumpolicy.engine.principals import (
    Caller,
    CallerKind,
    PrincipalMatch,
    names_caller,
    parse_caller,
)
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Policy

_EXAMPLE = "arn:aws:iam::123456789012:role/rum-forwarder"

_HELD = (PrincipalMatch.EXACT, PrincipalMatch.ROLE)
"""How a holder ARN names a caller that holds its policy (never through the account)."""
_ROLE_PREFIX = re.compile(r"arn:[a-z-]+:iam::\d{12}:role/")
"""What a role ARN starts with; `names_caller` names a role's sessions by it and the name."""
_ROOT_SUFFIX = re.compile(r".*::(\d{12}):root", re.DOTALL)
"""An ARN `names_caller` takes for the root user of that account, whatever comes before."""


def holder_problem(principal: str) -> str | None:
    """Why `principal` cannot hold an identity policy, in words for the user; None if it can."""
    try:
        caller = parse_caller(principal)
    except ValueError:
        hint = (": which users belong to a group is not known, so give the policy for each "
                "member user" if ":group/" in principal else f" such as {_EXAMPLE}")
        return (f"'{principal}' is not an IAM user or role ARN or an STS session ARN{hint}")
    if caller.kind is CallerKind.ROOT:
        return (f"'{principal}' is the root user, which holds no identity policies (IAM "
                "attaches them to users, groups and roles)")
    return None


def _identity(caller: Caller) -> tuple[str, ...]:
    """What two holders must share to be the same principal: names of users and roles are
    unique in an account, whatever the path."""
    assert caller.arn is not None
    if caller.kind in (CallerKind.USER, CallerKind.ROLE):
        partition = caller.arn.split(":")[1]
        return (caller.kind.value, partition, caller.account or "", caller.name or "")
    return (caller.arn,)


def same_principal(earlier: str, later: str) -> str | None:
    """Why two holders (each without a `holder_problem`) cannot both be given; None if they
    can."""
    if earlier == later:
        return f"{later} is given twice: give each principal one identity policy"
    caller = parse_caller(later)
    if _identity(parse_caller(earlier)) != _identity(caller):
        return None
    kind = caller.kind.value.lower()
    return (f"{earlier} and {later} name the same {kind} ({kind} names are unique in an "
            "account, whatever the path)")


@dataclass(frozen=True, slots=True)
class IdentityPolicies:
    """Principal ARN -> the identity policy attached to it. Raises ValueError, in words for the
    user, for a principal that cannot hold one, a principal given twice, or a policy not loaded
    as an identity policy."""

    attached: tuple[tuple[str, Policy], ...] = ()
    _holders: tuple[Caller, ...] = field(init=False, repr=False, compare=False)

    _exact: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    """Holder ARN -> its index: who holds a policy by exact ARN."""
    _roles: dict[tuple[str, str], tuple[int, ...]] = field(init=False, repr=False,
                                                           compare=False)
    """(`arn:P:iam::A:role/`, role name) -> the index of the role: whose sessions hold it."""

    def __post_init__(self) -> None:
        """One pass with a dict per kind of clash (not every pair: 2,000 holders are 2 million
        pairs), then the index `holding` reads."""
        holders: list[Caller] = []
        seen: dict[tuple[str, ...], str] = {}
        exact: dict[str, list[int]] = {}
        roles: dict[tuple[str, str], list[int]] = {}
        for principal, policy in self.attached:
            problem = holder_problem(principal)
            if problem is None:
                caller = parse_caller(principal)
                identity = _identity(caller)
                if identity in seen:
                    problem = same_principal(seen[identity], principal)
                seen.setdefault(identity, principal)
            if problem:
                raise ValueError(problem)
            if policy.kind != "identity":
                raise ValueError(f"the policy given for {principal} is a resource policy: load "
                                 "it with kind='identity'")
            exact.setdefault(principal, []).append(len(holders))
            root = _ROOT_SUFFIX.fullmatch(principal)
            if root is not None:  # a user named `x::123456789012:root` (IAM forbids ':')
                exact.setdefault(f"<root>{root[1]}", []).append(len(holders))
            prefix = _ROLE_PREFIX.match(principal)
            if prefix is not None:
                roles.setdefault((prefix[0], principal.rpartition("/")[2]), []).append(
                    len(holders))
            holders.append(caller)
        object.__setattr__(self, "_holders", tuple(holders))
        object.__setattr__(self, "_exact", {k: tuple(v) for k, v in exact.items()})
        object.__setattr__(self, "_roles", {k: tuple(v) for k, v in roles.items()})

    @classmethod
    def of(cls, policies: Mapping[str, Policy] | Iterable[tuple[str, Policy]]
           ) -> IdentityPolicies:
        pairs = policies.items() if isinstance(policies, Mapping) else policies
        return cls(tuple(pairs))

    def __len__(self) -> int:
        return len(self.attached)

    @property
    def principals(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.attached)

    def holds(self, index: int, caller: Caller) -> bool:
        """Whether `caller` holds the policy attached to the `index`th principal."""
        holder = self._holders[index]
        assert holder.arn is not None
        return names_caller(holder.arn, caller) in _HELD  # the caller, or its session's role

    def held_by(self, request: Request) -> tuple[Policy, ...]:
        """The identity policies the request's caller holds, to pass to `evaluate`."""
        return tuple(policy for _, policy in self.holding(request))

    def holding(self, request: Request) -> tuple[tuple[str, Policy], ...]:
        """(principal, policy) for each identity policy the request's caller holds."""
        return tuple(self.attached[index] for index in self.indices(request.caller))

    def indices(self, caller: Caller) -> tuple[int, ...]:
        """The indices of the policies `caller` holds, in order. Looked up by the caller's ARN
        and, for a session, its role, then confirmed with `holds` (the engine's rule), so
        the index can only save work, never change the answer."""
        if caller.anonymous or not self.attached or caller.arn is None:
            return ()
        found = set(self._exact.get(caller.arn, ()))
        if caller.kind is CallerKind.ROOT:
            found.update(self._exact.get(f"<root>{caller.account}", ()))
        if caller.kind is CallerKind.ROLE_SESSION and caller.role_arn and caller.name:
            prefix = caller.role_arn.rpartition(":role/")[0] + ":role/"
            found.update(self._roles.get((prefix, caller.name), ()))
        return tuple(i for i in sorted(found) if self.holds(i, caller))


NO_IDENTITY_POLICIES = IdentityPolicies()
