"""Replaying logs in one process, or on a Dask cluster, into the same report.

    from rumpolicy.analysis.replay import replay_logs
    report = replay_logs(new_policy, ["s3://bucket/2026/11/*.jsonl.gz"], against=old_policy,
                         workers=4, storage_options={"endpoint_url": "http://..."})

On a cluster each unit (units.py) is a task; the job (the policies and options) is sent to
every worker once and compiled there once; parts are merged in log order as they arrive
(merge.py). Dask is imported only here and only when asked for, so the engine, the policy
package and every other command never load it. Anything that keeps the report from being
complete (a log that cannot be read, a worker that dies for good, a scheduler that cannot be
reached or goes away) ends the replay with one `ReplayError`, never a partial report.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from rumpolicy.analysis.replay.merge import ReplayPart, merge_units
from rumpolicy.analysis.replay.reader import LogError
from rumpolicy.analysis.replay.replayer import Progress
from rumpolicy.analysis.replay.report import AliasValue, ReplayReport
from rumpolicy.analysis.replay.sources import STDIN, expand, reading
from rumpolicy.analysis.replay.units import SPLIT_BYTES, ReplayJob, Unit, plan, replay_unit
from rumpolicy.engine.principals import ANONYMOUS, parse_caller
from rumpolicy.policy import Policy

DISTRIBUTED_EXTRA = "pip install 'rumpolicy[distributed]'"


class ReplayError(Exception):
    """Why a replay could not give a complete report, in one line naming the log or the
    cluster (the CLI prints it and exits 2)."""


def replay_logs(policy: Policy | None, logs: Sequence[str], *, against: Policy | None = None,
                compare: bool = False, monitor: str | None = None,
                storage_options: Mapping[str, Any] | None = None, workers: int | None = None,
                scheduler: str | None = None, client: Any = None,
                split_bytes: int = SPLIT_BYTES, policy_name: str = "policy",
                against_name: str | None = None, caller: str | None = None,
                progress: Callable[[Progress, int | None], None] | None = None,
                **replayer_options: Any) -> ReplayReport:
    """Replay `logs` (files, directories, globs, .gz, fsspec URLs, '-') and report.

    In this process unless `workers` (a local cluster of that many processes), `scheduler`
    (the address of a running Dask scheduler) or `client` (a `dask.distributed.Client`) is
    given. `caller` is the caller of CloudWatch RUM log events (rum_events.py).
    `replayer_options` are Replayer's caps (tests make them tiny)."""
    if caller is not None and caller != ANONYMOUS:
        try:
            parse_caller(caller)
        except ValueError as err:
            raise ReplayError(f"--caller: {err}; or write 'anonymous'") from None
    job = ReplayJob(policy, against, compare or against is not None, monitor,
                    caller=caller, **replayer_options)
    try:
        sources = expand(logs, storage_options)
    except LogError as err:
        raise ReplayError(str(err)) from None
    names = {"policy_name": policy_name, "against_name": against_name}
    if workers is None and scheduler is None and client is None:
        return _replay_here(job, sources, progress, names)
    if any(s.name == STDIN for s in sources):
        raise ReplayError("standard input cannot be shared out to workers: name log files")
    for source in sources:
        if not source.is_url and source.size is None:
            raise ReplayError(f"{source.name}: not a regular file (a pipe?), which workers "
                              "cannot open: replay it without --workers or --scheduler")
    units = plan(sources, split_bytes)
    with _cluster(workers, scheduler, client) as dask_client:
        return _replay_on(dask_client, job.with_token(), units, names)


def _replay_here(job: ReplayJob, sources: Sequence[Any],
                 progress: Callable[[Progress, int | None], None] | None,
                 names: dict[str, Any]) -> ReplayReport:
    replayer = job.replayer()
    for source in sources:
        try:
            with reading(source) as stream:
                for step in replayer.feed(source.name, stream):
                    if progress is not None:
                        progress(step, None if source.compressed else source.size)
        except LogError as err:
            raise ReplayError(str(err)) from None
    return replayer.report(**names)


def _client(*args: Any, **kwargs: Any) -> Any:
    """A Client; one that fails to connect is closed at once, quietly. Left to its __del__,
    it would wait twice the connect timeout to close, then print a TimeoutError."""
    from distributed import Client

    client = Client.__new__(Client)
    try:
        Client.__init__(client, *args, **kwargs)  # type: ignore[no-untyped-call]
    except BaseException:
        _close_quietly(client)
        raise
    return client


def _close_quietly(client: Any) -> None:
    with suppress(Exception):
        client.close(timeout=CLOSE_TIMEOUT)
    client.status = "closed"  # nothing more for __del__ to do
    with suppress(Exception):
        client._loop_runner.stop()


CLOSE_TIMEOUT = 2
"""Seconds to close a client that never connected."""
CONNECT_TIMEOUT = 10
"""Seconds to wait for a scheduler at most (less when Dask's configuration says so)."""


