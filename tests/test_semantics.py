"""One test per choice recorded in docs/semantics.md (where AWS documents nothing, or where this
project reads an ambiguous rule a particular way). Test names match the document's headings."""

from __future__ import annotations

import json
from typing import Any

import pytest

import rumpolicy as rp

ACCOUNT = "123456789012"
MONITOR = f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/shop"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/s1"


def statement(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
            "Resource": MONITOR, **extra}


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> rp.Policy:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return rp.load_policy(doc)


def decide(p: rp.Policy | None, principal: str | None = None, resource: str = MONITOR,
           **context: Any) -> rp.Effect:
    request = rp.Request(resource=resource, principal=principal,
                         context={k.replace("__", ":"): v for k, v in context.items()})
    return rp.evaluate(p, request).effect


def codes(source: Any) -> list[str]:
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy(source)
    return [d.code for d in raised.value.diagnostics]


ALLOW, EXPLICIT, IMPLICIT = rp.Effect.ALLOW, rp.Effect.EXPLICIT_DENY, rp.Effect.IMPLICIT_DENY


# -- loading --------------------------------------------------------------------------------

def test_size_limit_is_4096_bytes_of_utf8() -> None:
    base = json.dumps({"Version": "2012-10-17", "Statement": [statement(Sid="S")]})
    pad = 4096 - len(base.encode())
    assert rp.load_policy(base.replace('"Sid": "S"', '"Sid": "S' + "x" * pad + '"'))
    too_big = base.replace('"Sid": "S"', '"Sid": "S' + "x" * (pad + 1) + '"')
    assert codes(too_big) == ["policy-too-large"]
    # é is two bytes in UTF-8: the limit counts bytes, not characters
    accented = base.replace('"Sid": "S"', '"Sid": "S' + "é" * (pad // 2 + 1) + '"')
    assert "policy-too-large" in codes(accented)


def test_identity_policies_have_no_size_limit_and_no_principal() -> None:
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": MONITOR, "Sid": "x" * 5000}]}
    assert rp.load_policy(big, kind="identity").statements
    with_principal = {"Statement": [{**big["Statement"][0], "Principal": "*"}]}
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy(with_principal, kind="identity")
    assert "names no Principal" in str(raised.value)


def test_duplicate_keys_are_rejected_not_last_wins() -> None:
    text = '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}'
    assert codes(text) == ["duplicate-key", "no-statements"]


def test_element_and_operator_names_are_case_sensitive() -> None:
    found = codes({"version": "2012-10-17", "Statement": [statement(
        Condition={"stringEquals": {"rum:alias": "a"}})]})
    assert found == ["unknown-element", "unknown-operator"]


def test_condition_keys_differing_only_in_case_are_rejected() -> None:
    found = codes({"Statement": [statement(
        Condition={"StringEquals": {"rum:alias": "a", "RUM:Alias": "b"}})]})
    assert found == ["invalid-condition-key"]


def test_time_without_zone_is_rejected_and_four_digits_have_two_readings() -> None:
    """Condition operators page: W3C profiles (YYYY is one) or epoch seconds. "2027" is both;
    it decides only where the year and the 2,027th second agree (docs/semantics.md)."""
    assert codes({"Statement": [statement(Condition={
        "DateLessThan": {"aws:CurrentTime": "2026-12-01T00:00:00"}})]}) == ["invalid-date"]
    allow = policy(statement(Condition={"DateLessThan": {"aws:CurrentTime": "2027"}}))
    assert decide(allow, aws__CurrentTime="1970-01-01T00:00:00Z") is ALLOW
    assert decide(allow, aws__CurrentTime="2026-12-31T23:59:59Z") is IMPLICIT  # disagree
    assert decide(allow, aws__CurrentTime="2027-01-01T00:00:00Z") is IMPLICIT
    deny = policy(statement(), statement(Effect="Deny", Condition={
        "DateLessThan": {"aws:CurrentTime": "2027"}}))
    assert decide(deny, aws__CurrentTime="2026-12-31T23:59:59Z") is EXPLICIT  # disagree
    assert decide(deny, aws__CurrentTime="2027-01-01T00:00:00Z") is ALLOW
    request = rp.Request(resource=MONITOR, context={"aws:CurrentTime": "2026"})
    trace = rp.evaluate(allow, request).statements[0].conditions[0]
    assert (trace.result, trace.reason) == (None, "request_value_year_or_epoch")


def test_anonymous_callers_carry_both_keys_of_the_principal_table_row() -> None:
    """IAM principal-key table: anonymous -> aws:userid `anonymous`, aws:PrincipalType
    `Anonymous`; both derived, so a Deny on either refuses anonymous callers."""
    anonymous = rp.Request(resource=MONITOR)
    assert (anonymous.get("aws:userid"), anonymous.get("aws:PrincipalType")) == (
        "anonymous", "Anonymous")
    assert rp.Request(resource=MONITOR, principal=USER).get("aws:userid") is None
    for key, value in (("aws:userid", "anonymous"), ("aws:PrincipalType", "Anonymous")):
        p = policy(statement(), statement(Effect="Deny", Condition={
            "StringEquals": {key: value}}))
        assert decide(p, None) is EXPLICIT
        assert decide(p, f"arn:aws:iam::{ACCOUNT}:root") is ALLOW


def test_an_empty_value_decides_only_where_value_and_absence_agree() -> None:
    """Multi-valued keys page: an empty string is a null data set (absent) for ForAllValues;
    to the string operators it is a value. Never grant more than either reading."""
    like = policy(statement(Condition={"StringLike": {"rum:alias": "*"}}))
    assert decide(like, rum__alias="") is IMPLICIT
    not_beta = policy(statement(Condition={"StringNotEquals": {"rum:alias": "beta"}}))
    assert decide(not_beta, rum__alias="") is ALLOW
    deny_missing = policy(statement(), statement(Effect="Deny", Condition={
        "Null": {"rum:alias": "true"}}))
    assert decide(deny_missing, rum__alias="") is EXPLICIT
    assert decide(deny_missing, rum__alias="a") is ALLOW
    every = policy(statement(), statement(Effect="Deny", Condition={
        "ForAllValues:StringEquals": {"rum:alias": ["a"]}}))
    assert decide(every, rum__alias="") is EXPLICIT  # false as a value, true when absent
    assert decide(every, rum__alias="b") is ALLOW


def test_for_any_value_if_exists_on_an_absent_key_is_undecidable() -> None:
    """IfExists says true and ForAnyValue false for an absent key; neither wins."""
    allow = policy(statement(Condition={"ForAnyValue:StringEqualsIfExists": {
        "aws:TagKeys": ["team"]}}))
    assert decide(allow) is IMPLICIT
    assert decide(allow, aws__TagKeys=["team", "env"]) is ALLOW
    deny = policy(statement(), statement(Effect="Deny", Condition={
        "ForAnyValue:StringNotEqualsIfExists": {"aws:TagKeys": ["team"]}}))
    assert decide(deny) is EXPLICIT
    assert decide(deny, aws__TagKeys=["team"]) is ALLOW


def test_an_ipv4_mapped_source_is_undecidable_and_the_gate_unmaps_its_peer() -> None:
    """`::ffff:198.51.100.252` is an IPv6 address and the IPv4 one it carries."""
    from rumpolicy.gate.context import client_address

    mapped = "::ffff:198.51.100.252"
    allow = policy(statement(Condition={"IpAddress": {"aws:SourceIp": "198.51.100.252"}}))
    assert decide(allow, aws__SourceIp="198.51.100.252") is ALLOW
    assert decide(allow, aws__SourceIp=mapped) is IMPLICIT
    deny = policy(statement(), statement(Effect="Deny", Condition={
        "IpAddress": {"aws:SourceIp": "198.51.100.252"}}))
    assert decide(deny, aws__SourceIp=mapped) is EXPLICIT
    assert client_address(mapped, None, trust_forwarded=False) == "198.51.100.252"
    assert client_address("10.0.0.1", mapped, trust_forwarded=True) == "198.51.100.252"
    assert client_address("2001:db8::1", None, trust_forwarded=False) == "2001:db8::1"


def test_numbers_are_decimal_without_exponent() -> None:
    assert codes({"Statement": [statement(Condition={
        "NumericLessThan": {"aws:EpochTime": "1e3"}})]}) == ["invalid-number"]


def test_numbers_and_dates_take_ascii_digits_only() -> None:
    """Python's `\\d` also matches other scripts' digits; IAM's formats are ASCII."""
    assert codes({"Statement": [statement(Condition={
        "NumericLessThan": {"aws:EpochTime": "\u0663"}})]}) == ["invalid-number"]
    assert codes({"Statement": [statement(Condition={
        "DateLessThan": {"aws:CurrentTime": "\u0662\u0660\u0662\u0667"}})]}) == ["invalid-date"]
    allow = policy(statement(Condition={"NumericLessThan": {"aws:EpochTime": "5"}}))
    assert decide(allow, aws__EpochTime="\u0663") is IMPLICIT


def test_partial_wildcard_principals_are_rejected() -> None:
    assert codes({"Statement": [statement(
        Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"})]}) == ["invalid-principal"]


# -- who is let in --------------------------------------------------------------------------

def test_account_principal_allow_needs_an_identity_allow() -> None:
    p = policy(statement(Principal={"AWS": ACCOUNT}))
    assert decide(p, USER) is IMPLICIT
    identity = rp.load_policy({"Statement": [{"Effect": "Allow", "Action": "rum:*",
                                              "Resource": "*"}]}, kind="identity")
    request = rp.Request(resource=MONITOR, principal=USER)
    assert rp.evaluate(p, request, identity_policies=[identity]).effect is ALLOW
    assert decide(p, None) is IMPLICIT


def test_account_principal_deny_covers_everyone_in_the_account() -> None:
    p = policy(statement(), statement(Effect="Deny", Principal={"AWS": ACCOUNT}))
    assert decide(p, USER) is EXPLICIT
    assert decide(p, SESSION) is EXPLICIT
    assert decide(p, None) is ALLOW


def test_account_root_is_allowed_unless_denied() -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert decide(None, root) is ALLOW
    assert decide(policy(statement(Effect="Deny")), root) is EXPLICIT


def test_cross_account_callers_are_never_allowed() -> None:
    p = policy(statement(Principal={"AWS": "999999999999"}))
    assert decide(p, "arn:aws:iam::999999999999:user/mallory") is IMPLICIT
    assert decide(policy(statement()), "arn:aws:iam::999999999999:user/mallory") is IMPLICIT
    deny = policy(statement(Effect="Deny"))
    assert decide(deny, "arn:aws:iam::999999999999:user/mallory") is EXPLICIT


def test_role_principal_covers_its_sessions_by_name() -> None:
    for role in (f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder",
                 f"arn:aws:iam::{ACCOUNT}:role/some/path/rum-forwarder"):
        assert decide(policy(statement(Principal={"AWS": role})), SESSION) is ALLOW
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    assert decide(policy(statement(Principal={"AWS": other})), SESSION) is IMPLICIT


def test_not_principal_excludes_a_session_only_with_role_and_account_listed() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder"
    deny = {"Effect": "Deny", "Action": "rum:PutRumEvents", "Resource": MONITOR}
    listed_session = policy(statement(), {**deny, "NotPrincipal": {"AWS": SESSION}})
    assert decide(listed_session, SESSION) is EXPLICIT
    listed_all = policy(statement(), {**deny, "NotPrincipal": {"AWS": [SESSION, role, ACCOUNT]}})
    assert decide(listed_all, SESSION) is ALLOW
    assert decide(listed_all, None) is EXPLICIT


# -- conditions -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("condition", "context"),
    [
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "not-an-ip"}),
        ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "not-an-ip"}),
        ({"NumericLessThan": {"aws:EpochTime": "10"}}, {"aws:EpochTime": "soon"}),
        ({"DateGreaterThan": {"aws:CurrentTime": "2026"}}, {"aws:CurrentTime": "today"}),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "yes"}),
        ({"StringEquals": {"rum:alias": "a"}}, {"rum:alias": ["a", "b"]}),
        ({"StringNotEquals": {"rum:alias": "a"}}, {"rum:alias": ["b"]}),
    ],
)
def test_undecidable_conditions_fail_closed(condition: dict[str, Any],
                                            context: dict[str, Any]) -> None:
    """An unreadable request value, or a multi-valued key under a plain operator: the Allow
    does not apply, the Deny does."""
    request = rp.Request(resource=MONITOR, context=context)
    allow = policy(statement(Condition=condition))
    assert rp.evaluate(allow, request).effect is IMPLICIT
    deny = policy(statement(), statement(Effect="Deny", Condition=condition))
    decision = rp.evaluate(deny, request)
    assert decision.effect is EXPLICIT
    assert decision.statements[1].conditions[0].result is None


