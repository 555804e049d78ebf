"""Identity policies in the diff: who holds them, and what holding them changes.

The rules are IAM's (docs/semantics.md, "Who is let in"):
- reference_policies_evaluation-logic_policy-eval-basics.html: within one account "if either the
  identity-based policy or the resource-based policy ... allows the request and the other
  doesn't, the request is still allowed"; an explicit deny in any policy overrides the allow.
- reference_policies_evaluation-logic-cross-account.html: across accounts both sides must
  allow, and CloudWatch RUM resource policies do not support cross-account access at all, so a
  caller of another account gains nothing from its identity policies (a Deny still denies).
- An unsigned request has no identity, so no identity policy applies to it.
- access_policies_identity-vs-resource.html: identity policies are attached to users, groups
  and roles; a role's sessions act with the role's policies.
"""

from __future__ import annotations

from typing import Any

import pytest

import rumpolicy as rp
from rumpolicy import Effect
from rumpolicy.analysis.diff import IdentityPolicies, diff_policies
from tests.diff._support import SHOP, change_of, request, witnesses_hold

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
FORWARDER = "arn:aws:iam::123456789012:role/rum-forwarder"
MALLORY = "arn:aws:iam::999999999999:user/mallory"
ALLOW, IMPLICIT, EXPLICIT = Effect.ALLOW, Effect.IMPLICIT_DENY, Effect.EXPLICIT_DENY


def _resource(*statements: dict[str, Any]) -> rp.Policy:
    return rp.load_policy({"Version": "2012-10-17", "Statement": list(statements)})


def _identity(effect: str = "Allow", condition: dict[str, Any] | None = None,
              resource: str = "*") -> rp.Policy:
    statement: dict[str, Any] = {"Effect": effect, "Action": "rum:PutRumEvents",
                                 "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return rp.load_policy({"Version": "2012-10-17", "Statement": [statement]}, kind="identity")


def _allow(condition: dict[str, Any] | None = None, principal: Any = "*") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal,
                                 "Action": "rum:PutRumEvents", "Resource": SHOP}
    if condition:
        statement["Condition"] = condition
    return statement


ALLOW_ALL = _resource(_allow())


def test_a_same_account_identity_allow_keeps_access_the_resource_policy_takes_away():
    """Same account: the union of the two kinds of policy decides."""
    result = diff_policies(ALLOW_ALL, None, monitor=SHOP,
                           identity_policies={ALICE: _identity()})
    witnesses_hold(result, ALLOW_ALL, None)
    assert result.equivalent is False and not result.not_analysed
    assert change_of(result, request(ALICE)) is None
    assert change_of(result, request(BOB)) == (ALLOW, IMPLICIT)
    assert change_of(result, request(None)) == (ALLOW, IMPLICIT)
    assert all(c.witness.principal != ALICE for c in result.changes)
    assert "identity policies of " + ALICE in result.scope
    without = diff_policies(ALLOW_ALL, None, monitor=SHOP)
    assert change_of(without, request(ALICE)) == (ALLOW, IMPLICIT)
    assert "signed callers judged without identity policies" in without.scope


def test_an_identity_deny_holds_under_both_policies():
    """An explicit deny in any policy overrides every allow: the holder is denied before and
    after, so the new grant is no change for it."""
    deny = _identity("Deny", {"StringEquals": {"rum:alias": "internal"}})
    result = diff_policies(None, ALLOW_ALL, monitor=SHOP, identity_policies={ALICE: deny})
    witnesses_hold(result, None, ALLOW_ALL)
    assert change_of(result, request(ALICE, rum_alias="internal")) is None
    assert change_of(result, request(ALICE, rum_alias="v2")) == (IMPLICIT, ALLOW)
    assert change_of(result, request(BOB, rum_alias="internal")) == (IMPLICIT, ALLOW)


def test_callers_of_another_account_gain_nothing_from_identity_policies():
    """RUM: no cross-account access, whatever the caller's own policies allow; its Deny still
    applies (explicit deny)."""
    mallory = request(MALLORY)
    names_mallory = _resource(_allow(principal={"AWS": MALLORY}))
    result = diff_policies(None, names_mallory, monitor=SHOP,
                           identity_policies={MALLORY: _identity()})
    assert result.equivalent
    assert rp.evaluate(names_mallory, mallory, result.identity_policies.held_by(mallory)
                       ).effect is IMPLICIT
    denied = diff_policies(None, ALLOW_ALL, monitor=SHOP,
                           identity_policies={MALLORY: _identity("Deny")})
    witnesses_hold(denied, None, ALLOW_ALL)
    assert change_of(denied, mallory) is None
    assert rp.evaluate(None, mallory, denied.identity_policies.held_by(mallory)
                       ).effect is EXPLICIT


