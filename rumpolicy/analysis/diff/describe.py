"""Words for regions: a few conditions a person can read instead of a list of classes.

A set of string classes is a boolean function of the atoms ("matches `canary-*`", "is
`canary-internal`"): true on the chosen classes, false on the others, and free on atom
combinations no string has. `cover` finds a short sum of products for it by growing each chosen
signature into a prime implicant (dropping the literals that no unchosen class needs), which
turns {canary-7, canary-x, ...} into "matches `canary-*` except `canary-internal`".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rumpolicy.engine.decision import Effect

Signature = tuple[bool, ...]
Cube = dict[int, bool]


def cover(on: Sequence[Signature], off: Sequence[Signature],
          order: Callable[[int, bool], tuple[int, int]] | None = None) -> list[Cube]:
    """Products of atom literals whose union holds every `on` signature and no `off` one.

    `order(atom, value)` ranks the literals of a seed for dropping (earliest first); by
    default "is not X" literals go first, so that what stays reads as "matches A except B".
    """
    rank = order or (lambda index, value: (int(value), index))
    on_bits = list(dict.fromkeys(_bits(s) for s in on))
    off_bits = [_bits(s) for s in off]
    width = len(on[0]) if on else 0
    full = (1 << width) - 1
    cubes: list[tuple[int, int]] = []  # (cared-for atoms, their values), as bit masks
    remaining = on_bits
    while remaining:
        seed = remaining[0]
        care = full
        for index in sorted(range(width), key=lambda i: rank(i, bool(seed >> i & 1))):
            trial = care & ~(1 << index)
            if not any(o & trial == seed & trial for o in off_bits):
                care = trial
        cubes.append((care, seed & care))
        remaining = [s for s in remaining if s & care != seed & care]
    for cube in list(cubes):  # drop a cube the others already cover
        others = [c for c in cubes if c is not cube]
        if others and all(any(s & c == v for c, v in others) for s in on_bits):
            cubes = others
    return [{i: bool(value >> i & 1) for i in range(width) if care >> i & 1}
            for care, value in cubes]


def _bits(signature: Signature) -> int:
    return sum(1 << i for i, v in enumerate(signature) if v)


def join_or(items: Sequence[str], word: str = "or") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


HEADLINES: dict[tuple[Effect, Effect], str] = {
    (Effect.IMPLICIT_DENY, Effect.ALLOW): "newly allowed",
    (Effect.EXPLICIT_DENY, Effect.ALLOW): "newly allowed (an explicit deny no longer applies)",
    (Effect.ALLOW, Effect.IMPLICIT_DENY): "newly denied (no statement allows them any more)",
    (Effect.ALLOW, Effect.EXPLICIT_DENY): "newly denied by an explicit Deny",
    (Effect.IMPLICIT_DENY, Effect.EXPLICIT_DENY):
        "still denied, now by an explicit Deny (was: no statement allowed them)",
    (Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY):
        "still denied, but no explicit Deny applies any more",
}
"""How each change of effect is announced, in the order changes are listed."""


def sentence(headline: str, callers: str, clauses: Sequence[str]) -> str:
    """Clauses are separated by semicolons: each may itself hold "or" and commas."""
    text = f"{headline}: requests from {callers}"
    if len(clauses) == 1:
        text += " where " + clauses[0]
    elif clauses:
        text += " where " + "; ".join(clauses[:-1]) + "; and " + clauses[-1]
    return text
