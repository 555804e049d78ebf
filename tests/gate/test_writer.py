"""The writer process that commits the HTTP app's batches (storage.py, _writer.py): it answers
each batch with its own outcome, fails closed when it dies, is replaced, and never outlives the
store."""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import signal
import sqlite3
import struct
from pathlib import Path

import pytest

from rumpolicy.gate import GateError, _writer
from rumpolicy.gate._writer import WriterGone
from rumpolicy.gate.storage import Storage

from ._helpers import STORED_MONITOR as MONITOR
from ._helpers import store_with_monitor
from ._helpers import stored_batch as stored


def test_each_batch_hears_its_own_outcome(storage: Storage) -> None:
    bad = stored("bad")._replace(monitor_id="no-such-monitor")

    async def turn() -> list[object]:
        futures = [storage.store_soon(b) for b in (stored("a"), bad, stored("a"), stored("b"))]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    first, refused, repeated, second = asyncio.run(turn())
    assert (first, repeated, second) == (True, False, True)
    assert isinstance(refused, sqlite3.IntegrityError)  # the child's own error, not a stand-in
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["a", "b"]
    storage.close()


def test_the_child_refuses_bodies_that_would_not_read_back(storage: Storage) -> None:
    """json_rules are the store's: a duplicate member or 65 levels of nesting come back from the
    writer process as the gate's own ValidationException, and the rest of the group commits."""
    duplicate = stored("dup")._replace(body=b'{"RumEvents": [], "RumEvents": []}')
    deep = stored("deep")._replace(body=b'{"x": ' + b"[" * 64 + b"]" * 64 + b"}")

    async def turn() -> list[object]:
        futures = [storage.store_soon(b) for b in (duplicate, stored("ok"), deep)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    refused, stored_ok, too_deep = asyncio.run(turn())
    assert stored_ok is True
    for error, says in ((refused, 'duplicate member "RumEvents" at line 1 column 19'),
                        (too_deep, "nested more than 64 levels deep at line 1 column 70")):
        assert isinstance(error, GateError) and error.code == "ValidationException"
        assert error.message == f"Request body is refused: {says}"
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["ok"]
    storage.close()


def test_a_dead_writer_fails_closed_and_is_replaced(storage: Storage) -> None:
    async def scenario() -> None:
        assert await storage.store_soon(stored("before")) is True
        writer = storage._writer_process
        assert writer is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer._process.wait()
        with pytest.raises(WriterGone):  # sent to a dead process: never acknowledged
            await storage.store_soon(stored("lost"))
        assert await storage.store_soon(stored("after")) is True
        assert storage._writer_process is not None and storage._writer_process.pid != writer.pid

    asyncio.run(scenario())
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["before", "after"]
    storage.close()


def test_closing_the_store_ends_its_writer(storage: Storage) -> None:
    async def one() -> bool:
        return await storage.store_soon(stored("x"))

    assert asyncio.run(one()) is True
    writer = storage._writer_process
    assert writer is not None
    storage.close()
    assert writer._process.returncode == 0


def test_in_memory_stores_commit_on_the_loop() -> None:
    memory = store_with_monitor(None)

    async def one() -> bool:
        return await memory.store_soon(stored("x"))

    assert asyncio.run(one()) is True
    assert memory._writer_process is None
    memory.close()


def test_the_child_answers_each_frame_and_stops_at_a_cut_frame(storage: Storage,
                                                               tmp_path: Path) -> None:
    """The child's side of the protocol, in process: whole frames are answered in order; a
    frame cut short (the gate died while writing it) is dropped, never half-committed."""
    frames = io.BytesIO()
    for rows in ([tuple(stored("p1"))], [tuple(stored("p1")), tuple(stored("p2"))]):
        data = pickle.dumps(rows)
        frames.write(struct.pack("<I", len(data)) + data)
    cut = pickle.dumps([tuple(stored("p3"))])
    frames.write(struct.pack("<I", len(cut)) + cut[:-3])
    frames.seek(0)
    replies = io.BytesIO()
    _writer.serve(str(tmp_path / "rumpolicy-gate.sqlite3"), "normal", frames, replies)
    replies.seek(0)
    answers = []
    while head := replies.read(4):
        answers.append(pickle.loads(replies.read(struct.unpack("<I", head)[0])))
    assert answers == [[True], [False, True]]
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["p1", "p2"]
    storage.close()


def test_the_child_exits_quietly_when_its_gate_is_gone(storage: Storage,
                                                       tmp_path: Path) -> None:
    """The gate died with a group in flight: the child's answer has no reader. It exits 0 and
    prints nothing (it used to print a BrokenPipeError traceback)."""
    import subprocess
    import sys

    data = pickle.dumps([tuple(stored("gone"))])
    child = subprocess.Popen(
        [sys.executable, "-m", "rumpolicy.gate._writer",
         str(tmp_path / "rumpolicy-gate.sqlite3"), "normal"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    child.stdout.close()  # the gate's end of the answers is gone
    child.stdin.write(struct.pack("<I", len(data)) + data)
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    assert child.stderr is not None and child.stderr.read().decode() == ""
    child.stderr.close()
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["gone"]  # committed all the same
    storage.close()
