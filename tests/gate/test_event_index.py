"""GetAppMonitorData's event index (`event_index.py`): out-of-order arrivals merged into it, pages
that resume where they stopped while batches keep arriving, reads that do not hold up
PutRumEvents, and indexes that belong to one gate.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rumpolicy
from rumpolicy.gate import Gate, event_index
from rumpolicy.gate import storage as storage_module
from rumpolicy.gate.storage import Storage

from ._helpers import NOW, alias_policy, batch, encoded, event, make_gate

FAR = 253402300799000
Key = tuple[int, int, int]
"""An event's place: (timestamp in ms, the batch's commit order, its position in the batch)."""


def _put(gate: Gate, monitor_id: str, timestamps: list[int], page: str = "/a") -> None:
    events = [event(n, timestamp=t, metadata=json.dumps({"pageId": page}))
              for n, t in enumerate(timestamps)]
    assert gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1", RumEvents=events))
                               ).stored


def _page(gate: Gate, token: str | None, limit: int, **members: Any
          ) -> tuple[list[dict[str, Any]], str | None]:
    resume = {} if token is None else {"NextToken": token}
    answer = gate.get_app_monitor_data(**{"Name": "shop", "MaxResults": limit,
                                          "TimeRange": {"After": 0, "Before": FAR},
                                          **resume, **members})
    return [json.loads(d) for d in answer["Events"]], answer.get("NextToken")


# -- out-of-order arrivals and paging ----------------------------------------------------------

_BATCH = st.lists(st.integers(1_700_000_000, 1_700_000_040), min_size=1, max_size=5)
_STEP = st.one_of(st.tuples(st.just("put"), _BATCH, st.sampled_from(["/a", "/b"])),
                  st.tuples(st.just("page"), st.integers(1, 4), st.booleans()))


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(_STEP, max_size=25), chunk=st.sampled_from([1, 2, 256]))
def test_pages_are_the_events_in_time_then_arrival_order_however_batches_arrive(
        steps: list[tuple[Any, ...]], chunk: int) -> None:
    """Batches bring events earlier and later than those indexed, pages are read between them,
    and each page is the next events after the token by (timestamp, arrival, position),
    filtered: none repeated, none skipped, whatever chunks the index reads the store in."""
    with mock.patch.object(event_index, "CHUNK_ROWS", chunk):
        g, monitor_id = make_gate()
        stored: list[tuple[Key, str, str]] = []  # (place, event id, page)
        token: str | None = None
        last: Key | None = None
        for step in steps:
            if step[0] == "put":
                _, timestamps, page = step
                order = len({k[1] for k, _, _ in stored})
                before = len(g.events("shop"))
                _put(g, monitor_id, timestamps, page)
                events = g.events("shop")[before].events
                stored += [((t * 1000, order, n), e.id, page)
                           for n, (t, e) in enumerate(zip(timestamps, events, strict=True))]
                continue
            _, limit, only_b = step
            members = {"Filters": [{"Name": "Page", "Values": ["/b"]}]} if only_b else {}
            if only_b:
                token = last = None  # a filtered read starts over
            got, token = _page(g, token, limit, **members)
            expected = sorted(s for s in stored if (not only_b or s[2] == "/b")
                              and (last is None or s[0] > last))
            assert [d["event_id"] for d in got] == [s[1] for s in expected[:limit]]
            assert (token is not None) == (len(expected) > limit)
            last = expected[len(got) - 1][0] if got else last
            if token is None or only_b:
                token = last = None
        g.close()


class _Counted(int):
    """A timestamp that counts the comparisons made with it."""

    made: ClassVar[list[int]] = []

    def __eq__(self, other: object) -> bool:
        _Counted.made.append(1)
        return int(self) == other

    def __lt__(self, other: object) -> bool:
        _Counted.made.append(1)
        return int(self) < other  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        _Counted.made.append(1)
        return int(self) > other  # type: ignore[operator]

    __hash__ = int.__hash__


def test_a_batch_a_little_behind_is_merged_without_sorting_the_whole_index() -> None:
    """Batches from many sessions overlap in time, so most bring an event earlier than the
    latest indexed: each such batch used to sort the whole index (a comparison per entry)."""
    g, monitor_id = make_gate()
    for n in range(40):
        _put(g, monitor_id, [1_700_000_000 + n * 50 + k for k in range(50)])
    assert len(_page(g, None, 1)[0]) == 1  # the index is built
    [index] = [o for o in gc.get_objects()
               if isinstance(o, event_index.EventIndex) and o.monitor_id == monitor_id]
    index.entries = [(_Counted(e[0]), *e[1:]) for e in index.entries]
    _Counted.made.clear()
    _put(g, monitor_id, [1_700_000_000 + 40 * 50 - 3, 1_700_000_000 + 40 * 50 - 2])
    everything, _ = _page(g, None, 100, TimeRange={"After": (1_700_000_000 + 1995) * 1000})
    assert len(_Counted.made) < 100, f"{len(_Counted.made)} comparisons for 2000 entries"
    assert [d["event_timestamp"] for d in everything] == sorted(
        [(1_700_000_000 + 1995 + k) * 1000 for k in range(5)]
        + [(1_700_000_000 + 1997 + k) * 1000 for k in range(2)])
    g.close()


# -- reads that do not hold up PutRumEvents ----------------------------------------------------

def test_on_disk_a_catch_up_does_not_wait_for_the_write_lock(tmp_path: Path) -> None:
    """The store's write lock is what every commit takes (on the event loop, for synchronous=
    FULL's writer thread, for the control plane). A catch-up reads a snapshot without it."""
    g = Gate(tmp_path, clock=lambda: NOW)
    monitor_id = g.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    for n in range(5):
        _put(g, monitor_id, [1_700_000_000 + n])
    answers: list[int] = []
    with g.storage._write_lock:  # a commit in progress, for as long as the read takes
        reader = threading.Thread(target=lambda: answers.append(len(_page(g, None, 100)[0])),
                                  daemon=True)
        reader.start()
        reader.join(30)
        finished = not reader.is_alive()
    reader.join()
    g.close()
    assert finished, "GetAppMonitorData waited for the store's write lock"
    assert answers == [5]


