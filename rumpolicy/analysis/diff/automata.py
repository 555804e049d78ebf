"""Regular languages over request strings, and every way a string can sit among several of them.

A string condition, an Action pattern or a Resource pattern is a regular language: wildcards,
literal text, or a case-folded literal. The diff needs, for a set of such languages, every
achievable combination "in these, not in those" with one string showing it. The product of the
languages' automata is explored breadth first; characters that no language mentions behave
alike, so one fresh character stands for all of them (one fresh decimal digit too, because
`\\d` sets digits apart), which keeps the exploration finite and exact.

Wildcard patterns are read from the regular expressions the engine itself compiles
(`rumpolicy.engine.patterns`), so the automaton and the engine cannot disagree about what `*`,
`?` or an escaped `${*}` means; anything else in such an expression is refused, never guessed.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from rumpolicy.analysis.diff.errors import TooComplex
from rumpolicy.analysis.diff.unicode_case import ignorecase_equivalents, substring_preimages

State = frozenset[int]
Signature = tuple[bool, ...]


class CharClass(StrEnum):
    ANY = "any"
    NOT_COLON = "not_colon"
    DIGIT = "digit"


_CLASS_TEST: dict[CharClass, Callable[[str], bool]] = {
    CharClass.ANY: lambda c: True,
    CharClass.NOT_COLON: lambda c: c != ":",
    CharClass.DIGIT: lambda c: c.isdecimal(),  # what `\d` matches in a str pattern (Nd)
}


@dataclass(frozen=True, slots=True)
class Token:
    """One step of a pattern: a literal (its case variants included) or a class, once or `*`."""

    chars: frozenset[str] | CharClass
    star: bool = False

    def matches(self, char: str) -> bool:
        if isinstance(self.chars, frozenset):
            return char in self.chars
        return _CLASS_TEST[self.chars](char)


def literal(text: str) -> tuple[Token, ...]:
    return tuple(Token(frozenset(c)) for c in text)


@dataclass(eq=False)
class TokenLanguage:
    """A sequence of tokens, matched whole: a nondeterministic automaton on token positions."""

    tokens: tuple[Token, ...]
    _steps: dict[tuple[State, str], State] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.start = self._closure({0})

    def _closure(self, positions: set[int]) -> State:
        out = set(positions)
        for position in sorted(positions):
            while position < len(self.tokens) and self.tokens[position].star:
                position += 1
                out.add(position)
        return frozenset(out)

    def step(self, state: State, char: str) -> State:
        key = (state, char)
        found = self._steps.get(key)
        if found is None:
            moved = {p if self.tokens[p].star else p + 1
                     for p in state if p < len(self.tokens) and self.tokens[p].matches(char)}
            found = self._steps[key] = self._closure(moved)
        return found

    def accepts(self, state: State) -> bool:
        return len(self.tokens) in state

    def alphabet(self) -> frozenset[str]:
        chars: set[str] = set()
        for token in self.tokens:
            if isinstance(token.chars, frozenset):
                chars |= token.chars
            elif token.chars is CharClass.NOT_COLON:
                chars.add(":")
        return frozenset(chars)

    def uses_digits(self) -> bool:
        return any(t.chars is CharClass.DIGIT for t in self.tokens)

    def behaviour(self, char: str) -> Hashable:
        """What the automaton does on `char`: equal for two characters means equal steps."""
        return tuple(t.matches(char) for t in self.tokens)


@dataclass(eq=False)
class FoldLanguage:
    """Strings whose case fold (`casefold` or `lower`, character by character) is `target`."""

    target: str
    fold_name: str

    def __post_init__(self) -> None:
        self.start: State = frozenset({0})
        self._fold: Callable[[str], str] = getattr(str, self.fold_name)
        self._steps: dict[tuple[State, str], State] = {}

    def step(self, state: State, char: str) -> State:
        key = (state, char)
        found = self._steps.get(key)
        if found is None:
            folded = self._fold(char)
            found = self._steps[key] = frozenset(
                i + len(folded) for i in state if self.target.startswith(folded, i))
        return found

    def accepts(self, state: State) -> bool:
        return len(self.target) in state

    def alphabet(self) -> frozenset[str]:
        return substring_preimages(self.target, self.fold_name)

    def uses_digits(self) -> bool:
        return False

    def behaviour(self, char: str) -> Hashable:
        return self._fold(char)


Language = TokenLanguage | FoldLanguage


def tokens_from_regex(regex: re.Pattern[str]) -> tuple[Token, ...]:
    """The tokens of an expression built by `rumpolicy.engine.patterns`.

    Those expressions hold only escaped literals, bare literals that need no escape, `.`, `.*`,
    `[^:]` and `[^:]*`, and `(?>.*?` ... `)` groups, which match what `.*` ... would (they
    only keep the matcher from backtracking); anything else raises ValueError.
    """
    if not regex.flags & re.DOTALL:
        raise ValueError(f"pattern {regex.pattern!r} lets '.' skip newlines")
    ignore_case = bool(regex.flags & re.IGNORECASE)
    text = regex.pattern
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text.startswith(_ATOMIC_ANY, position):
            tokens.append(Token(CharClass.ANY, True))
            position += len(_ATOMIC_ANY)
            continue
        if text[position] == ")":  # the end of an atomic group
            position += 1
            continue
        for spelling, chars, star in _CLASS_SPELLINGS:
            if text.startswith(spelling, position):
                tokens.append(Token(chars, star))
                position += len(spelling)
                break
        else:
            char = text[position]
            if char == "\\":
                if position + 1 >= len(text):
                    raise ValueError(f"pattern {text!r} ends in a lone backslash")
                char = text[position + 1]
                position += 2
            elif char in _SPECIAL:
                raise ValueError(f"pattern {text!r} holds {char!r}, which the diff cannot read")
            else:
                position += 1
            tokens.append(Token(ignorecase_equivalents(char) if ignore_case
                                else frozenset(char)))
    return tuple(tokens)


_ATOMIC_ANY = "(?>.*?"
_CLASS_SPELLINGS: tuple[tuple[str, CharClass, bool], ...] = (
    ("[^:]*", CharClass.NOT_COLON, True),
    ("[^:]", CharClass.NOT_COLON, False),
    (".*", CharClass.ANY, True),
    (".", CharClass.ANY, False),
)
_SPECIAL = frozenset("()[]{}?*+|^$.")

_FRESH_LETTERS = "xzqkjwvyhbfgmpnudclrtseoaiXZQKJ_~"
_FRESH_DIGITS = "7539218406"


def _fresh(taken: frozenset[str], digit: bool) -> str:
    """A character no language names: stands for every character no language names."""
    for char in _FRESH_DIGITS if digit else _FRESH_LETTERS:
        if char not in taken:
            return char
    code = 0x100
    while True:
        char = chr(code)
        if char not in taken and char.isdecimal() == digit and char != ":" and \
                not 0xD800 <= code < 0xE000:
            return char
        code += 1


def _niceness(char: str) -> tuple[int, str]:
    """Witnesses prefer plain ASCII letters and digits, then ASCII punctuation, then the rest."""
    if char.isascii() and char.isalnum():
        return (0 if char.islower() or char.isdigit() else 1, char)
    return (2 if char.isascii() and char.isprintable() else 3, char)


def _alphabet(languages: Sequence[Language]) -> list[str]:
    """One character per way of behaving: characters on which every automaton takes the same
    steps are interchangeable, so the nicest stands for all (fresh ones for the unnamed)."""
    taken = frozenset().union(*(lang.alphabet() for lang in languages)) if languages \
        else frozenset()
    candidates = [_fresh(taken, digit=False)]
    if any(lang.uses_digits() for lang in languages):
        candidates.append(_fresh(taken, digit=True))
    candidates.extend(sorted(taken, key=_niceness))
    kept: dict[tuple[Hashable, ...], str] = {}
    for char in candidates:
        kept.setdefault(tuple(lang.behaviour(char) for lang in languages), char)
    return list(kept.values())


def explore(languages: Sequence[Language], *, allow_empty: bool = True,
            limit: int = 50_000) -> dict[Signature, str]:
    """Every achievable membership signature over `languages`, each with a shortest witness.

    Breadth-first search over the product of the automata, holding only the automata still
    alive (most literals die after a character or two, so states stay small). Witnesses are
    non-empty when some non-empty string has the signature; the empty string is offered only
    for a signature no other string has (and never without `allow_empty`).
    """
    alphabet = _alphabet(languages)
    Product = tuple[tuple[int, State], ...]
    start: Product = tuple((i, lang.start) for i, lang in enumerate(languages) if lang.start)
    seen: dict[tuple[Product, bool], str] = {(start, False): ""}
    queue = deque([(start, False)])
    found: dict[Signature, str] = {}
    empty_signature: Signature | None = None
    while queue:
        node = queue.popleft()
        states, nonempty = node
        word = seen[node]
        accepted = [False] * len(languages)
        for index, state in states:
            accepted[index] = languages[index].accepts(state)
        signature = tuple(accepted)
        if nonempty:
            found.setdefault(signature, word)
        else:
            empty_signature = signature
        for char in alphabet:
            after: Product = tuple((i, moved) for i, state in states
                                   if (moved := languages[i].step(state, char)))
            key = (after, True)
            if key not in seen:
                if len(seen) >= limit:
                    raise TooComplex(f"more than {limit:,} automaton states")
                seen[key] = word + char
                queue.append(key)
    if allow_empty and empty_signature is not None and empty_signature not in found:
        found[empty_signature] = ""
    return found
