"""A positioned document tree that JSON and YAML templates both become, so that resolving
`Fn::Sub` or `Fn::Join` and mapping a policy's places back into the file is written once.

Every node knows its line and column. A string also knows where each of its characters stands
in the file when that can be shown exactly: a JSON string (escapes included), a YAML literal
block scalar (line for line), a YAML scalar on one line whose source reads as its value. For any
other scalar (folded, spread over lines) every character stands at the scalar's start: a finding
then points at the value, never at a wrong place inside it.

YAML short-form tags become the long form they abbreviate (`!Sub x` is `{"Fn::Sub": x}`,
`!GetAtt a.b` is `{"Fn::GetAtt": ["a", "b"]}`), as CloudFormation reads them.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

Place = tuple[int, int]
"""(line, column), both from 1, columns in code points."""


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    line: int
    column: int
    _places: Callable[[], list[Place]] | None = field(default=None, compare=False, repr=False)

    def places(self) -> list[Place]:
        """Where each character of `value` stands in the file."""
        if self._places is not None:
            found = self._places()
            if len(found) == len(self.value):
                return found
        return [(self.line, self.column)] * len(self.value)


@dataclass(frozen=True, slots=True)
class Mapping:
    items: tuple[tuple[Text, Node], ...]
    line: int
    column: int

    def get(self, key: str) -> Node | None:
        """The value of `key` (the last, if written twice, as both parsers keep it)."""
        for name, value in reversed(self.items):
            if name.value == key:
                return value
        return None

    def keys(self) -> list[str]:
        return [name.value for name, _ in self.items]


@dataclass(frozen=True, slots=True)
class Sequence:
    items: tuple[Node, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Scalar:
    """A number, boolean or null."""

    value: object
    line: int
    column: int


Node = Text | Mapping | Sequence | Scalar


class TreeError(ValueError):
    """The file cannot be parsed; carries the place."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def describe(node: Node) -> str:
    """How a message names what a node holds."""
    return {Text: "a string", Mapping: "a mapping", Sequence: "a list"}.get(
        type(node), f"the value {json.dumps(getattr(node, 'value', None), default=str)}")


# -- JSON ---------------------------------------------------------------------------------------


def from_json(text: str) -> Node:
    """The positioned tree of a JSON document (the policy loader's positioned parse)."""
    from rumpolicy.policy._json import parse_json
    from rumpolicy.policy._jvalues import JArray, JObject, JString, JValue

    root, problems = parse_json(text)
    if root is None:
        first = problems[0]
        raise TreeError(first.message, first.line, first.column)
    line_starts = _line_starts(text)

    def convert(value: JValue) -> Node:
        if isinstance(value, JString):
            return text_node(value)
        if isinstance(value, JObject):
            return Mapping(tuple((text_node(k), convert(v)) for k, v in value.pairs),
                           value.line, value.column)
        if isinstance(value, JArray):
            return Sequence(tuple(convert(v) for v in value.items), value.line, value.column)
        return Scalar(value.value, value.line, value.column)

    def text_node(value: JString) -> Text:
        offset = line_starts[value.line - 1] + value.column - 1
        return Text(value.value, value.line, value.column,
                    lambda: _json_string_places(text, offset, line_starts))

    return convert(root)


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _json_string_places(text: str, quote: int, line_starts: list[int]) -> list[Place]:
    """Where each decoded character of the JSON string whose opening quote is at `quote`
    stands: an escape stands where its backslash does (a surrogate pair is one character)."""
    places: list[Place] = []
    index = quote + 1
    while index < len(text) and text[index] != '"':
        line = bisect_right(line_starts, index)
        places.append((line, index - line_starts[line - 1] + 1))
        if text[index] != "\\":
            index += 1
        elif text[index + 1] != "u":
            index += 2
        else:
            high = int(text[index + 2:index + 6], 16)
            pair = 0xD800 <= high < 0xDC00 and text.startswith("\\u", index + 6)
            index += 12 if pair else 6
    return places


# -- YAML ---------------------------------------------------------------------------------------

_YAML_ONLY_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_TAG = re.compile(r"![^\s]*[ \t]+")
"""A short-form tag and the blanks after it, when the value follows on the same line."""
_INTRINSICS = {"!Ref": "Ref", "!Condition": "Condition"}
"""Short forms whose long form is not `Fn::` plus the name."""


