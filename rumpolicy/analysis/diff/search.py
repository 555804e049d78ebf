"""The class combinations, explored one dimension at a time instead of all at once.

A statement applies when its principal, action, resource and every condition hold, and each of
those reads one dimension. So after choosing a class in the first k dimensions, all that matters
for the rest is which statements can still apply (a bit mask) and a few caller facts. Choices
that lead to the same state are merged, which turns a product of millions of cells into a
layered graph of a few hundred states; every full path is still one cell, so nothing is lost.

The cells leading to the final states whose two decisions differ are then read back as products
of class sets ("cubes"): per state, the classes leading to the same next state form one set,
and cubes that differ in a single dimension are merged.
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

    def cells(self) -> int:
        """How many class combinations the graph stands for (its full paths)."""
        counts = {0: 1}
        for edges in self.edges:
            after: dict[int, int] = {}
            for source, targets in edges.items():
                for target, classes in targets.items():
                    after[target] = after.get(target, 0) + counts.get(source, 0) * len(classes)
            counts = after
        return sum(counts.values())

    def cubes(self, targets: set[int], limit: int) -> list[Cube]:
        """Products of class sets covering exactly the cells that end in `targets`."""
        suffix: dict[int, list[Cube]] = {t: [()] for t in targets}
        for dimension in reversed(range(len(self.edges))):
            before: dict[int, list[Cube]] = {}
            for source, targets_of in self.edges[dimension].items():
                found: list[Cube] = []
                for target, classes in targets_of.items():
                    tails = suffix.get(target)
                    if tails:
                        head = frozenset(classes)
                        found.extend((head, *tail) for tail in tails)
                if found:
                    merged = merge(found)
                    if len(merged) > limit:
                        raise TooComplex(f"more than {limit} separate regions")
                    before[source] = merged
            suffix = before
        return merge(suffix.get(0, []))


def explore(sizes: Sequence[int], start: S, step: Callable[[int, S, int], S | None], *,
            limit: int) -> Layered[S]:
    """`step(dimension, state, class)`: the next state, or None when the class cannot follow
    the state (no request has both)."""
    graph: Layered[S] = Layered(states=[[start]])
    total = 1
    for dimension, size in enumerate(sizes):
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


def merge(cubes: list[Cube]) -> list[Cube]:
    """Union cubes that agree in every dimension but one, until none do (exact: the union of
    such a pair is itself a cube)."""
    current = list(dict.fromkeys(cubes))
    changed = True
    while changed and len(current) > 1:
        changed = False
        for dimension in range(len(current[0])):
            grouped: dict[Cube, set[int]] = {}
            for cube in current:
                rest = cube[:dimension] + cube[dimension + 1:]
                grouped.setdefault(rest, set()).update(cube[dimension])
            if len(grouped) < len(current):
                current = [(*rest[:dimension], frozenset(classes), *rest[dimension:])
                           for rest, classes in grouped.items()]
                changed = True
    return current
