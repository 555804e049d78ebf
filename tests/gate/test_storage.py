"""The store: batches committed once, group commit, nothing half-written, and durable on disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rumpolicy.gate import Gate, _sqlite
from rumpolicy.gate import storage as storage_module
from rumpolicy.gate._writer import WriterProcess
from rumpolicy.gate.storage import (
    DB_NAME,
    MonitorRecord,
    Storage,
    StoredBatch,
    StoredEvent,
    _Pending,
    open_read_only,
    read_batches,
)

from ._helpers import STORED_MONITOR as MONITOR
from ._helpers import store_with_monitor
from ._helpers import stored_batch as stored


def test_wal_mode_and_the_configured_synchronous_level(tmp_path: Path) -> None:
    for level, number in (("normal", 1), ("full", 2)):
        store = Storage(tmp_path / level, synchronous=level)  # type: ignore[arg-type]
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == number
        store.close()


def test_a_batch_is_stored_once_per_batch_id(storage: Storage) -> None:
    assert storage.store_batch(stored("b1")) is True
    assert storage.store_batch(stored("b1", events=5)) is False
    batches = storage.batches(MONITOR)
    assert [b.batch_id for b in batches] == ["b1"]
    assert batches[0].events == tuple(StoredEvent(f"e{n}", 10.0 + n, "t", None, "{}")
                                      for n in range(3))


def test_committed_batches_are_visible_to_another_connection(storage: Storage,
                                                             tmp_path: Path) -> None:
    storage.store_batch(stored("b1"))
    db = open_read_only(tmp_path)
    assert [b.batch_id for b in read_batches(db, MONITOR)] == ["b1"]
    with pytest.raises(sqlite3.OperationalError):
        db.execute("DELETE FROM batches")


def test_a_failing_batch_does_not_sink_its_group(storage: Storage) -> None:
    """Three batches committed as one group; the second names a monitor the store does not
    have, so the foreign key refuses it. The group rolls back and each batch is retried alone:
    the good ones are stored, the bad one raises."""
    bad = stored("bad")._replace(monitor_id="no-such-monitor")
    futures = []
    with storage._write_lock:  # hold the writer back so that all three queue up together
        futures = [storage.submit(batch) for batch in (stored("b1"), bad, stored("b2"))]
    assert futures[0].result(10) is True and futures[2].result(10) is True
    with pytest.raises(sqlite3.IntegrityError):
        futures[1].result(10)
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["b1", "b2"]


def test_a_failed_group_commit_rolls_back_and_retries_each_batch(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    real = storage._db

    class Failing:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def execute(self, sql: str, *args: object) -> object:
            if sql == "COMMIT":
                raise sqlite3.OperationalError("disk I/O error")
            return real.execute(sql, *args)

    monkeypatch.setattr(storage, "_db", Failing())
    pending = [_Pending(stored("b1")), _Pending(stored("b2"))]
    storage._commit_group(pending)  # the group's COMMIT fails; alone, each is one INSERT
    monkeypatch.undo()
    assert [(p.done, p.stored, p.error) for p in pending] == [(True, True, None)] * 2
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["b1", "b2"]


def test_group_commit_keeps_each_callers_outcome(storage: Storage) -> None:
    """Many threads at once: every batch stored exactly once, duplicates reported as such."""
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def send(n: int) -> None:
        outcome = storage.store_batch(stored(f"b{n % 40}"))
        with lock:
            results.setdefault(f"b{n % 40}", []).append(outcome)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(120)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(sorted(v) == [False, False, True] for v in results.values())
    assert sorted(b.batch_id for b in storage.batches(MONITOR)) == \
        sorted(f"b{n}" for n in range(40))


@pytest.mark.parametrize("where", ["on the loop", "in the writer process"])
def test_loop_group_commit_shares_one_transaction(where: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches handed in during one turn of the event loop are committed together, each caller
    hears its own outcome (a repeated BatchId: False), and nobody hears before the commit. An
    in-memory store commits on the loop; a store on disk hands the group to its writer
    process."""
    store = store_with_monitor(None if where == "on the loop" else tmp_path)
    groups: list[int] = []
    write = storage_module.write_rows

    def counting(db: sqlite3.Connection, rows: Any) -> Any:
        groups.append(len(rows))
        return write(db, rows)

    monkeypatch.setattr(storage_module, "write_rows", counting)
    send = WriterProcess.send

    def counting_sends(writer: WriterProcess, rows: Any, futures: Any) -> None:
        groups.append(len(rows))
        send(writer, rows, futures)

    monkeypatch.setattr(WriterProcess, "send", counting_sends)

    async def turn() -> list[bool]:
        futures = [store.store_soon(stored(f"b{n % 5}")) for n in range(8)]
        assert not any(f.done() for f in futures)  # not answered before the commit
        return list(await asyncio.gather(*futures))

    outcomes = asyncio.run(turn())
    assert groups == [8]
    assert outcomes == [True] * 5 + [False] * 3
    assert sorted(b.batch_id for b in store.batches(MONITOR)) == [f"b{n}" for n in range(5)]
    store.close()


