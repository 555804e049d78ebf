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
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from rumpolicy.gate.json_rules import refusal

if TYPE_CHECKING:
    from rumpolicy.gate._writer import WriterProcess

_log = logging.getLogger("rumpolicy.gate")

DB_NAME = "rumpolicy-gate.sqlite3"
SCHEMA_VERSION = 1
WAL_CHECKPOINT_PAGES = 16000
"""SQLite's own checkpoint, run by the commit that takes the WAL past ~16 MB, is the backstop
that keeps the WAL bounded: by then the background checkpoint has copied most pages."""
CHECKPOINT_EVERY = 0.05
"""Seconds between background checkpoints of an on-disk store."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    last_modified REAL NOT NULL,
    spec TEXT NOT NULL,
    policy_document TEXT,
    policy_revision_id TEXT
);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY,
    monitor_id TEXT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    request_id TEXT NOT NULL,
    alias TEXT,
    principal TEXT,
    source_ip TEXT,
    app_monitor_details TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    session_metadata TEXT,
    event_count INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (monitor_id, batch_id)
);
"""


@dataclass(frozen=True, slots=True)
class MonitorRecord:
    id: str
    name: str
    created: float
    last_modified: float
    spec: str
    """The CreateAppMonitor members besides Name, as JSON text."""
    policy_document: str | None = None
    policy_revision_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    timestamp: float
    type: str
    metadata: str | None
    details: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "timestamp": self.timestamp, "type": self.type,
                "metadata": self.metadata, "details": self.details}


class StoredBatch(NamedTuple):
    """One accepted batch: the row the store keeps. A named tuple whose fields are the columns
    in `_INSERT`'s order, so the row is the value itself: the gate builds one per accepted call,
    and a frozen dataclass cost three times as much to build and then had to be turned into a
    tuple (docs/performance.md)."""

    monitor_id: str
    batch_id: str
    received_at: float
    request_id: str
    alias: str | None
    principal: str | None
    source_ip: str | None
    app_monitor_details: str
    """AppMonitorDetails as JSON text."""
    user_id: str | None
    session_id: str | None
    session_metadata: str | None
    event_count: int
    body: bytes
    """The request body as received (JSON, decompressed); the events are read from it."""

    def __repr__(self) -> str:  # the body can be megabytes
        return (f"StoredBatch(monitor_id={self.monitor_id!r}, batch_id={self.batch_id!r}, "
                f"event_count={self.event_count}, body=<{len(self.body)} bytes>)")

    @property
    def events(self) -> tuple[StoredEvent, ...]:
        events = json.loads(self.body)["RumEvents"]
        return tuple(StoredEvent(e["id"], float(e["timestamp"]), e["type"], e.get("metadata"),
                                 e["details"]) for e in events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor_id": self.monitor_id, "batch_id": self.batch_id,
            "received_at": self.received_at, "request_id": self.request_id,
            "alias": self.alias, "principal": self.principal, "source_ip": self.source_ip,
            "app_monitor_details": json.loads(self.app_monitor_details),
            "user_id": self.user_id, "session_id": self.session_id,
            "session_metadata": self.session_metadata,
            "events": [e.to_dict() for e in self.events],
        }


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
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = threading.Condition(self._queue_lock)
        self._queue: list[_Pending] = []
        self._loop_groups: dict[asyncio.AbstractEventLoop,
                                list[tuple[StoredBatch, asyncio.Future[bool]]]] = {}
        self._writer: threading.Thread | None = None
        self._writer_process: WriterProcess | None = None
        self._closing = False
        self._checkpointer = None if self.path is None else _Checkpointer(self.path)

    # -- monitors ---------------------------------------------------------------------------

    def monitors(self) -> list[MonitorRecord]:
        with self._write_lock:
            rows = self._db.execute(
                "SELECT id, name, created, last_modified, spec, policy_document, "
                "policy_revision_id FROM monitors ORDER BY name").fetchall()
        return [MonitorRecord(*row) for row in rows]

    def insert_monitor(self, record: MonitorRecord) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO monitors (id, name, created, last_modified, spec, policy_document,"
                " policy_revision_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.name, record.created, record.last_modified, record.spec,
                 record.policy_document, record.policy_revision_id))

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
        with self._write_lock, _transaction(self._db):
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
        with self._write_lock:
            self._db.close()


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


