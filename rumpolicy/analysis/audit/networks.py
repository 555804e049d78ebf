"""IP ranges as the audit reads them: version, network and prefix as integers.

The probe space (an address inside each range, one outside all) and the IP checks (private
ranges, host bits) read every range of a policy; `ipaddress` objects cost several microseconds
each to build and compare. Dotted IPv4 CIDRs, by far the most common, are read by hand, and
everything else through `rumpolicy.policy.values.read_network`, so what is accepted and how it
is read are exactly the loader's and the engine's (a property test compares the two readers).
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from rumpolicy.policy.values import read_network

_IPV4_CIDR = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?:/([0-9]{1,2}))?")


class Range(NamedTuple):
    """A CIDR block (a bare address is a /32 or /128); host bits are dropped, as IAM does."""

    version: int
    network: int
    """The network address as an integer."""
    prefix: int
    host_bits: bool
    """Whether the text had bits set after the prefix (203.0.113.7/24)."""

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    def contains(self, version: int, address: int) -> bool:
        shift = self.bits - self.prefix
        return version == self.version and address >> shift == self.network >> shift

    def within(self, other: Range) -> bool:
        """Whether this block lies inside `other` (`ipaddress`' `subnet_of`)."""
        return (self.version == other.version and self.prefix >= other.prefix
                and other.contains(self.version, self.network))

    def first_host(self) -> str:
        """The first address of the block, or the second when it holds more than two (the
        network address itself is rarely a caller's)."""
        address = self.network + (1 if self.bits - self.prefix > 1 else 0)
        if self.version == 6:
            return str(ipaddress.IPv6Address(address))
        return f"{address >> 24}.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}"


def read_range(text: str) -> Range | None:
    """`text` as `read_network` reads it, or None when it is not an address or range."""
    match = _IPV4_CIDR.fullmatch(text)
    if match is not None:
        octets = match.group(1, 2, 3, 4)
        if all(o == "0" or (o[0] != "0" and int(o) < 256) for o in octets):
            address = 0
            for octet in octets:
                address = address << 8 | int(octet)
            prefix = 32 if match.group(5) is None else int(match.group(5))
            if prefix <= 32:
                network = address >> (32 - prefix) << (32 - prefix)
                return Range(4, network, prefix, network != address)
    found = read_network(text)
    if found is None:
        return None
    given = text.partition("/")[0]
    try:
        host_bits = ipaddress.ip_address(given) != found.network_address
    except ValueError:  # not an address before the slash: not the network address either
        host_bits = True
    return Range(found.version, int(found.network_address), found.prefixlen, host_bits)


def read_address(text: str) -> tuple[int, int]:
    """(version, address) of an address literal the audit itself writes."""
    address = ipaddress.ip_address(text)
    return address.version, int(address)
