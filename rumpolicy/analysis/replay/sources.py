"""Where logs come from: local files, directories and globs, or fsspec URLs (s3://...).

Local names are read with the standard library alone; a URL needs fsspec and the filesystem's
own package (s3fs for s3://, the `s3` extra), imported only when a URL is named, so that
`import rumpolicy` and every other command stay as fast as before. Every failure becomes one
`LogError` naming the log: a missing file or bucket, refused credentials, an unreachable
endpoint, a missing extra.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, cast

from rumpolicy.analysis.replay.reader import LogError

STDIN = "-"
_GLOB = frozenset("*?[")
S3_EXTRA = "pip install 'rumpolicy[s3]'"


@dataclass(frozen=True, slots=True)
class Source:
    """One log: its name in the report, and how big it is (None when unknown)."""

    name: str
    size: int | None = None
    """None for a pipe, or a log whose size is unknown."""
    options: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """fsspec storage options, for URLs."""

    @property
    def is_url(self) -> bool:
        return "://" in self.name

    @property
    def compressed(self) -> bool:
        return self.name.endswith(".gz")


def expand(logs: Sequence[str], storage_options: Mapping[str, Any] | None = None
           ) -> list[Source]:
    """Every log the names stand for, in order: a glob or a directory gives its regular files
    sorted by name (hidden files and folders left out, locally and in object storage); a
    name matching nothing is an error, and so is a log reached twice (named twice, or again
    through a symbolic link): it would be counted twice."""
    options = dict(storage_options or {})
    found: list[Source] = []
    first: dict[str, str] = {}
    for name in logs:
        if name == STDIN:
            sources = [Source(STDIN)]
        elif "://" in name:
            sources = _expand_url(name, options)
        else:
            sources = list(_expand_local(name))
        for source in sources:
            key = source.name if source.is_url or source.name == STDIN \
                else os.path.realpath(source.name)
            if key in first:
                raise LogError(f"{source.name}: the same log as {first[key]} (named twice, or "
                               "reached again through a symbolic link); name each log once")
            first[key] = source.name
        found.extend(sources)
    return found


def _expand_local(name: str) -> Iterator[Source]:
    if os.path.isdir(name):
        paths: list[str] = []
        for root, folders, files in os.walk(name):
            folders[:] = [f for f in folders if not f.startswith(".")]
            paths.extend(os.path.join(root, f) for f in files if not f.startswith("."))
        paths = sorted(p for p in paths if os.path.isfile(p))  # no pipes, sockets, devices
        if not paths:
            raise LogError(f"{name}: this directory holds no logs")
    elif os.path.exists(name):  # a file, even one whose name has glob characters
        paths = [name]
    elif _GLOB & set(name):
        paths = sorted(p for p in glob.glob(name, recursive=True) if os.path.isfile(p))
        if not paths:
            raise LogError(f"{name}: no file matches this pattern")
    else:
        raise LogError(f"{name}: no such file")
    for path in paths:
        try:
            size = os.path.getsize(path) if os.path.isfile(path) else None
        except OSError as err:
            raise LogError(f"{path}: cannot read: {err.strerror}") from None
        yield Source(path, size)


def _expand_url(url: str, options: dict[str, Any]) -> list[Source]:
    fs, path = _filesystem(url, options)
    protocol = url.split("://", 1)[0]
    with _storage_errors(url):
        if _GLOB & set(path):
            paths = sorted(fs.glob(path))
        elif fs.isdir(path):
            paths = sorted(fs.find(path))
        else:
            paths = [path]
        # Hidden below what was named (a glob's fixed folders, or the prefix), as on disk.
        fixed = path[:min(path.index(c) for c in _GLOB & set(path))].rpartition("/")[0] \
            if _GLOB & set(path) else path
        sources = []
        for found in paths:
            if found != path and any(part.startswith(".")
                                     for part in found[len(fixed):].split("/")):
                continue
            info = fs.info(found)
            if info.get("type") == "directory":
                continue
            sources.append(Source(f"{protocol}://{found}", info.get("size"), options))
    if not sources:
        raise LogError(f"{url}: no object matches this name")
    return sources


def open_log(name: str) -> IO[bytes]:
    """The bytes of one local log: '-' is standard input, a name ending in .gz is
    decompressed."""
    return open_source(Source(name))


def open_source(source: Source) -> IO[bytes]:
    """The log's bytes, decompressed when its name ends in .gz."""
    if source.name == STDIN:
        return sys.stdin.buffer
    raw = _open_raw(source)
    if source.compressed:
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


