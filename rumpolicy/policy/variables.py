"""Policy variables (`${aws:username}`, `${key, 'default'}`, `${*}`): parsed once into a template.

A template is a tuple of parts: plain policy text (where `*` and `?` stay wildcards), `Escaped`
characters (`${*}` is a literal `*`), and `Variable`s resolved per request. Under Version
2008-10-17 or with no Version, IAM substitutes nothing, so the template is the text itself.
"""

from __future__ import annotations

from dataclasses import dataclass

ESCAPES = frozenset("*?$")


@dataclass(frozen=True, slots=True)
class Variable:
    key: str
    default: str | None = None

    def __str__(self) -> str:
        tail = f", '{self.default}'" if self.default is not None else ""
        return f"${{{self.key}{tail}}}"


@dataclass(frozen=True, slots=True)
class Escaped:
    char: str

    def __str__(self) -> str:
        return f"${{{self.char}}}"


Part = str | Variable | Escaped
Template = tuple[Part, ...]


def parse_template(text: str) -> tuple[Template, str | None]:
    """Split `text` into parts; the second item describes the first malformed variable."""
    parts: list[Part] = []
    start = 0
    while True:
        opening = text.find("${", start)
        if opening < 0:
            break
        closing = text.find("}", opening + 2)
        if closing < 0:
            return (text,), f"the variable at offset {opening} has no closing brace '}}'"
        if opening > start:
            parts.append(text[start:opening])
        inner = text[opening + 2 : closing]
        part, problem = _variable(inner)
        if problem:
            return (text,), f"{problem} in '${{{inner}}}'"
        assert part is not None
        parts.append(part)
        start = closing + 1
    if start < len(text):
        parts.append(text[start:])
    return tuple(parts), None


def _variable(inner: str) -> tuple[Variable | Escaped | None, str | None]:
    if inner == "":
        return None, "an empty variable"
    if inner in ESCAPES:
        return Escaped(inner), None
    name, comma, default_text = inner.partition(",")
    default: str | None = None
    if comma:
        quoted = default_text.strip()
        if len(quoted) < 2 or quoted[0] != "'" or quoted[-1] != "'":
            return None, "a default value must be in single quotes"
        default = quoted[1:-1]
    if name != name.strip() or any(c.isspace() for c in name):
        return None, "a space in the variable name"
    prefix, colon, rest = name.partition(":")
    if not colon or not prefix or not rest:
        return None, "a variable must name a condition key such as aws:username"
    return Variable(name, default), None


def has_variables(template: Template) -> bool:
    return any(isinstance(part, Variable) for part in template)


def render(template: Template) -> str:
    """The template written back as policy text (round-trips through `parse_template`)."""
    return "".join(str(part) for part in template)
