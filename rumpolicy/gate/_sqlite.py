"""The gate's store in SQLite: its schema and how it grows, the connection settings, and writing
and reading batch rows. Both the gate's process and its writer process (`_writer.py`) write
through here, so the two cannot disagree on a row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from rumpolicy.gate.json_rules import CheckedText, refusal
from rumpolicy.gate.records import StoredBatch

DB_NAME = "rumpolicy-gate.sqlite3"
SCHEMA_VERSION = 3
"""1: monitors, policies and batches. 2: tags, metrics destinations and metric definitions."""
WAL_CHECKPOINT_PAGES = 16000
"""SQLite's own checkpoint, run by the commit that takes the WAL past ~16 MB, is the backstop
that keeps the WAL bounded: by then the background checkpoint has copied most pages."""

_SCHEMA_V1 = """
CREATE TABLE monitors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    last_modified REAL NOT NULL,
    spec TEXT NOT NULL,
    policy_document TEXT,
    policy_revision_id TEXT
);
CREATE TABLE batches (
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

_TO_V2 = """
ALTER TABLE monitors ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
CREATE TABLE metrics_destinations (
    monitor_id TEXT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    destination_arn TEXT NOT NULL,
    iam_role_arn TEXT,
    PRIMARY KEY (monitor_id, destination, destination_arn)
);
CREATE TABLE metric_definitions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    monitor_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    destination_arn TEXT NOT NULL,
    definition TEXT NOT NULL,
    FOREIGN KEY (monitor_id, destination, destination_arn)
        REFERENCES metrics_destinations (monitor_id, destination, destination_arn)
        ON DELETE CASCADE
);
"""
"""As released: version 2 stores exist. A CloudWatch destination has no ARN: its
destination_arn is '' (a key column cannot be NULL)."""

_TO_V3 = """
DROP TABLE metric_definitions;
CREATE TABLE metric_definitions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    monitor_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    destination_arn TEXT NOT NULL,
    definition TEXT NOT NULL,
    canonical TEXT NOT NULL,
    weight INTEGER NOT NULL,
    UNIQUE (monitor_id, destination, destination_arn, canonical),
    FOREIGN KEY (monitor_id, destination, destination_arn)
        REFERENCES metrics_destinations (monitor_id, destination, destination_arn)
        ON DELETE CASCADE
);
"""
"""Version 2 released the table without the columns the metric-definition operations need;
no release wrote to it, so it is made again. A definition is the MetricDefinitionRequest
members as JSON; `canonical` is the form that tells two definitions are the same (one per
destination) and `weight` what it counts toward the destination's quota
(gate/metric_rules.py)."""

_MIGRATIONS = (_SCHEMA_V1, _TO_V2, _TO_V3)
"""_MIGRATIONS[n] takes a store at version n to n + 1."""


class StoreVersionError(RuntimeError):
    """The store was written by a newer rumpolicy than this one."""


def prepare(db: sqlite3.Connection) -> None:
    """Create the schema, or bring a store written by an earlier version up to this one."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreVersionError(f"the store is at schema version {version}; this rumpolicy "
                                f"reads up to {SCHEMA_VERSION}: upgrade rumpolicy")
    if version == SCHEMA_VERSION:
        return
    with transaction(db):
        for script in _MIGRATIONS[version:]:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


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
    the others. A CheckedText body keeps json_rules by construction and is not parsed again."""
    refused: list[Exception | None] = [
        None if type(row[_BODY]) is CheckedText else refusal(row[_BODY]) for row in rows]
    writable = [row for row, problem in zip(rows, refused, strict=True) if problem is None]
    written = iter(_write_rows(db, writable) if writable else [])
    return [next(written) if problem is None else problem for problem in refused]


class MonitorGone(sqlite3.IntegrityError):
    """The batch's app monitor row is not in the store: DeleteAppMonitor removed it after the
    batch was allowed and before it was committed. Nothing was stored."""


def _write_rows(db: sqlite3.Connection, rows: Sequence[Row]) -> list[bool | Exception]:
    try:
        return list(_write_together(db, rows))
    except Exception as err:
        if len(rows) == 1:
            gone = isinstance(err, sqlite3.IntegrityError) and "FOREIGN KEY" in str(err)
            return [MonitorGone(rows[0][0]) if gone else err]
        return [_write_rows(db, [row])[0] for row in rows]


def _write_together(db: sqlite3.Connection, rows: Sequence[Row]) -> list[bool]:
    if len(rows) == 1:  # one statement is its own transaction: no BEGIN/COMMIT round trips
        return [db.execute(_INSERT, rows[0]).rowcount == 1]
    with transaction(db):
        return [db.execute(_INSERT, row).rowcount == 1 for row in rows]


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
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