def test_a_failed_loop_group_fails_each_caller_alone(storage: Storage) -> None:
    """One bad batch must not sink the others in its group."""
    async def turn() -> list[Any]:
        futures = [storage.store_soon(stored("good-1")),
                   storage.store_soon(stored("bad")._replace(monitor_id="nope")),
                   storage.store_soon(stored("good-2"))]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    good_1, bad, good_2 = asyncio.run(turn())
    assert good_1 is True and good_2 is True
    assert isinstance(bad, sqlite3.IntegrityError)  # the monitor does not exist
    assert [b.batch_id for b in storage.batches(MONITOR)] == ["good-1", "good-2"]


def test_deleting_a_monitor_deletes_its_batches(storage: Storage, tmp_path: Path) -> None:
    storage.store_batch(stored("b1"))
    storage.delete_monitor(MONITOR)
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("SELECT count(*) FROM batches").fetchone() == (0,)


def test_monitors_and_policies_survive_reopening(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    store.insert_monitor(MonitorRecord(MONITOR, "shop", 1.0, 1.0, '{"Domain":"x.com"}'))
    store.set_policy(MONITOR, "{}", "rev-1", 2.0)
    store.close()
    again = Storage(tmp_path)
    assert again.monitors() == [MonitorRecord(MONITOR, "shop", 1.0, 2.0, '{"Domain":"x.com"}',
                                              "{}", "rev-1")]


def test_a_background_checkpoint_copies_commits_into_the_database_file(tmp_path: Path) -> None:
    """Commits go to the WAL; the store's checkpoint thread copies them into the database file
    soon after, so no commit under SQLite's 64 MB backstop pays for a checkpoint itself."""
    store = store_with_monitor(tmp_path)
    database = tmp_path / DB_NAME
    before = database.stat().st_size
    for n in range(40):
        store.store_batch(stored(f"b{n}")._replace(body=b'{"x": "%s"}' % (b"x" * 50_000)))
    deadline = time.monotonic() + 10
    while database.stat().st_size < before + 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert database.stat().st_size >= before + 2_000_000
    store.close()


def test_a_stored_batch_is_its_row() -> None:
    """StoredBatch's fields are the INSERT's columns, in order: the value is passed as the row."""
    columns = _sqlite._INSERT.split("(", 1)[1].split(")", 1)[0]
    assert StoredBatch._fields == tuple(c.strip() for c in columns.split(","))
    assert "body=<" in repr(stored("b1")) and "RumEvents" not in repr(stored("b1"))


def test_a_store_written_by_schema_version_1_opens_and_migrates(tmp_path: Path) -> None:
    """A store from the previous release (monitors, policies, batches; user_version 1) opens:
    its monitors gain empty tags, its batches read back, the metrics tables appear."""
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(_sqlite._SCHEMA_V1)
    db.execute("INSERT INTO monitors VALUES (?, 'shop', 1.0, 2.0, '{\"Domain\": \"a.com\"}', "
               "'{}', 'r1')", (MONITOR,))
    db.execute("INSERT INTO batches (monitor_id, batch_id, received_at, request_id, "
               "app_monitor_details, event_count, body) VALUES (?, 'b1', 3.0, 'q', '{}', 0, ?)",
               (MONITOR, b'{"RumEvents": []}'))
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = Storage(tmp_path)
    [record] = store.monitors()
    assert (record.name, record.spec, record.policy_revision_id, record.tags) == \
        ("shop", '{"Domain": "a.com"}', "r1", "{}")
    assert [b.batch_id for b in store.batches(MONITOR)] == ["b1"]
    assert store.query("PRAGMA user_version") == [(_sqlite.SCHEMA_VERSION,)]
    assert store.query("SELECT count(*) FROM metric_definitions") == [(0,)]
    store.close()


def test_a_store_written_by_schema_version_2_opens_and_takes_metric_definitions(
        tmp_path: Path) -> None:
    """Version 2 was released with a metric_definitions table that lacked the columns the
    metrics operations write (a 500 on BatchCreateRumMetricDefinitions, found in review)."""
    db = sqlite3.connect(tmp_path / DB_NAME)
    for script in (_sqlite._SCHEMA_V1, _sqlite._TO_V2):
        db.executescript(script)
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    store = Storage(tmp_path)
    assert store.query("PRAGMA user_version") == [(_sqlite.SCHEMA_VERSION,)]
    columns = [row[1] for row in store.query("PRAGMA table_info(metric_definitions)")]
    assert {"canonical", "weight"} <= set(columns)
    store.close()
    gate = Gate(data_dir=tmp_path)
    gate.create_app_monitor(Name="shop", Domain="example.com")
    gate.put_rum_metrics_destination(AppMonitorName="shop", Destination="CloudWatch")
    created = gate.batch_create_rum_metric_definitions(
        AppMonitorName="shop", Destination="CloudWatch",
        MetricDefinitions=[{"Name": "SessionCount", "EventPattern": json.dumps(
            {"event_type": ["com.amazon.rum.session_start_event"]})}])
    assert (len(created["MetricDefinitions"]), created["Errors"]) == (1, [])


def test_a_store_from_a_newer_rumpolicy_is_refused(tmp_path: Path) -> None:
    Storage(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute(f"PRAGMA user_version={_sqlite.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(_sqlite.StoreVersionError, match="upgrade rumpolicy"):
        Storage(tmp_path)
