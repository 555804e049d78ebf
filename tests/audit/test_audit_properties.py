"""Properties of the audit and of the probe machinery behind its engine-backed checks."""

from __future__ import annotations

import itertools
import json
import os
import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.analysis.audit import CATALOGUE, audit_text
from rumpolicy.analysis.audit.probes import Assignment, Probes
from rumpolicy.analysis.audit.space import account_of
from rumpolicy.testing.strategies import (
    conditions,
    monitor_arn,
    policies,
    policy_documents,
    requests,
)

from ._helpers import keeping

_SETTINGS = settings(max_examples=int(os.environ.get("RUMPOLICY_AUDIT_EXAMPLES", "150")),
                     deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.one_of(st.text(max_size=300), policy_documents().map(json.dumps),
                 policy_documents().map(lambda d: json.dumps(d)[:-3])),
       st.sampled_from((None, monitor_arn("shop"), monitor_arn("blog", "999999999999"))))
def test_audit_never_raises_and_findings_point_into_the_text(text, monitor):
    """Any text gets findings, never an exception; each finding names a real place."""
    lines = text.split("\n")
    for finding in audit_text(text, "p.json", monitor):
        assert finding.id in CATALOGUE
        assert 1 <= finding.line <= len(lines)
        assert finding.snippet == lines[finding.line - 1].rstrip("\r")



@_SETTINGS
@given(policies(), st.data())
def test_leaving_traces_out_is_evaluating_the_policy_without_the_statements(policy, data):
    """The redundancy check's "decision without these statements" equals the engine's decision
    on the policy without them (IAM judges statements independently)."""
    probes = Probes(policy)
    for probe in probes.decided[:12]:
        keep = data.draw(st.integers(0, probes.all_bits))
        smaller = keeping(policy, keep)
        expected = rp.evaluate(smaller, probe.request).effect
        assert Probes.restricted(probe, keep).effect is expected


@_SETTINGS
@given(policies())
def test_truth_table_predicts_the_engine_and_signatures_decide_alike(policy):
    """On every probe of the space, the predicted applying statements are the engine's, and
    probes with one signature get one decision (what lets the audit ask once per signature)."""
    probes = Probes(policy)
    assume(probes.exact and probes.size <= 600)
    by_signature: dict[tuple[object, ...], rp.Effect] = {}
    dims = [range(len(probes.callers)), range(len(probes.resources)),
            *(range(len(k.values)) for k in probes.keys)]
    for c, r, *options in itertools.product(*dims):
        assignment = Assignment(c, r, tuple(options))
        probe = probes.evaluate(assignment)
        assert probe.applying == probes.predict(assignment)
        signature = (probes.caller_class(c, r), probe.applying)
        assert by_signature.setdefault(signature, probe.decision.effect) is probe.decision.effect
    assert probes.consistent


@_SETTINGS
@given(policy_documents(), st.data())
def test_a_duplicated_statement_is_reported_redundant(doc, data):
    """Copying a statement never changes a decision, so the copy is redundant (unless the
    audit already reports it as broken)."""
    index = data.draw(st.integers(0, len(doc["Statement"]) - 1))
    doc = {**doc, "Statement": [*doc["Statement"], doc["Statement"][index]]}
    text = json.dumps(doc, indent=2)
    assume(len(text.encode()) <= 4096)  # the copy may push it past RUM's 4 KB limit
    policy = rp.load_policy(text)
    assume(Probes(policy).exact)
    copy = policy.statements[-1]
    where = policy.locate(copy.path)
    findings = audit_text(text, "p.json")
    reported = {(f.id, f.line) for f in findings}
    start = where.line
    broken = any(f.severity.value == "error" and f.line >= start for f in findings)
    assert ("redundant-statement", start) in reported or broken


_MONITOR_NAME = re.compile(r"(?!\.)[.\-_#A-Za-z0-9]{1,255}")


