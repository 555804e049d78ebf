"""What a JSON text must be, beyond RFC 8259's grammar, for the gate to acknowledge it.

The rule (docs/semantics.md, "The gate"): whatever the gate acknowledges, every reader the
project ships, and Python's `json`, reads back exactly as the gate validated it. orjson, which
parses request bodies, accepts two things that break that promise:

- **Nesting 1,024 levels deep.** Python's `json` gives up near 1,000 (RecursionError), so one
  such batch made `rumpolicy events` fail for its whole monitor. The gate accepts at most
  `MAX_DEPTH` levels in a request body and in each JSON-text member (`details`, `metadata`,
  `SessionMetadata`).
- **Duplicate member names.** orjson keeps the last; a reader that keeps the first would read a
  value the gate never validated. A request body with a duplicate member is refused, naming the
  member and where it is written.

These are rules for what is *stored*, so the store applies them (`storage.write_rows`) just
before it commits a batch: for the HTTP app that is in the writer process, beside the event loop
rather than on it, where they cost as much as parsing the body again. A count of brackets bounds
the depth of most bodies without walking them, and the count of `:` in the text, which is one
per member plus those inside strings, equals the count in orjson's own compact re-serialization
exactly when no member was dropped. Only a body that fails one of those bounds is scanned to say
where. A text the gate itself wrote from the parse of a text that kept the rules keeps them too
(one member per name, no deeper): it is a `CheckedText`, which the store does not check again.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from rumpolicy.gate.errors import GateError, validation

MAX_DEPTH = 64
"""Levels of objects and arrays a JSON text may nest; the policy loader's limit too."""

class CheckedText(bytes):
    """JSON text that keeps these rules by construction: orjson's writing of a value parsed
    from a text that kept them, less some of its items (ingest_rules.py). The store commits it
    without parsing it again; it pickles as itself, for the writer process."""

    __slots__ = ()


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')
"""A JSON text's strings and structure characters; numbers, literals and commas are skipped."""
_COLON_ESCAPE = b"\\u003"
"""`\\u003a` writes `:` inside a string without a colon in the text: such texts are scanned."""


def refusal(text: bytes, what: str = "Request body") -> GateError | None:
    """The ValidationException for a JSON text that breaks a rule, naming where; None if it
    keeps them all."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as err:  # the gate parsed it already: only a store's caller
        return validation(f"{what} is not valid JSON: {err}")
    return parsed_refusal(text, value, what)


def parsed_refusal(text: bytes, value: Any, what: str = "Request body") -> GateError | None:
    """`refusal` for a text already parsed into `value` (by orjson)."""
    problem = text_problem(text, value)
    if problem is None:
        return None
    message, offset = problem
    return validation(f"{what} is refused: {located(text, offset, message)}")


def located(text: bytes | str, offset: int, problem: str) -> str:
    """`problem at line L column C`, for a byte offset into UTF-8 `text` (or a character
    offset into a str); columns count characters."""
    if isinstance(text, bytes):
        offset = len(text[:offset].decode(errors="replace"))
        text = text.decode(errors="replace")
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{problem} at line {line} column {column}"


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests more than `limit` levels of objects and arrays."""
    stack = [(value, 1)] if type(value) is dict or type(value) is list else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in (node.values() if type(node) is dict else node):
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def text_problem(text: bytes, value: Any) -> tuple[str, int] | None:
    """(what is wrong, its byte offset) for a JSON text that orjson parsed into `value`, or
    None when every reader reads it as the gate does: no duplicate member, no deeper nesting
    than MAX_DEPTH."""
    if text.count(b"{") + text.count(b"[") > MAX_DEPTH and deeper_than(value):
        return locate_problem(text)  # (orjson writes no more than 255 levels)
    if _COLON_ESCAPE in text or text.count(b":") != orjson.dumps(value).count(b":"):
        return locate_problem(text)
    return None


def locate_problem(text: bytes) -> tuple[str, int] | None:
    """The first duplicate member or too-deep nesting in a valid JSON text, by scanning it."""
    scopes: list[set[str] | None] = []  # one per open container: member names, None for arrays
    name, name_at = b"", 0
    for token in _TOKENS.finditer(text):
        first = token.group()[:1]
        if first == b'"':
            name, name_at = token.group(), token.start()
        elif first == b":":
            scope = scopes[-1]
            key = json.loads(name)
            if scope is not None:
                if key in scope:
                    return f"duplicate member {_quoted(key)}", name_at
                scope.add(key)
        elif first in b"{[":
            if len(scopes) == MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep", token.start()
            scopes.append(set() if first == b"{" else None)
        else:
            scopes.pop()
    return None


def _quoted(name: str) -> str:
    shown = json.dumps(name[:80], ensure_ascii=True)
    return shown if len(name) <= 80 else shown[:-1] + '..."'
