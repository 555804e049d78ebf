"""Strings cut into classes by the languages conditions and patterns compare them with.

An atom is one language (a literal, a case-folded literal, a wildcard pattern, `true`/`false`
for Bool) with the engine's own test; a class is an achievable combination of "in" and "not in"
over all atoms of a key, found by `automata.explore` with a witness each. Every witness is then
re-tested with the engine's comparison, so an automaton that disagreed with the engine would
stop the analysis instead of mislabelling a class.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rumpolicy.analysis.diff.automata import (
    FoldLanguage,
    Language,
    Signature,
    TokenLanguage,
    explore,
    literal,
    tokens_from_regex,
)
from rumpolicy.analysis.diff.describe import cover, join_or
from rumpolicy.analysis.diff.errors import InternalError


class SingleValues(Protocol):
    reps: tuple[str, ...]

    def classify(self, text: str) -> int | None: ...

    def describe(self, indices: frozenset[int]) -> list[str]:
        """Verb phrases ("is `v1`", "is in 10.0.0.0/8"), one per alternative."""
        ...


AtomKey = tuple[str, str]
"""What makes two atoms the same language ("equals", text), ("regex", flags:pattern), ..."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One language a string may or may not belong to, with the engine's exact test."""

    key: AtomKey
    language_factory: Callable[[], Language]
    test: Callable[[str], bool]
    shown: str
    single: bool
    """True when the language is one value (or its case variants): it reads as "except X"."""


def equals_atom(text: str) -> Atom:
    return Atom(("equals", text), lambda: TokenLanguage(literal(text)),
                lambda s: s == text, f"`{text}`", True)


def casefold_atom(folded: str, shown: str) -> Atom:
    return Atom(("casefold", folded), lambda: FoldLanguage(folded, "casefold"),
                lambda s: s.casefold() == folded, f"`{shown}` (any case)", True)


def bool_atom(value: bool) -> Atom:
    word = "true" if value else "false"
    return Atom(("bool", word), lambda: FoldLanguage(word, "lower"),
                lambda s: s.lower() == word, f"`{word}` (any case)", True)


def regex_atom(regex: re.Pattern[str], shown: str) -> Atom:
    tokens = tokens_from_regex(regex)
    single = all(isinstance(t.chars, frozenset) and not t.star for t in tokens)
    words = f"`{shown}`" + (" (any case)" if regex.flags & re.IGNORECASE else "")
    return Atom(("regex", f"{regex.flags}:{regex.pattern}"), lambda: TokenLanguage(tokens),
                lambda s: regex.fullmatch(s) is not None, words, single)


def token_atom(name: str, language: Callable[[], Language], test: Callable[[str], bool],
               shown: str) -> Atom:
    return Atom(("tokens", name), language, test, shown, False)


_SIMPLE = re.compile(r"(is|matches) (`[^`]*`)( \(any case\))?")


class StringValues:
    """Strings, classed by their membership in each atom's language."""

    def __init__(self, atoms: Sequence[Atom], *, allow_empty: bool = True,
                 preferred: Iterable[str] = (), limit: int = 50_000) -> None:
        unique: dict[AtomKey, Atom] = {}
        for atom in atoms:
            unique.setdefault(atom.key, atom)
        self.atoms = tuple(unique.values())
        self._positions = {key: i for i, key in enumerate(unique)}
        found = explore([a.language_factory() for a in self.atoms], allow_empty=allow_empty,
                        limit=limit)
        for signature, witness in found.items():
            if self.signature(witness) != signature:
                raise InternalError(f"witness {witness!r} does not have the signature its "
                                    "automaton gave it")
            padded = witness + "x"  # `canary-x` reads better than `canary-` for `canary-*`
            if witness and not witness[-1].isalnum() and self.signature(padded) == signature:
                found[signature] = padded
        chosen: set[Signature] = set()
        for text in preferred:  # the first preferred string of a class wins
            signature = self.signature(text)
            if signature not in found:
                raise InternalError(f"{text!r} has a signature the enumeration missed")
            if signature not in chosen:
                found[signature] = text
                chosen.add(signature)
        ordered = sorted(found.items(), key=lambda item: (not any(item[0]), len(item[1]),
                                                          item[1]))
        self.signatures: tuple[Signature, ...] = tuple(s for s, _ in ordered)
        self.reps: tuple[str, ...] = tuple(w for _, w in ordered)
        self._index = {s: i for i, s in enumerate(self.signatures)}

    def position(self, key: AtomKey) -> int | None:
        """Where the atom `key` stands in every signature (None: no such atom)."""
        return self._positions.get(key)

    def signature(self, text: str) -> Signature:
        return tuple(atom.test(text) for atom in self.atoms)

    def classify(self, text: str) -> int | None:
        return self._index.get(self.signature(text))

    def describe(self, indices: frozenset[int]) -> list[str]:
        on = [self.signatures[i] for i in sorted(indices)]
        off = [s for i, s in enumerate(self.signatures) if i not in indices]
        phrases = [self._phrase(cube) for cube in cover(on, off)]
        # "is `a`", "is `b`" -> "is `a` or `b`"; likewise "matches", and "(any case)" ones
        groups: dict[tuple[str, str], list[str]] = {}
        for phrase in phrases:
            simple = _SIMPLE.fullmatch(phrase)
            if simple:
                groups.setdefault((simple[1], simple[3] or ""), []).append(simple[2])
        merged = [f"{verb} {join_or(items)}{suffix}" for (verb, suffix), items in groups.items()
                  if len(items) > 1]
        return merged + [p for p in phrases
                         if not ((m := _SIMPLE.fullmatch(p)) and
                                 len(groups[(m[1], m[3] or "")]) > 1)]

    def _phrase(self, cube: dict[int, bool]) -> str:
        positives = [self.atoms[i] for i, v in sorted(cube.items()) if v]
        negatives = [self.atoms[i] for i, v in sorted(cube.items()) if not v]
        exact = next((a for a in positives if a.single), None)
        if exact is not None:
            return f"is {exact.shown}"
        excluded = [a.shown for a in negatives if a.single]
        unmatched = [a.shown for a in negatives if not a.single]
        if positives:
            phrase = " and ".join(f"matches {a.shown}" for a in positives)
            if excluded:
                phrase += " except " + join_or(excluded, "and")
            if unmatched:
                phrase += " but not " + join_or(unmatched)
            return phrase
        parts = []
        if len(unmatched) == 1:
            parts.append(f"not matching {unmatched[0]}")
        elif unmatched:
            parts.append("matching neither " + join_or(unmatched, "nor"))
        if excluded:
            parts.append("other than " + join_or(excluded, "and"))
        return "is any value" + (" " + " and ".join(parts) if parts else "")


