"""Positioned JSON: the policy text parsed by `grammar/policy.lark` into values that know where
they stand, so that every later diagnostic can name a line and column.

Unlike `json.loads`, duplicate keys are kept (the loader reports them) and a bad string escape is
reported at that string rather than aborting the parse.

The lark parse is the reference and the only source of diagnostics; `_fastjson.py` builds the
same values about nine times faster for every text it can show it reproduces exactly: every valid
text except those with surrogate escapes (or nested deeper than 64), so loading a valid policy
normally never imports lark.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rumpolicy.policy._fastjson import parse_fast
from rumpolicy.policy._jvalues import MAX_NESTING, JArray, JObject, JScalar, JString, JValue
from rumpolicy.policy.diagnostics import Diagnostic

if TYPE_CHECKING:
    from lark import Lark, Token


def grammar_path(name: str) -> Path:
    """Grammars ship inside the wheel as `rumpolicy/grammar`; in a checkout they are top-level."""
    package_copy = Path(__file__).resolve().parent.parent / "grammar" / name
    if package_copy.exists():
        return package_copy
    return Path(__file__).resolve().parents[2] / "grammar" / name


@cache
def _parser() -> Lark:
    from lark import Lark

    from rumpolicy.policy._scanner import Scanner

    # cache=True keeps the built LALR tables in the temp dir: a cold CLI start skips the build.
    return Lark(
        grammar_path("policy.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer=Scanner,
        keep_all_tokens=True,
        cache=True,
    )


def parse_json(text: str) -> tuple[JValue | None, list[Diagnostic]]:
    """Parse `text`; return the positioned value (None on a syntax error) and string problems.

    Most texts take `_fastjson.parse_fast`, which builds the same values at C speed; whatever
    it cannot reproduce exactly (syntax errors, strings lark reports, ...) goes through lark.
    """
    root = parse_fast(text)
    if root is not None:
        return root, []
    return parse_with_lark(text)


def parse_with_lark(text: str) -> tuple[JValue | None, list[Diagnostic]]:
    """The reference parse: `grammar/policy.lark`, reporting syntax errors and bad strings."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

    try:
        tree = _parser().parse(text)
    except UnexpectedEOF:
        line, column = _end_position(text)
        return None, [Diagnostic("json-syntax", "invalid JSON: the text ends too early",
                                 line, column, "$")]
    except UnexpectedCharacters as err:
        shown = text[err.pos_in_stream] if err.pos_in_stream is not None else "?"
        return None, [Diagnostic("json-syntax", f"invalid JSON: unexpected character "
                                 f"{shown!r}", err.line, err.column, "$")]
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        shown = f" {str(token)!r}" if token is not None and str(token) else ""
        if token is not None and getattr(token, "type", "") == "$END":
            line, column = _end_position(text)
            return None, [Diagnostic("json-syntax", "invalid JSON: the text ends too early",
                                     line, column, "$")]
        return None, [Diagnostic("json-syntax", f"invalid JSON: unexpected{shown}",
                                 err.line, err.column, "$")]
    problems: list[Diagnostic] = []
    try:
        return _convert(tree, problems, "$", 0), problems
    except _Unreadable as err:
        return None, [err.diagnostic]


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


class _Unreadable(Exception):
    """Valid JSON this parser will not turn into values; the whole text is refused."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _convert(node: Any, problems: list[Diagnostic], path: str, depth: int) -> JValue:
    """Tree -> positioned values. `keep_all_tokens` keeps the brackets, which give the
    position of an object or array; punctuation tokens are skipped."""
    from lark import Token

    kind: str = node.data
    children: list[Any] = node.children
    if kind == "string":
        return _string(children[0], problems, path)
    if kind in ("object", "array"):
        opening: Token = children[0]
        line, column = opening.line or 1, opening.column or 1
        if depth >= MAX_NESTING:
            raise _Unreadable(Diagnostic(
                "json-syntax", f"invalid JSON for a policy: nested more than {MAX_NESTING} "
                "levels deep (a policy needs five)", line, column, path))
        inner = [c for c in children if c is not None and not isinstance(c, Token)]
        if kind == "array":
            items = tuple(_convert(c, problems, f"{path}[{i}]", depth + 1)
                          for i, c in enumerate(inner))
            return JArray(items, line, column)
        pairs = []
        for pair in inner:
            key = _string(pair.children[0].children[0], problems, path)
            pairs.append((key, _convert(pair.children[2], problems, f"{path}.{key.value}",
                                        depth + 1)))
        return JObject(tuple(pairs), line, column)
    token: Token = children[0]
    line, column = token.line or 1, token.column or 1
    if kind == "number":
        text = str(token)
        try:
            number: object = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:  # Python refuses to convert integers of more than 4300 digits
            raise _Unreadable(Diagnostic(
                "json-syntax", f"invalid JSON for a policy: a number of {len(text)} "
                "characters", line, column, path)) from None
        return JScalar(number, text, line, column)
    return JScalar({"true": True, "false": False, "null": None}[kind], kind, line, column)


def _string(token: Token, problems: list[Diagnostic], path: str) -> JString:
    line, column = token.line or 1, token.column or 1
    text = str(token)
    try:
        value = json.loads(text)
        value.encode("utf-8")
    except (json.JSONDecodeError, UnicodeEncodeError) as err:
        reason = (
            "a lone surrogate escape is not valid Unicode"
            if isinstance(err, UnicodeEncodeError)
            else err.msg.lower()
        )
        problems.append(Diagnostic("invalid-string", f"invalid string: {reason}", line, column,
                                   path))
        value = text[1:-1]
    return JString(value, line, column)
