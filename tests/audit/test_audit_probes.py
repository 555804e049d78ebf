"""The probe space's shortcuts give the engine's own answers.

The audit no longer asks `rumpolicy.evaluate` about every probe: it judges each statement part
once per option, puts traces together from those judgments, asks IAM's combination step once per
signature, and skips searches the truth table shows empty. Each shortcut is checked here against
the engine itself, on hypothesis-generated policies (policy variables included, where the space
falls back to whole evaluations).
"""

from __future__ import annotations

import gc
import ipaddress
import itertools
import os
import weakref

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.analysis.audit.networks import read_range
from rumpolicy.analysis.audit.parts import PolicyParts
from rumpolicy.analysis.audit.probes import Assignment, Probes
from rumpolicy.policy.values import read_network
from rumpolicy.testing.strategies import monitor_arn, policies, requests

from ._helpers import keeping

_SETTINGS = settings(max_examples=int(os.environ.get("RUMPOLICY_AUDIT_EXAMPLES", "150")),
                     deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _space(probes: Probes) -> list[Assignment]:
    dims = [range(len(probes.callers)), range(len(probes.resources)),
            *(range(len(k.values)) for k in probes.keys)]
    return [Assignment(c, r, tuple(options)) for c, r, *options in itertools.product(*dims)]


def _applying(decision: rp.Decision) -> int:
    return sum(1 << t.index for t in decision.statements if t.applies)



@_SETTINGS
@given(policies(), st.data())
def test_every_probe_is_decided_as_the_engine_decides_its_request(policy, data):
    """Traces put together from the table's part judgments, the table's prediction of which
    statements apply, the decision IAM's combination takes on them and the verdict shared per
    signature: all equal `rumpolicy.evaluate` on the probe's full request."""
    probes = Probes(policy)
    space = _space(probes)
    assume(len(space) <= 400)
    for assignment in data.draw(st.lists(st.sampled_from(space), max_size=25)):
        expected = rp.evaluate(policy, probes.request(assignment))
        probe = probes.evaluate(assignment)
        assert probe.decision == expected
        assert probe.traces == expected.statements
        assert probe.applying == _applying(expected)
        if probes.static:
            assert probes.predict(assignment) == _applying(expected)
        assert probes.verdict(probe) == (expected.effect, expected.reason)
        keep = data.draw(st.integers(0, probes.all_bits))
        smaller = rp.evaluate(keeping(policy, keep), probe.request)
        assert probes.restricted_effect(probe, keep) is smaller.effect
        assert Probes.restricted(probe, keep).effect is smaller.effect
    assert probes.consistent or not probes.static


@_SETTINGS
@given(policies(), requests())
def test_statement_parts_decide_any_request_as_the_engine(policy, request):
    """The per-part answers serve requests outside the probe space too (the cross-account and
    --monitor checks ask about such requests)."""
    parts = PolicyParts(policy)
    assert parts.evaluate(request) == rp.evaluate(policy, request)
    assert parts.evaluate(request) == rp.evaluate(policy, request)  # from the remembered parts


@_SETTINGS
@given(policies(), st.data())
def test_overridden_probes_apply_and_are_decided_as_the_engine_says(policy, data):
    """`applying_with`/`verdict_with`, which judge a value the table never held part by part
    (the alias evasion search), agree with evaluating the overridden request."""
    probes = Probes(policy)
    assume(probes.keys)
    space = _space(probes)
    assume(len(space) <= 400)
    assignment = data.draw(st.sampled_from(space))
    key = data.draw(st.sampled_from(probes.keys))
    value = data.draw(st.one_of(st.none(), st.sampled_from([v for v in key.values if v]
                                                            or ["x"]),
                                st.text(min_size=1, max_size=12)))
    override = {key.lookup: value}
    expected = rp.evaluate(policy, probes.request(assignment, override))
    applying = probes.applying_with(assignment, override)
    if applying is not None:
        assert applying == _applying(expected)
    assert probes.verdict_with(assignment, override) == (expected.effect, expected.reason)
    assert probes.evaluate_with(assignment, override) == expected
    bits = data.draw(st.integers(0, probes.all_bits))
    if _applying(expected) & bits:
        assert probes.may_apply(assignment, override, bits)


@_SETTINGS
@given(policies(), st.data())
def test_reachable_is_every_statement_some_probe_of_the_region_applies_to(policy, data):
    """A search is skipped only when no probe of its region has the statement applying."""
    probes = Probes(policy)
    assume(probes.static)
    space = _space(probes)
    assume(len(space) <= 400)
    callers = data.draw(st.one_of(st.none(), st.lists(
        st.integers(0, len(probes.callers) - 1), min_size=1, max_size=2, unique=True)))
    fixed: dict[int, list[int]] = {}
    for k, key in enumerate(probes.keys):
        if data.draw(st.booleans()):
            fixed[k] = data.draw(st.lists(st.integers(0, len(key.values) - 1), min_size=1,
                                          max_size=2, unique=True))
    expected = 0
    for assignment in space:
        if (callers is None or assignment.caller in callers) and all(
                assignment.options[k] in allowed for k, allowed in fixed.items()):
            expected |= probes.predict(assignment)
    assert probes.reachable(probes.all_bits, callers=callers, fixed=fixed) == expected


def test_a_released_space_frees_its_probes():
    policy = rp.load_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
         "Resource": monitor_arn("shop"), "Condition": {"StringEquals": {"rum:alias": "a"}}}]})
    probes = Probes(policy)
    assert probes.decided
    probes.release()
    assert probes.evaluated() == ()
    space = weakref.ref(probes)
    gc.disable()  # freed by reference counting alone, not by the cycle collector
    try:
        del probes
        assert space() is None
    finally:
        gc.enable()


