"""The fast path of `parse_json`: the same positioned values as the lark parse, built at C speed
for every text where that can be shown to give the identical result.

lark's LALR loop costs about 3 µs a token and was most of `load_policy`'s time. Here Python's C
JSON decoder checks the text and builds its structure (objects as tuples of pairs, so duplicate
keys survive), and a walk over that structure finds where each value starts. A document lists
its values in the order a depth-first walk meets them (an object's `{`, then each key and its
value; an array's `[`, then its items), and between one such token and the next there is only
whitespace, `,`, `:`, `]` and `}`. So the walk keeps a cursor just past the last token and finds
the next one with `str.find` of its first character: `"`, `{`, `[`, `t`, `f`, `n`, or a number
(searched with the grammar's NUMBER pattern). A string token ends after its decoded length plus
the quotes when the text has no backslash; otherwise its end is matched.

`parse_fast` answers None whenever its result could differ from the lark parse, and the caller
then runs lark, which stays the reference and the only source of diagnostics:

- the decoder refuses the text: every syntax error; a raw control character or a bad escape in
  a string, which lark reports as 'invalid-string'; a byte-order mark; an integer too long for
  Python to convert; nesting deep enough to exhaust the recursion limit;
- NaN, Infinity or -Infinity, which the decoder accepts and the grammar does not;
- a raw surrogate or a `\\uD800`-`\\uDFFF` escape anywhere (lark reports a lone surrogate as
  'invalid-string'; escaped surrogate pairs, rare in policies, take the slow path too);
- nesting deeper than `MAX_NESTING`, which the lark path refuses with a diagnostic.

Positions are counted as `_scanner.Scanner` counts them: a line ends at "\\n" only (a "\\r"
belongs to the line it ends), and columns count characters (code points) from 1. Values are the
decoder's: the same `int`/`float` that `float(text)`/`int(text)` give, and the same strings that
decoding each string token alone gives.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from json import JSONDecoder
from typing import Final, NoReturn

from rumpolicy.policy._jvalues import MAX_NESTING, JArray, JObject, JScalar, JString, JValue

_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
"""The grammar's NUMBER terminal (ASCII digits only, like the C decoder)."""
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_NEWLINE: Final = re.compile("\n")
_SPELLING: Final = {None: "null", True: "true", False: "false"}


class _Refused(ValueError):
    """Raised from inside the decoder for a value the grammar does not accept."""


def _refuse_constant(name: str) -> NoReturn:
    raise _Refused(name)


_DECODER: Final = JSONDecoder(object_pairs_hook=tuple, parse_constant=_refuse_constant)
"""strict (no raw control characters in strings); objects become tuples of (key, value) pairs,
which keeps duplicate keys in order and tells objects (tuples) from arrays (lists)."""

# Filling a JString's slots directly costs half of its generated frozen __init__ (one
# object.__setattr__ call per field) and gives the same object; strings are most of a policy.
_new: Final = object.__new__
_set_value: Final[Callable[[JString, str], None]] = vars(JString)["value"].__set__
_set_line: Final[Callable[[JString, int], None]] = vars(JString)["line"].__set__
_set_column: Final[Callable[[JString, int], None]] = vars(JString)["column"].__set__


class _Fallback(Exception):
    """The walk met something the fast path does not build; lark takes over."""


def parse_fast(text: str) -> JValue | None:
    """The positioned value of `text`, equal to what the lark path builds, or None when only
    the lark path can answer (see the module docstring)."""
    if not text.isascii() and _SURROGATE.search(text):
        return None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return None
    try:
        decoded = _DECODER.decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError and _Refused are ValueErrors
        return None
    line_starts = [0]
    if "\n" in text:
        line_starts += [found.end() for found in _NEWLINE.finditer(text)]
    try:
        root, end = _walk(decoded, text, line_starts)
    except (_Fallback, RecursionError):
        return None
    # Only closing brackets and whitespace may follow the last token; anything else would mean
    # the walk lost its place, which the reasoning above rules out (and the tests check).
    if text[end:].strip(" \t\r\n]}"):
        return None
    return root


def _walk(decoded: object, text: str, line_starts: list[int]) -> tuple[JValue, int]:
    """Positions for the decoded value: the root and the offset just past the last token. The
    state lives in the closure's cells, which Python reads faster than attributes."""
    find = text.find
    match_string = _STRING.match
    plain = "\\" not in text
    cursor = 0

    def string(value: str) -> JString:
        nonlocal cursor
        position = find('"', cursor)
        cursor = (position + len(value) + 2 if plain
                  else match_string(text, position).end())  # type: ignore[union-attr]
        line = bisect_right(line_starts, position)
        node: JString = _new(JString)
        _set_value(node, value)
        _set_line(node, line)
        _set_column(node, position - line_starts[line - 1] + 1)
        return node

    def build(value: object, depth: int) -> JValue:
        nonlocal cursor
        kind = type(value)
        if kind is str:
            return string(value)  # type: ignore[arg-type]
        if kind is tuple or kind is list:
            if depth >= MAX_NESTING:
                raise _Fallback
            position = find("{" if kind is tuple else "[", cursor)
            cursor = position + 1
            line = bisect_right(line_starts, position)
            column = position - line_starts[line - 1] + 1
            if kind is tuple:
                pairs = []
                for key, member in value:  # type: ignore[attr-defined]
                    name = string(key)
                    pairs.append((name, string(member) if type(member) is str
                                  else build(member, depth + 1)))
                return JObject(tuple(pairs), line, column)
            items = [string(item) if type(item) is str else build(item, depth + 1)
                     for item in value]  # type: ignore[attr-defined]
            return JArray(tuple(items), line, column)
        if kind is bool or value is None:
            spelling = _SPELLING[value]  # type: ignore[index]
            position = find(spelling[0], cursor)
            cursor = position + len(spelling)
        elif kind is int or kind is float:
            found = _NUMBER.search(text, cursor)
            if found is None:
                raise _Fallback
            position, cursor = found.span()
            spelling = found.group()
        else:
            raise _Fallback
        line = bisect_right(line_starts, position)
        return JScalar(value, spelling, line, position - line_starts[line - 1] + 1)

    root = build(decoded, 0)
    return root, cursor
