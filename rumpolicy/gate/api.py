"""The RUM API as botocore's service model defines it (`rum/2018-05-10`): which operation a
request names, where each of its members travels (path, query string, body), and what each
member must be.

Everything here is read from the model botocore ships, the one boto3 and the AWS CLI send
from, so the emulator cannot drift from its clients: a new operation or constraint in the
model is routed and checked without a line changed here. Validation follows the model's
constraints (required members, types, lengths, patterns, enums, ranges) and answers in AWS's
validator wording:

    2 validation errors detected: Value 'a b' at 'name' failed to satisfy constraint: Member
    must satisfy regular expression pattern: (?!\\.)[\\.\\-_#A-Za-z0-9]+; Value null at ...

Patterns are matched against the whole value, as AWS's validators do (the model writes them
unanchored, in Smithy style). Members the model does not define are dropped: they never reach
Python as argument names. PutRumEvents, the hot path, routes and validates on its own
(`front.py`, `models.py`); its model is the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from rumpolicy.gate.errors import GateError, validation
from rumpolicy.gate.validation import MAX_REPORTED, member_path, shown

SERVICE = "rum"


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the model, as the router and validator need it."""

    name: str
    method: str
    path: tuple[str | None, ...]
    """The request URI's segments: a literal, or None for a path label."""
    labels: tuple[str, ...]
    """The members the path labels carry, in order."""
    model: Any
    """botocore's OperationModel."""

    @property
    def input(self) -> Any:
        return self.model.input_shape


@cache
def service_model() -> Any:
    """botocore's RUM model, loaded once (about 20 ms)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


@cache
def operations() -> dict[str, Operation]:
    found = {}
    for name in service_model().operation_names:
        model = service_model().operation_model(name)
        uri = model.http["requestUri"].split("?", 1)[0]
        segments = [s for s in uri.strip("/").split("/")]
        path = tuple(None if s.startswith("{") else s for s in segments)
        labels = tuple(s.strip("{}+") for s in segments if s.startswith("{"))
        found[name] = Operation(name, model.http["method"], path, labels, model)
    return found


@cache
def _by_shape() -> dict[tuple[str, int, str], tuple[Operation, ...]]:
    table: dict[tuple[str, int, str], tuple[Operation, ...]] = {}
    for op in operations().values():
        key = (op.method, len(op.path), op.path[0] or "")
        table[key] = (*table.get(key, ()), op)
    return table


def route(method: str, path: str) -> tuple[Operation, dict[str, str]]:
    """The operation a raw (still percent-encoded) path names, and its path labels decoded.
    One trailing slash is optional, as boto3 sends `/appmonitors/{Id}/` and aws-rum-web
    `/appmonitors/{id}`. Labels are cut before decoding, so `%2F` inside an ARN stays in it."""
    segments = path.split("/")
    if segments[0] != "" or len(segments) < 2:
        raise unknown_operation(method, path)
    parts = segments[1:]
    if len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]
    for op in _by_shape().get((method, len(parts), parts[0]), ()):
        if all(want is None or want == got for want, got in zip(op.path, parts, strict=True)):
            raw = [got for want, got in zip(op.path, parts, strict=True) if want is None]
            if any(not label for label in raw):
                continue
            return op, {name: decode_label(value) for name, value in zip(op.labels, raw,
                                                                        strict=True)}
    raise unknown_operation(method, path)


def decode_label(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise validation(f"The path label '{raw[:80]}' is not percent-encoded UTF-8") from None


def unknown_operation(method: str, path: str) -> GateError:
    return GateError("UnknownOperationException", f"No RUM operation is {method} {path[:200]}")


def request_members(op: Operation, labels: Mapping[str, str], query: str,
                    body: Mapping[str, Any]) -> dict[str, Any]:
    """The operation's input as boto3 would have passed it: path labels, query-string members
    (typed by their shape), and body members. Nothing the model does not define."""
    shape = op.input
    if shape is None:
        return {}
    members: dict[str, Any] = {}
    params = parse_qsl(query, keep_blank_values=True)
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "uri":
            if name in labels:
                members[name] = labels[name]
        elif where == "querystring":
            values = [v for k, v in params if k == wire]
            if values:
                members[name] = _from_query(member, values)
        elif where is None and name in body:
            members[name] = body[name]
    return members


def _from_query(shape: Any, values: list[str]) -> Any:
    """Query-string text as the member's type; what does not convert is left as text for the
    validator to refuse with the member's name."""
    if shape.type_name == "list":
        return [_from_query(shape.member, [v]) for v in values]
    value = values[0]
    if shape.type_name in ("integer", "long"):
        return int(value) if re.fullmatch(r"-?\d{1,18}", value) else value
    if shape.type_name == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


# -- validation against the model ---------------------------------------------------------------

Problem = tuple[Sequence[str | int], Any, str]
"""(where, the value, the constraint it fails)."""


