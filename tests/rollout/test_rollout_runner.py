"""Running rollout files: each expectation passes or fails, and a failure explains itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy import Effect, Request, evaluate, load_policy
from rumpolicy.analysis.rollout import Exemption, ExemptionKind, run_file
from rumpolicy.analysis.rollout.exemptions import with_exemptions
from rumpolicy.testing.strategies import policies, requests

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


def _policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return json.dumps(document, indent=2)


def _allow(aliases: list[str], operator: str = "StringEquals") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
            "Resource": MONITOR, "Condition": {operator: {"rum:alias": aliases}}}


@pytest.fixture
def write(tmp_path: Path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_passing_and_failing_decisions_with_the_decisions_explanation(write):
    write("policy.json", _policy(_allow(["v2"])))
    path = write("t.rollout", f'policy "policy.json"\nmonitor {MONITOR}\n'
                              'allow alias "v2"\n'
                              'allow alias "v1"\n'
                              'explicit deny alias "v1"\n'
                              'implicit deny alias "V2"\n')
    result = run_file(path)
    assert result.problems == ()
    passed = [o.passed for o in result.outcomes]
    assert passed == [True, False, False, True]
    wrong = result.outcomes[1]
    assert wrong.summary == "expected allow, got implicit_deny (no_matching_allow)"
    assert wrong.detail.startswith(
        'request: {"resource": "' + MONITOR + '", "principal": null, "context": '
        '{"rum:alias": "v1"}}\nDENY (implicit): User: anonymous is not authorized')
    assert "FAIL StringEquals rum:alias: request 'v1' vs ['v2']: no_value_matches" in wrong.detail
    assert result.outcomes[2].summary == \
        "expected explicit deny, got implicit_deny (no_matching_allow)"


def test_policy_none_and_policy_problems_point_at_the_policy_line(write):
    path = write("none.rollout", f"policy none\nmonitor {MONITOR}\nimplicit deny\n")
    assert [o.summary for o in run_file(path).outcomes] == [
        "implicit deny: got implicit_deny (no_policy)"]
    write("bad.json", '{"Statement": []}')
    path = write("bad.rollout", f'monitor {MONITOR}\n\npolicy "bad.json"\nallow\n'
                                'change from "missing.json"\nno change\n')
    result = run_file(path)
    assert result.outcomes == ()
    bad, missing = (p.format() for p in result.problems)
    assert bad.startswith(f'{path}:3:1: policy "bad.json" is not valid: bad.json:1:15: '
                          "no-statements: ")
    assert missing == (f'{path}:5:1: policy file "missing.json" not found (looked for '
                       f"{path.parent / 'missing.json'})")


def test_change_expectations_pass_and_fail_with_witnesses(write):
    write("old.json", _policy(_allow(["v1"])))
    write("new.json", _policy(_allow(["v1", "v2"])))
    path = write("t.rollout", f'policy "new.json"\nchange from "old.json"\nmonitor {MONITOR}\n'
                              "no new access\n"
                              'no new access except alias "v2"\n'
                              'no new access except alias matching "v*"\n'
                              'no new access except alias "V2" in any case\n'
                              'no new access except alias matching "w*"\n'
                              "no lost access\n"
                              "no change\n")
    outcomes = run_file(path).outcomes
    assert [o.passed for o in outcomes] == [False, True, True, True, False, True, False]
    newly = outcomes[0]
    assert newly.summary == "expected no new access, but 1 region grants access the old " \
                            "policy did not"
    assert "(implicit_deny -> allow)" in newly.detail
    assert '  witness: {"resource": "' + MONITOR in newly.detail
    assert "  before: implicit_deny (no_matching_allow)" in newly.detail
    assert "  now: ALLOW: allowed by statement 0 (Allow) of the resource policy" in newly.detail
    # The witness really is newly allowed (the diff re-checks it; so do we).
    witness = json.loads(newly.detail.split("witness: ", 1)[1].split("\n", 1)[0])
    request = Request.from_dict(witness)
    assert request.context["rum:alias"] == "v2"
    assert outcomes[1].summary == "no new access: holds (no decision differs outside the " \
                                  "exemptions)"
    assert outcomes[5].summary == "no lost access: holds (1 region differs, none of them this way)"
    assert outcomes[6].summary == "expected no change, but 1 region changes decision"


def test_no_lost_access_catches_the_root_user_losing_access(write):
    # The account root is allowed unless a Deny applies (IAM); a new Deny for everyone
    # therefore takes access away from it even though anonymous callers never had any.
    write("old.json", _policy(_allow(["v1"])))
    deny = {"Effect": "Deny", "Principal": "*", "Action": "rum:PutRumEvents",
            "Resource": MONITOR, "Condition": {"StringEquals": {"rum:alias": "old"}}}
    write("new.json", _policy(_allow(["v1"]), deny))
    path = write("t.rollout", f'policy "new.json"\nchange from "old.json"\nmonitor {MONITOR}\n'
                              "no lost access\n"
                              'no lost access except alias "old"\n'
                              "explicit deny principal arn:aws:iam::123456789012:root "
                              'alias "old"\n')
    first, second, third = run_file(path).outcomes
    assert not first.passed and "root user" in first.detail
    assert "before: allow (account_root)" in first.detail
    assert second.passed and third.passed


def test_an_unanalysed_diff_fails_the_expectation(write, monkeypatch):
    write("p.json", _policy(_allow(["v1"])))
    path = write("t.rollout", f'policy "p.json"\nchange from "p.json"\nmonitor {MONITOR}\n'
                              "no new access\n")
    assert run_file(path).outcomes[0].passed

    def partial(old, new, *, monitor=None, identity_policies=None):
        return SimpleNamespace(equivalent=False, changes=(),
                               not_analysed=("aws:referer: a pattern too complex",))

    monkeypatch.setitem(sys.modules, "rumpolicy.analysis.diff",
                        SimpleNamespace(diff_policies=partial))
    (outcome,) = run_file(path).outcomes
    assert not outcome.passed
    assert outcome.summary == "expected no new access, but the diff could not analyse everything"
    assert outcome.detail == "cannot be proven: the semantic diff could not analyse " \
                             "aws:referer: a pattern too complex"


def test_without_the_diff_a_change_expectation_fails_closed(write, monkeypatch):
    write("p.json", _policy(_allow(["v1"])))
    path = write("t.rollout", f'policy "p.json"\nchange from "p.json"\nmonitor {MONITOR}\n'
                              "no change\n")
    monkeypatch.setitem(sys.modules, "rumpolicy.analysis.diff", None)
    (outcome,) = run_file(path).outcomes
    assert not outcome.passed
    assert outcome.summary == "cannot check no change: the semantic diff is unavailable"


# -- exemptions -----------------------------------------------------------------------------

_EXEMPTIONS = st.lists(st.one_of(
    st.builds(Exemption, st.just(ExemptionKind.ALIAS_MATCHING),
              st.sampled_from(("v*", "canary-*", "a$b", "${x}", "?1"))),
    st.builds(Exemption, st.just(ExemptionKind.ALIAS_IS),
              st.sampled_from(("v1", "V1", "a*", "a$b", "${aws:username}"))),
    st.builds(Exemption, st.just(ExemptionKind.ALIAS_ANY_CASE), st.sampled_from(("v1", "A*"))),
    st.builds(Exemption, st.just(ExemptionKind.WITHOUT_ALIAS), st.none()),
    st.builds(Exemption, st.just(ExemptionKind.FROM_RANGE),
              st.sampled_from(("203.0.113.0/24", "2001:db8::/32"))),
), min_size=1, max_size=3)


def _exempt(exemption: Exemption, request: Request) -> bool | None:
    """Whether `request` is in the exemption's set, by its definition; None when the request
    carries a value the condition cannot read (then the Deny applies: fail closed). An empty
    value is read as a value and as an absent key, and counts where both agree."""

    for key in ("rum:alias", "aws:SourceIp"):
        if request.get(key) == "":
            absent = Request(resource=request.resource, action=request.action,
                             principal=request.principal,
                             context={k: v for k, v in request.context.items()
                                      if k.lower() != key.lower()})
            as_value, as_absent = _exempt_value(exemption, request), _exempt(exemption, absent)
            return as_value if as_value == as_absent else None
    return _exempt_value(exemption, request)


def _exempt_value(exemption: Exemption, request: Request) -> bool | None:
    import fnmatch
    import ipaddress

    alias = request.get("rum:alias")
    if exemption.kind is ExemptionKind.WITHOUT_ALIAS:
        return alias is None
    if exemption.kind is ExemptionKind.FROM_RANGE:
        address = request.get("aws:SourceIp")
        if address is None:
            return False
        if not isinstance(address, str):
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            return None  # two readings: undecidable
        return ip in ipaddress.ip_network(exemption.value or "")
    if alias is None:
        return False
    if not isinstance(alias, str):
        return None
    value = exemption.value or ""
    if exemption.kind is ExemptionKind.ALIAS_IS:
        return alias == value
    if exemption.kind is ExemptionKind.ALIAS_ANY_CASE:
        return alias.casefold() == value.casefold()
    return fnmatch.fnmatchcase(alias, value.replace("[", "[[]"))


@settings(max_examples=300, deadline=None)
@given(policies(), requests(), _EXEMPTIONS)
def test_exemptions_deny_exactly_their_requests_and_leave_the_rest_alone(policy, request,
                                                                          exemptions):
    # Outside every exemption the decision is the policy's own; inside one it is an explicit
    # deny in both policies, so the diff cannot report a change there.
    changed = with_exemptions(policy, tuple(exemptions))
    inside = [_exempt(e, request) for e in exemptions]
    decision = evaluate(changed, request)
    if any(inside):
        assert decision.effect is Effect.EXPLICIT_DENY
    elif all(i is False for i in inside):
        assert decision.effect is evaluate(policy, request).effect


def test_exemption_values_are_literal_text_under_version_2012():
    for version in ("2012-10-17", None):
        policy = load_policy(_policy(_allow(["x"]), version=version))
        exempted = with_exemptions(policy, (Exemption(ExemptionKind.ALIAS_IS, "a${x}"),))
        asks = Request(resource=MONITOR, context={"rum:alias": "a${x}"})
        assert evaluate(exempted, asks).effect is Effect.EXPLICIT_DENY
        assert evaluate(exempted, Request(resource=MONITOR, context={"rum:alias": "a"})
                        ).effect is Effect.IMPLICIT_DENY


def test_no_policy_with_exemptions_decides_like_no_policy_elsewhere():
    exempted = with_exemptions(None, (Exemption(ExemptionKind.WITHOUT_ALIAS, None),))
    assert exempted is not None
    root = Request(resource=MONITOR, principal="arn:aws:iam::123456789012:root",
                   context={"rum:alias": "v1"})
    anonymous = Request(resource=MONITOR, context={"rum:alias": "v1"})
    for request in (root, anonymous):
        assert evaluate(exempted, request).effect is evaluate(None, request).effect
    assert with_exemptions(None, ()) is None
