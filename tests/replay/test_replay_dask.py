"""Replay on real Dask clusters: a scheduler and workers started as processes by the `dask`
CLIs, and a LocalCluster; the report equals the single-process one, and a cluster that cannot
give a complete report says so in one line (exit 2)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.replay import ReplayError, replay_logs
from rumpolicy.analysis.replay.distributed import local_cluster

from ._helpers import CANARY as FIXTURES
from ._helpers import MONITOR, NEW, OLD, comparable, free_port, traffic, write_logs

DASK = str(Path(sys.executable).with_name("dask"))


class _Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1."""

    def __init__(self, workers: int, env: dict[str, str] | None = None) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        environment = {**os.environ, **(env or {})}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            env=environment, **quiet)
        self.workers = [subprocess.Popen(
            [DASK, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
             "--no-dashboard", "--no-nanny"], env=environment, **quiet)
            for _ in range(workers)]
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(self.address, timeout="2s") as client:
                    client.wait_for_workers(workers, timeout=max(1, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[_Cluster]:
    started = _Cluster(workers=2)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def clients(cluster: _Cluster) -> Iterator[dict[int, Any]]:
    """A client of the 2-worker cluster of processes, and of a 1-worker LocalCluster as
    `--workers 1` starts it (no port of its own on 8787)."""
    with local_cluster(1) as local, \
            Client(local) as one, Client(cluster.address) as two:
        yield {1: one, 2: two}


# The strategies draw nothing from `random`; Dask's client threads do, while Hypothesis draws.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(traffic(), st.lists(st.integers(0, 60), max_size=2),
       st.lists(st.booleans(), min_size=1, max_size=3), st.integers(1, 600),
       st.sampled_from([2, 10_000]), st.sampled_from([1, 2]))
def test_a_cluster_gives_the_report_of_one_process(clients, lines, cuts, gzipped, split,
                                                   max_aliases, workers):
    options = {"max_aliases": max_aliases, "chunk_bytes": 128, "line_cache_bytes": 512,
               "context_cache_entries": 3}
    with tempfile.TemporaryDirectory() as tmp:
        write_logs(Path(tmp), lines, cuts, gzipped)
        here = replay_logs(NEW, [tmp], against=OLD, **options)
        there = replay_logs(NEW, [tmp], against=OLD, client=clients[workers],
                            split_bytes=split, **options)
    assert comparable(there) == comparable(here)


def _cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 180
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rumpolicy", "replay", *argv],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _log(path: Path, records: int) -> Path:
    """Distinct request lines (one user agent each), for replays that take a moment."""
    with path.open("w") as out:
        for n in range(records):
            out.write(json.dumps({
                "resource": MONITOR,
                "context": {"rum:alias": ["shop-v2", "canary-1", "shop-v1"][n % 3],
                            "aws:SourceIp": f"203.0.113.{n % 250}",
                            "aws:UserAgent": f"agent/{n}"}}) + "\n")
    return path


def test_the_cli_on_a_local_cluster_and_on_a_scheduler_prints_the_same_report(cluster,
                                                                              tmp_path):
    log = _log(tmp_path / "traffic.jsonl", 3_000)
    policies = ["--policy", str(FIXTURES / "shop-canary.json"),
                "--against", str(FIXTURES / "shop-stable.json"), "--json", "--fail-on", "none"]
    reports = []
    for where in ([], ["--workers", "2", "--split-bytes", "64K"],
                  ["--scheduler", cluster.address, "--split-bytes", "100K"]):
        done = _cli(*policies, str(log), *where)
        assert done.returncode == 0, done.stderr
        reports.append(comparable(json.loads(done.stdout)))
    assert reports[0]["records"] == 3_000 and reports[0]["changes"]
    assert reports[1] == reports[0] and reports[2] == reports[0]


def test_a_worker_that_dies_ends_the_replay_with_one_line(tmp_path):
    """The scheduler gives up on the first death (allowed-failures 0), as it does after
    three by default: the replay must not print what the other units found."""
    doomed = _Cluster(workers=1, env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    try:
        log = _log(tmp_path / "big.jsonl", 300_000)
        replay = subprocess.Popen(
            [sys.executable, "-m", "rumpolicy", "replay", "--policy",
             str(FIXTURES / "shop-canary.json"), str(log), "--scheduler", doomed.address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with Client(doomed.address) as watcher:
            deadline = time.monotonic() + 120
            while not any(watcher.processing().values()):
                assert time.monotonic() < deadline and replay.poll() is None
                time.sleep(0.05)
        doomed.workers[0].send_signal(signal.SIGKILL)
        out, err = replay.communicate(timeout=120)
    finally:
        doomed.stop()
    assert replay.returncode == 2, (out, err)
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"rumpolicy: error: {log}") and "worker replaying it died" in line


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    log = _log(tmp_path / "t.jsonl", 3)
    address = f"tcp://127.0.0.1:{free_port()}"
    done = _cli("--policy", "none", str(log), "--scheduler", address,
                env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"rumpolicy: error: cannot reach the Dask scheduler at {address}: ")


@pytest.mark.parametrize("address", ["nonsense", "tcp://127.0.0.1", "tcp://host:port",
                                     "tcp://127.0.0.1:99999", "foo://127.0.0.1:8786",
                                     "inproc://x"])
def test_a_malformed_scheduler_address_is_one_line_at_once(tmp_path, address):
    log = _log(tmp_path / "t.jsonl", 3)
    started = time.monotonic()
    done = _cli("--policy", "none", str(log), "--scheduler", address, timeout=60)
    assert time.monotonic() - started < 8
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"rumpolicy: error: --scheduler {address}: not a Dask scheduler "
                           "address: ") and line.endswith("expected tcp://HOST:PORT")


def test_a_scheduler_that_cannot_be_reached_leaves_nothing_behind_on_stderr(tmp_path):
    """The half-built client is closed at once: no 'Exception ignored in Client.__del__'."""
    log = _log(tmp_path / "t.jsonl", 3)
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = _cli("--policy", "none", str(log), "--scheduler", address,
                env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}, timeout=60)
    assert time.monotonic() - started < 15
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"rumpolicy: error: cannot reach the Dask scheduler at "
                                  f"{address}: ")


