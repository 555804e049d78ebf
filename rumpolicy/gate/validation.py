"""Turning request bytes into validated models, and every refusal into a ValidationException
that names the member and the constraint, in the words AWS's validators use:

    1 validation error detected: Value 'abc' at 'RumEvents[0].id' failed to satisfy
    constraint: Member must have length greater than or equal to 36

Members are named as they appear on the wire (`UserDetails.sessionId`), list items by index.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from rumpolicy.gate.errors import GateError, validation
from rumpolicy.gate.json_rules import located, refusal
from rumpolicy.gate.models import ALIAS_MAX, ALIAS_MIN, PutRumEventsBody

DEFAULT_MAX_BODY = 5 * 1024 * 1024
"""Largest request body accepted, after decompression (docs/semantics.md, "The gate")."""
MAX_REPORTED = 10
"""Validation messages list this many problems, then count the rest."""

Model = TypeVar("Model", bound=BaseModel)
Valid = TypeVar("Valid")


# -- bytes -> JSON ----------------------------------------------------------------------------

def _gunzip(data: bytes, limit: int) -> bytes:
    return _inflate(data, limit, zlib.MAX_WBITS | 16)


def _inflate_any(data: bytes, limit: int) -> bytes:
    return _inflate(data, limit, zlib.MAX_WBITS | 32)  # zlib or gzip header


def _identity(data: bytes, limit: int) -> bytes:
    return data


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "": _identity,
    "identity": _identity,
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate_any,
}


def _inflate(data: bytes, limit: int, wbits: int) -> bytes:
    """Decompress at most `limit` bytes, so that a small gzip bomb cannot fill memory."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise validation(f"Request body could not be decompressed as declared by "
                         f"Content-Encoding: {err}") from None
    if len(out) > limit:
        raise body_too_large(limit, decompressed=True)
    if not inflater.eof or inflater.unused_data:
        raise validation("Request body could not be decompressed as declared by "
                         "Content-Encoding: the compressed data is truncated or followed by "
                         "extra bytes")
    return out


def body_too_large(limit: int, *, decompressed: bool = False) -> GateError:
    what = "decompresses to more than" if decompressed else "is larger than"
    return validation(f"Request body {what} {limit} bytes, the most this gate accepts")


def decode_body(raw: bytes, content_encoding: str | None, limit: int = DEFAULT_MAX_BODY) -> bytes:
    """The body as JSON bytes: size-checked and decompressed per Content-Encoding (one coding;
    aws-rum-web gzips batches of 2 KB and more)."""
    if len(raw) > limit:
        raise body_too_large(limit)
    coding = (content_encoding or "").strip().lower()
    decoder = _DECODERS.get(coding)
    if decoder is None:
        raise validation(f"Content-Encoding {shown(content_encoding)} is not supported; "
                         "send identity, gzip or deflate")
    return decoder(raw, limit)


def parse_object(body: bytes | str, what: str = "Request body", *, rules: bool = True
                 ) -> dict[str, Any]:
    """JSON text -> dict; anything else is a ValidationException saying where parsing stopped.
    The JSON is RFC 8259's: NaN and Infinity are refused, and so are numbers too large for a
    double; strings must be valid UTF-8 and Unicode. With `rules`, a member may appear once and
    objects and arrays nest at most 64 levels (json_rules.py; docs/semantics.md): PutRumEvents
    leaves those to the store, which checks every batch before committing it."""
    if not body:
        raise validation(f"{what} is empty; it must be a JSON object")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise validation(f"{what} is not valid JSON: {_json_problem(body, err)}") from None
    if not isinstance(value, dict):
        raise validation(f"{what} must be a JSON object, not {_json_type(value)}")
    refused = refusal(body if isinstance(body, bytes) else body.encode(), what) if rules \
        else None
    if refused is not None:
        raise refused
    return value


def _json_problem(body: bytes | str, err: orjson.JSONDecodeError) -> str:
    """orjson reports text that is not UTF-8 at the start of the body; say where it is."""
    if isinstance(body, str):
        try:
            body.encode()
        except UnicodeEncodeError as bad:  # a lone surrogate
            return located(body, bad.start, "a lone surrogate is not Unicode text")
        return str(err)
    try:
        body.decode()
    except UnicodeDecodeError as bad:
        return located(body, bad.start, "invalid UTF-8")
    return str(err)


def read_alias(body: Mapping[str, Any]) -> str | None:
    """`Alias`, checked before authorization because it becomes `rum:alias` in the request
    context; the rest of the body is validated after the decision (docs/semantics.md)."""
    alias = body.get("Alias")
    if alias is None:
        return None
    if not isinstance(alias, str):
        raise member_error("Alias", alias, f"Member must be a string, not {_json_type(alias)}")
    if len(alias) < ALIAS_MIN:
        raise member_error("Alias", alias, f"Member must have length greater than or equal to "
                                      f"{ALIAS_MIN}")
    if len(alias) > ALIAS_MAX:
        raise member_error("Alias", alias, f"Member must have length less than or equal to "
                                      f"{ALIAS_MAX}")
    return alias