def from_yaml(text: str) -> Node:
    """The positioned tree of a YAML document, CloudFormation's short-form tags expanded."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise TreeError(f"invalid YAML: {err.problem or err.context}", *where) from None
    except yaml.YAMLError as err:  # a reader error: a character YAML does not allow
        raise TreeError(f"invalid YAML: {err}", 1, 1) from None
    if root is None:
        raise TreeError("the document is empty", 1, 1)
    return _convert_yaml(root, _Source(text), 0, set())


@dataclass(frozen=True, slots=True)
class _Source:
    """The YAML text, with places counted as everywhere else in rumpolicy: only "\\n" ends a
    line (YAML also breaks lines at \\r, U+0085, U+2028 and U+2029, so its own line numbers
    are not used; its marks' character index is)."""

    text: str
    lines: list[str] = field(init=False)
    starts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", self.text.split("\n"))
        object.__setattr__(self, "starts", _line_starts(self.text))

    def place(self, mark: yaml.Mark) -> Place:
        line = bisect_right(self.starts, mark.index)
        return line, mark.index - self.starts[line - 1] + 1


def _convert_yaml(node: yaml.Node, source: _Source, depth: int, seen: set[yaml.Node]) -> Node:
    """`seen` holds every node already converted: the composer hands an alias back as the very
    node its anchor names, so meeting one twice is an alias. CloudFormation refuses aliases,
    and expanding them would let a few lines (billion laughs) grow without bound."""
    import yaml

    if node in seen:
        raise TreeError("YAML aliases (&anchor / *alias) are not supported by CloudFormation",
                        *(_first_alias(source) or source.place(node.start_mark)))
    seen.add(node)
    if depth > 64:
        raise TreeError("invalid YAML for a template: nested more than 64 levels",
                        *source.place(node.start_mark))
    line, column = source.place(node.start_mark)
    tag = node.tag or ""
    if tag.startswith("!") and not tag.startswith("!!"):
        return _short_form(node, tag, source, depth, seen)
    if isinstance(node, yaml.MappingNode):
        items: list[tuple[Text, Node]] = []
        for key, value in node.value:
            converted = _convert_yaml(key, source, depth + 1, seen)
            key_text = converted if isinstance(converted, Text) else Text(
                str(getattr(converted, "value", "")), converted.line, converted.column)
            items.append((key_text, _convert_yaml(value, source, depth + 1, seen)))
        return Mapping(tuple(items), line, column)
    if isinstance(node, yaml.SequenceNode):
        return Sequence(tuple(_convert_yaml(v, source, depth + 1, seen) for v in node.value),
                        line, column)
    assert isinstance(node, yaml.ScalarNode)
    if not node.style and tag != "tag:yaml.org,2002:str":  # plain: a number, bool, null, date
        constructed = _construct(node, source)
        if not isinstance(constructed, str):
            return Scalar(constructed, line, column)
    return _yaml_text(node, source)


def _first_alias(source: _Source) -> Place | None:
    """Where the first `*alias` is written: the composed tree only knows the anchored node.
    Read again only to word an error, as events (which never expand an alias)."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for event in yaml.parse(source.text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            mark: Any = event.start_mark
            return source.place(mark)
    return None


def _short_form(node: yaml.Node, tag: str, source: _Source, depth: int,
                seen: set[yaml.Node]) -> Node:
    """`!Sub x` as the `{"Fn::Sub": x}` it abbreviates."""
    line, column = source.place(node.start_mark)
    name = _INTRINSICS.get(tag, "Fn::" + tag[1:])
    inner = _convert_yaml(_untagged(node), source, depth + 1, seen)
    if name == "Fn::GetAtt" and isinstance(inner, Text):
        first, _, rest = inner.value.partition(".")
        inner = Sequence((Text(first, inner.line, inner.column),
                          Text(rest, inner.line, inner.column + len(first) + 1)),
                         inner.line, inner.column)
    return Mapping(((Text(name, line, column), inner),), line, column)


def _construct(node: yaml.ScalarNode, source: _Source) -> object:
    """A plain scalar's value; a tag YAML's safe types do not know (a `<<` merge key, a
    `!!python/...` tag) is a TreeError at the scalar, not a crash."""
    import yaml

    if node.tag == "tag:yaml.org,2002:merge":
        raise TreeError("YAML merge keys (<<) are not supported by CloudFormation",
                        *source.place(node.start_mark))
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err)
        raise TreeError(f"invalid YAML for a template: {problem}",
                        *source.place(node.start_mark)) from None


def _untagged(node: yaml.Node) -> yaml.Node:
    import yaml

    kinds: dict[type[yaml.Node], str] = {yaml.ScalarNode: "tag:yaml.org,2002:str",
                                          yaml.SequenceNode: "tag:yaml.org,2002:seq",
                                          yaml.MappingNode: "tag:yaml.org,2002:map"}
    copy = type(node).__new__(type(node))
    copy.__dict__.update(node.__dict__)
    copy.tag = kinds[type(node)]
    return copy


def _yaml_text(node: yaml.ScalarNode, source: _Source) -> Text:
    line, column = source.place(node.start_mark)
    value = node.value
    raw = source.text[node.start_mark.index:node.end_mark.index]
    tag = _TAG.match(raw)
    if tag:  # a short-form function on one line (`!Sub '...'`): its value starts after the tag
        raw = raw[tag.end():]
        column += tag.end()
    if _YAML_ONLY_BREAK.search(raw):  # a line break only YAML counts: place at the start
        return Text(value, line, column)
    if node.style == "|":
        return Text(value, line, column, lambda: _literal_places(value, source.lines, line))
    if node.style in (None, "", "'", '"') and "\n" not in raw:
        return Text(value, line, column, lambda: _inline_places(value, raw, node.style,
                                                                 line, column))
    return Text(value, line, column)


def _literal_places(value: str, lines: list[str], first: int) -> list[Place]:
    """A literal block keeps its lines: line k of the value is source line first + k, shifted by
    the block's indentation (found from the first line that is not blank)."""
    value_lines = value.split("\n")
    indent = None
    for number, text in enumerate(value_lines):
        if text.strip() and first + number < len(lines):
            source = lines[first + number].removesuffix("\r")  # a CRLF file's line
            indent = len(source) - len(text) if source.endswith(text) else None
            break
    if indent is None:
        return []
    places: list[Place] = []
    for number, text in enumerate(value_lines):
        source = lines[first + number].removesuffix("\r") if first + number < len(lines) else ""
        if text and source[indent:indent + len(text)] != text:
            return []
        places.extend((first + number + 1, indent + k + 1) for k in range(len(text) + 1))
    return places[:len(value)]


def _inline_places(value: str, source: str, style: str | None, line: int,
                   column: int) -> list[Place]:
    if not style or style == "'":
        body = source[1:-1] if style else source
        if body == value:
            shift = 1 if style else 0
            return [(line, column + shift + k) for k in range(len(value))]
        return []
    try:
        decoded = json.loads(source)
    except ValueError:
        return []
    if decoded != value:
        return []
    return [(line, column + c - 1) for _, c in
            _json_string_places(source, 0, [0])]
