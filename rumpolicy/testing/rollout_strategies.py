"""Hypothesis strategies for property-testing *your* app monitor's policy during a rollout.

`rumpolicy.testing.strategies` draws from a fixed pool (monitors `shop` and `blog`); these
strategies draw requests to the monitor you name, with the aliases you roll out and the near
misses that break policies (another case, a prefix, a suffix, no alias at all):

    from hypothesis import given
    from rumpolicy import evaluate
    from rumpolicy.testing.rollout_strategies import requests_to

    @given(requests_to(MONITOR, aliases=["shop-v1", "shop-v2"]))
    def test_nothing_without_an_alias_gets_in(request):
        if request.get("rum:alias") is None:
            assert not evaluate(policy, request).allowed
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from rumpolicy.engine.request import Request
from rumpolicy.policy.arns import split_arn

_OUTSIDE = ("192.0.2.1", "198.51.100.7", "2001:db8:ffff::1", "10.0.0.1")


def alias_variants(aliases: Sequence[str]) -> st.SearchStrategy[str | None]:
    """One of `aliases`, a near miss of one (case changed, cut short, extended), another
    alias, or None for a request without an alias."""
    base = list(aliases) or ["alias1"]
    near = st.sampled_from(base).flatmap(lambda a: st.sampled_from(
        [a.upper(), a.lower(), a.swapcase(), a[:-1] or "x", a + "-2", "x" + a, a + " "]))
    return st.one_of(st.sampled_from(base), near, st.none(),
                     st.text(min_size=1, max_size=20))


def addresses(networks: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """An address inside one of `networks` (CIDR strings) or a few well outside them."""
    inside = [_hosts(ipaddress.ip_network(n, strict=False)) for n in networks]
    return st.one_of(*inside, st.sampled_from(_OUTSIDE))


def _hosts(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[str]:
    first = network.network_address
    return st.integers(0, network.num_addresses - 1).map(lambda i: str(first + i))


def callers(monitor: str) -> st.SearchStrategy[str | None]:
    """Anonymous (None), principals of the monitor's account, and of another account."""
    arn = split_arn(monitor)
    account = arn.account if arn and arn.account else "123456789012"
    other = "999999999999" if account != "999999999999" else "111122223333"
    return st.sampled_from((
        None, f"arn:aws:iam::{account}:root", f"arn:aws:iam::{account}:user/alice",
        f"arn:aws:iam::{account}:role/rum-forwarder",
        f"arn:aws:sts::{account}:assumed-role/rum-forwarder/session-1",
        f"arn:aws:iam::{other}:user/mallory"))


@st.composite
def requests_to(draw: st.DrawFn, monitor: str, *, aliases: Sequence[str] = (),
                networks: Sequence[str] = (), anonymous_only: bool = False) -> Request:
    """A PutRumEvents request to `monitor` with realistic context: an alias (or a near miss,
    or none), an address (`networks` and outside), usually `aws:SecureTransport` true, and
    sometimes a time."""
    context: dict[str, str] = {}
    alias = draw(alias_variants(aliases))
    if alias is not None:
        context["rum:alias"] = alias
    if draw(st.integers(0, 9)):
        context["aws:SourceIp"] = draw(addresses(networks))
    if draw(st.integers(0, 9)):
        context["aws:SecureTransport"] = "true" if draw(st.integers(0, 5)) else "false"
    if draw(st.booleans()):
        day, second = draw(st.integers(1, 28)), draw(st.integers(0, 86_399))
        context["aws:CurrentTime"] = (f"2026-12-{day:02d}T{second // 3600:02d}:"
                                      f"{second // 60 % 60:02d}:{second % 60:02d}Z")
    principal = None if anonymous_only else draw(callers(monitor))
    return Request(resource=monitor, principal=principal, context=context)


def decision_log_line(request: Request, n: int, effect: str = "allow") -> str:
    """`request` as one line of the gate's decision log (docs/decision-log.md), record `n`."""
    record: dict[str, Any] = {
        "v": 1, "time": f"2026-11-26T10:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z",
        "request_id": f"{n:032x}", "monitor_id": "0d4e", "monitor": "shop",
        "request": request.to_dict(), "effect": effect, "reason": "recorded", "status": 200}
    return json.dumps(record)