@contextmanager
def reading(source: Source, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
    """The log's bytes (only the lines of [start, end) when `end` is given), closed when done;
    standard input is left open."""
    stream = open_source(source) if end is None else open_range(source, start, end)
    try:
        yield stream
    finally:
        if source.name != STDIN:
            stream.close()


def open_range(source: Source, start: int, end: int) -> IO[bytes]:
    """The lines of a plain log that start in [start, end): a line belongs to the range its
    first byte falls in, so ranges cut anywhere share out every line exactly once."""
    raw = _open_raw(source)
    try:
        if start:
            raw.seek(start - 1)
            raw.readline()  # the rest of the line that started before `start`
        return cast(IO[bytes], _Bounded(raw, raw.tell(), end))
    except OSError as err:
        raw.close()
        raise LogError(f"{source.name}: cannot read: {err}") from None


def _open_raw(source: Source) -> IO[bytes]:
    if not source.is_url:
        try:
            return open(source.name, "rb")
        except FileNotFoundError:
            raise LogError(f"{source.name}: no such file") from None
        except IsADirectoryError:
            raise LogError(f"{source.name}: is a directory, expected a log file") from None
        except OSError as err:
            raise LogError(f"{source.name}: cannot read: {err.strerror}") from None
    fs, path = _filesystem(source.name, source.options)
    with _storage_errors(source.name):
        remote = fs.open(path, "rb", block_size=4 << 20)
    # fsspec's readline is Python; the C buffered reader on top reads lines in C.
    return io.BufferedReader(remote, buffer_size=4 << 20)


class _Bounded(io.RawIOBase):
    """A reader of whole lines up to (not past) the first line starting at or after `end`."""

    def __init__(self, raw: IO[bytes], position: int, end: int) -> None:
        super().__init__()
        self._raw = raw
        self._position = position
        self._end = end

    def readable(self) -> bool:
        return True

    def readlines(self, hint: int = -1) -> list[bytes]:
        # One read and a split in C: the buffered reader's own readlines goes line by line,
        # which made a unit's lines cost twice as much to read as a whole log's.
        left = self._end - self._position
        if left <= 0:
            return []
        block = self._raw.read(left if hint <= 0 else min(hint, left))
        lines = io.BytesIO(block).readlines()
        self._position += len(block)
        if lines and not block.endswith(b"\n"):
            rest = self._raw.readline()  # the rest of a line that starts in the range
            lines[-1] += rest
            self._position += len(rest)
        return lines

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._raw.close()
        super().close()


def _filesystem(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise LogError(f"{url}: reading logs from URLs needs fsspec and the filesystem's "
                       f"package; for s3:// run {S3_EXTRA}") from None
    try:
        return cast(tuple[Any, str], fsspec.core.url_to_fs(url, **options))
    except ImportError as err:
        protocol = url.split("://", 1)[0]
        if protocol in ("s3", "s3a"):
            raise LogError(f"{url}: reading s3:// logs needs {S3_EXTRA}") from None
        raise LogError(f"{url}: {' '.join(str(err).split())}") from None  # names the package
    except (ValueError, TypeError) as err:
        raise LogError(f"{url}: {err}") from None


@contextmanager
def _storage_errors(name: str) -> Iterator[None]:
    """Turn what a filesystem raises into one LogError naming the log."""
    try:
        yield
    except LogError:
        raise
    except Exception as error:
        raise LogError(f"{name}: {storage_problem(error)}") from None


def storage_problem(error: BaseException) -> str:
    """What went wrong with object storage, in a few words for the user."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, FileNotFoundError):
        return f"no such bucket or object ({text})"
    if isinstance(error, PermissionError):
        return f"access refused: check the credentials ({text})"
    if isinstance(error, OSError | TimeoutError) or "Connect" in type(error).__name__:
        return f"cannot reach the storage endpoint ({text})"
    return f"cannot read: {type(error).__name__}: {text}"
