"""Who is calling, and whether a policy's Principal / NotPrincipal names them.

IAM identifies a caller by more than one ARN: a role session is also its role and its account.
A statement naming the role covers its sessions; a Deny naming the account covers everyone in it;
but an Allow naming only the account delegates to the account's own identity policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from rumpolicy.policy.models import Principals

ANONYMOUS = "anonymous"

_CALLER = re.compile(
    r"arn:(?P<partition>[a-z-]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<rest>.+)"
)


class CallerKind(StrEnum):
    ANONYMOUS = "Anonymous"
    ROOT = "Account"
    USER = "User"
    ROLE = "Role"
    ROLE_SESSION = "AssumedRole"
    FEDERATED_USER = "FederatedUser"


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    arn: str | None = None
    account: str | None = None
    role_arn: str | None = None
    """For a role session, the role it belongs to (path unknown, so by name only)."""
    name: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.kind is CallerKind.ANONYMOUS

    @property
    def label(self) -> str:
        return self.arn or ANONYMOUS


def caller_problem(principal: str) -> str | None:
    """Why `principal` cannot identify a signed caller; None if it can."""
    return None if _parse(principal) else (
        f"'{principal}' is not a caller ARN: use an IAM user, role or root ARN "
        "(arn:aws:iam::123456789012:user/NAME) or an STS session ARN "
        "(arn:aws:sts::123456789012:assumed-role/ROLE/SESSION)"
    )


@lru_cache(maxsize=1024)
def parse_caller(principal: str | None) -> Caller:
    if principal is None:
        return Caller(CallerKind.ANONYMOUS)
    caller = _parse(principal)
    if caller is None:
        raise ValueError(caller_problem(principal))
    return caller


def _parse(principal: str) -> Caller | None:
    match = _CALLER.fullmatch(principal)
    if not match:
        return None
    partition, service, account, rest = match.group("partition", "service", "account", "rest")
    if service == "iam":
        if rest == "root":
            return Caller(CallerKind.ROOT, principal, account)
        kind, _, name = rest.partition("/")
        if kind == "user" and name:
            return Caller(CallerKind.USER, principal, account, name=name.rpartition("/")[2])
        if kind == "role" and name:
            return Caller(CallerKind.ROLE, principal, account, role_arn=principal,
                          name=name.rpartition("/")[2])
        return None
    kind, _, name = rest.partition("/")
    if kind == "assumed-role":
        role, _, session = name.partition("/")
        if role and session:
            return Caller(CallerKind.ROLE_SESSION, principal, account,
                          role_arn=f"arn:{partition}:iam::{account}:role/{role}", name=role)
    if kind == "federated-user" and name:
        return Caller(CallerKind.FEDERATED_USER, principal, account, name=name)
    return None


class PrincipalMatch(StrEnum):
    """How a Principal element covers a caller; the value is the explanation's reason code."""

    WILDCARD = "principal_wildcard"
    EXACT = "principal_exact"
    ROLE = "principal_role_of_session"
    ACCOUNT = "principal_account"
    NOT_PRINCIPAL = "not_principal_unlisted"
    NONE = "principal_not_named"
    EXCLUDED = "not_principal_listed"

    @property
    def matched(self) -> bool:
        return self not in (PrincipalMatch.NONE, PrincipalMatch.EXCLUDED)


def names_caller(entry: str, caller: Caller) -> PrincipalMatch:
    """How one AWS principal value names the caller."""
    if entry == "*":
        return PrincipalMatch.WILDCARD
    if caller.anonymous:
        return PrincipalMatch.NONE
    if entry == caller.arn:
        return PrincipalMatch.EXACT
    if entry == caller.account or entry.endswith(f"::{caller.account}:root"):
        return PrincipalMatch.ACCOUNT if caller.kind is not CallerKind.ROOT \
            else PrincipalMatch.EXACT
    if caller.role_arn and caller.kind is CallerKind.ROLE_SESSION:
        prefix = caller.role_arn.rpartition(":role/")[0] + ":role/"
        if entry.startswith(prefix) and entry.rpartition("/")[2] == caller.name:
            return PrincipalMatch.ROLE
    return PrincipalMatch.NONE


_STRENGTH = (PrincipalMatch.WILDCARD, PrincipalMatch.EXACT, PrincipalMatch.ROLE,
             PrincipalMatch.ACCOUNT)


def match_principal(principals: Principals, caller: Caller) -> tuple[PrincipalMatch, str]:
    """The strongest way the Principal element names the caller, and the entry that did it."""
    if principals.wildcard:
        return PrincipalMatch.WILDCARD, "*"
    best: tuple[PrincipalMatch, str] = (PrincipalMatch.NONE, "")
    for entry in principals.values("AWS"):
        found = names_caller(entry, caller)
        if found.matched and (not best[0].matched or
                              _STRENGTH.index(found) < _STRENGTH.index(best[0])):
            best = (found, entry)
    return best


def match_not_principal(principals: Principals, caller: Caller) -> tuple[PrincipalMatch, str]:
    """NotPrincipal covers the caller unless every identity of the caller is listed.

    A role session is the session, its role and its account; a user is the user and its account
    (IAM NotPrincipal page: list them all to exclude a session from a Deny).
    """
    if principals.wildcard:
        return PrincipalMatch.EXCLUDED, "*"
    entries = principals.values("AWS")
    if "*" in entries:
        return PrincipalMatch.EXCLUDED, "*"
    if caller.anonymous:
        return PrincipalMatch.NOT_PRINCIPAL, ""
    identities: list[set[PrincipalMatch]] = [{PrincipalMatch.EXACT}]
    if caller.kind is CallerKind.ROLE_SESSION:
        identities.append({PrincipalMatch.ROLE})
    if caller.kind is not CallerKind.ROOT:
        identities.append({PrincipalMatch.ACCOUNT})
    named = {names_caller(entry, caller) for entry in entries}
    unlisted = [wanted for wanted in identities if not wanted & named]
    if unlisted:
        return PrincipalMatch.NOT_PRINCIPAL, ""
    return PrincipalMatch.EXCLUDED, ", ".join(entries)
