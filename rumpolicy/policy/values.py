"""Readers for typed condition values. Each returns None for text it cannot read, so that the
loader can report the value and the engine can treat an unreadable request value as undecidable.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)  # not other scripts' digits
_W3C = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?", re.ASCII
)
_EPOCH = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


def read_number(text: str) -> Decimal | None:
    """Integers and decimals, as IAM's Numeric operators take them."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def read_date(text: str) -> Decimal | None:
    """Seconds since the epoch for a W3C-profile ISO 8601 date or an epoch-seconds number.

    A bare four-digit number is read as a year (the W3C `YYYY` profile), any other run of digits
    as epoch seconds. Times must carry a zone (`Z` or `±hh:mm`): without one the instant would
    be a guess.
    """
    match = _W3C.fullmatch(text)
    if match:
        parts = match.groupdict()
        try:
            moment = datetime(
                int(parts["y"]), int(parts["mo"] or 1), int(parts["d"] or 1),
                int(parts["h"] or 0), int(parts["mi"] or 0), int(parts["s"] or 0), tzinfo=UTC,
            )
        except ValueError:
            return None
        if parts["h"] is not None and (int(parts["h"]) > 23):
            return None
        seconds = Decimal(int(moment.timestamp()))
        if parts["f"]:
            seconds += Decimal("0." + parts["f"])
        tz = parts["tz"]
        if tz and tz != "Z":
            hours, minutes = int(tz[1:3]), int(tz[4:6])
            if hours > 23 or minutes > 59:
                return None
            offset = (hours * 3600 + minutes * 60) * (1 if tz[0] == "+" else -1)
            seconds -= offset
        return seconds
    if _EPOCH.fullmatch(text):
        return Decimal(text)
    return None


def is_bare_year(text: str) -> bool:
    """A bare four-digit date value: the W3C `YYYY` year and as many epoch seconds (the engine
    decides a comparison with it only where both readings agree)."""
    return len(text) == 4 and text.isascii() and text.isdigit()


def read_bool(text: str) -> bool | None:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def read_network(text: str) -> IpNetwork | None:
    """A CIDR block; a bare address is a /32 (IPv4) or /128 (IPv6); host bits are ignored."""
    if not text or text != text.strip():
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def read_address(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def read_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
