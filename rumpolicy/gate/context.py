"""The request context of a PutRumEvents call: what IAM knows about it when it decides.

The transport (HTTP, or a Python caller) describes the call as an `Origin`; `build_request` turns
it into the engine's `Request` with the keys AWS documents for PutRumEvents (aws-facts.md, section
7). A key is left out when AWS would leave it out: `rum:alias` without an `Alias`, `aws:referer`
without a Referer header, `aws:SourceIp` when the peer address is unknown.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from rumpolicy.engine import PUT_RUM_EVENTS, Request

if TYPE_CHECKING:
    from rumpolicy.policy import Policy


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed caller, as the credentials table names it."""

    principal: str
    """The IAM or STS ARN the access key belongs to."""
    identity_policies: tuple[Policy, ...] = ()
    access_key: str = ""


@dataclass(frozen=True, slots=True)
class Origin:
    """What the transport knows about one call. The defaults describe an unsigned local caller."""

    source_ip: str | None = "127.0.0.1"
    secure_transport: bool = False
    user_agent: str | None = None
    referer: str | None = None
    identity: Identity | None = None
    """None: an unsigned (anonymous) call."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """More context keys, for embedders whose transport knows more (aws:SourceVpce, ...)."""


def iso_time(epoch: float) -> str:
    """aws:CurrentTime's form: ISO 8601 in UTC, whole seconds."""
    return _iso_second(int(epoch))


@lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    """Calls arrive thousands a second; the clock moves once a second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def build_request(*, resource: str, alias: str | None, origin: Origin, now: float,
                  region: str, resource_tags: Mapping[str, str] | None = None) -> Request:
    """`resource_tags` are the monitor's tags as `aws:ResourceTag/<key>` context keys."""
    second = int(now)
    context: dict[str, str | Sequence[str]] = {
        **(resource_tags or {}),
        **origin.extra,
        "aws:SecureTransport": "true" if origin.secure_transport else "false",
        "aws:CurrentTime": _iso_second(second),
        "aws:EpochTime": str(second),
        "aws:RequestedRegion": region,
        "aws:ViaAWSService": "false",
    }
    if origin.source_ip is not None:
        context["aws:SourceIp"] = origin.source_ip
    if origin.user_agent is not None:
        context["aws:UserAgent"] = origin.user_agent
    if origin.referer is not None:
        context["aws:referer"] = origin.referer
    if alias is not None:
        context["rum:alias"] = alias
    principal = origin.identity.principal if origin.identity is not None else None
    return Request(resource=resource, action=PUT_RUM_EVENTS, principal=principal,
                   context=context)


def client_address(peer: str | None, forwarded_for: str | None, *, trust_forwarded: bool
                   ) -> str | None:
    """aws:SourceIp: the peer's address, or, behind a trusted proxy, the last address the proxy
    appended to X-Forwarded-For (earlier entries are whatever the client claimed). An entry that
    is not an IP address is ignored and the peer's address used. Both are transport addresses:
    an IPv4-mapped one is unmapped."""
    if trust_forwarded and forwarded_for:
        candidate = _transport_address(forwarded_for.rsplit(",", 1)[-1].strip())
        if candidate is not None:
            return candidate
    return peer if peer is None else (_transport_address(peer) or peer)


def _transport_address(text: str) -> str | None:
    """The address as text; an IPv4 client seen through a dual-stack socket (`::ffff:a.b.c.d`)
    is its IPv4 address, as AWS sees it (the engine finds a mapped address undecidable)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)