def test_a_log_a_local_worker_cannot_read_is_one_line_on_stderr(tmp_path):
    """The worker's own log of the failed task (Compute Failed, a traceback) stays quiet."""
    good = _log(tmp_path / "good.jsonl", 10)
    line = json.dumps({"resource": MONITOR})
    data = gzip.compress((line + "\n").encode() * 2000)
    broken = tmp_path / "trunc.jsonl.gz"
    broken.write_bytes(data[:len(data) // 2])
    done = _cli("--policy", str(FIXTURES / "shop-canary.json"), "--workers", "1", str(good),
                str(broken))
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"rumpolicy: error: {broken}: unreadable after line ")


@pytest.mark.parametrize(("flags", "missing", "extra"), [
    (["--workers", "2"], ("dask", "distributed"), "rumpolicy[distributed]"),
    (["--scheduler", "tcp://127.0.0.1:1"], ("dask", "distributed"), "rumpolicy[distributed]"),
    ([], ("s3fs",), "rumpolicy[s3]"),
])
def test_without_the_extras_the_flags_say_which_to_install(tmp_path, flags, missing, extra):
    """A module set to None in sys.modules cannot be imported: Python's own way to stand for
    a package that is not installed."""
    log = "s3://bucket/logs/*.gz" if not flags else str(_log(tmp_path / "t.jsonl", 3))
    code = (f"import sys; sys.modules.update(dict.fromkeys({missing!r})); "
            "from rumpolicy.cli import main; "
            f"sys.exit(main(['replay', '--policy', 'none', {log!r}, *{flags!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert f"pip install '{extra}'" in line


@pytest.mark.parametrize(("url", "package"), [("gs://bucket/logs/a.gz", "gcsfs"),
                                            ("abfs://container/logs/a.gz", "adlfs")])
def test_another_store_without_its_package_names_the_package(url, package):
    """Not one of our extras: fsspec's own word on what to install is passed on."""
    done = subprocess.run([sys.executable, "-c",
                           f"import sys; sys.modules[{package!r}] = None; "
                           "from rumpolicy.cli import main; "
                           f"sys.exit(main(['replay', '--policy', 'none', {url!r}]))"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"rumpolicy: error: {url}: ") and package in line


def test_stdin_cannot_go_to_workers():
    with pytest.raises(ReplayError, match="standard input cannot be shared out to workers"):
        replay_logs(None, ["-"], workers=1)


def test_a_log_a_worker_cannot_read_ends_the_replay_naming_it(clients, tmp_path):
    good = gzip.compress((json.dumps({"resource": MONITOR}).encode() + b"\n") * 2000)
    broken = tmp_path / "log.jsonl.gz"
    broken.write_bytes(good[:len(good) // 2] + b"\x00garbage" * 64)
    (tmp_path / "fine.jsonl").write_text("{}\n" * 10)
    with pytest.raises(ReplayError) as caught:
        replay_logs(NEW, [str(tmp_path)], client=clients[2])
    assert str(caught.value).startswith(f"{broken}: unreadable after line ")
