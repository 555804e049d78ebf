"""What a diff reports: changes (a region, its effects, words and a checked witness) and the
parts it could not analyse.

A region is a product of classes, one set per dimension (resource, caller, action, then each
condition key). `contains` classifies a request the same way the analysis did, so it answers
exactly for any request, not only for the witness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from rumpolicy.analysis.diff.identities import NO_IDENTITY_POLICIES, IdentityPolicies
from rumpolicy.engine.decision import Effect
from rumpolicy.engine.request import Request


class Space(Protocol):
    """The analysed request space: every request it covers falls in exactly one cell."""

    def classify(self, request: Request) -> tuple[int, ...] | None:
        """The request's class in each dimension, or None if the request lies outside what
        was analysed (another monitor, another action, a value marked not analysed)."""
        ...


@dataclass(frozen=True, slots=True)
class Region:
    classes: tuple[frozenset[int], ...]
    space: Space = field(compare=False, repr=False)

    def contains(self, request: Request) -> bool:
        cell = self.space.classify(request)
        return cell is not None and self.holds(cell)

    def holds(self, cell: tuple[int, ...]) -> bool:
        """Whether the cell (a request's class in each dimension) lies in the region."""
        return all(c in s for c, s in zip(cell, self.classes, strict=True))


@dataclass(frozen=True, slots=True)
class Change:
    """Every request in `region` gets `from_effect` from the old policy and `to_effect` from
    the new one; `witness` is one of them, checked with `rumpolicy.evaluate` on both (with the
    identity policies its caller holds)."""

    from_effect: Effect
    to_effect: Effect
    description: str
    witness: Request
    region: Region = field(repr=False)

    def contains(self, request: Request) -> bool:
        return self.region.contains(request)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_effect.value, "to": self.to_effect.value,
                "description": self.description, "witness": self.witness.to_dict()}


@dataclass(frozen=True, slots=True)
class DiffStats:
    """How big the analysis was (reported by bench/diff.py)."""

    classes: tuple[tuple[str, int], ...] = ()
    """(dimension, number of classes) in analysis order."""
    cells: int = 0
    """Class combinations that some request has: what brute force over the representatives
    would evaluate."""
    states: int = 0
    evaluations: int = 0


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    equivalent: bool
    """True only when no analysed request differs and nothing was left unanalysed."""
    changes: tuple[Change, ...]
    not_analysed: tuple[str, ...]
    scope: str = ""
    """The requests analysed and the identity policies held, in words ("rum:PutRumEvents on
    arn:...; signed callers judged without identity policies")."""
    stats: DiffStats = field(default_factory=DiffStats, compare=False)
    space: Space | None = field(default=None, compare=False, repr=False)
    identity_policies: IdentityPolicies = field(default=NO_IDENTITY_POLICIES, compare=False,
                                                repr=False)
    """What callers held; `identity_policies.held_by(request)` gives what to pass to
    `rumpolicy.evaluate` to see a request's decisions as the diff saw them."""

    def covers(self, request: Request) -> bool:
        """Whether `request` lies in the analysed space (so a difference would be reported)."""
        return self.space is not None and self.space.classify(request) is not None

    def change_for(self, request: Request) -> Change | None:
        return next(iter(self.changes_containing(request)), None)

    def changes_containing(self, request: Request) -> tuple[Change, ...]:
        """The changes whose region holds `request` (at most one: regions are disjoint),
        classifying the request once."""
        cell = None if self.space is None else self.space.classify(request)
        if cell is None:
            return ()
        return tuple(c for c in self.changes if c.region.holds(cell))

    def to_dict(self) -> dict[str, Any]:
        return {"equivalent": self.equivalent,
                "changes": [c.to_dict() for c in self.changes],
                "not_analysed": list(self.not_analysed)}