def test_identical_resource_policies_are_equivalent_whatever_callers_hold():
    for policy in (None, ALLOW_ALL, _resource(_allow({"StringEquals": {"rum:alias": "v2"}}))):
        result = diff_policies(policy, policy, monitor=SHOP, identity_policies={
            ALICE: _identity("Deny"), FORWARDER: _identity()})
        assert result.equivalent, (result.changes, result.not_analysed)


def test_anonymous_callers_hold_no_identity_policy():
    identities = IdentityPolicies.of({ALICE: _identity(), FORWARDER: _identity()})
    assert identities.held_by(request(None)) == ()
    result = diff_policies(ALLOW_ALL, None, monitor=SHOP, identity_policies=identities)
    assert change_of(result, request(None)) == (ALLOW, IMPLICIT)


@pytest.mark.parametrize(("holder", "holds", "does_not_hold"), [
    (FORWARDER,  # a role: the role and every session of it, whatever the session name
     ["arn:aws:sts::123456789012:assumed-role/rum-forwarder/s1", FORWARDER],
     ["arn:aws:sts::123456789012:assumed-role/other/s1",
      "arn:aws:sts::999999999999:assumed-role/rum-forwarder/s1",
      "arn:aws:sts::123456789012:assumed-role/rum-forwarder-2/s1"]),
    ("arn:aws:iam::123456789012:role/team/rum-forwarder",  # sessions carry no role path
     ["arn:aws:sts::123456789012:assumed-role/rum-forwarder/s1"], [FORWARDER]),
    ("arn:aws:sts::123456789012:assumed-role/rum-forwarder/s1",  # one session only
     ["arn:aws:sts::123456789012:assumed-role/rum-forwarder/s1"],
     ["arn:aws:sts::123456789012:assumed-role/rum-forwarder/s2", FORWARDER]),
    (ALICE, [ALICE], ["arn:aws:iam::123456789012:user/team/alice", BOB]),
    ("arn:aws:sts::123456789012:federated-user/carol",
     ["arn:aws:sts::123456789012:federated-user/carol"], [BOB]),
])
def test_who_holds_a_policy_and_the_diff_agrees(holder, holds, does_not_hold):
    deny = _identity("Deny")
    identities = IdentityPolicies.of({holder: deny})
    result = diff_policies(None, ALLOW_ALL, monitor=SHOP, identity_policies=identities)
    witnesses_hold(result, None, ALLOW_ALL)
    for principal in holds:
        assert identities.held_by(request(principal)) == (deny,)
        assert change_of(result, request(principal)) is None  # denied before and after
    for principal in does_not_hold:
        assert identities.held_by(request(principal)) == ()
        expected = (IMPLICIT, ALLOW) if ":999999999999:" not in principal else None
        assert change_of(result, request(principal)) == expected


def test_a_holders_username_is_analysed_exactly():
    """`${aws:username}` in alice's policy is alice's own name for every request she really
    sends (IAM derives it); only requests whose context says otherwise stay unanalysed, and the
    note says so."""
    mine = _identity(condition={"StringEquals": {"rum:alias": "${aws:username}"}})
    old = _resource(_allow({"StringEquals": {"rum:alias": ["alice", "bob"]}}))
    result = diff_policies(old, None, monitor=SHOP, identity_policies={ALICE: mine})
    witnesses_hold(result, old, None)
    assert change_of(result, request(ALICE, rum_alias="alice")) is None  # her policy allows
    assert change_of(result, request(ALICE, rum_alias="bob")) == (ALLOW, IMPLICIT)
    assert change_of(result, request(BOB, rum_alias="bob")) == (ALLOW, IMPLICIT)  # holds none
    forged = request(ALICE, rum_alias="mallory", aws_username="mallory")
    assert not result.covers(forged) and result.covers(request(BOB, aws_username="x"))
    assert result.not_analysed == (
        f"requests in which aws:username has a single value other than `alice` from {ALICE}: "
        f"the identity policy of {ALICE}, statement 0 at line 10 compares rum:alias with "
        "${aws:username}. A condition relating two request values cannot be cut into classes "
        "exactly; every other request is analysed",)
    lost = result.change_for(request(ALICE, rum_alias="bob"))
    assert lost is not None and dict(lost.witness.context) == {"rum:alias": "bob"}  # derived
    # only a list in place of her name (the variable then drops the value) loses `alice`
    assert change_of(result, request(ALICE, rum_alias="alice", aws_username=["alice", "x"])) \
        == (ALLOW, IMPLICIT)