def connect(path: Path | None, synchronous: Literal["normal", "full"]) -> sqlite3.Connection:
    """A connection to the store at `path` (None: in memory) as the gate writes with it; the
    writer process (`_writer.py`) opens its own the same way."""
    db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous.upper()}")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    db.execute("PRAGMA busy_timeout=5000")
    return db


Row = tuple[Any, ...]
"""A batch as the values of `_INSERT`'s columns: a StoredBatch, or the plain tuple the writer
process receives."""
_BODY = StoredBatch._fields.index("body")

_INSERT = (
    "INSERT OR IGNORE INTO batches (monitor_id, batch_id, received_at, request_id, alias,"
    " principal, source_ip, app_monitor_details, user_id, session_id, session_metadata,"
    " event_count, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def write_rows(db: sqlite3.Connection, rows: Sequence[Row]) -> list[bool | Exception]:
    """Commit `rows` in one transaction. Each outcome is True (stored), False (the monitor
    already had that BatchId) or the exception that kept that row out: a body that breaks
    json_rules (a ValidationException; what is stored must read back), or whatever SQLite
    raised; if the group fails, each row is tried on its own, so one bad batch does not sink
    the others."""
    refused: list[Exception | None] = [refusal(row[_BODY]) for row in rows]
    writable = [row for row, problem in zip(rows, refused, strict=True) if problem is None]
    written = iter(_write_rows(db, writable) if writable else [])
    return [next(written) if problem is None else problem for problem in refused]


def _write_rows(db: sqlite3.Connection, rows: Sequence[Row]) -> list[bool | Exception]:
    try:
        return list(_write_together(db, rows))
    except Exception as err:
        if len(rows) == 1:
            return [err]
        return [_write_rows(db, [row])[0] for row in rows]


def _write_together(db: sqlite3.Connection, rows: Sequence[Row]) -> list[bool]:
    if len(rows) == 1:  # one statement is its own transaction: no BEGIN/COMMIT round trips
        return [db.execute(_INSERT, rows[0]).rowcount == 1]
    with _transaction(db):
        return [db.execute(_INSERT, row).rowcount == 1 for row in rows]


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def read_batches(db: sqlite3.Connection, monitor_id: str) -> list[StoredBatch]:
    """Every batch stored for `monitor_id`, in the order they were committed."""
    rows = db.execute(
        "SELECT monitor_id, batch_id, received_at, request_id, alias, principal, source_ip,"
        " app_monitor_details, event_count, user_id, session_id, session_metadata, body"
        " FROM batches WHERE monitor_id = ? ORDER BY seq", (monitor_id,)).fetchall()
    return [StoredBatch(
        monitor_id=row[0], batch_id=row[1], received_at=row[2], request_id=row[3], alias=row[4],
        principal=row[5], source_ip=row[6], app_monitor_details=row[7], event_count=row[8],
        user_id=row[9], session_id=row[10], session_metadata=row[11], body=bytes(row[12]))
        for row in rows]


def open_read_only(data_dir: str | Path) -> sqlite3.Connection:
    """A query-only connection to a gate's store (the gate may be running); FileNotFoundError
    when the directory holds no store. Not `mode=ro`: after a crash the first reader must be
    able to recover the WAL, which needs write access to the -shm file."""
    path = Path(data_dir) / DB_NAME
    if not path.is_file():
        raise FileNotFoundError(str(path))
    db = sqlite3.connect(path)
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA query_only=ON")
    return db