def test_bool_values_ignore_case() -> None:
    p = policy(statement(Condition={"Bool": {"aws:SecureTransport": "True"}}))
    assert decide(p, aws__SecureTransport="TRUE") is ALLOW
    assert decide(p, aws__SecureTransport="false") is IMPLICIT


def test_bare_ipv6_address_is_a_slash_128() -> None:
    p = policy(statement(Condition={"IpAddress": {"aws:SourceIp": "2001:db8::1"}}))
    assert decide(p, aws__SourceIp="2001:db8::1") is ALLOW
    assert decide(p, aws__SourceIp="2001:db8::2") is IMPLICIT


def test_null_with_qualifiers_is_constant() -> None:
    for_all = policy(statement(Condition={"ForAllValues:Null": {"rum:alias": "false"}}))
    for_any = policy(statement(Condition={"ForAnyValue:Null": {"rum:alias": "true"}}))
    for alias in ({}, {"rum__alias": "v1"}):
        assert decide(for_all, **alias) is ALLOW
        assert decide(for_any, **alias) is IMPLICIT


def test_empty_value_array_follows_set_logic() -> None:
    plain = policy(statement(Condition={"StringEquals": {"rum:alias": []}}))
    if_exists = policy(statement(Condition={"StringEqualsIfExists": {"rum:alias": []}}))
    negated = policy(statement(Condition={"StringNotEquals": {"rum:alias": []}}))
    assert (decide(plain), decide(plain, rum__alias="v1")) == (IMPLICIT, IMPLICIT)
    assert (decide(if_exists), decide(if_exists, rum__alias="v1")) == (ALLOW, IMPLICIT)
    assert (decide(negated), decide(negated, rum__alias="v1")) == (ALLOW, ALLOW)


