"""Wildcard patterns compiled to regular expressions, one rule set per place IAM uses them.

A pattern arrives as parts: `(text, literal)` pairs, where policy text keeps `*` and `?` as
wildcards and literal text (from `${*}` escapes or substituted variables) matches only itself.

Values are often the caller's (a referer, a user agent), so matching must not backtrack:
`.*a.*a.*b` as written costs n^3 steps on a long value that almost matches (800 characters
took 11 s). Between two stars a piece has a fixed length, and the leftmost place it fits is
always as good as any later one, so every star but the last is written `(?>.*?PIECE)`: an
atomic lazy group takes that leftmost place and is never reopened. Matching is then about
linear in the value for each piece.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

Parts = Sequence[tuple[str, bool]]
_ANY, _ONE = ".*", "."
_IN_SEGMENT_ANY, _IN_SEGMENT_ONE = "[^:]*", "[^:]"


def _translate(text: str, any_: str, one: str) -> str:
    out = []
    for char in text:
        if char == "*":
            out.append(any_)
        elif char == "?":
            out.append(one)
        else:
            out.append(re.escape(char))
    return "".join(out)


def _to_the_end(parts: Iterable[tuple[str, bool]], one: str = _ONE) -> str:
    """A pattern whose `*` runs anywhere (colons included) up to the end of the value, written
    so that it cannot backtrack (the module's docstring)."""
    pieces = [""]
    for text, literal in parts:
        if literal:
            pieces[-1] += re.escape(text)
            continue
        for char in text:
            if char == "*":
                pieces.append("")
            else:
                pieces[-1] += one if char == "?" else re.escape(char)
    if len(pieces) == 1:
        return pieces[0]
    middle = "".join(f"(?>{_ANY}?{piece})" for piece in pieces[1:-1] if piece)
    return f"{pieces[0]}{middle}{_ANY}{pieces[-1]}"


def glob(parts: Parts, *, ignore_case: bool = False) -> re.Pattern[str]:
    """StringLike and Action matching: `*` any run (colons included), `?` one character."""
    return _glob(tuple(parts), ignore_case)


def arn_glob(parts: Parts, *, star_may_cross_colons: bool) -> re.Pattern[str]:
    """ARN matching by segment: wildcards stay inside their colon segment, except in the last
    (resource) segment, which runs to the end of the ARN.

    With `star_may_cross_colons` (the Resource element), a `*` that ends a segment may also run
    past colons, as the IAM Resource page describes; ArnLike/ArnEquals keep segments strict.
    """
    return _arn_glob(tuple(parts), star_may_cross_colons)


# Patterns repeat across requests and statements; translating them is the costly part.
@lru_cache(maxsize=4096)
def _glob(parts: tuple[tuple[str, bool], ...], ignore_case: bool) -> re.Pattern[str]:
    return re.compile(_to_the_end(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _segments(parts: Parts) -> list[list[tuple[str, bool]]]:
    """Split parts into colon-separated ARN segments; the sixth segment keeps its colons."""
    segments: list[list[tuple[str, bool]]] = [[]]
    for text, literal in parts:
        if literal or len(segments) == 6:
            segments[-1].append((text, literal))
            continue
        head, *rest = text.split(":", 6 - len(segments))
        segments[-1].append((head, False))
        segments.extend([(piece, False)] for piece in rest)
    return segments


@lru_cache(maxsize=4096)
def _arn_glob(parts: tuple[tuple[str, bool], ...], star_may_cross_colons: bool
              ) -> re.Pattern[str]:
    segments = _segments(parts)
    bodies = []
    last = len(segments) - 1
    for position, segment in enumerate(segments):
        if position == last:
            bodies.append(_to_the_end(segment))
            continue
        chunks = []
        for index, (text, literal) in enumerate(segment):
            if literal:
                chunks.append(re.escape(text))
                continue
            translated = _translate(text, _IN_SEGMENT_ANY, _IN_SEGMENT_ONE)
            ends_segment = index == len(segment) - 1 and text.endswith("*")
            if star_may_cross_colons and ends_segment:
                translated = translated[: -len(_IN_SEGMENT_ANY)] + _ANY
            chunks.append(translated)
        bodies.append("".join(chunks))
    return re.compile(":".join(bodies), re.DOTALL)


def join(parts: Iterable[tuple[str, bool]]) -> str:
    return "".join(text for text, _ in parts)
