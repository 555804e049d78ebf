"""The diff against the evaluator, on generated policy pairs, identity policies and requests.

Soundness: every witness really gets the two reported decisions. Completeness: every covered
request the two policies decide differently lies in exactly one reported change with those
decisions, and no request they decide alike lies in any. Exactness at the level of classes: the
same holds for one representative of every cell of the partition (brute force).

Decisions are the evaluator's, given the identity policies the request's caller holds
(`IdentityPolicies.held_by`): IAM's evaluation logic (reference_policies_evaluation-logic.html)
is the engine's business, so the property holds whatever it decides for anonymous, same-account
and cross-account callers. The holders are drawn from the callers `requests()` uses: a user, a
role (with or without a path, so its sessions hold it too), one of its sessions, and a user of
another account.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.analysis.diff import IdentityPolicies, PolicyDiff, diff_policies
from rumpolicy.analysis.diff.analyse import representatives
from rumpolicy.testing.strategies import (
    ACCOUNT,
    OTHER_ACCOUNT,
    conditions,
    monitor_arn,
    policy_documents,
    requests,
    statements,
)

_SETTINGS = settings(max_examples=100, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


HOLDERS = (f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder",
           f"arn:aws:iam::{ACCOUNT}:role/path/rum-forwarder",
           f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/session-1",
           f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory")


UNNAMED = (f"arn:aws:iam::{ACCOUNT}:user/bob", f"arn:aws:iam::{ACCOUNT}:user/dev/alice",
           f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/session-2",
           f"arn:aws:sts::{ACCOUNT}:assumed-role/other-role/s",
           f"arn:aws:iam::{ACCOUNT}:role/other-role",
           f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
           f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/rum-forwarder/session-1")
"""Callers no policy names: each must land in the class of a candidate that behaves alike
(another session of a held role holds its policy, a user of another path does not)."""


@st.composite
def probe_requests(draw: st.DrawFn) -> rp.Request:
    """`requests()`, half of them from callers no policy names, and a quarter with the alias
    equal to the username (given, or derived for alice and bob): where `${aws:username}`
    relates the two keys."""
    request = draw(requests())
    principal = draw(st.sampled_from((request.principal, *UNNAMED)))
    context = dict(request.context)
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(("alice", "bob", "shop", "")))
        context["rum:alias"] = name
        if draw(st.booleans()):
            context["aws:username"] = name
    return rp.Request(resource=request.resource, action=request.action, principal=principal,
                      context=context)


def _identity_policies() -> st.SearchStrategy[rp.Policy]:
    """Half of the statements grant or deny PutRumEvents everywhere, maybe with conditions,
    so that holding the policy often decides; the rest are drawn like any statement."""
    broad = st.fixed_dictionaries(
        {"Effect": st.sampled_from(("Allow", "Deny")), "Action": st.just("rum:PutRumEvents"),
         "Resource": st.just("*")}, optional={"Condition": conditions()})
    documents = st.fixed_dictionaries({
        "Version": st.sampled_from(("2012-10-17", "2008-10-17")),
        "Statement": st.lists(st.one_of(broad, statements(identity=True)), min_size=1,
                              max_size=2)})
    return documents.map(lambda d: rp.load_policy(d, kind="identity"))


def identity_policies() -> st.SearchStrategy[IdentityPolicies]:
    """None a third of the time (the pairs alone still need exploring), else one to three."""
    holders = st.lists(st.sampled_from(HOLDERS), min_size=1, max_size=3,
                       unique_by=lambda arn: arn.rpartition("/")[2])
    attached = holders.flatmap(lambda chosen: st.tuples(
        *[st.tuples(st.just(arn), _identity_policies()) for arn in chosen]))
    return st.one_of(st.just(IdentityPolicies()), attached.map(IdentityPolicies),
                     attached.map(IdentityPolicies))


@st.composite
def policy_pairs(draw: st.DrawFn) -> tuple[rp.Policy | None, rp.Policy | None]:
    """Mostly close pairs (a statement added, removed or replaced), as rollouts are; sometimes
    unrelated ones, or no policy on one side."""
    old_doc: dict[str, Any] = draw(policy_documents())
    how = draw(st.sampled_from(("add", "remove", "replace", "replace", "unrelated", "none")))
    new_doc = {**old_doc, "Statement": list(old_doc["Statement"])}
    if how == "add":
        new_doc["Statement"].append(draw(statements()))
    elif how == "remove" and len(new_doc["Statement"]) > 1:
        del new_doc["Statement"][draw(st.integers(0, len(new_doc["Statement"]) - 1))]
    elif how in ("replace", "remove"):
        new_doc["Statement"][draw(st.integers(0, len(new_doc["Statement"]) - 1))] = \
            draw(statements())
    elif how == "unrelated":
        new_doc = draw(policy_documents())
    old: rp.Policy | None = rp.load_policy(old_doc)
    new: rp.Policy | None = None if how == "none" else rp.load_policy(new_doc)
    if draw(st.booleans()):
        old, new = new, old
    return old, new


def _check(result: PolicyDiff, old: rp.Policy | None, new: rp.Policy | None,
           probes: list[rp.Request]) -> None:
    def effects(request: rp.Request) -> tuple[rp.Effect, rp.Effect]:
        held = result.identity_policies.held_by(request)
        return rp.evaluate(old, request, held).effect, rp.evaluate(new, request, held).effect

    assert not any("an internal check failed" in n for n in result.not_analysed), \
        result.not_analysed  # the evaluator and the statements that apply disagreed
    for change in result.changes:
        assert effects(change.witness) == (change.from_effect, change.to_effect)
        assert change.contains(change.witness), change.description
    if result.equivalent:
        assert not result.changes and not result.not_analysed
    for request in probes:
        before, after = effects(request)
        inside = result.changes_containing(request)
        if not result.covers(request):
            assert not inside
            assert result.not_analysed, f"not covered: {request.to_dict()}"
            continue
        if before is after:
            assert not inside, (request.to_dict(), [c.description for c in inside])
        else:
            assert len(inside) == 1, (request.to_dict(), before, after,
                                      [c.description for c in result.changes])
            assert (inside[0].from_effect, inside[0].to_effect) == (before, after)


@_SETTINGS
@given(policy_pairs(), identity_policies(), st.lists(probe_requests(), min_size=1, max_size=12))
def test_generated_requests_differ_exactly_inside_the_changes(pair, identities, probes):
    old, new = pair
    for monitor in sorted({r.resource for r in probes}):
        result = diff_policies(old, new, monitor=monitor, all_actions=True,
                               identity_policies=identities)
        _check(result, old, new, [r for r in probes if r.resource == monitor])
    result = diff_policies(old, new, identity_policies=identities)
    _check(result, old, new, probes)


@_SETTINGS
@given(policy_pairs(), identity_policies(), st.sampled_from((None, monitor_arn("shop"))),
       st.integers(0, 2**32))
def test_cell_representatives_differ_exactly_inside_the_changes(pair, identities, monitor, seed):
    """Every cell when there are few, else 400 drawn at random (a plain generator seeded by
    hypothesis: its own randoms record every call, which cost more than the checks)."""
    old, new = pair
    result = diff_policies(old, new, monitor=monitor, identity_policies=identities)
    if result.stats.cells <= 400:
        cells = list(representatives(result))
    else:
        cells = list(itertools.islice(representatives(result, random.Random(seed)), 400))
    assert cells or not result.changes
    _check(result, old, new, cells)


DERIVED = ("aws:PrincipalType", "aws:PrincipalAccount", "aws:userid", "aws:PrincipalArn",
           "aws:username", "aws:ResourceAccount")
"""Keys the engine derives (for an anonymous caller: the first three and aws:ResourceAccount)
unless the context gives them (docs/semantics.md)."""
_DERIVED_VALUES = ("anonymous", "Anonymous", "User", "AssumedRole", ACCOUNT,
                   f"arn:aws:iam::{ACCOUNT}:user/alice", "alice", "x", "")
_TEMPLATES = (*_DERIVED_VALUES[:-1], "*", "a*", *(f"${{{k}}}" for k in DERIVED))


@st.composite
def _derived_statements(draw: st.DrawFn) -> dict[str, Any]:
    """A statement whose condition reads a derived key, or compares rum:alias with one."""
    key = draw(st.sampled_from((*DERIVED, "rum:alias")))
    operator = draw(st.sampled_from(("StringEquals", "StringNotEquals", "StringLike",
                                     "StringEqualsIgnoreCase", "StringEqualsIfExists", "Null",
                                     "ForAnyValue:StringEquals", "ForAllValues:StringLike")))
    values = [draw(st.sampled_from(("true", "false")))] if operator == "Null" else \
        draw(st.lists(st.sampled_from(_TEMPLATES), min_size=1, max_size=2))
    return {"Effect": draw(st.sampled_from(("Allow", "Deny"))),
            "Principal": draw(st.sampled_from(("*", {"AWS": ACCOUNT},
                                               {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}))),
            "Action": "rum:PutRumEvents", "Resource": draw(st.sampled_from(("*", monitor_arn(
                "shop")))), "Condition": {operator: {key: values}}}


@st.composite
def _claiming_requests(draw: st.DrawFn) -> rp.Request:
    """Mostly anonymous requests, whose context may give derived keys values of its own
    (a list, the empty string, another caller's)."""
    context: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from((*DERIVED, "rum:alias")), max_size=3,
                             unique=True)):
        context[key] = draw(st.one_of(st.sampled_from(_DERIVED_VALUES),
                                      st.lists(st.sampled_from(_DERIVED_VALUES[:3]),
                                               max_size=2)))
    principal = draw(st.sampled_from((None, None, None, f"arn:aws:iam::{ACCOUNT}:user/alice",
                                      f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s")))
    resource = draw(st.sampled_from((monitor_arn("shop"), monitor_arn("shop", OTHER_ACCOUNT),
                                     "arn:aws:rum:us-east-1::appmonitor/shop")))
    return rp.Request(resource=resource, principal=principal, context=context)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_derived_statements(), min_size=1, max_size=3),
       st.lists(_derived_statements(), max_size=3),
       st.lists(_claiming_requests(), min_size=1, max_size=15))
def test_requests_that_give_derived_keys_are_decided_as_the_engine_does(old_statements,
                                                                         new_statements, probes):
    """The engine takes a derived key's value from the context when the context gives one, for
    anonymous callers too; the diff's classes, regions and witnesses must agree, with and
    without a monitor (aws:ResourceAccount is derived from the resource). And a request an
    anonymous caller really sends (its derived keys left to the engine) is always analysed
    under a monitor: `${aws:userid}` is `anonymous` there, a constant like a user's name."""
    def load(statements: list[dict[str, Any]]) -> rp.Policy | None:
        return rp.load_policy({"Version": "2012-10-17", "Statement": statements}) \
            if statements else None

    old, new = load(old_statements), load(new_statements)
    shop = [r for r in probes if r.resource == monitor_arn("shop")]
    if shop:
        result = diff_policies(old, new, monitor=monitor_arn("shop"))
        _check(result, old, new, shop)
        derived = {k.lower() for k in DERIVED}
        for request in shop:  # what an anonymous caller really sends is never left out
            if request.principal is None and not derived & {k.lower() for k in request.context}:
                assert result.covers(request), (request.to_dict(), result.not_analysed)
    _check(diff_policies(old, new), old, new, probes)