def test_substituted_variable_text_is_literal() -> None:
    p = policy(statement(Condition={"StringLike": {"rum:alias": "${aws:username}-*"}}))
    assert decide(p, USER, rum__alias="alice-1") is ALLOW
    # a `*` arriving through the context is not a wildcard
    sneaky = rp.Request(resource=MONITOR, principal=USER,
                        context={"aws:username": "*", "rum:alias": "bob-1"})
    assert rp.evaluate(p, sneaky).effect is IMPLICIT


def test_variable_without_single_value_uses_default_or_drops_the_value() -> None:
    p = policy(statement(Condition={"StringEquals": {"rum:alias": "${aws:PrincipalTag/team}"}}))
    assert decide(p, rum__alias="${aws:PrincipalTag/team}") is IMPLICIT
    with_default = policy(statement(Condition={
        "StringEquals": {"rum:alias": "${aws:PrincipalTag/team, 'web'}"}}))
    assert decide(with_default, rum__alias="web") is ALLOW
    multi = rp.Request(resource=MONITOR, context={"aws:PrincipalTag/team": ["a", "b"],
                                                  "rum:alias": "web"})
    assert rp.evaluate(with_default, multi).effect is ALLOW


def test_no_substitution_without_version_2012() -> None:
    for version in (None, "2008-10-17"):
        p = policy(statement(Condition={"StringEquals": {"rum:alias": "${aws:username}"}}),
                   version=version)
        assert decide(p, USER, rum__alias="${aws:username}") is ALLOW
        assert decide(p, USER, rum__alias="alice") is IMPLICIT


