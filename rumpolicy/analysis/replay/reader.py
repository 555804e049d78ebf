"""Reading recorded traffic: the gate's decision log or a plain JSONL of requests.

Lines are read in chunks of raw bytes (`readlines(hint)`), so memory holds one chunk at a time
whatever the file's size, and nothing is decoded before the caller asks: identical lines are
decoded once (see `replayer.py`).

Two decoders give one answer. A `projector` decodes with orjson (several times faster than
`json`) and answers only for the shapes a log normally holds, made of objects, strings, lists
and null, on which the two decoders agree; everything else, including every bad line and any
number the replay would read (orjson turns integers past 64 bits into floats), goes to `decode`,
the `json` reference, which also words the errors. A line the projector answers for is
decided from its projection, without `json`, unless it has brackets enough to nest deeper than
`json` decodes (Replayer._projected_outcome). The property tests in
tests/replay/test_replay_reader.py compare the two, and a replay with `json`.
"""

from __future__ import annotations

import io
import json
import math
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from rumpolicy.engine import PUT_RUM_EVENTS
from rumpolicy.engine.request import REQUEST_FIELDS

CHUNK_BYTES = 8 << 20
"""About this many bytes of lines are read, counted and replayed at a time."""

LOG_VERSION = 1


class LogError(Exception):
    """A log that cannot be opened at all (the CLI shows it as a usage error)."""


def chunks(stream: IO[bytes], chunk_bytes: int = CHUNK_BYTES, *,
           lines_before: int = 0) -> Iterator[list[bytes]]:
    """Lists of whole lines, about `chunk_bytes` at a time, until the stream ends.

    A stream that can `read1` (a file, a .gz, stdin) is read in pieces of at most PIECE_BYTES
    and cut into lines in C, so that when it breaks (a corrupt .gz, say) the lines read
    before are known: the LogError says "unreadable after line N", N counting from
    `lines_before`, and lines 1 to N were all read. Others (a unit's range of lines) are read
    with readlines."""
    read = getattr(stream, "read1", None)
    lines_read = lines_before
    while True:
        pieces: list[bytes] = []
        try:
            lines = stream.readlines(chunk_bytes) if read is None else \
                _lines(stream, read, chunk_bytes, pieces)
        except (OSError, EOFError, zlib.error) as err:  # a truncated or corrupt .gz, say
            lines_read += sum(piece.count(b"\n") for piece in pieces)
            raise LogError(f"unreadable after line {lines_read}: {err}") from None
        if not lines:
            return
        lines_read += len(lines)
        yield lines


PIECE_BYTES = 1 << 20