def _realistic(policy: rp.Policy, request: rp.Request) -> bool:
    """Requests as the gate builds them: PutRumEvents to a monitor whose name RUM allows, in
    the account of the monitor the policy is attached to (the one the audit takes it for: a
    request to another account's monitor never meets this policy), one readable value per
    single-valued key."""
    if request.action != rp.PUT_RUM_EVENTS:
        return False
    if request.resource.split(":")[4:5] != [account_of(policy, None)]:
        return False
    if not _MONITOR_NAME.fullmatch(request.resource.rpartition("appmonitor/")[2]):
        return False
    for key, value in request.context.items():
        if key.lower() != "aws:tagkeys" and not isinstance(value, str):
            return False
        if value in ("not-an-ip", "yesterday", "maybe"):
            return False
        if request.principal is None and _is_caller_key(key):
            return False  # the gate gives an anonymous call no caller keys of its own choosing
    return True


def _is_caller_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in ("aws:username", "aws:userid") or lowered.startswith("aws:principal")


_OTHER_ACCOUNTS_ONLY = rp.load_policy({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
     "NotResource": "arn:aws:rum:us-east-1:123456789012:*"}]})
"""Applies only to monitors of other accounts than its own: redundant where it is attached."""


@_SETTINGS
@given(policies(), st.lists(requests(), min_size=1, max_size=10))
@example(_OTHER_ACCOUNTS_ONLY, [rp.Request(
    resource="arn:aws:rum:us-east-1:999999999999:appmonitor/shop")])
def test_a_reported_redundant_statement_changes_no_sampled_decision(policy, reqs):
    """Probe-based, so not a proof; but hypothesis's requests find no decision that the
    reported statements, all left out together, change."""
    text = policy.to_json()
    policy = rp.load_policy(text)
    findings = audit_text(text, "p.json")
    lines = {f.line for f in findings if f.id == "redundant-statement"}
    keep = sum(1 << i for i, s in enumerate(policy.statements)
               if policy.locate(s.path).line not in lines)
    smaller = keeping(policy, keep)
    for request in (r for r in reqs if _realistic(policy, r)):
        assert rp.evaluate(smaller, request).effect is rp.evaluate(policy, request).effect


@st.composite
def _public_allow_and_alias_less_requests(draw: st.DrawFn) -> tuple[rp.Policy, list[rp.Request]]:
    """A policy with a public Allow for the "shop" monitor under drawn conditions, and
    anonymous requests to it without an Alias."""
    doc = draw(policy_documents())
    allow = {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
             "Resource": monitor_arn("shop"), "Condition": draw(conditions())}
    doc = {**doc, "Statement": [*doc["Statement"], allow]}
    reqs = []
    for request in draw(st.lists(requests(), min_size=1, max_size=8)):
        context = {k: v for k, v in request.context.items() if k.lower() != "rum:alias"}
        reqs.append(rp.Request(resource=monitor_arn("shop"), context=context))
    return rp.load_policy(doc), reqs


@_SETTINGS
@given(_public_allow_and_alias_less_requests())
def test_an_alias_less_request_let_in_by_an_alias_condition_is_reported(case):
    """If the engine allows an anonymous request with no Alias through an Allow that tests
    rum:alias, the audit reports alias-allows-missing (its probe search finds such requests)."""
    policy, reqs = case

    def tests_alias(statement: rp.Statement) -> bool:
        return any(c.key.lower() == "rum:alias" and c.operator.base.name != "Null"
                   for c in statement.conditions)

    for request in (r for r in reqs if _realistic(policy, r)):
        decision = rp.evaluate(policy, request)
        if decision.allowed and any(t.applies and t.effect == "Allow"
                                    and tests_alias(policy.statements[t.index])
                                    for t in decision.statements):
            ids = {f.id for f in audit_text(policy.to_json(), "p.json")}
            assert "alias-allows-missing" in ids, decision.explain()
            return
