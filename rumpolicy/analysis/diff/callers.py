"""Who can call, cut into the classes the two policies' Principal elements can tell apart.

A Principal or NotPrincipal entry names a caller by exact ARN, by account (or `...:root`), or, for
a role, all of that role's sessions by role name. So the callers worth trying are: anonymous;
per account the policies or the resource name, its root user, every caller ARN an entry spells
out, a fresh session of every role an entry names, one other user and one other role session;
and the same kinds in "the resource's own account" (when that account is named nowhere) and in
"another account". Any real caller behaves like one of these (docs/diff.md walks through why),
and the analysis merges those the policies do not tell apart.

A user and a role session differ only in whether `aws:username` is derived for them, which
matters when a policy reads that key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rumpolicy.analysis.diff.describe import join_or
from rumpolicy.engine.principals import CallerKind, caller_problem, parse_caller
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Statement

RESOURCE_ACCOUNT = "<resource account>"
OTHER_ACCOUNT = "<other account>"
ACCOUNT_SLOT = "{account}"
_TWELVE_DIGITS = re.compile(r"\d{12}")  # what a caller ARN's account must be (engine regex)


@dataclass(frozen=True, slots=True)
class CallerClass:
    label: str
    """What the class holds, in words; classes the policies cannot tell apart are merged and
    their labels joined by `also`."""
    group: str | None
    """None for anonymous; else an account the policies name, RESOURCE_ACCOUNT or OTHER_ACCOUNT."""
    kind: str
    """anonymous, root, named, sessions or other."""
    template: str | None
    """The representative caller ARN, with ACCOUNT_SLOT where the account is chosen later."""
    also: tuple[str, ...] = ()

    def principal(self, account: str) -> str | None:
        return None if self.template is None else self.template.replace(ACCOUNT_SLOT, account)

    @property
    def user(self) -> bool:
        """Whether the representative is an IAM user (so `aws:username` is derived)."""
        return self.template is not None and ":user/" in self.template


def principal_entries(statements: Iterable[Statement]) -> list[str]:
    entries: dict[str, None] = {}
    for statement in statements:
        for element in (statement.principal, statement.not_principal):
            if element is not None:
                entries.update(dict.fromkeys(element.values("AWS")))
    return list(entries)


def entry_accounts(entries: Iterable[str]) -> set[str]:
    accounts: set[str] = set()
    for entry in entries:
        if _TWELVE_DIGITS.fullmatch(entry):
            accounts.add(entry)
        arn = split_arn(entry)
        if arn is not None and arn.account:
            accounts.add(arn.account)
    return accounts


def is_caller_account(account: str) -> bool:
    return _TWELVE_DIGITS.fullmatch(account) is not None


def _fresh(base: str, taken: set[str]) -> str:
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def candidate_classes(entries: Sequence[str], accounts: Iterable[str]) -> list[CallerClass]:
    """Every caller worth trying, in the order witnesses prefer them."""
    named = [parse_caller(e) for e in entries if caller_problem(e) is None]
    names = {part for e in entries for part in re.split(r"[/:]", e)}
    user, role, session = (_fresh(n, names) for n in ("diff-user", "diff-role", "diff-session"))
    out = [CallerClass("anonymous callers", None, "anonymous", None)]
    groups = [(a, f"account {a}") for a in sorted(a for a in accounts if is_caller_account(a))]
    for account, where in groups:
        out.append(CallerClass(f"the root user of {where}", account, "root",
                               f"arn:aws:iam::{account}:root"))
        for caller in named:
            if caller.account == account and caller.kind is not CallerKind.ROOT:
                assert caller.arn is not None
                out.append(CallerClass(caller.arn, account, "named", caller.arn))
        roles = {(c.arn.split(":")[1], c.name) for c in named  # type: ignore[union-attr]
                 if c.account == account and c.name and
                 c.kind in (CallerKind.ROLE, CallerKind.ROLE_SESSION)}
        for partition, name in sorted(roles):
            out.append(CallerClass(f"sessions of role {name} in {where}", account, "sessions",
                                   f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}"))
        out.extend(_others(account, f"other principals of {where}", user, role, session))
    out.append(CallerClass("the root user of the resource's own account", RESOURCE_ACCOUNT,
                           "root", f"arn:aws:iam::{ACCOUNT_SLOT}:root"))
    out.extend(_others(ACCOUNT_SLOT, "principals of the resource's own account", user, role,
                       session, group=RESOURCE_ACCOUNT))
    out.append(CallerClass("root users of other accounts", OTHER_ACCOUNT, "root",
                           f"arn:aws:iam::{ACCOUNT_SLOT}:root"))
    out.extend(_others(ACCOUNT_SLOT, "principals of other accounts", user, role, session,
                       group=OTHER_ACCOUNT))
    return out


def _others(account: str, label: str, user: str, role: str, session: str,
            group: str | None = None) -> list[CallerClass]:
    group = group or account
    return [CallerClass(label, group, "other", f"arn:aws:sts::{account}:assumed-role/{role}/"
                                              f"{session}"),
            CallerClass(label, group, "other", f"arn:aws:iam::{account}:user/{user}")]


def describe(classes: Sequence[CallerClass], chosen: frozenset[int],
             available: frozenset[int]) -> str:
    """"anonymous callers and principals of account 123456789012 other than its root user".

    `available`: the classes that can occur at all with the region's resources (callers of
    "the resource's own account" exist only for resources in an account no policy names).
    """
    classes = [c if i in available else replace(c, group="<unavailable>")
               for i, c in enumerate(classes)]
    chosen = chosen & available
    if chosen == available:
        return "any caller"
    signed = {i for i in available if classes[i].group is not None}
    if set(chosen) == signed:
        return "any signed caller"
    rest = available - chosen
    if len(rest) < len(chosen) and not (rest - signed and len(rest) > 1):
        return "any caller except " + _listing(classes, rest)
    return _listing(classes, chosen)


def _listing(classes: Sequence[CallerClass], chosen: frozenset[int]) -> str:
    parts: list[str] = []
    by_group: dict[str | None, list[int]] = {}
    for index, caller in enumerate(classes):
        by_group.setdefault(caller.group, []).append(index)
    for group, members in by_group.items():
        if group == "<unavailable>":
            continue
        picked = [i for i in members if i in chosen]
        if not picked:
            continue
        if group is None:
            parts.append("anonymous callers")
            continue
        where = _where(group)
        roots = [i for i in members if classes[i].kind == "root"]
        if len(picked) == len(members):
            parts.append("callers from other accounts" if group == OTHER_ACCOUNT
                         else f"any principal of {where}")
        elif set(picked) == set(members) - set(roots):
            parts.append(f"principals of {where} other than its root user"
                         if group != OTHER_ACCOUNT else "non-root principals of other accounts")
        else:
            labels = dict.fromkeys(label for i in picked
                                   for label in (classes[i].label, *classes[i].also))
            parts.extend(labels)
    return join_or(parts, "and")


def _where(group: str) -> str:
    if group == RESOURCE_ACCOUNT:
        return "the resource's own account"
    if group == OTHER_ACCOUNT:
        return "other accounts"
    return f"account {group}"
