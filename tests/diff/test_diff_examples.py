"""Worked examples: the fixture policies, and pairs whose answer is known by hand.

Each semantic expectation names the IAM rule behind it; the diff itself only asks the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rumpolicy as rp
from rumpolicy import Effect
from rumpolicy.analysis.diff import diff_policies
from tests.diff._support import SHOP, change_of, request, witnesses_hold

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "policies"
ALLOW, IMPLICIT, EXPLICIT = Effect.ALLOW, Effect.IMPLICIT_DENY, Effect.EXPLICIT_DENY


def _fixture(name: str) -> rp.Policy:
    return rp.load_policy((FIXTURES / name).read_text(encoding="utf-8"))


def _policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> rp.Policy:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return rp.load_policy(doc)


def _allow(condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": "*",
                                 "Action": "rum:PutRumEvents", "Resource": SHOP, **extra}
    if condition:
        statement["Condition"] = condition
    return statement


def _deny(condition: dict[str, Any]) -> dict[str, Any]:
    return {**_allow(condition), "Effect": "Deny"}


def test_blue_green_to_canary_reports_each_region_with_its_witness():
    old, new = _fixture("alias-blue-green.json"), _fixture("alias-canary.json")
    result = diff_policies(old, new, monitor=SHOP)
    witnesses_hold(result, old, new)
    assert not result.equivalent and not result.not_analysed
    descriptions = [c.description for c in result.changes]
    assert ("newly allowed: requests from anonymous callers and principals of account "
            "123456789012 other than its root user where rum:alias matches `canary-*` except "
            "`canary-internal`; and aws:SourceIp is in 203.0.113.0/24 or 2001:db8::/32"
            ) in descriptions
    # a canary from the allowed range is let in; the internal canary is now denied explicitly
    assert change_of(result, request(rum_alias="canary-7", aws_SourceIp="203.0.113.9")) == \
        (IMPLICIT, ALLOW)
    assert change_of(result, request(rum_alias="canary-7", aws_SourceIp="198.51.100.1")) is None
    assert change_of(result, request(rum_alias="canary-internal")) == (IMPLICIT, EXPLICIT)
    # shop-v1 is retired; shop-v2 now needs the address range
    assert change_of(result, request(rum_alias="shop-v1")) == (ALLOW, IMPLICIT)
    assert change_of(result, request(rum_alias="shop-v2", aws_SourceIp="2001:db8::1")) is None
    assert change_of(result, request(rum_alias="shop-v2", aws_SourceIp="10.0.0.1")) == \
        (ALLOW, IMPLICIT)
    # the account's root user is allowed unless denied (IAM: root has full access by default)
    root = "arn:aws:iam::123456789012:root"
    assert change_of(result, request(root, rum_alias="shop-v1")) is None
    assert change_of(result, request(root, rum_alias="canary-internal")) == (ALLOW, EXPLICIT)
    # RUM resource policies grant no cross-account access, before or after
    other = "arn:aws:iam::999999999999:user/mallory"
    assert change_of(result, request(other, rum_alias="canary-7",
                                    aws_SourceIp="203.0.113.9")) is None


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_a_fixture_is_equivalent_to_itself(name):
    policy = _fixture(name)
    assert diff_policies(policy, policy).equivalent
    assert diff_policies(policy, rp.load_policy(policy.to_json())).equivalent


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_attaching_a_fixture_changes_exactly_what_it_allows(name):
    policy = _fixture(name)
    result = diff_policies(None, policy)
    witnesses_hold(result, None, policy)
    assert any(c.to_effect is ALLOW for c in result.changes)


def test_equivalence_is_semantic_not_textual():
    """Reordered values, a redundant literal inside a pattern, split CIDR blocks, a Deny
    written twice: all decide the same."""
    pairs = [
        (_policy(_allow({"StringEquals": {"rum:alias": ["a", "b"]}})),
         _policy(_allow({"StringEquals": {"rum:alias": ["b", "a"]}}))),
        (_policy(_allow({"StringLike": {"rum:alias": "v*"}})),
         _policy(_allow({"StringLike": {"rum:alias": ["v*", "v1"]}}))),
        (_policy(_allow({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
         _policy(_allow({"IpAddress": {"aws:SourceIp": ["10.0.0.0/9", "10.128.0.0/9"]}}))),
        (_policy(_allow(), _deny({"StringEquals": {"rum:alias": "x"}})),
         _policy(_allow(), _deny({"StringEquals": {"rum:alias": "x"}}),
                 _deny({"StringEquals": {"rum:alias": "x"}}))),
        (_policy(_allow({"StringEqualsIgnoreCase": {"rum:alias": "ab"}})),
         _policy(_allow({"StringEquals": {"rum:alias": ["ab", "AB", "Ab", "aB"]}}))),
    ]
    for old, new in pairs:
        result = diff_policies(old, new, monitor=SHOP)
        assert result.equivalent, [c.description for c in result.changes]


def test_ignore_case_covers_unicode_spellings_ascii_variants_miss():
    """StringEqualsIgnoreCase folds case with Unicode case folding (docs/semantics.md), so
    `sk` also matches the long s and the Kelvin sign: listing ASCII variants is not the same."""
    old = _policy(_allow({"StringEqualsIgnoreCase": {"rum:alias": "sk"}}))
    new = _policy(_allow({"StringEquals": {"rum:alias": ["sk", "SK", "Sk", "sK"]}}))
    result = diff_policies(old, new, monitor=SHOP)
    witnesses_hold(result, old, new)
    assert [(c.from_effect, c.to_effect) for c in result.changes] == [(ALLOW, IMPLICIT)]
    alias = result.changes[0].witness.get("rum:alias")
    assert isinstance(alias, str) and alias.casefold() == "sk" and not alias.isascii()


def test_time_boxed_window_moved_by_a_day():
    def window(start: str, end: str) -> rp.Policy:
        return _policy(_allow({"StringEquals": {"rum:alias": "launch"},
                               "DateGreaterThanEquals": {"aws:CurrentTime": start},
                               "DateLessThan": {"aws:CurrentTime": end}}))

    old = window("2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z")
    new = window("2026-12-01T00:00:00Z", "2026-12-09T00:00:00Z")
    result = diff_policies(old, new, monitor=SHOP)
    witnesses_hold(result, old, new)
    assert [c.description for c in result.changes] == [
        "newly allowed: requests from anonymous callers and principals of account "
        "123456789012 other than its root user where rum:alias is `launch`; and "
        "aws:CurrentTime is at or after `2026-12-08T00:00:00Z` and before "
        "`2026-12-09T00:00:00Z`"]
    assert change_of(result, request(rum_alias="launch",
                                    aws_CurrentTime="2026-12-08T12:00:00+01:00")) == \
        (IMPLICIT, ALLOW)


def test_lists_under_plain_operators_fail_closed():
    """A list under a plain operator is undecidable (docs/semantics.md, fail closed): a Deny
    applies, an Allow does not. Adding a Deny therefore changes lists too."""
    old = _policy(_allow())
    new = _policy(_allow(), _deny({"StringEquals": {"rum:alias": "legacy"}}))
    result = diff_policies(old, new, monitor=SHOP)
    assert change_of(result, request(rum_alias=["v1", "v2"])) == (ALLOW, EXPLICIT)
    assert change_of(result, request(rum_alias="v1")) is None


def test_set_operators_class_lists_by_their_members():
    """ForAnyValue needs one member to match, ForAllValues every member (IAM multivalued
    context keys page)."""
    old = _policy(_allow({"ForAnyValue:StringLike": {"aws:TagKeys": "team*"}}))
    new = _policy(_allow({"ForAllValues:StringLike": {"aws:TagKeys": "team*"}}))
    result = diff_policies(old, new, monitor=SHOP)
    witnesses_hold(result, old, new)
    assert change_of(result, request(aws_TagKeys=["team", "env"])) == (ALLOW, IMPLICIT)
    assert change_of(result, request(aws_TagKeys=["team", "team-x"])) is None
    assert change_of(result, request(aws_TagKeys=[])) == (IMPLICIT, ALLOW)
    assert change_of(result, request()) == (IMPLICIT, ALLOW)  # ForAllValues: absent key holds


def test_a_variable_relating_two_keys_is_reported_not_guessed():
    policy = _policy(_allow({"StringEquals": {"rum:alias": "${aws:username}"}}))
    result = diff_policies(policy, policy, monitor=SHOP)
    assert not result.equivalent and not result.changes
    assert any("aws:username has a single value" in item for item in result.not_analysed)
    # requests where the username is absent (anonymous callers) are still analysed ...
    assert result.covers(request(rum_alias="x"))
    # ... those of IAM users, who always carry one, are not
    assert not result.covers(request("arn:aws:iam::123456789012:user/alice", rum_alias="x"))


def test_a_key_compared_with_itself_is_analysed_exactly():
    """`StringEquals rum:alias ${rum:alias}` holds for every single value: the diff finds it
    equivalent to requiring any alias at all, and reports nothing as unanalysed."""
    old = _policy(_allow({"StringEquals": {"rum:alias": "${rum:alias}"}}))
    new = _policy(_allow({"StringLike": {"rum:alias": "*"}}))
    result = diff_policies(old, new, monitor=SHOP)
    assert result.equivalent, ([c.description for c in result.changes], result.not_analysed)


def test_a_resource_variable_is_exact_once_the_monitor_is_fixed():
    """`appmonitor/${aws:username}` on the shop monitor holds exactly for the username
    `shop`; substituted text is literal (docs/semantics.md)."""
    old = _policy({**_allow(), "Resource": "arn:aws:rum:us-east-1:123456789012:appmonitor/"
                                           "${aws:username}"})
    new = _policy(_allow({"StringEquals": {"aws:username": "shop"}}))
    assert diff_policies(old, new, monitor=SHOP).equivalent
    unfixed = diff_policies(old, new)
    assert any("no monitor ARN fixes the resource" in n for n in unfixed.not_analysed)


def test_a_key_compared_under_two_types_is_analysed_only_when_absent():
    old = _policy(_allow({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    new = _policy(_allow({"StringLike": {"aws:SourceIp": "10.*"}}))
    result = diff_policies(old, new, monitor=SHOP)
    assert not result.equivalent
    assert any("compared both as an IP address and as a string" in n
               for n in result.not_analysed)
    assert not result.covers(request(aws_SourceIp="10.1.2.3"))
    assert result.covers(request())


def test_every_action_and_resource_without_a_monitor():
    old = _policy({**_allow(), "Action": "rum:*"})
    new = _policy(_allow())
    result = diff_policies(old, new)
    witnesses_hold(result, old, new)
    get = rp.Request(resource=SHOP, action="rum:GetAppMonitor")
    assert change_of(result, get) == (ALLOW, IMPLICIT)
    assert change_of(result, request()) is None
    assert result.change_for(rp.Request(resource=SHOP.replace("shop", "blog"),
                                        action="rum:GetAppMonitor")) is None
    with_monitor = diff_policies(old, new, monitor=SHOP)
    assert with_monitor.equivalent  # only rum:PutRumEvents is analysed by default
    assert not with_monitor.covers(get)
    assert not diff_policies(old, new, monitor=SHOP, all_actions=True).equivalent


def test_no_policy_on_either_side():
    assert diff_policies(None, None).equivalent
    allow_all = _fixture("aws-sample-allow-all.json")
    result = diff_policies(allow_all, None)
    witnesses_hold(result, allow_all, None)
    assert all(c.from_effect is ALLOW and c.to_effect is IMPLICIT for c in result.changes)


def test_to_dict_has_exactly_the_documented_shape():
    old, new = _fixture("alias-blue-green.json"), _fixture("alias-canary.json")
    shape = diff_policies(old, new, monitor=SHOP).to_dict()
    assert set(shape) == {"equivalent", "changes", "not_analysed"}
    for change in shape["changes"]:
        assert set(change) == {"from", "to", "description", "witness"}
        assert rp.Request.from_dict(change["witness"]).resource == SHOP
    json.dumps(shape)


def test_derived_keys_given_in_the_context_count():
    """The engine lets an explicit context value stand for a derived key such as
    aws:PrincipalArn (docs/semantics.md: the anonymous values are uncertain), so the diff
    analyses those requests too; its witnesses use the derived value when that suffices."""
    role = "arn:aws:iam::123456789012:role/rum-forwarder"
    old = _policy(_allow({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}))
    result = diff_policies(old, None, monitor=SHOP)
    witnesses_hold(result, old, None)
    assert change_of(result, request(role)) == (ALLOW, IMPLICIT)
    assert change_of(result, request(aws_PrincipalArn=role)) == (ALLOW, IMPLICIT)
    named = _policy({**_allow({"StringEquals": {"aws:PrincipalType": "Role"}}),
                     "Principal": {"AWS": role}})
    result = diff_policies(named, None, monitor=SHOP)
    assert [(c.witness.principal, dict(c.witness.context)) for c in result.changes] == \
        [(role, {})]  # the engine derives aws:PrincipalType = Role for it


def test_an_anonymous_callers_userid_is_what_the_engine_derives():
    """The engine derives aws:userid = `anonymous` for an unsigned caller unless the context
    gives another value (docs/semantics.md, the principal-key table's anonymous row), so
    `${aws:userid}` is `anonymous` in every request an anonymous caller really sends: those are
    analysed exactly, as a user's `${aws:username}` is. Only a context claiming another userid
    stays unanalysed, and the note says so."""
    old = _policy(_allow({"StringEquals": {"rum:alias": "${aws:userid}"}}))
    result = diff_policies(old, None, monitor=SHOP)
    witnesses_hold(result, old, None)
    derived = request(rum_alias="anonymous")
    assert result.covers(derived) and change_of(result, derived) == (ALLOW, IMPLICIT)
    given = request(rum_alias="anonymous", aws_userid="anonymous")  # the same to the engine
    assert change_of(result, given) == (ALLOW, IMPLICIT)
    assert change_of(result, request(rum_alias="someone")) is None  # denied by both
    assert not result.covers(request(rum_alias="x", aws_userid="x"))
    assert [dict(c.witness.context) for c in result.changes] == [{"rum:alias": "anonymous"}]
    assert result.not_analysed[0].startswith(
        "requests in which aws:userid has a single value other than `anonymous`: old policy "
        "statement 0")
