"""How the diff grows with many identity policies, and where it stops.

Sizes are asserted through what the analysis counts (search states, calls), never through the
clock: the machine is shared, and a count says which algorithm ran.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import rumpolicy as rp
from rumpolicy import Effect
from rumpolicy.analysis.diff import IdentityPolicies, diff_policies, identities
from rumpolicy.analysis.diff import analyse as analyse_module
from rumpolicy.analysis.diff import reading as reading_module
from rumpolicy.cli import main
from tests.diff._support import SHOP, change_of, request, witnesses_hold

ALLOW, IMPLICIT = Effect.ALLOW, Effect.IMPLICIT_DENY


def _resource_document(alias: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": SHOP,
        "Condition": {"StringEquals": {"rum:alias": alias}}}]}


def _resource(alias: str) -> rp.Policy:
    return rp.load_policy(_resource_document(alias))


def _own_alias_document(extra: int = 0) -> dict[str, Any]:
    """`dev-${aws:username}`: each holder's own alias, as a team would attach to every user."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*",
        "Condition": {"StringLike": {"rum:alias": f"dev-${{aws:username}}-{n}*"}}}
        for n in range(1 + extra)]}


def _own_alias(extra: int = 0) -> rp.Policy:
    return rp.load_policy(_own_alias_document(extra), kind="identity")


def _users(count: int) -> dict[str, rp.Policy]:
    return {f"arn:aws:iam::123456789012:user/u{n}": _own_alias() for n in range(count)}


OLD, NEW = _resource("shop-v1"), _resource("shop-v2")


def test_holders_reading_their_own_username_grow_the_search_linearly():
    """Each holder's statement gets a variant for the holder's own username only, not for
    every named user's: 4 times the holders, about 4 times the states (it was 14 times, and
    40 holders took 28 s)."""
    small = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(10))
    large = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(40))
    assert large.stats.states < 5 * small.stats.states, (small.stats, large.stats)
    witnesses_hold(large, OLD, NEW)
    u7 = "arn:aws:iam::123456789012:user/u7"
    assert change_of(large, request(u7, rum_alias="shop-v2")) == (IMPLICIT, ALLOW)
    assert change_of(large, request(u7, rum_alias="dev-u7-0x")) is None  # her own policy
    assert change_of(large, request(u7, rum_alias="dev-u3-0x")) is None  # denied both times
    assert large.covers(request(u7, rum_alias="dev-u7-0x"))
    # a context claiming another holder's name is named as not analysed, not guessed
    assert not large.covers(request(u7, rum_alias="dev-u3-0x", aws_username="u3"))
    assert any("has a single value other than `u7` from " + u7 in n
               for n in large.not_analysed)


def test_holders_are_not_one_region_each():
    """The requests holders cannot send (their context naming another user) are don't-cares
    for the regions, so the holders share one change per pair of decisions, as one holder
    alone would have."""
    one = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(1))
    many = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(12))
    assert len(many.changes) == len(one.changes) == 4, [c.description for c in many.changes]
    witnesses_hold(many, OLD, NEW)
    for change in many.changes:
        assert change.contains(change.witness)


def test_too_many_statements_stop_the_diff_at_once(monkeypatch):
    """Past the budget the diff says so (and CI fails closed) instead of running for minutes;
    the budget counts variants too."""
    monkeypatch.setattr(reading_module, "MAX_STATEMENTS", 10)
    result = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(5))
    assert not result.equivalent and not result.changes
    assert result.not_analysed == (
        "everything: the analysis stopped (too many combinations: 12 statements and variants "
        "of statements, more than 10)",)


def test_too_many_choices_in_the_search_stop_the_diff(monkeypatch):
    monkeypatch.setattr(analyse_module, "MAX_STEPS", 50)
    result = diff_policies(OLD, NEW, monitor=SHOP, identity_policies=_users(5))
    assert not result.changes
    assert result.not_analysed[-1].startswith(
        "everything: the analysis stopped (too many combinations: more than 50 choices of a "
        "class after a state)")


