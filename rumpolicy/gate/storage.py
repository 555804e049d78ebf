"""The gate's store: app monitors, their policies and the event batches it accepted (SQLite, WAL).

A batch is one row: the columns a reader filters on (monitor, BatchId, alias, caller, session)
and the request body as received, from which its events are read back. One row with the body
costs half as much to commit as a row per event, and keeps exactly what the client sent.

Durability: a batch is committed before the caller hears 200. In WAL mode a commit appends the
transaction to the `-wal` file with write(2) before returning, so with `synchronous=NORMAL` (the
default) an acknowledged batch survives the gate process being killed (`kill -9`); only an OS
crash or power loss can lose the last transactions, because NORMAL fsyncs at checkpoints rather
than at every commit. `synchronous=FULL` fsyncs every commit and survives power loss too, at the
price of one disk flush per commit, which group commit shares between concurrent callers.

Group commit: each caller queues its batch and takes the write lock; whoever holds it writes every
queued batch in one transaction and commits once, then each caller returns (or raises) with its
own batch's outcome. A lone caller commits its own batch immediately. On an event loop (the
HTTP app), `store_soon` gathers the batches of one turn of the loop and, at the end of the turn,
hands them as one group to the store's writer process (`_writer.py`), which commits them on its
own connection while the loop serves other requests; each caller's future resolves when the
child reports the commit. An in-memory store commits the group on the loop itself. With
synchronous=FULL the app `submit`s batches to a writer thread instead, which commits whatever
has queued up as one group (one fsync) while the loop goes on.

One gate process per data directory: monitors are cached in memory by the gate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rumpolicy.gate._sqlite import (
    DB_NAME,
    SCHEMA_VERSION,
    MonitorGone,
    StoreVersionError,
    connect,
    open_read_only,
    prepare,
    read_batches,
    transaction,
    write_rows,
)
from rumpolicy.gate.records import MonitorRecord, StoredBatch, StoredEvent

if TYPE_CHECKING:  # imported when first used: the writer child runs `-m rumpolicy.gate._writer`,
    from rumpolicy.gate._writer import WriterProcess  # which must not be imported before

__all__ = ["DB_NAME", "SCHEMA_VERSION", "MonitorGone", "MonitorRecord", "Storage",
           "StoreVersionError", "StoredBatch", "StoredEvent", "open_read_only", "read_batches"]

_log = logging.getLogger("rumpolicy.gate")

CHECKPOINT_EVERY = 0.05
"""Seconds between background checkpoints of an on-disk store."""


class _Pending:
    """One queued batch and, once it has been written, its outcome."""

    __slots__ = ("batch", "done", "error", "future", "stored")

    def __init__(self, batch: StoredBatch,
                 future: Future[bool] | asyncio.Future[bool] | None = None) -> None:
        self.batch = batch
        self.done = False
        self.stored = False
        self.error: BaseException | None = None
        self.future = future

    def settle(self) -> None:
        self.done = True
        if self.future is not None and not self.future.cancelled():
            if self.error is not None:
                self.future.set_exception(self.error)
            else:
                self.future.set_result(self.stored)


class Storage:
    """SQLite storage in `data_dir` (created if needed); None keeps everything in memory."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *,
                 synchronous: Literal["normal", "full"] = "normal") -> None:
        self.path = None if data_dir is None else Path(data_dir) / DB_NAME
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.synchronous = synchronous
        self._db = connect(self.path, synchronous)
        prepare(self._db)
        self._wal = self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        """Whether SQLite took WAL mode: a file system that cannot share memory between
        processes keeps the rollback journal, where a reader blocks commits."""
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = threading.Condition(self._queue_lock)
        self._queue: list[_Pending] = []
        self._loop_groups: dict[asyncio.AbstractEventLoop,
                                list[tuple[StoredBatch, asyncio.Future[bool]]]] = {}
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writer: threading.Thread | None = None
        self._writer_process: WriterProcess | None = None
        self._closing = False
        self._checkpointer = None if self.path is None else _Checkpointer(self.path)

    # -- monitors ---------------------------------------------------------------------------

    def monitors(self) -> list[MonitorRecord]:
        with self._write_lock:
            rows = self._db.execute(
                "SELECT id, name, created, last_modified, spec, policy_document, "
                "policy_revision_id, tags FROM monitors ORDER BY name").fetchall()
        return [MonitorRecord(*row) for row in rows]

    def insert_monitor(self, record: MonitorRecord) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO monitors (id, name, created, last_modified, spec, policy_document,"
                " policy_revision_id, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.name, record.created, record.last_modified, record.spec,
                 record.policy_document, record.policy_revision_id, record.tags))

    def update_monitor(self, record: MonitorRecord) -> None:
        """Write the monitor's settings, tags and modification time (not its policy)."""
        with self._transaction():
            self._db.execute(
                "UPDATE monitors SET spec = ?, tags = ?, last_modified = ? WHERE id = ?",
                (record.spec, record.tags, record.last_modified, record.id))

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read on the gate's own connection (the control plane's lookups)."""
        with self._write_lock:
            return self._db.execute(sql, parameters).fetchall()

    def snapshot(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read that commits may not wait for (GetAppMonitorData's, which can be
        long). On disk it runs on a read-only connection of its own, without the write lock: in
        WAL mode a statement reads one committed snapshot, and readers and the writer never wait
        for each other. In memory no other connection sees the data, so it runs like `query`,
        under the write lock (which commits take on the event loop): keep such reads short. So
        does a store that SQLite could not put in WAL mode, where a long read would make
        commits wait (up to the busy timeout) or fail."""
        if self.path is None or not self._wal:
            return self.query(sql, parameters)
        with self._read_lock:
            if self._reader is None:
                if self._closing:
                    raise RuntimeError("the store is closed")
                self._reader = _read_connection(self.path)
            return self._reader.execute(sql, parameters).fetchall()

    def execute(self, *statements: tuple[str, Sequence[Any]]) -> None:
        """Run `statements` in one transaction (the control plane's writes)."""
        with self._transaction():
            for sql, parameters in statements:
                self._db.execute(sql, parameters)

    def delete_monitor(self, monitor_id: str) -> None:
        """Removes the monitor with its policy and the batches it accepted."""
        with self._transaction():
            self._db.execute("DELETE FROM monitors WHERE id = ?", (monitor_id,))

    def set_policy(self, monitor_id: str, document: str | None, revision_id: str | None,
                   modified: float) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE monitors SET policy_document = ?, policy_revision_id = ?, "
                "last_modified = ? WHERE id = ?", (document, revision_id, modified, monitor_id))

    # -- batches ----------------------------------------------------------------------------

    def store_batch(self, batch: StoredBatch) -> bool:
        """Commit `batch`; True if stored, False if the monitor already had this BatchId."""
        pending = _Pending(batch)
        with self._queue_lock:
            self._queue.append(pending)
        with self._write_lock:
            if not pending.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._commit_group(group)
        if pending.error is not None:
            raise pending.error
        return pending.stored

    def store_soon(self, batch: StoredBatch) -> asyncio.Future[bool]:
        """Commit `batch` on the running event loop, in one transaction with every batch that
        other requests hand in during the same turn of the loop; the future resolves after
        the commit. Under load the loop wakes with several requests ready at once, and they
        share one commit instead of paying one each."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        group = self._loop_groups.get(loop)
        if group is None:
            group = self._loop_groups[loop] = []
            loop.call_soon(self._flush_loop_group, loop)
        group.append((batch, future))
        return future

    def _flush_loop_group(self, loop: asyncio.AbstractEventLoop) -> None:
        group = self._loop_groups.pop(loop)
        writer = self._process_writer(loop)
        if writer is not None:
            writer.send([tuple(batch) for batch, _ in group], [f for _, f in group])
            return
        with self._write_lock:
            self._commit_group([_Pending(batch, future) for batch, future in group])

    def _process_writer(self, loop: asyncio.AbstractEventLoop) -> WriterProcess | None:
        """The writer process for this loop's groups, started on first use and again after it
        died; None where the loop commits itself: an in-memory store (no second connection
        can see it), synchronous=FULL (the writer thread's case), or a second event loop."""
        if self.path is None or self.synchronous != "normal" or self._closing:
            return None
        writer = self._writer_process
        if writer is None or not writer.alive:
            from rumpolicy.gate._writer import WriterProcess

            writer = self._writer_process = WriterProcess(self.path, self.synchronous, loop)
        return writer if writer.loop is loop else None

    def submit(self, batch: StoredBatch) -> Future[bool]:
        """Queue `batch` for the writer thread; the future resolves once it is committed.

        For callers that must not block (the HTTP app's event loop): while the writer commits,
        the loop handles other requests, and their batches join the next group commit."""
        future: Future[bool] = Future()
        with self._queued:
            if self._closing:
                raise RuntimeError("the store is closed")
            self._queue.append(_Pending(batch, future))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued,
                                                name="rumpolicy-gate-writer", daemon=True)
                self._writer.start()
            self._queued.notify()
        return future

    def _write_queued(self) -> None:
        while True:
            with self._queued:
                while not self._queue and not self._closing:
                    self._queued.wait()
                if not self._queue:
                    return
            with self._write_lock:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                if group:
                    self._commit_group(group)

    def _commit_group(self, group: Sequence[_Pending]) -> None:
        outcomes = write_rows(self._db, [pending.batch for pending in group])
        for pending, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                pending.error = outcome
            else:
                pending.stored = outcome
            pending.settle()

    def batches(self, monitor_id: str) -> list[StoredBatch]:
        with self._write_lock:
            return read_batches(self._db, monitor_id)

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._write_lock, transaction(self._db):
            yield

    def close(self) -> None:
        """Commits what is queued, stops the writer, closes the database."""
        with self._queued:
            self._closing = True
            self._queued.notify()
        if self._writer is not None:
            self._writer.join()
        if self._writer_process is not None:
            self._writer_process.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        with self._write_lock:
            self._db.close()


def _read_connection(path: Path) -> sqlite3.Connection:
    """The store's connection for `snapshot`: query-only, used by one thread at a time."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA query_only=ON")
    return db


class _Checkpointer:
    """Copies committed pages from the WAL into the database file, on its own thread and
    connection, every CHECKPOINT_EVERY seconds. Otherwise the commit that crossed SQLite's
    threshold did it, an fsync included: about 30 us a 13 KB batch in bench/gate.py (a). A
    PASSIVE checkpoint never waits for writers, and SQLite runs it without holding the GIL."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rumpolicy-gate-checkpoint",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = connect(self._path, "normal")
        try:
            while not self._stopping.wait(CHECKPOINT_EVERY):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as err:  # the commits' own checkpoints still run
                    _log.warning("background checkpoint failed: %s", err)
        finally:
            db.close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
