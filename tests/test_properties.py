"""Hypothesis properties of the loader and the engine (IAM's algebra, checked on many inputs)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.testing.strategies import (
    policies,
    policy_documents,
    requests,
    statements,
)

_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(policies(), st.lists(requests(), min_size=1, max_size=8),
       st.lists(policies(identity=True), max_size=2))
def test_compiled_equals_interpreted(policy, reqs, identities):
    compiled = rp.compile_policy(policy)
    for request in reqs * 2:  # the second pass is answered from the memo
        expected = rp.evaluate(policy, request, identity_policies=identities)
        assert compiled.evaluate(request, identity_policies=identities) == expected
        assert compiled.evaluate(request) == rp.evaluate(policy, request)


@_SETTINGS
@given(policies(), requests(), st.randoms(use_true_random=False))
def test_key_name_case_never_changes_a_decision(policy, request, rnd: random.Random):
    """IAM condition key names are case-insensitive (IAM Condition element page)."""
    def recase(key: str) -> str:
        return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in key)

    shuffled = rp.Request(resource=request.resource, action=request.action,
                          principal=request.principal,
                          context={recase(k): v for k, v in request.context.items()})
    assert rp.evaluate(policy, shuffled) == rp.evaluate(policy, request)


@_SETTINGS
@given(policy_documents(), statements(effect="Deny"), requests())
def test_adding_a_deny_never_turns_a_deny_into_an_allow(doc, deny, request):
    """Explicit deny overrides any allow (IAM policy evaluation logic)."""
    before = rp.evaluate(rp.load_policy(doc), request)
    widened = {**doc, "Statement": [*doc["Statement"], deny]}
    after = rp.evaluate(rp.load_policy(widened), request)
    if not before.allowed:
        assert not after.allowed
    if after.statements[-1].applies:
        assert after.effect is rp.Effect.EXPLICIT_DENY


@_SETTINGS
@given(policy_documents(), statements(effect="Allow"), requests())
def test_adding_an_allow_never_turns_an_allow_into_a_deny(doc, allow, request):
    before = rp.evaluate(rp.load_policy(doc), request)
    widened = {**doc, "Statement": [*doc["Statement"], allow]}
    if before.allowed:
        assert rp.evaluate(rp.load_policy(widened), request).allowed


@_SETTINGS
@given(policies())
def test_round_trip(policy):
    again = rp.load_policy(policy.to_json())
    assert again == policy
    assert again.to_json() == policy.to_json()


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_loader_raises_only_policy_error_on_any_text(text):
    try:
        rp.load_policy(text)
    except rp.PolicyError as err:
        assert err.diagnostics
        for d in err.diagnostics:
            assert d.line >= 1 and d.column >= 1 and d.code and d.message


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["Allow", "Deny", "*", "rum:PutRumEvents", "2012-10-17",
                       "arn:aws:rum:us-east-1:123456789012:appmonitor/x", "StringEquals"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["Version", "Statement", "Effect", "Action", "NotAction", "Resource",
                         "Principal", "AWS", "Condition", "StringLike", "rum:alias", "Sid",
                         "IpAddress", "aws:SourceIp", "x"]), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(_json_values)
def test_loader_raises_only_policy_error_on_any_json(value):
    try:
        rp.load_policy(json.dumps(value))
    except rp.PolicyError as err:
        assert err.diagnostics


@_SETTINGS
@given(policy_documents(), st.data())
def test_loader_survives_any_corruption_of_a_valid_policy(doc, data):
    text = json.dumps(doc, indent=1)
    position = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.text(max_size=3))
    cut = data.draw(st.integers(0, 2))
    try:
        rp.load_policy(text[:position] + junk + text[position + cut:])
    except rp.PolicyError as err:
        assert err.diagnostics


@_SETTINGS
@given(policies(), requests(), st.lists(policies(identity=True), max_size=2))
def test_outcome_is_the_effect_and_reason_of_decide(policy, request, identities):
    """`combine.outcome` (the verdict without its message, used by the audit's probes) must be
    what `decide` answers, for every caller, policy and identity policy combination."""
    from rumpolicy.engine.combine import decide, outcome

    decision = rp.evaluate(policy, request, identity_policies=identities)
    resource = decision.statements[:len(policy.statements)]
    identity = decision.statements[len(policy.statements):]
    assert outcome(request.caller, request.resource, resource, identity, True) == \
        (decision.effect, decision.reason)
    assert decide(request, resource, identity, True) == decision
    without = decide(request, (), identity, False)
    assert outcome(request.caller, request.resource, (), identity, False) == \
        (without.effect, without.reason)


def _with(request: rp.Request, key: str, value: str | None) -> rp.Request:
    context = {k: v for k, v in request.context.items() if k.lower() != key}
    if value is not None:
        context[key] = value
    return rp.Request(resource=request.resource, action=request.action,
                      principal=request.principal, context=context)


def _never_grants_more(doubtful: rp.Request, reading: rp.Request, policy: rp.Policy) -> None:
    """A value with two readings, decided only where they agree, is allowed only if this
    reading is, and denied outright whenever this reading is (docs/semantics.md)."""
    doubt, plain = rp.evaluate(policy, doubtful).effect, rp.evaluate(policy, reading).effect
    if doubt is rp.Effect.ALLOW:
        assert plain is rp.Effect.ALLOW
    if plain is rp.Effect.EXPLICIT_DENY:
        assert doubt is rp.Effect.EXPLICIT_DENY


@_SETTINGS
@given(policies(), requests())
def test_an_empty_value_never_grants_more_than_an_absent_key(policy, request):
    for key in rp.compile_policy(policy).keys_read:
        absent = _with(request, key, None)
        if absent.get(key) is None:  # not a key the engine derives
            _never_grants_more(_with(request, key, ""), absent, policy)


@_SETTINGS
@given(policies(), requests(), st.integers(0, 2**32 - 1))
def test_a_mapped_address_never_grants_more_than_its_ipv4_address(policy, request, number):
    import ipaddress
    address = str(ipaddress.IPv4Address(number))
    _never_grants_more(_with(request, "aws:sourceip", f"::ffff:{address}"),
                       _with(request, "aws:sourceip", address), policy)


@given(st.text(), st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\x80"]), st.binary())
def test_byte_position_names_where_text_stops_being_utf8(before, bad, after):
    """The line and column an editor shows for the first byte that is not UTF-8 (bytes that
    never start a character, after any text): lines end at a newline, columns count
    characters."""
    from rumpolicy.policy.diagnostics import byte_position

    data = before.encode() + bad + after
    with pytest.raises(UnicodeDecodeError) as caught:
        data.decode("utf-8")
    assert caught.value.start == len(before.encode())
    assert byte_position(data, caught.value.start) == (
        before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