def test_a_relation_matters_only_where_its_statement_can_apply():
    """An identity statement for another action relates nothing a PutRumEvents request reads;
    one held by nobody who calls is analysed wherever its holder is not the caller."""
    other_action = rp.load_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::logs/${aws:username}/*"}]}, kind="identity")
    result = diff_policies(ALLOW_ALL, ALLOW_ALL, monitor=SHOP,
                           identity_policies={ALICE: other_action})
    assert result.equivalent
    relating = _resource(_allow({"StringEquals": {"rum:alias": "${aws:PrincipalTag/team}"}},
                                principal={"AWS": BOB}))
    narrowed = diff_policies(relating, None, monitor=SHOP)
    assert narrowed.covers(request(ALICE, **{"aws_PrincipalTag/team": "web"}))
    assert not narrowed.covers(request(BOB, **{"aws_PrincipalTag/team": "web"}))
    assert any(n.startswith("requests in which aws:PrincipalTag/team has a single value "
                            f"from {BOB}:") for n in narrowed.not_analysed)


@pytest.mark.parametrize(("attached", "message"), [
    ({"arn:aws:iam::123456789012:root": "identity"}, "is the root user, which holds no identity"),
    ({"arn:aws:iam::123456789012:group/devs": "identity"}, "which users belong to a group"),
    ({"123456789012": "identity"}, "is not an IAM user or role ARN or an STS session ARN"),
    ({ALICE: "resource"}, f"the policy given for {ALICE} is a resource policy"),
    ({FORWARDER: "identity", "arn:aws:iam::123456789012:role/team/rum-forwarder": "identity"},
     "name the same role (role names are unique in an account, whatever the path)"),
])
def test_principals_that_cannot_hold_a_policy_are_refused(attached, message):
    policies = {arn: _identity() if kind == "identity" else ALLOW_ALL
                for arn, kind in attached.items()}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        diff_policies(None, None, identity_policies=policies)


def test_a_principal_given_twice_is_refused():
    with pytest.raises(ValueError, match=f"{ALICE} is given twice"):
        IdentityPolicies(((ALICE, _identity()), (ALICE, _identity("Deny"))))


@pytest.mark.parametrize(("condition", "related", "compared"), [
    ({"StringEquals": {"aws:username": "${aws:PrincipalTag/owner}"}}, "aws:PrincipalTag/owner",
     "aws:username"),
    ({"StringLike": {"aws:referer": "https://${rum:alias}.example.com/*"}}, "rum:alias",
     "aws:referer"),
])
def test_relations_without_constants_are_named_with_the_region_they_cover(condition, related,
                                                                          compared):
    """No value of these keys is known in advance: their single values stay unanalysed, but
    only for the holder; the note names the key, the holder and the statement."""
    result = diff_policies(ALLOW_ALL, None, monitor=SHOP,
                           identity_policies={ALICE: _identity(condition=condition)})
    witnesses_hold(result, ALLOW_ALL, None)
    (note,) = result.not_analysed
    assert note.startswith(f"requests in which {related} has a single value from {ALICE}: the "
                           f"identity policy of {ALICE}, statement 0 at line ")
    assert f"compares {compared} with ${{{related}}}" in note
    assert not result.covers(request(ALICE, **{related.replace(":", "_", 1): "web"}))
    bob = request(BOB, **{related.replace(":", "_", 1): "web"})
    assert result.covers(bob) and change_of(result, bob) == (ALLOW, IMPLICIT)
    assert change_of(result, request(ALICE)) == (ALLOW, IMPLICIT)  # absent: the value drops


def test_a_resource_named_after_the_holder_is_exact_without_a_monitor():
    """`appmonitor/${aws:username}` in alice's policy: every resource, every action, and her own
    monitor is decided exactly; only requests that say her username is something else are
    left out."""
    own = rp.load_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rum:*",
        "Resource": "arn:aws:rum:*:123456789012:appmonitor/${aws:username}"}]}, kind="identity")
    result = diff_policies(ALLOW_ALL, None, identity_policies={ALICE: own})
    witnesses_hold(result, ALLOW_ALL, None)
    hers = rp.Request(resource=SHOP.replace("shop", "alice"), principal=ALICE)
    assert result.covers(hers) and change_of(result, hers) is None
    assert change_of(result, request(ALICE)) == (ALLOW, IMPLICIT)  # the shop is not hers
    assert not result.covers(request(ALICE, aws_username="shop"))
    (note,) = result.not_analysed
    assert note.startswith(f"requests in which aws:username has a single value other than "
                           f"`alice` from {ALICE} where the action matches `rum:*` (any case): "
                           f"the identity policy of {ALICE}, statement 0 at line 4 names "
                           "${aws:username} in its Resource, and no monitor ARN fixes")
