"""Reading recorded traffic: the gate's decision log or a plain JSONL of requests.

Lines are read in chunks of raw bytes (`readlines(hint)`), so memory holds one chunk at a time
whatever the file's size, and nothing is decoded before the caller asks: identical lines are
decoded once (see `replayer.py`).
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, cast

from rumpolicy.engine import PUT_RUM_EVENTS

CHUNK_BYTES = 8 << 20
"""About this many bytes of lines are read, counted and replayed at a time."""

LOG_VERSION = 1
REQUEST_FIELDS = frozenset({"action", "resource", "principal", "context"})
"""The members of `Request.to_dict()`; a line with only these is a plain request line."""


class LogError(Exception):
    """A log that cannot be opened at all (the CLI shows it as a usage error)."""


def open_log(name: str) -> IO[bytes]:
    """The log's bytes: '-' is standard input, a name ending in .gz is decompressed."""
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    try:
        if path.suffix == ".gz":
            return cast(IO[bytes], gzip.open(path, "rb"))
        return path.open("rb")
    except FileNotFoundError:
        raise LogError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise LogError(f"{name}: is a directory, expected a log file") from None
    except OSError as err:
        raise LogError(f"{name}: cannot read: {err.strerror}") from None


def chunks(stream: IO[bytes], chunk_bytes: int = CHUNK_BYTES) -> Iterator[list[bytes]]:
    """Lists of whole lines, about `chunk_bytes` at a time, until the stream ends."""
    while True:
        try:
            lines = stream.readlines(chunk_bytes)
        except (OSError, EOFError) as err:  # a truncated .gz, say
            raise LogError(f"cannot read on: {err}") from None
        if not lines:
            return
        yield lines


def decode(line: bytes) -> dict[str, Any] | str:
    """The request shape (`Request.to_dict()`) one line holds, or why the line is bad."""
    try:
        record = json.loads(line)
    except UnicodeDecodeError as err:
        return f"not UTF-8: byte {err.start}"
    except ValueError as err:
        return f"not JSON: {getattr(err, 'msg', err)} at column {getattr(err, 'colno', '?')}"
    if not isinstance(record, dict):
        return f"not a JSON object: a {_JSON_TYPES.get(type(record), 'value')}"
    return request_shape(record)


_JSON_TYPES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def request_shape(record: dict[str, Any]) -> dict[str, Any] | str:
    """A decision-log record's `request`, or the record itself when it is a plain request."""
    if "request" not in record:
        if "v" in record:
            return "not a decision-log record: it has no request member"
        return record
    version = record.get("v")
    if version != LOG_VERSION:
        return (f"not a decision-log record: version {json.dumps(version)} is not supported "
                f"(expected {LOG_VERSION})")
    shape = record["request"]
    if not isinstance(shape, dict):
        return "not a decision-log record: its request member is not a JSON object"
    return shape


def is_plain_shape(shape: Mapping[str, Any]) -> bool:
    """True when `shape` has only request members with the simple types a log holds, so that
    its projection (see replayer) decides exactly as the Request built from it would."""
    if not shape.keys() <= REQUEST_FIELDS:
        return False
    principal = shape.get("principal")
    return (isinstance(shape.get("resource"), str)
            and isinstance(shape.get("action", PUT_RUM_EVENTS), str)
            and (principal is None or isinstance(principal, str)))