def checked(op: Operation, members: Mapping[str, Any]) -> dict[str, Any]:
    """`members` as the model allows them, or a ValidationException naming every bad member.
    Members the model does not define are dropped; null for an optional member is absent."""
    shape = op.input
    if shape is None:
        return {}
    problems: list[Problem] = []
    value = _check(shape, dict(members), (), problems)
    if problems:
        raise validation(describe(problems))
    assert isinstance(value, dict)
    return value


def check_member(operation: str, member: str, value: Any) -> None:
    """One member on its own (PutRumEvents' `Id`, read from the path before its body)."""
    found = shape_problems(operations()[operation].input.members[member], value, (member,))
    if found:
        raise validation(describe(found))


def shape_problems(shape: Any, value: Any, where: tuple[str | int, ...] = ()) -> list[Problem]:
    """Every constraint of `shape` that `value` fails. Any shape of the model, not only
    inputs: the conformance test (tests/gate/test_conformance.py) holds the gate's answers, as
    boto3 parses them, to their output and error shapes with the rules requests are held to."""
    found: list[Problem] = []
    _check(shape, value, where, found)
    return found


def describe(problems: Sequence[Problem]) -> str:
    parts = [f"Value {'null' if value is None else shown(value)} at '{member_path(where)}' "
             f"failed to satisfy constraint: {constraint}"
             for where, value, constraint in problems[:MAX_REPORTED]]
    count = len(problems)
    more = f"; and {count - MAX_REPORTED} more" if count > MAX_REPORTED else ""
    return (f"{count} validation error{'s' if count != 1 else ''} detected: "
            + "; ".join(parts) + more)


def _check(shape: Any, value: Any, where: tuple[str | int, ...], problems: list[Problem]
           ) -> Any:
    kind = shape.type_name
    check = _CHECKS.get(kind)
    if check is None:  # a type this model does not use in inputs (blob, ...): kept as sent
        return value
    return check(shape, value, where, problems)


def _structure(shape: Any, value: Any, where: tuple[str | int, ...],
               problems: list[Problem]) -> Any:
    if not isinstance(value, dict):
        problems.append((where, value, "Member must be a JSON object"))
        return value
    out = {}
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(((*where, name), None, "Member must not be null"))
    for name, member in shape.members.items():
        if value.get(name) is not None:
            out[name] = _check(member, value[name], (*where, name), problems)
    return out


def _list(shape: Any, value: Any, where: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if not isinstance(value, list):
        problems.append((where, value, "Member must be a list"))
        return value
    _length(shape, value, where, problems)
    return [_check(shape.member, item, (*where, n), problems) for n, item in enumerate(value)]


def _map(shape: Any, value: Any, where: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if not isinstance(value, dict):
        problems.append((where, value, "Member must be a JSON object"))
        return value
    _length(shape, value, where, problems)
    out = {}
    for key, item in value.items():
        _check(shape.key, key, (*where, key, "[key]"), problems)
        out[key] = _check(shape.value, item, (*where, key), problems)
    return out


def _string(shape: Any, value: Any, where: tuple[str | int, ...],
            problems: list[Problem]) -> Any:
    if not isinstance(value, str):
        problems.append((where, value, "Member must be a string"))
        return value
    metadata = shape.metadata
    enum = metadata.get("enum")
    if enum and value not in enum:
        problems.append((where, value, f"Member must satisfy enum value set: "
                                       f"[{', '.join(enum)}]"))
    _length(shape, value, where, problems)
    pattern = metadata.get("pattern")
    if pattern is not None and not _compiled(pattern).fullmatch(value):
        problems.append((where, value, f"Member must satisfy regular expression pattern: "
                                       f"{pattern}"))
    return value


def _number(shape: Any, value: Any, where: tuple[str | int, ...],
            problems: list[Problem]) -> Any:
    integral = shape.type_name in ("integer", "long")
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (integral and not isinstance(value, int)):
        problems.append((where, value, "Member must be an integer" if integral
                         else "Member must be a number"))
        return value
    if isinstance(value, float) and not math.isfinite(value):
        problems.append((where, value, "Member must be a finite number"))
        return value
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        problems.append((where, value, f"Member must have value greater than or equal to "
                                       f"{_bound(low)}"))
    if high is not None and value > high:
        problems.append((where, value, f"Member must have value less than or equal to "
                                       f"{_bound(high)}"))
    return value


def _boolean(shape: Any, value: Any, where: tuple[str | int, ...],
             problems: list[Problem]) -> Any:
    if not isinstance(value, bool):
        problems.append((where, value, "Member must be a boolean"))
    return value


def _length(shape: Any, value: Sized, where: tuple[str | int, ...],
            problems: list[Problem]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        problems.append((where, value, f"Member must have length greater than or equal to "
                                       f"{low}"))
    if high is not None and len(value) > high:
        problems.append((where, value, f"Member must have length less than or equal to "
                                       f"{high}"))


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_CHECKS: dict[str, Callable[[Any, Any, tuple[str | int, ...], list[Problem]], Any]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _number,
    "long": _number,
    "double": _number,
    "float": _number,
    "boolean": _boolean,
}
CHECKED_TYPES = frozenset(_CHECKS)
"""The shape types whose values `shape_problems` checks; any other type passes as sent."""
