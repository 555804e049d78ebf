"""How each operator family compares a request value with a policy value, as tables.

`prepare` turns a policy value (already free of variables) into something cheap to compare, once;
`read` turns a request value into the same type, or None when it cannot be read, which the
condition logic treats as undecidable rather than guessing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from rumpolicy.engine import patterns
from rumpolicy.policy.operators import BaseOperator, Comparison, Family
from rumpolicy.policy.values import (
    is_bare_year,
    read_address,
    read_base64,
    read_bool,
    read_date,
    read_network,
    read_number,
)

Parts = patterns.Parts


def _same(text: str) -> str:
    return text


def _address(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer): the hot path of every IP condition, so dotted IPv4
    is read by hand; anything else goes through `ipaddress`."""
    octets = text.split(".")
    if len(octets) == 4 and all(o.isascii() and o.isdigit() and len(o) <= 3 and
                                (o[0] != "0" or o == "0") for o in octets):
        a, b, c, d = (int(o) for o in octets)
        if a < 256 and b < 256 and c < 256 and d < 256:
            return 4, (a << 24) | (b << 16) | (c << 8) | d
    address = read_address(text)
    return None if address is None else (address.version, int(address))


IPV4_MAPPED = (0xFFFF << 32, 1 << 32)
"""The IPv4-mapped IPv6 block ::ffff:0:0/96: (first address, size)."""


def _mapped(address: tuple[int, int]) -> bool:
    return address[0] == 6 and 0 <= address[1] - IPV4_MAPPED[0] < IPV4_MAPPED[1]


def _request_address(text: str) -> tuple[int, int] | None:
    """A request's address; an IPv4-mapped IPv6 address has two readings (the IPv6 address
    and the IPv4 one it carries) and AWS documents neither, so it is unreadable: undecidable."""
    address = _address(text)
    return None if address is None or _mapped(address) else address


def _request_date(text: str) -> Decimal | None:
    """A request's date; a bare four-digit number reads as a year and as epoch seconds, and no
    request AWS builds carries one, so it is unreadable: undecidable."""
    return None if is_bare_year(text) else read_date(text)


class TwoReadings(NamedTuple):
    """A policy value with two documented readings: a bare four-digit date is a W3C `YYYY`
    year and a number of epoch seconds. A comparison with it counts only when both agree."""

    first: Any
    second: Any


def _policy_date(text: str) -> Decimal | TwoReadings | None:
    year = read_date(text)
    if year is not None and is_bare_year(text):
        return TwoReadings(year, Decimal(text))
    return year


def _network(text: str) -> tuple[int, int, int] | None:
    """(IP version, network address, netmask) as integers."""
    network = read_network(text)
    if network is None:
        return None
    return network.version, int(network.network_address), int(network.netmask)


_READ_REQUEST: dict[Family, Callable[[str], Any]] = {
    Family.STRING: _same,
    Family.ARN: _same,
    Family.NUMERIC: read_number,
    Family.DATE: _request_date,
    Family.BOOL: read_bool,
    Family.BINARY: read_base64,
    Family.IP: _request_address,
}

_READ_POLICY: dict[Family, Callable[[str], Any]] = {
    **_READ_REQUEST,
    Family.DATE: _policy_date,
    Family.IP: _network,
    Family.NULL: read_bool,
}


def _in_network(address: tuple[int, int], network: tuple[int, int, int]) -> bool:
    return address[0] == network[0] and address[1] & network[2] == network[1]


def _like(value: str, pattern: Any) -> bool:
    return pattern.fullmatch(value) is not None


def _equals_ignore_case(value: str, folded: str) -> bool:
    return value.casefold() == folded


COMPARE: dict[Comparison, Callable[[Any, Any], bool]] = {
    Comparison.EQUALS: operator.eq,
    Comparison.EQUALS_IGNORE_CASE: _equals_ignore_case,
    Comparison.LIKE: _like,
    Comparison.LESS: operator.lt,
    Comparison.LESS_EQUALS: operator.le,
    Comparison.GREATER: operator.gt,
    Comparison.GREATER_EQUALS: operator.ge,
    Comparison.IN_RANGE: _in_network,
}


def read_request_value(base: BaseOperator, value: str) -> Any:
    return _READ_REQUEST[base.family](value)


def unreadable_reason(base: BaseOperator, value: str) -> str:
    """Why `read_request_value` gave None: the explanation's reason code."""
    if base.family is Family.IP and (address := _address(value)) is not None \
            and _mapped(address):
        return "request_value_ipv4_mapped"
    if base.family is Family.DATE and is_bare_year(value):
        return "request_value_year_or_epoch"
    return f"request_value_not_{base.family.value.lower()}"


def prepare(base: BaseOperator, parts: Parts) -> Any:
    """A policy value, given as wildcard/literal parts, ready for `COMPARE[base.comparison]`."""
    return _prepare(base, tuple(parts))


@lru_cache(maxsize=8192)
def _prepare(base: BaseOperator, parts: tuple[tuple[str, bool], ...]) -> Any:
    if base.comparison is Comparison.LIKE:
        if base.family is Family.ARN:
            return patterns.arn_glob(parts, star_may_cross_colons=False)
        return patterns.glob(parts)
    text = patterns.join(parts)
    if base.comparison is Comparison.EQUALS_IGNORE_CASE:
        return text.casefold()
    return _READ_POLICY[base.family](text)
