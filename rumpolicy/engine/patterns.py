"""Wildcard patterns compiled to regular expressions, one rule set per place IAM uses them.

A pattern arrives as parts: `(text, literal)` pairs, where policy text keeps `*` and `?` as
wildcards and literal text (from `${*}` escapes or substituted variables) matches only itself.
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
    body = "".join(re.escape(t) if literal else _translate(t, _ANY, _ONE) for t, literal in parts)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


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
        in_resource = position == last
        chunks = []
        for index, (text, literal) in enumerate(segment):
            if literal:
                chunks.append(re.escape(text))
                continue
            if in_resource:
                chunks.append(_translate(text, _ANY, _ONE))
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
