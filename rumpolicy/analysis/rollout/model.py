"""A rollout test file as data: which policy, which monitor, and what must hold.

Everything here is resolved when the file is read: requests are complete `Request` objects and
policy paths are absolute, so running an expectation needs nothing but the loaded policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rumpolicy.engine import Effect, Request


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a rollout file (or a policy it names), where it is."""

    path: Path
    message: str
    position: Position | None = None

    def format(self) -> str:
        where = f"{self.position.line}:{self.position.column}:" if self.position else ""
        return f"{self.path}:{where} {self.message}"


class RolloutError(Exception):
    """A rollout file that cannot be run: syntax, meaning, or a policy that does not load."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"

    def accepts(self, effect: Effect) -> bool:
        return effect in _ACCEPTED[self]


_ACCEPTED: dict[Verdict, frozenset[Effect]] = {
    Verdict.ALLOW: frozenset({Effect.ALLOW}),
    Verdict.DENY: frozenset({Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY}),
    Verdict.EXPLICIT_DENY: frozenset({Effect.EXPLICIT_DENY}),
    Verdict.IMPLICIT_DENY: frozenset({Effect.IMPLICIT_DENY}),
}


class ChangeKind(StrEnum):
    """What a change between the baseline and the policy may not do."""

    NO_NEW_ACCESS = "no new access"
    NO_LOST_ACCESS = "no lost access"
    NO_CHANGE = "no change"


class ExemptionKind(StrEnum):
    ALIAS_MATCHING = "alias matching"
    ALIAS_IS = "alias"
    ALIAS_ANY_CASE = "alias in any case"
    WITHOUT_ALIAS = "without alias"
    FROM_RANGE = "from"


@dataclass(frozen=True, slots=True)
class Exemption:
    """A set of requests a change expectation does not look at (`except alias matching "v2*"`)."""

    kind: ExemptionKind
    value: str | None
    """The pattern, alias or network; None for `without alias`."""

    def describe(self) -> str:
        """The exemption as written in a rollout file."""
        return _DESCRIBE[self.kind](self.value or "")


_DESCRIBE: dict[ExemptionKind, Callable[[str], str]] = {
    ExemptionKind.ALIAS_MATCHING: lambda v: f"alias matching {json.dumps(v)}",
    ExemptionKind.ALIAS_IS: lambda v: f"alias {json.dumps(v)}",
    ExemptionKind.ALIAS_ANY_CASE: lambda v: f"alias {json.dumps(v)} in any case",
    ExemptionKind.WITHOUT_ALIAS: lambda v: "without alias",
    ExemptionKind.FROM_RANGE: lambda v: f"from {v}",
}


@dataclass(frozen=True, slots=True)
class DecisionExpectation:
    """`allow anonymous alias "v2"`: one request and the verdict it must get."""

    verdict: Verdict
    request: Request
    text: str
    position: Position


@dataclass(frozen=True, slots=True)
class ChangeExpectation:
    """`no new access except ...`: a property of the change from the baseline policy."""

    kind: ChangeKind
    exemptions: tuple[Exemption, ...]
    text: str
    position: Position


Expectation = DecisionExpectation | ChangeExpectation


@dataclass(frozen=True, slots=True)
class PolicySource:
    """A `policy` or `change from` line: the file it names (None for `none`) and where."""

    path: Path | None
    written: str
    position: Position


@dataclass(frozen=True, slots=True)
class IdentitySource:
    """An `identity policy "FILE" for ARN` line: the principal holding the policy in FILE."""

    principal: str
    path: Path
    written: str
    position: Position


@dataclass(frozen=True, slots=True)
class RolloutFile:
    path: Path
    policy: PolicySource
    monitor: str
    baseline: PolicySource | None
    expectations: tuple[Expectation, ...]
    identities: tuple[IdentitySource, ...] = ()
    """Identity policies callers hold, for every expectation and both policies of a change."""
