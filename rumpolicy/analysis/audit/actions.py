"""Which AWS actions an Action entry covers, from policyuniverse's action data.

A wildcard such as `rum:Put*` is expanded against the service's real action list, so the audit
can say what it covers and whether `rum:PutRumEvents` (the only action an app-monitor policy
supports) is among them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

PUT_RUM_EVENTS = "rum:PutRumEvents"

# policyuniverse's data predates RUM resource policies (March 2025); the Service Authorization
# Reference lists these actions for the rum prefix (shared reference, section 3.3).
_MISSING_FROM_POLICYUNIVERSE = {
    "rum": ("PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy"),
}


@dataclass(frozen=True, slots=True)
class Coverage:
    """What one Action entry names."""

    service_known: bool
    actions: tuple[str, ...]
    """Every `service:Action` the entry matches, in the service's spelling."""

    @property
    def includes_put_rum_events(self) -> bool:
        return PUT_RUM_EVENTS in self.actions

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(a for a in self.actions if a != PUT_RUM_EVENTS)


@cache
def _services() -> dict[str, tuple[str, ...]]:
    """Service prefix (lower case) -> its action names."""
    from policyuniverse import service_data

    table: dict[str, set[str]] = {}
    for service in service_data.values():
        table.setdefault(service["prefix"].lower(), set()).update(service["actions"])
    for prefix, extra in _MISSING_FROM_POLICYUNIVERSE.items():
        table.setdefault(prefix, set()).update(extra)
    return {prefix: tuple(sorted(names)) for prefix, names in table.items()}


def _pattern(text: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


@cache
def coverage(entry: str) -> Coverage:
    """The actions `entry` (`*`, `service:Name`, with `*`/`?` wildcards) matches."""
    services = _services()
    if entry == "*":
        return Coverage(True, tuple(f"{p}:{n}" for p in sorted(services) for n in services[p]))
    prefix, _, name = entry.partition(":")
    if any(c in prefix for c in "*?"):
        regex = _pattern(prefix)
        prefixes = [p for p in services if regex.fullmatch(p)]
    else:
        prefixes = [prefix.lower()] if prefix.lower() in services else []
    if not prefixes:
        return Coverage(False, ())
    regex = _pattern(name)
    return Coverage(True, tuple(f"{p}:{n}" for p in sorted(prefixes) for n in services[p]
                                if regex.fullmatch(n)))


def nearest(entry: str) -> str | None:
    """The existing action closest to a misspelt `entry`, for a "did you mean"."""
    import difflib

    services = _services()
    prefix, _, name = entry.partition(":")
    if prefix.lower() not in services:
        close = difflib.get_close_matches(prefix.lower(), list(services), n=1, cutoff=0.6)
        if not close:
            return None
        prefix = close[0]
    names = services[prefix.lower()]
    lowered = {n.lower(): n for n in names}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"{prefix.lower()}:{lowered[found[0]]}" if found else None


def service_known(prefix: str) -> bool:
    return prefix.lower() in _services()