def scheduler_address(address: str) -> str | None:
    """Why `address` cannot be a Dask scheduler's, or None: a comm Dask knows
    (tcp://host:port, tls://host:port, a bare host:port...) and a port for TCP and TLS."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme == "inproc":
            return "an inproc:// address lives inside one process; expected tcp://HOST:PORT"
        if scheme in ("tcp", "tls"):
            host, port = parse_host_port(location)
            if not host or not 0 < int(port) < 65536:
                return "expected tcp://HOST:PORT"
    except (ValueError, TypeError) as err:
        return f"{_one_line(err)}; expected tcp://HOST:PORT"
    return None


def _silent_listener(address: str, timeout: float) -> str | None:
    """Why the TCP listener at `address` is no Dask scheduler, or None (it is, or TCP cannot
    tell: Dask's own error then says why). A Dask listener sends its handshake as soon as it
    accepts a connection; a Client waiting for one from anything else waits for ever."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme != "tcp":
        return None
    host, port = parse_host_port(location)
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            if probe.recv(1):
                return None
            return "something listens there but closed the connection without a Dask handshake"
    except TimeoutError:
        return (f"something listens there but sent no Dask handshake within {timeout:g} s "
                "(is it a Dask scheduler's port?)")
    except OSError:
        return None


def _connect_timeout() -> float:
    import dask
    from dask.utils import parse_timedelta

    configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    return min(CONNECT_TIMEOUT, configured or CONNECT_TIMEOUT)


@contextmanager
def _cluster(workers: int | None, scheduler: str | None, client: Any) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    try:
        import distributed  # noqa: F401  (the extra is installed)
    except ImportError:
        option = "--scheduler" if scheduler else "--workers"
        raise ReplayError(f"{option} needs Dask: {DISTRIBUTED_EXTRA}") from None
    if scheduler is not None:
        problem = scheduler_address(scheduler)
        if problem is not None:
            raise ReplayError(f"--scheduler {scheduler}: not a Dask scheduler address: "
                              f"{problem}")
        silent = _silent_listener(scheduler, _connect_timeout())
        if silent is not None:
            raise ReplayError(f"cannot reach the Dask scheduler at {scheduler}: {silent}")
        try:
            connected = _client(scheduler, set_as_default=False, timeout=_connect_timeout())
        except (OSError, TimeoutError, ValueError) as err:
            raise ReplayError(f"cannot reach the Dask scheduler at {scheduler}: "
                              f"{_one_line(err)}") from None
        except Exception as err:  # something else answers there (a MemoryError on its reply)
            raise ReplayError(f"cannot reach the Dask scheduler at {scheduler}: "
                              f"{_named(err)}") from None
        with connected:
            yield connected
        return
    if workers is None or workers < 1:
        raise ReplayError("--workers must be at least 1")
    with local_cluster(workers) as cluster, _client(cluster, set_as_default=False) as local:
        yield local


LOCAL_CONFIG = {"distributed.worker.profile.enabled": False,
                "distributed.admin.system-monitor.interval": "5s",
                "distributed.admin.tick.interval": "500ms",
                "distributed.worker.memory.monitor-interval": "1s",
                "distributed.scheduler.work-stealing": False}
"""For the cluster `--workers` starts, whose processes share this machine's cores with the
replay: no statistical profiler (it samples each worker's threads every 10 ms, a few per cent
of a replay's CPU that nobody reads without a dashboard); the system monitor, the event-loop
health tick (every 20 ms by default) and the memory monitor wake less often; no work stealing,
as every unit costs about the same and the scheduler hands them out as workers free up.
Together they halve what the scheduler's process spends (docs/performance.md). The workers
take this configuration from the process that starts them."""


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A LocalCluster of `workers` single-threaded processes, as `--workers N` runs it."""
    import dask
    import distributed

    cluster: Any = distributed.LocalCluster
    with dask.config.set(LOCAL_CONFIG), \
            cluster(n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.CRITICAL,
                    # no dashboard, and the scheduler's HTTP routes (health...) on a free
                    # port: on 8787 a second replay at once warned that the port was in use
                    scheduler_kwargs={"dashboard": False,
                                      "dashboard_address": "127.0.0.1:0"}) as started:
        yield started


def _replay_on(client: Any, job: ReplayJob, units: list[Unit],
               names: dict[str, Any]) -> ReplayReport:
    """Every unit a task; parts merged in log order as they come (merge.merge_units)."""
    try:
        shared = client.scatter(job, broadcast=True, hash=False)
    except (OSError, TimeoutError) as err:
        raise ReplayError(f"lost the Dask scheduler: {_one_line(err)}") from None

    def submit(unit: Unit, known: tuple[AliasValue, ...]) -> Any:
        try:
            return client.submit(replay_unit, shared, unit, known, pure=False)
        except (OSError, TimeoutError) as err:
            raise ReplayError(f"lost the Dask scheduler: {_one_line(err)}") from None

    return merge_units(units, job.max_aliases, submit, _part, client.cancel, **names)


def _part(future: Any, unit: Unit) -> ReplayPart:
    from distributed import KilledWorker

    try:
        part: ReplayPart = future.result()
    except LogError as err:
        raise ReplayError(str(err)) from None
    except KilledWorker:
        raise ReplayError(f"{unit.label}: the worker replaying it died (and so did those "
                          "that tried again); no report, it would be incomplete") from None
    except (OSError, TimeoutError) as err:
        raise ReplayError(f"{unit.label}: lost the Dask cluster while replaying it: "
                          f"{_one_line(err)}") from None
    except Exception as err:  # a task that failed on the worker: say where
        raise ReplayError(f"{unit.label}: replay failed on a worker: "
                          f"{type(err).__name__}: {_one_line(err)}") from None
    return part


def _named(error: BaseException) -> str:
    text = _one_line(error)
    name = type(error).__name__
    return text if text == name else f"{name}: {text}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
