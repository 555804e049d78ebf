"""One condition key as a dimension: absent, each class of single values, each kind of list.

A list (multi-valued key) matters in two ways: under a plain operator it makes a condition
undecidable (the engine fails closed), and under `ForAnyValue:`/`ForAllValues:` the result
depends on which classes its members fall in. For the set operators, a list is summed up per
condition by three flags (some member unreadable, some member matches, some member does not);
the achievable flag combinations are the closure of the members' flags under "add one more
member", explored breadth first, so every kind of list is found with a short example.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rumpolicy.analysis.diff.describe import join_or
from rumpolicy.analysis.diff.errors import TooComplex
from rumpolicy.analysis.diff.strings import SingleValues
from rumpolicy.engine.decision import ContextValue

Flags = tuple[tuple[bool, bool, bool], ...]
MULTI_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class KeyClass:
    kind: str
    """single, empty (the value ""), absent or multi."""
    value: ContextValue | None
    single: int | None = None
    """For a single value: its class in the key's SingleValues."""


class KeyDimension:
    """The classes of one key. `member_results(text)` gives, for each set-operator condition on
    the key, the condition's result on the one-member list `[text]`."""

    def __init__(self, key: str, name: str, single: SingleValues | None, *, absent: bool,
                 member_results: Callable[[str], tuple[bool | None, ...]],
                 set_conditions: int) -> None:
        self.key = key
        self.name = name
        self.single = single
        self.classes: list[KeyClass] = []
        self._single_index: dict[int, int] = {}
        self._flags_index: dict[Flags, int] = {}
        self._member_flags: list[Flags] = []
        self._set_conditions = set_conditions
        if single is not None:
            for index, rep in enumerate(single.reps):
                if rep:  # "" is a class of its own, below
                    self._single_index[index] = len(self.classes)
                    self.classes.append(KeyClass("single", rep, index))
        self.empty_index = len(self.classes)
        self.classes.append(KeyClass("empty", ""))
        """The engine decides "" only where it and an absent key agree: a class of its own."""
        self.absent_index = len(self.classes) if absent else None
        if absent:
            self.classes.append(KeyClass("absent", None))
        if single is not None:
            self._add_lists(single, member_results)
        self.list_count = len(self._flags_index)

    def _add_lists(self, single: SingleValues,
                   member_results: Callable[[str], tuple[bool | None, ...]]) -> None:
        empty: Flags = tuple((False, False, False) for _ in range(self._set_conditions))
        if not self._set_conditions:
            example: tuple[str, ...] = (single.reps[0], single.reps[-1])
            self._flags_index[empty] = len(self.classes)
            self.classes.append(KeyClass("multi", example))
            return
        self._member_flags = [tuple((r is None, r is True, r is False)
                                    for r in member_results(rep)) for rep in single.reps]
        found: dict[Flags, tuple[str, ...]] = {empty: ()}
        queue = deque([empty])
        while queue:
            flags = queue.popleft()
            for member, member_flags in enumerate(self._member_flags):
                after = _union(flags, member_flags)
                if after not in found:
                    if len(found) >= MULTI_LIMIT:
                        raise TooComplex(f"more than {MULTI_LIMIT} kinds of lists")
                    found[after] = (*found[flags], single.reps[member])
                    queue.append(after)
        for flags, example in sorted(found.items(), key=lambda item: (len(item[1]) != 2,
                                                                      len(item[1]))):
            self._flags_index[flags] = len(self.classes)
            self.classes.append(KeyClass("multi", example))

    def classify(self, value: ContextValue | None) -> int | None:
        if value is None:
            return self.absent_index
        if value == "":
            return self.empty_index
        if isinstance(value, str):
            if self.single is None:
                return None
            found = self.single.classify(value)
            return None if found is None else self._single_index.get(found)
        if not self._flags_index:
            return None
        if not self._set_conditions:
            return next(iter(self._flags_index.values()))
        flags: Flags = tuple((False, False, False) for _ in range(self._set_conditions))
        for member in value:
            assert self.single is not None
            found = self.single.classify(member)
            if found is None:
                return None
            flags = _union(flags, self._member_flags[found])
        return self._flags_index.get(flags)

    def describe(self, indices: frozenset[int]) -> str | None:
        """A clause such as "rum:alias matches `canary-*` except `canary-internal`", or None
        when every class is in `indices` (the key does not narrow the region)."""
        if len(indices) == len(self.classes):
            return None
        chosen = [self.classes[i] for i in sorted(indices)]
        singles = frozenset(c.single for c in chosen if c.kind == "single" and
                            c.single is not None)
        alternatives: list[str] = []
        empty = any(c.kind == "empty" for c in chosen)
        if singles and self.single is not None:
            if len(singles) == len(self._single_index):
                alternatives.append("has any single value" if empty else
                                    "has any non-empty single value")
                empty = False
            else:
                alternatives.extend(self.single.describe(singles))
        if empty:
            alternatives.append("is the empty string")
        if any(c.kind == "absent" for c in chosen):
            alternatives.append("is absent")
        lists = [c for c in chosen if c.kind == "multi"]
        if lists:
            if len(lists) == self.list_count:
                alternatives.append("is a list of values")
            else:
                examples = [json.dumps(list(c.value or ()), ensure_ascii=False) for c in lists]
                alternatives.append("is a list such as " + join_or(examples) +
                                    " (lists are classed by which members match)")
        if len(alternatives) > 1 and any("," in a or " or " in a for a in alternatives):
            return f"{self.name} " + ", or ".join(alternatives)
        return f"{self.name} " + join_or(alternatives)


def _union(a: Flags, b: Flags) -> Flags:
    return tuple((x[0] or y[0], x[1] or y[1], x[2] or y[2]) for x, y in zip(a, b, strict=True))