def test_a_large_identity_policy_stops_before_the_evaluator_reads_it_for_every_request(
        monkeypatch):
    """Each statement on its own alias gives a class of its own, and the evaluator checks every
    final state against all the holder's statements: 2,000 statements took 72 s and 1.4 GB
    (review). Past the budget the diff stops before that work, the evaluator never called."""
    statements = [{"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*",
                   "Condition": {"StringEquals": {"rum:alias": f"a{n}"}}} for n in range(60)]
    big = rp.load_policy({"Version": "2012-10-17", "Statement": statements}, kind="identity")
    holder = {"arn:aws:iam::123456789012:user/u": big}
    within = diff_policies(None, None, monitor=SHOP, identity_policies=holder)
    assert within.equivalent and within.stats.evaluations > 2 * 60
    monkeypatch.setattr(analyse_module, "MAX_IDENTITY_CHECKS", 60 * 60 // 2)
    calls = []
    monkeypatch.setattr(rp.CompiledPolicy, "_decide",
                        lambda *args: calls.append(args) or pytest.fail("evaluated"))
    result = diff_policies(None, None, monitor=SHOP, identity_policies=holder)
    assert not result.equivalent and not result.changes and calls == []
    (note,) = result.not_analysed
    assert note.startswith("everything: the analysis stopped (too many combinations: checking ")
    assert note.endswith(f"of their statements (at most {60 * 60 // 2:,}))")


def test_the_cli_exits_1_when_the_diff_is_too_complex(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(reading_module, "MAX_STATEMENTS", 3)
    paths = []
    for name, alias in (("old", "shop-v1"), ("new", "shop-v2")):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(_resource_document(alias)))
    identity = tmp_path / "own.json"
    identity.write_text(json.dumps(_own_alias_document(3)))
    code = main(["diff", str(paths[0]), str(paths[1]), "--monitor", SHOP,
                 "--identity-policy", f"arn:aws:iam::123456789012:user/u1={identity}",
                 "--fail-on", "new-access"])
    out, err = capsys.readouterr()
    assert code == 1 and not err
    assert "not analysed (decisions there may differ; not proven equivalent):" in out
    assert "the analysis stopped (too many combinations: " in out


# --- holders: duplicates and lookups in one pass -------------------------------------------------

def test_duplicate_holders_are_found_without_comparing_every_pair(monkeypatch):
    """2,000 holders took 7.5 s: every holder was compared with every earlier one."""
    calls = []
    real = identities.same_principal

    def counting(earlier: str, later: str) -> str | None:
        calls.append((earlier, later))
        return real(earlier, later)

    monkeypatch.setattr(identities, "same_principal", counting)
    policy = _own_alias()
    holders = [(f"arn:aws:iam::123456789012:{'user' if n % 2 else 'role/team'}/n{n}", policy)
               for n in range(300)]
    attached = IdentityPolicies(tuple(holders))
    assert len(attached) == 300 and calls == []
    clash = ("arn:aws:iam::123456789012:role/n100", policy)  # n100 is role/team/n100
    with pytest.raises(ValueError, match="role/team/n100 and arn:aws:iam::123456789012:role/"
                                         "n100 name the same role"):
        IdentityPolicies((*holders, clash))
    assert len(calls) == 1


CALLERS = (None, "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/alice",
           "arn:aws:iam::123456789012:user/team/alice", "arn:aws:iam::123456789012:role/fwd",
           "arn:aws:iam::123456789012:role/path/fwd",
           "arn:aws:sts::123456789012:assumed-role/fwd/s1",
           "arn:aws:sts::123456789012:assumed-role/fwd/s2",
           "arn:aws:sts::999999999999:assumed-role/fwd/s1",
           "arn:aws-cn:sts::123456789012:assumed-role/fwd/s1",
           "arn:aws:sts::123456789012:federated-user/carol",
           "arn:aws:iam::123456789012:user/x::123456789012:root")


@pytest.mark.parametrize("holders", [
    CALLERS[2:3] + CALLERS[5:7],
    ("arn:aws:iam::123456789012:role/fwd", "arn:aws-cn:iam::123456789012:role/fwd",
     "arn:aws:iam::999999999999:role/x/fwd", "arn:aws:sts::123456789012:federated-user/carol"),
    ("arn:aws:iam::123456789012:user/x::123456789012:root",
     "arn:aws:sts::123456789012:assumed-role/fwd/s2", "arn:aws:iam::123456789012:user/team/alice"),
])
def test_the_holder_index_answers_as_the_engine_rule(holders):
    """`indices` looks holders up by ARN and role; `holds` (the engine's `names_caller`) is
    the rule, so the two must agree for every caller, odd ARNs included."""
    attached = IdentityPolicies(tuple((arn, _own_alias()) for arn in holders))
    for principal in CALLERS:
        caller = rp.Request(resource=SHOP, principal=principal).caller
        expected = tuple(i for i in range(len(holders))
                         if principal is not None and attached.holds(i, caller))
        assert attached.indices(caller) == expected, principal