def test_derived_keys_are_filled_unless_given() -> None:
    p = policy(statement(Condition={"ArnLike": {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder"}}))
    assert decide(p, SESSION) is ALLOW  # a session's aws:PrincipalArn is its role
    given = rp.Request(resource=MONITOR, principal=SESSION,
                       context={"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/x"})
    assert rp.evaluate(p, given).effect is IMPLICIT
    anonymous = policy(statement(Condition={"StringEquals": {"aws:PrincipalAccount":
                                                             "anonymous"}}))
    assert decide(anonymous) is ALLOW


# -- matching -------------------------------------------------------------------------------

def test_resource_star_ending_a_segment_crosses_colons() -> None:
    assert decide(policy(statement(Resource="arn:aws:rum:us-east-1:*"))) is ALLOW
    assert decide(policy(statement(Resource="arn:aws:rum:*:123456789012:appmonitor/*"))) is ALLOW
    assert decide(policy(statement(Resource="arn:aws:rum:us-east-1:1234*9012:appmonitor/shop"))
                  ) is ALLOW
    assert decide(policy(statement(Resource=MONITOR.replace("shop", "SHOP")))) is IMPLICIT


def test_arn_operators_keep_segments_strict() -> None:
    p = policy(statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:*:111122223333:b/*"}}))
    assert decide(p, aws__SourceArn="arn:aws:s3:us-east-1:111122223333:b/x:y") is ALLOW
    assert decide(p, aws__SourceArn="arn:aws:s3:us-east-1:999:x:111122223333:b/x") is IMPLICIT
    star = policy(statement(Condition={"ArnLike": {"aws:SourceArn": "*"}}))
    assert decide(star, aws__SourceArn="arn:aws:s3:::bucket") is ALLOW


def test_action_question_mark_is_one_character() -> None:
    assert decide(policy(statement(Action="rum:PutRumEvent?"))) is ALLOW
    assert decide(policy(statement(Action="rum:PutRumEvent?s"))) is IMPLICIT


@pytest.mark.parametrize(("operator", "value"), [
    ("IpAddress", "not-an-ip"), ("NumericLessThan", "x"), ("DateGreaterThan", "soon"),
    ("Bool", "maybe"), ("Null", "maybe")])
@pytest.mark.parametrize(("effect", "expected"), [("Deny", rp.Effect.EXPLICIT_DENY),
                                                  ("Allow", rp.Effect.IMPLICIT_DENY)])
def test_a_condition_built_by_hand_with_a_value_the_loader_refuses_fails_closed(
        operator: str, value: str, effect: str, expected: rp.Effect) -> None:
    """The loader refuses such values; a Policy built from the public models can hold them.
    The condition is undecidable, so a Deny applies and an Allow does not (docs/semantics.md,
    Engine), in both evaluators: it was a TypeError (review)."""
    from rumpolicy.policy.models import Condition, Principals
    from rumpolicy.policy.operators import parse_operator

    statement = rp.Statement(effect=effect, principal=Principals(wildcard=True),
                             action=("rum:*",), resource=("*",), conditions=(
                                 Condition(parse_operator(operator), "aws:SourceIp", (value,)),))
    policy = rp.Policy(statements=(statement,), version="2012-10-17")
    request = rp.Request(resource="arn:aws:rum:us-east-1:123456789012:appmonitor/shop",
                         context={"aws:SourceIp": "1.2.3.4"})
    decided = rp.evaluate(policy, request)
    assert decided.effect is expected is rp.compile_policy(policy).evaluate(request).effect
    (trace,) = decided.statements[0].conditions
    assert (trace.result, trace.reason) == (None, "policy_value_unreadable")


@pytest.mark.parametrize(("account", "matches"), [("12345678901?", True), ("1234????9012", True),
                                                 ("????????????", True), ("1234?6789013", False)])
def test_a_question_mark_may_stand_for_any_digit_of_a_resource_account(
        account: str, matches: bool) -> None:
    """IAM allows `*` and `?` in every ARN segment but the service (aws-facts §5, Resource);
    only all-`?` accounts were accepted (review)."""
    policy = rp.load_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
        "Resource": f"arn:aws:rum:us-east-1:{account}:appmonitor/app"}]})
    request = rp.Request(resource="arn:aws:rum:us-east-1:123456789012:appmonitor/app")
    assert rp.evaluate(policy, request).allowed is matches


@pytest.mark.parametrize("kind", ["Service", "Federated", "CanonicalUser"])
def test_a_lone_star_under_another_principal_kind_says_how_to_write_everyone(kind: str) -> None:
    """It was told "a principal cannot contain a partial wildcard; use \\"*\\" alone", which it
    already is (review)."""
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {kind: "*"}, "Action": "rum:PutRumEvents",
            "Resource": "*"}]})
    [diagnostic] = raised.value.diagnostics
    assert (diagnostic.code, diagnostic.path) == (
        "invalid-principal", f"$.Statement[0].Principal.{kind}")
    assert diagnostic.message == (f"'*' is not a valid {kind} principal: for everyone write "
                                  '"Principal": "*" or {"AWS": "*"}')
