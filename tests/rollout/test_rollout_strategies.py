"""The rollout strategies draw what they promise, and serve the property tests they exist for."""

from __future__ import annotations

import io
import ipaddress
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy import Effect, Request, evaluate, load_policy
from rumpolicy.analysis.replay import Replayer
from rumpolicy.testing import rollout_strategies
from rumpolicy.testing.rollout_strategies import (
    addresses,
    alias_variants,
    decision_log_line,
    requests_to,
)

GREEN = load_policy((Path(__file__).resolve().parents[2] / "fixtures" / "rollouts" /
                     "blue-green" / "shop-green.json").read_text())
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


@settings(max_examples=200)
@given(requests_to(MONITOR, aliases=["shop-v1", "shop-v2"], networks=["203.0.113.0/24"]))
def test_green_lets_in_anonymous_callers_only_with_the_exact_green_alias(request):
    # The example the module docstring promises: StringEquals is exact and case-sensitive.
    decision = evaluate(GREEN, request)
    if request.principal is None:
        assert decision.allowed == (request.get("rum:alias") == "shop-v2")
    assert request.resource == MONITOR


@given(alias_variants(["Shop-V2"]))
def test_alias_variants_include_absent_and_near_misses(alias):
    assert alias is None or (isinstance(alias, str) and alias)


def test_alias_variants_reach_the_near_misses():
    seen: set[str | None] = set()

    @settings(max_examples=300)
    @given(alias_variants(["Shop-V2"]))
    def collect(alias):
        seen.add(alias)

    collect()
    assert {None, "Shop-V2", "SHOP-V2", "shop-v2"} <= seen


_NETWORKS = ["203.0.113.0/30", "2001:db8::/126"]


@given(addresses(_NETWORKS))
def test_addresses_are_inside_the_networks_or_outside_all(address):
    parsed = ipaddress.ip_address(address)
    inside = [n for n in map(ipaddress.ip_network, _NETWORKS) if parsed in n]
    assert len(inside) == 1 or address in rollout_strategies._OUTSIDE
    assert not (inside and address in rollout_strategies._OUTSIDE)


@settings(max_examples=50, deadline=None)
@given(st.lists(requests_to(MONITOR, aliases=["shop-v2"]), min_size=1, max_size=20))
def test_decision_log_lines_replay_to_their_requests(requests):
    log = "\n".join(decision_log_line(r, n) for n, r in enumerate(requests))
    assert Request.from_dict(json.loads(log.splitlines()[0])["request"]) == requests[0]
    replayer = Replayer(GREEN)
    replayer.replay("log", io.BytesIO(log.encode()))
    allowed = sum(n for (_, effect, *_), n in replayer.counts.items() if effect is Effect.ALLOW)
    assert allowed == sum(evaluate(GREEN, r).allowed for r in requests)
    assert replayer.records == len(requests) and replayer.bad == 0
