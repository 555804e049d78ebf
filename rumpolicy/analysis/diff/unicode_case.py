"""Which characters the engine's case-insensitive comparisons treat alike, read from Python.

Three comparisons fold case: `StringEqualsIgnoreCase` (`str.casefold`), `Bool` (`str.lower`) and
Action matching (a regular expression with `re.IGNORECASE`). To enumerate the strings they tell
apart, the diff needs, for a piece of folded text, every character that folds to it. Those tables
are computed from the running interpreter rather than written down, so they can never disagree
with the Unicode version the engine runs on. Only cased characters (whose lower, upper or
casefold form differs from themselves) can fold to anything but themselves; finding them scans
every code point once per process (about 50 ms), and only when a policy uses one of the three.
"""

from __future__ import annotations

import array
import re
import sys
from collections.abc import Callable
from functools import lru_cache

Fold = Callable[[str], str]

_MAX_FOLD = 3
"""The longest expansion of one character under full case folding (e.g. U+0390 -> 3)."""


@lru_cache(maxsize=1)
def cased_characters() -> tuple[str, ...]:
    """Every code point whose lower, upper or casefold form is not itself."""
    codes = array.array("I", range(0xD800))
    codes.extend(range(0xE000, sys.maxunicode + 1))
    text = codes.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")
    found: list[str] = []
    for start in range(0, len(text), 512):
        block = text[start:start + 512]
        if block.lower() == block and block.upper() == block and block.casefold() == block:
            continue
        found.extend(c for c in block if c.lower() != c or c.upper() != c or c.casefold() != c)
    return tuple(found)


@lru_cache(maxsize=4)
def _reverse(fold_name: str) -> dict[str, frozenset[str]]:
    fold: Fold = getattr(str, fold_name)
    table: dict[str, set[str]] = {}
    for char in cased_characters():
        table.setdefault(fold(char), set()).add(char)
    return {text: frozenset(chars) for text, chars in table.items()}


def preimage(text: str, fold_name: str) -> frozenset[str]:
    """Every single character `c` with `fold(c) == text` (`fold_name`: casefold or lower)."""
    fold: Fold = getattr(str, fold_name)
    found = set(_reverse(fold_name).get(text, ()))
    if len(text) == 1 and fold(text) == text:
        found.add(text)
    return frozenset(found)


def substring_preimages(target: str, fold_name: str) -> frozenset[str]:
    """Characters whose fold is some substring of `target`: the only ones that can advance a
    comparison against it."""
    chars: set[str] = set()
    for start in range(len(target)):
        for width in range(1, _MAX_FOLD + 1):
            if start + width <= len(target):
                chars |= preimage(target[start:start + width], fold_name)
    return frozenset(chars)


@lru_cache(maxsize=4096)
def ignorecase_equivalents(char: str) -> frozenset[str]:
    """The characters a literal `char` matches in a regular expression with `re.IGNORECASE`.

    A character without case mappings matches only itself, so testing the cased ones suffices
    (tests/diff/test_diff_automata.py checks that against a scan of every code point).
    """
    pattern = re.compile(re.escape(char), re.IGNORECASE)
    found = {c for c in cased_characters() if pattern.fullmatch(c)}
    found.add(char)
    return frozenset(found)
