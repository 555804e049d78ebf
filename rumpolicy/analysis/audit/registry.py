"""The one place checks are registered: `@check("id", ...)` on a function of the context.

A check function may report several catalogue ids (closely related checks share the walk over
the policy); registering an id the catalogue does not describe fails at import, so the
catalogue, the docs and the code cannot drift apart. The check modules import this one, never
the other way round: `rumpolicy.analysis.audit.checks` imports them all and hands out the
list (`checks.registered()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rumpolicy.analysis.audit.catalogue import CATALOGUE
from rumpolicy.analysis.audit.context import AuditContext
from rumpolicy.analysis.audit.findings import Finding

CheckFunction = Callable[[AuditContext], Iterable[Finding]]

_REGISTERED: list[tuple[tuple[str, ...], CheckFunction]] = []
_LATE: list[tuple[tuple[str, ...], CheckFunction]] = []


def check(*ids: str, late: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; `late` ones run after all others and may read what they reported
    (the redundancy check leaves alone statements already reported as broken)."""
    unknown = [i for i in ids if i not in CATALOGUE]
    if unknown:
        raise ValueError(f"check ids missing from the catalogue: {', '.join(unknown)}")

    def register(function: CheckFunction) -> CheckFunction:
        (_LATE if late else _REGISTERED).append((ids, function))
        return function

    return register


def registered() -> tuple[tuple[tuple[str, ...], CheckFunction], ...]:
    """Every check registered so far, in registration order, the late ones last."""
    return (*_REGISTERED, *_LATE)