_OCTET = st.one_of(st.integers(0, 300).map(str),
                   st.sampled_from(("00", "01", "007", "1a", "", "\u0661", "1\u0662")))


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.tuples(_OCTET, _OCTET, _OCTET, _OCTET,
              st.one_of(st.none(), st.integers(0, 40).map(str),
                        st.sampled_from(("08", "024", "032", "255.255.255.0", "")))).map(
        lambda t: ".".join(t[:4]) + ("" if t[4] is None else "/" + t[4])),
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).flatmap(lambda a: st.integers(0, 130).map(lambda n: f"{a}/{n}")),
    st.text(max_size=20)))
def test_the_range_reader_reads_what_the_loader_reads(text):
    """`read_range` (a fast path for dotted IPv4) accepts and reads exactly as
    `read_network`: the same network, prefix, whether host bits were set, and the address the
    probe space takes inside it."""
    network = read_network(text)
    found = read_range(text)
    if network is None:
        assert found is None
        return
    assert found is not None
    assert (found.version, found.network, found.prefix) == (
        network.version, int(network.network_address), network.prefixlen)
    try:
        same = ipaddress.ip_address(text.partition("/")[0]) == network.network_address
    except ValueError:
        same = False
    assert found.host_bits is not same
    first = network.network_address + (1 if network.num_addresses > 2 else 0)
    assert found.first_host() == str(first)
    ten = read_range("10.0.0.0/8")
    assert ten is not None
    if isinstance(network, ipaddress.IPv4Network):
        assert found.within(ten) is network.subnet_of(ipaddress.IPv4Network("10.0.0.0/8"))


def test_an_anonymous_callers_derived_aws_userid_is_not_a_probe_choice():
    """The engine derives aws:userid = anonymous for every unsigned caller (IAM's principal-key
    table), so a Deny on it shuts anonymous callers out: probes must not give them another."""
    import json

    from rumpolicy.analysis.audit import audit_text

    allow = {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
             "Resource": monitor_arn("shop")}
    deny = {**allow, "Effect": "Deny",
            "Condition": {"StringEquals": {"aws:userid": "anonymous"}}}

    def found(*statements: dict[str, object]) -> list[str]:
        text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        return [f.id for f in audit_text(text, "p.json")]

    assert "public-ingestion" in found(allow)
    assert "public-ingestion" not in found(allow, deny)
