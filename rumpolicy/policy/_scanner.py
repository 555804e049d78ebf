"""A faster lexer for `grammar/policy.lark`: the grammar's own terminals, scanned with one
compiled alternation.

lark's general lexer spends about 3 µs a token here (policies are mostly whitespace, quotes and
punctuation), which made lexing most of `load_policy`'s cost. This scanner builds its regular
expression from the terminals lark compiled from the grammar, so the grammar stays the single
definition of the language; only the scanning loop is ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer


class Scanner(Lexer):
    def __init__(self, lexer_conf: Any) -> None:
        ignore = set(lexer_conf.ignore)
        # Longer literal terminals first, then patterns, as lark orders them.
        terminals = sorted(lexer_conf.terminals, key=lambda t: (-t.priority,
                                                                 -t.pattern.max_width,
                                                                 t.name))
        self._ignored = frozenset(t.name for t in terminals if t.name in ignore)
        self._regex = re.compile("|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals))

    def lex(self, text: str) -> Iterator[Token]:  # type: ignore[override]
        """lark's original custom-lexer interface: the whole text in, tokens out."""
        end = len(text)
        match = self._regex.match
        ignored = self._ignored
        position, line, line_start = 0, 1, 0
        while position < end:
            found = match(text, position)
            if found is None:
                raise UnexpectedCharacters(  # type: ignore[no-untyped-call]
                    text, position, line, position - line_start + 1)
            kind = found.lastgroup
            value = found.group()
            stop = found.end()
            if kind not in ignored:
                yield Token(kind, value, position, line, position - line_start + 1)  # type: ignore[arg-type]
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = position + value.rindex("\n") + 1
            position = stop
