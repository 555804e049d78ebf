"""The class combinations, explored one dimension at a time instead of all at once.

A statement applies when its principal, action, resource and every condition hold, and each of
those reads one dimension. So after choosing a class in the first k dimensions, all that matters
for the rest is which statements can still apply (a bit mask) and a few caller facts. Choices
that lead to the same state are merged, which turns a product of millions of cells into a
layered graph of a few hundred states; every full path is still one cell, so nothing is lost.

The cells leading to the final states whose two decisions differ are then read back as products
of class sets ("cubes"): per state, the classes leading to the same next state form one set,
and cubes that differ in a single dimension are merged.

Cells outside the analysed space (a related key's single value where a relating statement can
apply) lead to one final state of their own, a *don't-care*: a cube may take them in, because a
region is only ever read inside the analysed space (`Region.contains` classifies first). So
"alice with username `alice`, bob with username `bob`" is one cube, `{alice, bob} x {alice,
bob}`, rather than one region per caller; a cube made of don't-cares alone is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rumpolicy.analysis.diff.errors import TooComplex

Cube = tuple[frozenset[int], ...]
S = TypeVar("S", bound=Hashable)


@dataclass
class Layered(Generic[S]):
    states: list[list[S]] = field(default_factory=list)
    """states[k]: the distinct states after choosing classes in the first k dimensions."""
    edges: list[dict[int, dict[int, list[int]]]] = field(default_factory=list)
    """edges[d][source][target]: the classes of dimension d leading from source to target."""
    back: list[list[tuple[int, int]]] = field(default_factory=list)
    """back[k][state]: (previous state, class) of the first path found to it."""

    @property
    def final(self) -> list[S]:
        return self.states[-1]

    def path(self, final: int) -> tuple[int, ...]:
        classes: list[int] = []
        state = final
        for back in reversed(self.back):
            state, chosen = back[state]
            classes.append(chosen)
        return tuple(reversed(classes))

    def cells(self, dont_care: int | None = None) -> int:
        """How many class combinations the graph stands for (its full paths), not counting
        those that end in the final state `dont_care`."""
        counts = {0: 1}
        for edges in self.edges:
            after: dict[int, int] = {}
            for source, targets in edges.items():
                for target, classes in targets.items():
                    after[target] = after.get(target, 0) + counts.get(source, 0) * len(classes)
            counts = after
        return sum(n for final, n in counts.items() if final != dont_care)

    def cubes(self, targets: set[int], limit: int, dont_care: int | None = None
              ) -> list[Cube]:
        """Products of class sets covering exactly the cells that end in `targets`, and
        maybe some that end in `dont_care`, but each some cell that ends in `targets`."""
        suffix: dict[int, list[Marked]] = {t: [((), True)] for t in targets}
        if dont_care is not None and dont_care not in targets:
            suffix[dont_care] = [((), False)]
        for dimension in reversed(range(len(self.edges))):
            before: dict[int, list[Marked]] = {}
            for source, targets_of in self.edges[dimension].items():
                found: list[Marked] = []
                for target, classes in targets_of.items():
                    tails = suffix.get(target)
                    if tails:
                        head = frozenset(classes)
                        found.extend(((head, *tail), real) for tail, real in tails)
                if found:
                    merged = _merge_marked(found)
                    if len(merged) > limit:
                        raise TooComplex(f"more than {limit} separate regions")
                    before[source] = merged
            suffix = before
        return [cube for cube, real in _merge_marked(suffix.get(0, [])) if real]

    def find(self, cube: Cube, targets: set[int],
             order: Callable[[tuple[int, ...], frozenset[int]], Sequence[int]]
             ) -> tuple[int, ...] | None:
        """The first cell of `cube` (depth first, each dimension's classes tried in
        `order(classes chosen so far, the cube's classes here)`) that ends in `targets`."""
        dead: set[tuple[int, int]] = set()

        def walk(dimension: int, state: int, done: tuple[int, ...]) -> tuple[int, ...] | None:
            if dimension == len(self.edges):
                return done if state in targets else None
            if (dimension, state) in dead:
                return None
            step = {chosen: target for target, classes in
                    self.edges[dimension].get(state, {}).items() for chosen in classes}
            for chosen in order(done, cube[dimension]):
                target = step.get(chosen)
                if target is not None:
                    found = walk(dimension + 1, target, (*done, chosen))
                    if found is not None:
                        return found
            dead.add((dimension, state))
            return None

        return walk(0, 0, ())


def explore(sizes: Sequence[int], start: S, step: Callable[[int, S, int], S | None], *,
            limit: int, steps: int) -> Layered[S]:
    """`step(dimension, state, class)`: the next state, or None when the class cannot follow
    the state (no request has both). Raises TooComplex past `limit` states, or before trying
    more than `steps` (state, class) pairs: few states with many classes each (hundreds of
    holders of policies naming their own aliases) cost as much as many states."""
    graph: Layered[S] = Layered(states=[[start]])
    total = 1
    tried = 0
    for dimension, size in enumerate(sizes):
        tried += size * len(graph.states[-1])
        if tried > steps:
            raise TooComplex(f"more than {steps:,} choices of a class after a state")
        index: dict[S, int] = {}
        edges: dict[int, dict[int, list[int]]] = {}
        back: list[tuple[int, int]] = []
        for source, state in enumerate(graph.states[-1]):
            for chosen in range(size):
                after = step(dimension, state, chosen)
                if after is None:
                    continue
                target = index.get(after)
                if target is None:
                    target = index[after] = len(index)
                    back.append((source, chosen))
                    total += 1
                    if total > limit:
                        raise TooComplex(f"more than {limit:,} combinations of classes")
                edges.setdefault(source, {}).setdefault(target, []).append(chosen)
        graph.states.append(list(index))
        graph.edges.append(edges)
        graph.back.append(back)
    return graph


Marked = tuple[Cube, bool]
"""A cube, and whether it holds a wanted cell (else it is made of don't-cares only)."""


def _merge_marked(cubes: list[Marked]) -> list[Marked]:
    """Union cubes that agree in every dimension but one, until none do (exact: the union of
    such a pair is itself a cube), keeping track of which cubes hold a wanted cell."""
    marks: dict[Cube, bool] = {}
    for cube, real in cubes:
        marks[cube] = marks.get(cube, False) or real
    current = list(marks.items())
    changed = True
    while changed and len(current) > 1:
        changed = False
        for dimension in range(len(current[0][0])):
            grouped: dict[Cube, tuple[set[int], list[bool]]] = {}
            for cube, real in current:
                rest = cube[:dimension] + cube[dimension + 1:]
                classes, reals = grouped.setdefault(rest, (set(), [False]))
                classes.update(cube[dimension])
                reals[0] = reals[0] or real
            if len(grouped) < len(current):
                current = [((*rest[:dimension], frozenset(classes), *rest[dimension:]), reals[0])
                           for rest, (classes, reals) in grouped.items()]
                changed = True
    return current
