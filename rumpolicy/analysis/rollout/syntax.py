"""From rollout text to a syntax tree, with errors a person can act on.

Lark reports what it wanted as terminal names (`STRING`, `_NL`); these are turned into words
("a quoted string", "the end of the line"), and an unknown word at the start of a line gets a
"did you mean". Every error names the line and column where the text stops making sense.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from rumpolicy.analysis.rollout.model import Position, Problem, RolloutError
from rumpolicy.policy._json import grammar_path

if TYPE_CHECKING:
    from lark import Lark, Token, Tree
    from lark.exceptions import UnexpectedToken

_STATEMENT_STARTS: dict[str, str] = {
    "ALLOW": "allow",
    "DENY": "deny",
    "EXPLICIT": "explicit deny",
    "IMPLICIT": "implicit deny",
    "POLICY": "policy",
    "MONITOR": "monitor",
    "EVERY": "every request",
    "CHANGE": "change from",
    "IDENTITY": "identity policy",
    "NO": "no new access / no lost access / no change",
}
"""What a line may start with, as the user would write it."""

_TERMINAL_WORDS: dict[str, str] = {
    "STRING": 'a quoted string such as "shop-v2"',
    "ARN": "an ARN such as arn:aws:rum:us-east-1:123456789012:appmonitor/shop",
    "ADDRESS": "an IP address such as 203.0.113.9",
    "TIME": "a time such as 2026-12-01T00:00:00Z",
    "KEY": "a condition key such as aws:SecureTransport",
    "_NL": "the end of the line",
    "LSQB": "'['",
    "RSQB": "']'",
    "EQUAL": "'='",
    "COMMA": "','",
}

_WORD = re.compile(r"[^\s#]+")


@cache
def _parser() -> Lark:
    from lark import Lark

    return Lark(grammar_path("rollout.lark").read_text(encoding="utf-8"), parser="lalr",
                propagate_positions=True, cache=True)


def syntax_tree(text: str, path: Path) -> Tree[Token]:
    """The parse tree of `text`, or a RolloutError naming the first place that does not parse."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    source = text if text.endswith("\n") else text + "\n"
    try:
        return _parser().parse(source)
    except UnexpectedToken as err:
        expected = _expected(_acceptable(err))
        if err.token.type == "_NL":
            message = f"the line ends too early: expected {expected}"
        else:
            message = (f"unexpected {_shown(source, err.pos_in_stream)}; expected {expected}"
                       + _suggestion(source, err.pos_in_stream, _acceptable(err)))
        problem = Problem(path, message, Position(err.line, err.column))
    except UnexpectedCharacters as err:
        problem = Problem(path, _character_message(source, err.pos_in_stream or 0,
                                                   set(err.allowed)),
                          Position(err.line, err.column))
    except UnexpectedInput as err:  # pragma: no cover - lalr raises only the two above
        problem = Problem(path, f"cannot parse: {err}", Position(err.line, err.column))
    raise RolloutError((problem,))


def _acceptable(err: UnexpectedToken) -> set[str]:
    """The tokens the parser would really take here. LALR merges states, so `err.expected`
    may list tokens of another context (after `from ADDRESS` in an exemption it would offer
    request clauses); replaying the parser state tries each token for real."""
    interactive = getattr(err, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except Exception:  # pragma: no cover - fall back to lark's own list
            pass
    return set(err.expected)


def _character_message(source: str, pos: int, allowed: set[str]) -> str:
    if source[pos] == '"' and "STRING" in allowed:
        return 'unterminated string: close it with " on the same line'
    return (f"unexpected {_shown(source, pos)}; expected {_expected(allowed)}"
            + _suggestion(source, pos, allowed))


def _shown(source: str, pos: int | None) -> str:
    if pos is None or pos >= len(source):
        return "the end of the file"
    found = _WORD.match(source, pos)
    word = found.group(0) if found else source[pos]
    return repr(word if len(word) <= 40 else word[:37] + "...")


def _expected(names: set[str]) -> str:
    if names & _STATEMENT_STARTS.keys() and "POLICY" in names:
        starts = [phrase for name, phrase in _STATEMENT_STARTS.items() if name in names]
        return "a statement: " + ", ".join(starts)
    words = sorted((_word(n) for n in names), key=lambda w: (len(w) > 12, w))
    if len(words) == 1:
        return words[0]
    return "one of: " + ", ".join(words)


def _word(name: str) -> str:
    return _TERMINAL_WORDS.get(name) or f"'{name.lower()}'"


def _suggestion(source: str, pos: int | None, expected: set[str]) -> str:
    """A "did you mean" for a misspelt keyword."""
    if pos is None or pos >= len(source):
        return ""
    found = _WORD.match(source, pos)
    if not found:
        return ""
    keywords = [_STATEMENT_STARTS.get(n, n.lower()).split()[0] for n in expected
                if n not in _TERMINAL_WORDS and n.isupper()]
    close = difflib.get_close_matches(found.group(0), keywords, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
