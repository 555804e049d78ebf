"""The writer process: commits the HTTP app's event batches beside the event loop, not on it.

SQLite's work for a batch (B-tree inserts, WAL writes, checkpoints) cost the event loop about as
much as validating the batch (docs/performance.md). A child process running this module owns a
second connection to the same store and commits what the loop sends it; the loop meanwhile serves
other requests, and answers each caller only when the child reports its batch committed, so the
durability promise is unchanged (storage.py).

The pipe protocol, both ways: a 4-byte little-endian length, then a pickle. The loop sends a
list of rows (`storage.Row`); the child answers with one outcome per row: True (stored), False
(the monitor already had that BatchId) or the exception that kept the row out. The
child exits when its input closes, so it never outlives the gate, even after `kill -9`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

from rumpolicy.gate._sqlite import Row, connect, write_rows

_LENGTH = struct.Struct("<I")
_PIPE_BYTES = 1 << 20
"""The loop writes a turn's batches without waiting: give the pipe room for about 300 of them."""
_F_SETPIPE_SZ = 1031  # Linux's fcntl command; elsewhere the default pipe size stays
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WriterGone(RuntimeError):
    """The writer process exited with batches still unanswered: they fail closed (500)."""


class WriterProcess:
    """The event loop's end of one writer process."""

    def __init__(self, path: Path, synchronous: Literal["normal", "full"],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        python_path = os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "rumpolicy.gate._writer", str(path.resolve()), synchronous],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": python_path})
        assert self._process.stdin is not None and self._process.stdout is not None
        self._input: IO[bytes] = self._process.stdin
        with contextlib.suppress(ImportError, OSError):
            import fcntl
            fcntl.fcntl(self._input.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        self._output = self._process.stdout.fileno()
        os.set_blocking(self._output, False)
        self._received = bytearray()
        self._waiting: collections.deque[Sequence[asyncio.Future[bool]]] = collections.deque()
        self.alive = True
        loop.add_reader(self._output, self._read)

    def send(self, rows: Sequence[Row], futures: Sequence[asyncio.Future[bool]]) -> None:
        """Hand `rows` to the child; `futures` resolve, in order, with their outcomes."""
        data = pickle.dumps(list(rows), protocol=pickle.HIGHEST_PROTOCOL)
        self._waiting.append(futures)
        try:
            _write_all(self._input.fileno(), _LENGTH.pack(len(data)), data)
        except OSError as err:
            self._stop(WriterGone(f"the store's writer process cannot take batches: {err}"))

    def _read(self) -> None:
        try:
            chunk = os.read(self._output, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:  # the child exited: whatever it had not answered was never acknowledged
            self.loop.remove_reader(self._output)
            self._close_output()
            self._stop(WriterGone("the store's writer process exited"))
            return
        self._received += chunk
        while len(self._received) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self._received)
            end = _LENGTH.size + size
            if len(self._received) < end:
                return
            outcomes = pickle.loads(self._received[_LENGTH.size:end])
            del self._received[:end]
            for future, outcome in zip(self._waiting.popleft(), outcomes, strict=True):
                if future.cancelled():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _stop(self, err: Exception) -> None:
        """Fail every unanswered batch and end the process; the store starts a new one. The
        end of its output, read on the loop, then stops the watch on the pipe."""
        self.alive = False
        while self._waiting:
            for future in self._waiting.popleft():
                if not future.done():
                    future.set_exception(err)
        with contextlib.suppress(OSError):
            self._input.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def close(self, timeout: float = 10.0) -> None:
        """Let the child commit what it was sent and exit. Called when the store closes,
        normally after the event loop has stopped; a loop still running elsewhere sees the end
        of the output and stops watching it itself."""
        self.alive = False
        with contextlib.suppress(OSError):
            self._input.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self.loop.is_closed():
            self._close_output()
        elif not self.loop.is_running():
            self.loop.remove_reader(self._output)
            self._close_output()

    def _close_output(self) -> None:
        assert self._process.stdout is not None
        self._process.stdout.close()

    @property
    def pid(self) -> int:
        return self._process.pid


def _write_all(fd: int, head: bytes, data: bytes) -> None:
    """One system call for the frame, as a rule; a blocking pipe may still take it in parts."""
    written = os.writev(fd, (head, data))
    if written < len(head) + len(data):
        view = (head + data)[written:]
        while view:
            view = view[os.write(fd, view):]


# -- the child ---------------------------------------------------------------------------------

def _sendable(outcome: bool | Exception) -> bool | Exception:
    """The outcome itself if it pickles (sqlite3's errors do), else its message."""
    if isinstance(outcome, bool):
        return outcome
    try:
        pickle.dumps(outcome)
    except Exception:
        return RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return outcome


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(path: str, synchronous: Literal["normal", "full"],
          requests: IO[bytes], replies: IO[bytes]) -> None:
    """Commit each list of rows read from `requests`, answering on `replies`, until EOF."""
    db = connect(Path(path), synchronous)
    try:
        while (head := _read_exactly(requests, _LENGTH.size)) is not None:
            data = _read_exactly(requests, _LENGTH.unpack(head)[0])
            if data is None:
                return  # the gate died mid-message: that group was never acknowledged
            outcomes = [_sendable(o) for o in write_rows(db, pickle.loads(data))]
            reply = pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL)
            replies.write(_LENGTH.pack(len(reply)) + reply)
            replies.flush()
    finally:
        db.close()


def main(argv: Sequence[str]) -> int:
    """The child's entry point. Ctrl-C reaches the whole process group: the gate stops, and
    the end of its input stops us. A gate that died leaves nobody to answer: exit quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, store_path, mode = argv
    try:
        serve(store_path, "full" if mode == "full" else "normal", sys.stdin.buffer,
              sys.stdout.buffer)
    except BrokenPipeError:
        # Whatever is still buffered for the gate would fail again at interpreter exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
