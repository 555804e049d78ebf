"""Positioned JSON values: what both JSON readers (`_fastjson` and the lark path in `_json`)
build, so that every later diagnostic can name a line and column."""

from __future__ import annotations

from dataclasses import dataclass

MAX_NESTING = 64
"""Objects and arrays nested deeper are refused: a policy needs five levels, and converting a
deeper tree would exhaust Python's recursion limit."""


@dataclass(frozen=True, slots=True)
class JString:
    value: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class JScalar:
    """A number, true, false or null; `value` is the Python value, `text` the JSON spelling."""

    value: object
    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class JArray:
    items: tuple[JValue, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class JObject:
    pairs: tuple[tuple[JString, JValue], ...]
    line: int
    column: int


JValue = JString | JScalar | JArray | JObject