_PUT_BODY = TypeAdapter(PutRumEventsBody)


def validate_put_body(body: Mapping[str, Any]) -> PutRumEventsBody:
    return _checked(_PUT_BODY.validate_python, body)


def validate(model: type[Model], data: Mapping[str, Any], prefix: str = "") -> Model:
    """Validate `data` as `model`, or raise a ValidationException naming every bad member."""
    return _checked(model.model_validate, data, prefix)


def _checked(validator: Callable[[Any], Valid], data: Mapping[str, Any], prefix: str = ""
             ) -> Valid:
    try:
        return validator(data)
    except ValidationError as err:
        raise validation(format_errors(err.errors(include_url=False), prefix)) from None


# -- messages ---------------------------------------------------------------------------------

def _ctx(name: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda ctx: str(ctx.get(name, ""))


def _bound(name: str) -> Callable[[Mapping[str, Any]], str]:
    """Bounds as the model writes them: 0, not 0.0."""
    def read(ctx: Mapping[str, Any]) -> str:
        value = ctx.get(name, "")
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return read


def _pattern(ctx: Mapping[str, Any]) -> str:
    pattern = str(ctx.get("pattern", ""))
    pattern = pattern.removeprefix("^").removesuffix("$")
    if pattern.startswith("(?:") and pattern.endswith(")"):
        pattern = pattern[3:-1]
    return pattern


_CONSTRAINTS: dict[str, tuple[str, Callable[[Mapping[str, Any]], str] | None]] = {
    "missing": ("Member must not be null", None),
    "string_type": ("Member must be a string", None),
    "float_type": ("Member must be a number (epoch seconds)", None),
    "int_type": ("Member must be an integer", None),
    "int_parsing": ("Member must be an integer", None),
    "bool_type": ("Member must be a boolean", None),
    "list_type": ("Member must be a list", None),
    "dict_type": ("Member must be a JSON object", None),
    "model_type": ("Member must be a JSON object", None),
    "model_attributes_type": ("Member must be a JSON object", None),
    "string_too_short": ("Member must have length greater than or equal to {}",
                         _ctx("min_length")),
    "string_too_long": ("Member must have length less than or equal to {}", _ctx("max_length")),
    "too_short": ("Member must have length greater than or equal to {}", _ctx("min_length")),
    "too_long": ("Member must have length less than or equal to {}", _ctx("max_length")),
    "string_pattern_mismatch": ("Member must satisfy regular expression pattern: {}", _pattern),
    "literal_error": ("Member must satisfy enum value set: [{}]", _ctx("expected")),
    "greater_than_equal": ("Member must have value greater than or equal to {}", _bound("ge")),
    "less_than_equal": ("Member must have value less than or equal to {}", _bound("le")),
    "finite_number": ("Member must be a finite number", None),
    "string_unicode": ("Member must be valid Unicode text", None),
}


def format_errors(errors: Sequence[Any], prefix: str = "") -> str:
    parts = []
    for error in errors[:MAX_REPORTED]:
        template, reader = _CONSTRAINTS.get(error["type"], (None, None))
        constraint = error["msg"] if template is None else \
            template.format(reader(error.get("ctx") or {})) if reader else template
        if error["type"] == "missing" or (error.get("input") is None
                                          and error["type"].endswith("_type")):
            constraint, value = _CONSTRAINTS["missing"][0], "null"
        else:
            value = shown(error.get("input"))
        parts.append(f"Value {value} at '{member_path(error['loc'], prefix)}' failed to satisfy "
                     f"constraint: {constraint}")
    count = len(errors)
    head = f"{count} validation error{'s' if count != 1 else ''} detected: "
    more = f"; and {count - MAX_REPORTED} more" if count > MAX_REPORTED else ""
    return head + "; ".join(parts) + more


def member_path(loc: Sequence[str | int], prefix: str = "") -> str:
    """('RumEvents', 0, 'id') -> 'RumEvents[0].id'."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        else:
            path += f".{part}" if path else part
    return path or "body"


def member_error(member: str, value: Any, constraint: str) -> GateError:
    return validation(f"1 validation error detected: Value {shown(value)} at '{member}' "
                      f"failed to satisfy constraint: {constraint}")


def shown(value: Any, limit: int = 80) -> str:
    """A value as the message shows it: strings quoted, long ones cut, control characters
    escaped, so a message never carries a caller's megabyte or a raw newline."""
    if isinstance(value, str):
        text = json.dumps(value[: limit + 1], ensure_ascii=True)[1:-1].replace("'", "\\'")
        return f"'{text[:limit]}...'" if len(value) > limit else f"'{text}'"
    if isinstance(value, dict | list):
        return f"<{_json_type(value)}>"
    try:
        return json.dumps(value)[:limit]
    except (TypeError, ValueError):
        return f"<{type(value).__name__}>"


def _json_type(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (dict, "an object"), (list, "an array"),
                       (str, "a string"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__