def test_in_memory_a_catch_up_reads_in_chunks_and_lets_commits_in_between() -> None:
    """An in-memory store has one connection: each chunk is read under the write lock, which
    is let go between chunks, so a commit waits for one chunk at most."""
    g, monitor_id = make_gate()
    for n in range(7):
        _put(g, monitor_id, [1_700_000_000 + n])
    reads: list[int] = []
    committed: list[bool] = []
    query = g.storage.query

    def chunked(sql: str, parameters: Any = ()) -> list[tuple[Any, ...]]:
        rows = query(sql, parameters)
        reads.append(len(rows))
        if len(reads) == 1:  # between two chunks: a commit from another thread gets through
            writer = threading.Thread(target=commit)
            writer.start()
            writer.join()
        return rows

    def commit() -> None:
        took = g.storage._write_lock.acquire(timeout=30)
        committed.append(took)
        if took:
            g.storage._write_lock.release()

    with mock.patch.object(event_index, "CHUNK_ROWS", 3), \
            mock.patch.object(g.storage, "query", chunked):
        assert len(_page(g, None, 100)[0]) == 7
    assert reads[:3] == [3, 3, 1] and committed == [True]
    g.close()


# -- indexes belong to one gate ----------------------------------------------------------------

def _indexes_of(monitor_id: str) -> list[Any]:
    gc.collect()
    return [o for o in gc.get_objects()
            if type(o).__name__.endswith("Index") and getattr(o, "monitor_id", None) == monitor_id]


@pytest.fixture
def two_gates() -> Iterator[tuple[tuple[Gate, str], tuple[Gate, str]]]:
    first, second = make_gate(), make_gate()
    yield first, second
    first[0].close()
    second[0].close()


def test_two_gates_in_one_process_keep_their_own_indexes(
        two_gates: tuple[tuple[Gate, str], tuple[Gate, str]]) -> None:
    (g1, id1), (g2, id2) = two_gates
    _put(g1, id1, [1_700_000_001])
    _put(g2, id2, [1_700_000_002, 1_700_000_003])
    assert [len(_page(g, None, 100)[0]) for g in (g1, g2)] == [1, 2]
    assert len(_indexes_of(id1)) == len(_indexes_of(id2)) == 1
    g1.close()
    assert _indexes_of(id1) == [], "a closed gate still holds its index"
    assert len(_indexes_of(id2)) == 1
    _put(g2, id2, [1_700_000_000])
    assert [d["event_timestamp"] // 1000 for d in _page(g2, None, 100)[0]] == [
        1_700_000_000, 1_700_000_002, 1_700_000_003]


def test_two_gates_over_one_store_do_not_share_an_index() -> None:
    """`Gate(storage=...)`: each gate's registry indexes the monitors it holds, and one gate's
    reads never drop the other's index (which it would then build again from the store)."""
    store = Storage(None)
    g1, g2 = Gate(storage=store, clock=lambda: NOW), Gate(storage=store, clock=lambda: NOW)
    id1 = g1.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    g1.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    _put(g1, id1, [1_700_000_001])
    assert len(_page(g1, None, 100)[0]) == 1
    [held] = _indexes_of(id1)
    g2.create_app_monitor(Name="other", Domain="example.com")
    g2.get_app_monitor_data(Name="other", TimeRange={"After": 0})
    assert len(_page(g1, None, 100)[0]) == 1
    assert _indexes_of(id1) == [held]
    g1.close()


def test_two_mock_rum_sessions_in_one_process_do_not_leak_their_indexes() -> None:
    sessions: list[tuple[Gate, str]] = []
    for _ in range(2):
        with rumpolicy.mock_rum() as gate:
            rum = boto3.client("rum", region_name="us-east-1")
            monitor_id = rum.create_app_monitor(Name="shop", Domain="example.com")["Id"]
            assert rum.get_app_monitor_data(Name="shop", TimeRange={"After": 0})["Events"] == []
            assert len(_indexes_of(monitor_id)) == 1
            sessions.append((gate, monitor_id))
    assert [_indexes_of(monitor_id) for _, monitor_id in sessions] == [[], []]


def test_a_store_sqlite_kept_out_of_wal_mode_reads_under_the_write_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where SQLite cannot use WAL (a file system without shared memory), a reader on its own
    connection blocks commits: there a snapshot is read like the control plane's lookups,
    under the write lock, rather than making PutRumEvents wait up to the busy timeout."""
    opened = storage_module.connect

    def without_wal(*args: Any, **kwargs: Any) -> Any:
        db = opened(*args, **kwargs)
        db.execute("PRAGMA journal_mode=DELETE")
        return db

    monkeypatch.setattr(storage_module, "connect", without_wal)
    store = storage_module.Storage(tmp_path)
    done = threading.Event()
    with store._write_lock:
        reader = threading.Thread(target=lambda: (store.snapshot("SELECT 1"), done.set()),
                                  daemon=True)
        reader.start()
        assert not done.wait(0.5), "the snapshot was read beside a commit in progress"
    assert done.wait(30)
    store.close()
