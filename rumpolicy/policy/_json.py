"""Positioned JSON: the policy text parsed by `grammar/policy.lark` into values that know where
they stand, so that every later diagnostic can name a line and column.

Unlike `json.loads`, duplicate keys are kept (the loader reports them) and a bad string escape is
reported at that string rather than aborting the parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Union

from rumpolicy.policy.diagnostics import Diagnostic

if TYPE_CHECKING:
    from lark import Lark, Token, Tree


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


JValue = Union[JString, JScalar, JArray, JObject]


def grammar_path(name: str) -> Path:
    """Grammars ship inside the wheel as `rumpolicy/grammar`; in a checkout they are top-level."""
    package_copy = Path(__file__).resolve().parent.parent / "grammar" / name
    if package_copy.exists():
        return package_copy
    return Path(__file__).resolve().parents[2] / "grammar" / name


@cache
def _parser() -> Lark:
    from lark import Lark

    # cache=True keeps the built LALR tables in the temp dir: a cold CLI start skips the build.
    return Lark(
        grammar_path("policy.lark").read_text(encoding="utf-8"),
        parser="lalr",
        keep_all_tokens=True,
        cache=True,
    )


def parse_json(text: str) -> tuple[JValue | None, list[Diagnostic]]:
    """Parse `text`; return the positioned value (None on a syntax error) and string problems."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

    try:
        tree = _parser().parse(text)
    except UnexpectedEOF:
        line, column = _end_position(text)
        return None, [Diagnostic("json-syntax", "invalid JSON: the text ends too early",
                                 line, column, "$")]
    except UnexpectedCharacters as err:
        return None, [Diagnostic("json-syntax", f"invalid JSON: unexpected character "
                                 f"{text[err.pos_in_stream]!r}", err.line, err.column, "$")]
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
    return _convert(tree, problems, "$"), problems


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _convert(node: Tree[Token] | Token, problems: list[Diagnostic], path: str) -> JValue:
    from lark import Token

    if isinstance(node, Token):  # pragma: no cover - the grammar wraps every token in a rule
        raise TypeError(f"unexpected token {node!r}")
    kind = node.data
    children = node.children
    if kind == "string":
        return _string(children[0], problems, path)  # type: ignore[arg-type]
    if kind == "object":
        brace: Token = children[0]  # type: ignore[assignment]
        pairs = []
        for child in children:
            if child is None or isinstance(child, Token):
                continue
            key = _string(child.children[0].children[0], problems, path)  # type: ignore[union-attr,arg-type]
            value = _convert(child.children[2], problems, f"{path}.{key.value}")  # type: ignore[arg-type]
            pairs.append((key, value))
        return JObject(tuple(pairs), brace.line or 1, brace.column or 1)
    if kind == "array":
        bracket: Token = children[0]  # type: ignore[assignment]
        values = [c for c in children if c is not None and not isinstance(c, Token)]
        items = tuple(_convert(c, problems, f"{path}[{i}]") for i, c in enumerate(values))
        return JArray(items, bracket.line or 1, bracket.column or 1)  # type: ignore[arg-type]
    token: Token = children[0]  # type: ignore[assignment]
    line, column = token.line or 1, token.column or 1
    if kind == "number":
        text = str(token)
        number: object = float(text) if any(c in text for c in ".eE") else int(text)
        return JScalar(number, text, line, column)
    return JScalar({"true": True, "false": False, "null": None}[kind], kind, line, column)


def _string(token: Token, problems: list[Diagnostic], path: str) -> JString:
    line, column = token.line or 1, token.column or 1
    try:
        value = json.loads(str(token))
        value.encode("utf-8")
    except (json.JSONDecodeError, UnicodeEncodeError) as err:
        reason = (
            "a lone surrogate escape is not valid Unicode"
            if isinstance(err, UnicodeEncodeError)
            else err.msg.lower()
        )
        problems.append(Diagnostic("invalid-string", f"invalid string: {reason}", line, column, path))
        value = str(token)[1:-1]
    return JString(value, line, column)