def _lines(stream: IO[bytes], read: Callable[[int], bytes], chunk_bytes: int,
           pieces: list[bytes]) -> list[bytes]:
    """About `chunk_bytes` of whole lines, each piece read kept in `pieces` as it comes."""
    size = 0
    while size < chunk_bytes:
        piece = read(min(PIECE_BYTES, chunk_bytes - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    else:
        pieces.append(stream.readline())  # the rest of the last line
    return io.BytesIO(b"".join(pieces)).readlines()


def decode(line: bytes) -> dict[str, Any] | str:
    """The request shape (`Request.to_dict()`) one line holds, or why the line is bad."""
    try:
        record = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite,
                            parse_int=_integer)
    except UnicodeDecodeError as err:
        return f"not UTF-8: byte {err.start}"
    except _NotJSON as err:
        return f"not JSON: {err}"
    except ValueError as err:
        reason = str(getattr(err, "msg", err)).removesuffix(" at")  # "Invalid control character at"
        return f"not JSON: {reason} at column {getattr(err, 'colno', '?')}"
    except RecursionError:
        return "not JSON: nested too deeply"
    if not isinstance(record, dict):
        return f"not a JSON object: a {_JSON_TYPES.get(type(record), 'value')}"
    if b"\\u" in line and _lone_surrogate(record):
        return "not JSON: a lone surrogate is not Unicode text"
    return request_shape(record)


class _NotJSON(ValueError):
    """What `json` accepts beyond JSON (RFC 8259), which orjson and the gate refuse."""


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # orjson refuses it too, and a report could not show it
        raise _NotJSON(f"the number {text[:40]} is beyond the range of a double")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # Python's limit on the digits of an integer it converts
        raise _NotJSON(f"a number of {len(text)} digits") from None


def _lone_surrogate(record: dict[str, Any]) -> bool:
    """Whether some name or string in `record` holds a lone surrogate: an escape such as
    \\ud800 that `json` decodes but that is no Unicode text (it cannot be encoded again).
    Walked without recursion: `json` decodes deeper than Python recurses."""
    pending: list[Any] = [record]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            pending.extend(value)
            pending.extend(value.values())
        elif type(value) is list:
            pending.extend(value)
        elif type(value) is str:
            try:
                value.encode()
            except UnicodeEncodeError:
                return True
    return False


_JSON_TYPES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def request_shape(record: dict[str, Any]) -> dict[str, Any] | str:
    """A decision-log record's `request`, or the record itself when it is a plain request."""
    if "request" not in record:
        if "v" in record:
            return "not a decision-log record: it has no request member"
        return record
    version = record.get("v")
    if version != LOG_VERSION or type(version) is not int:  # not true, nor 1.0
        return (f"not a decision-log record: version {json.dumps(version)} is not supported "
                f"(expected {LOG_VERSION})")
    shape = record["request"]
    if not isinstance(shape, dict):
        return "not a decision-log record: its request member is not a JSON object"
    return shape


PLAIN_NESTING = 200
"""A line with more brackets than this is no plain line: it could nest deeper than `json`
decodes (about 1,000 levels, fewer deep in a stack) though orjson reads it (1,023), and a line
only one of them reads must be bad whatever was replayed before it."""


def projector(keys: tuple[str, ...], *, cap: int) -> Callable[[bytes], tuple[Any, ...] | None]:
    """A function giving a line's projection, everything a decision on it can read: (principal,
    action, resource, the value of each of `keys`), each key found under any case of its name,
    the last spelling winning, as in `Request`. It answers only for plain lines: a request line
    or a version-1 decision-log record whose request has only request members, a string
    resource and action, a string or null principal, and a context whose values are strings or
    lists of strings. For any other line it gives None, and `decode` must read the line.
    Equal projections decide alike, and whether a plain line holds a valid request at all
    depends only on its projection (the principal, action and resource are in it)."""
    lowered = tuple(k.lower() for k in keys)
    absent = "\0absent"  # no JSON object name: a NUL cannot appear unescaped
    empty = (None,) * len(keys)
    spellings: dict[tuple[str, ...], tuple[str, ...]] = {}
    loads, failed, fields = orjson.loads, orjson.JSONDecodeError, REQUEST_FIELDS

    def spelled(names: tuple[str, ...]) -> tuple[str, ...]:
        last = {name.lower(): name for name in names}
        found = tuple(last.get(k, absent) for k in lowered)
        if len(spellings) >= cap:
            spellings.clear()
        spellings[names] = found
        return found

    def project(line: bytes) -> tuple[Any, ...] | None:
        if line.count(b"[") + line.count(b"{") > PLAIN_NESTING:
            return None
        try:
            record = loads(line)
        except failed:
            return None
        if type(record) is not dict:
            return None
        shape = record.get("request", record)
        if shape is record:
            if "v" in record:
                return None
        else:
            version = record.get("v")
            if type(shape) is not dict or version != LOG_VERSION or type(version) is not int:
                return None
        if not shape.keys() <= fields:
            return None
        resource = shape.get("resource")
        action = shape.get("action", PUT_RUM_EVENTS)
        principal = shape.get("principal")
        if type(resource) is not str or type(action) is not str \
                or (principal is not None and type(principal) is not str):
            return None
        context = shape.get("context")
        if not context:  # Request.from_dict reads any empty value as no context
            return (principal, action, resource, *empty)
        if type(context) is not dict:
            return None
        names = tuple(context)
        picked = spellings.get(names) or spelled(names)
        try:
            "".join(context.values())  # in C: every value is a string
        except TypeError:
            return _with_lists(principal, action, resource, context, picked)
        return (principal, action, resource, *map(context.get, picked))

    return project


def _with_lists(principal: str | None, action: str, resource: str, context: dict[str, Any],
                picked: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The projection of a context with lists of strings among its values (tuples in it);
    None when some value is neither."""
    for value in context.values():
        if type(value) is not str and (type(value) is not list
                                       or not all(type(v) is str for v in value)):
            return None
    picks = (context.get(name) for name in picked)
    return (principal, action, resource,
            *(tuple(v) if type(v) is list else v for v in picks))
