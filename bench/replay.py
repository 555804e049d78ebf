"""Replay throughput: records per second end to end, next to the floor of merely reading lines.

Run from the repository root::

    .venv/bin/python bench/replay.py                     # 5,000,000 records, about a minute
    .venv/bin/python bench/replay.py --records 1000000 --json /tmp/replay.json

What one run does, in a temporary directory removed afterwards:

1. Generates a seeded JSON Lines log of ``--records`` requests (``Request.to_dict()`` lines, the
   plain format ``rumpolicy replay`` reads) drawn from ``--distinct`` distinct contexts with a
   skewed, realistic mix: the release alias most of the time, the previous release, canaries
   (one of them internal), requests without an alias, a few odd aliases; a pool of IPv4 and
   IPv6 addresses inside and outside the policy's ranges; mostly anonymous callers, some
   same-account role sessions and other accounts.
2. Measures the floor: reading the file's lines and doing nothing with them
   (``readlines`` in 8 MiB chunks, the reader's own way of reading).
3. Replays the log end to end, as ``rumpolicy replay --policy NEW --against OLD`` does: open
   the file, decode, decide with both policies, count per alias, collect changes and examples,
   build the report. Best of ``--repeat`` runs; each run starts with new evaluators and empty
   caches. The counts are checked against a naive loop over the distinct contexts.
4. Does the same for a decision log (``docs/decision-log.md``) of ``--log-records`` records,
   written as the gate writes it (compact JSON; time, request id, ``aws:CurrentTime`` and
   ``aws:EpochTime`` per record), so every line is unique and identical-line reuse cannot help.

5. With ``--workers N`` (default 2; 0 skips it), replays both logs again on a local Dask cluster
   of one worker process and of N, cut into units of ``--split-bytes``, and checks the reports
   are identical to one process's. One process and the N-worker cluster take turns
   (``--repeat`` times, best of each), so both see the machine at the same speed. It also accounts
   for the CPU per record: one process; the same units replayed one after the other in this
   process (what cutting costs: each unit starts with empty caches); the task's own thread on
   a worker; the whole worker process (its event loop, heartbeats, transfers). The targets:
   N=2 workers >= 1.7x one process on the decision log.

Targets printed next to the figures: >= 1,000,000 records/s end to end for the request log,
>= 300,000 records/s for the decision log. Missed targets are reported, not fatal; exit status
1 only if the counts are wrong or a cluster's report differs.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rumpolicy import Request, evaluate, load_policy  # noqa: E402
from rumpolicy.analysis.replay import (  # noqa: E402
    Replayer,
    ReplayJob,
    expand,
    open_log,
    plan,
    replay_logs,
    replay_unit,
    replay_units,
)

TARGET = 1_000_000
DECISION_LOG_TARGET = 300_000
WORKERS_TARGET = 1.7
MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
NEW = ROOT / "fixtures" / "rollouts" / "canary" / "shop-canary.json"
OLD = ROOT / "fixtures" / "rollouts" / "canary" / "shop-stable.json"
CHUNK = 8 << 20

_ALIASES = (("shop-v2", 60), ("shop-v1", 12), ("canary-1", 6), ("canary-2", 4),
            ("canary-eu-7", 3), ("canary-internal", 2), (None, 8), ("Shop-V2", 2), ("test", 1),
            ("shop-v3-rc", 2))
_CALLERS = ((None, 90), ("arn:aws:sts::123456789012:assumed-role/rum-forwarder/web-1", 6),
            ("arn:aws:iam::123456789012:role/rum-forwarder", 2),
            ("arn:aws:iam::999999999999:user/mallory", 2))


def _contexts(rng: random.Random, distinct: int) -> list[dict[str, Any]]:
    """`distinct` different request shapes, each with a weight."""
    addresses = [f"203.0.113.{i}" for i in range(1, 200)] + \
        [f"198.51.100.{i}" for i in range(1, 100)] + \
        [f"2001:db8::{i:x}" for i in range(1, 120)] + [f"2001:db9::{i:x}" for i in range(1, 30)]
    seen: set[str] = set()
    shapes: list[dict[str, Any]] = []
    while len(shapes) < distinct:
        alias = rng.choices([a for a, _ in _ALIASES], [w for _, w in _ALIASES])[0]
        caller = rng.choices([c for c, _ in _CALLERS], [w for _, w in _CALLERS])[0]
        context: dict[str, Any] = {"aws:SourceIp": rng.choice(addresses),
                                   "aws:SecureTransport": "true"}
        if alias is not None:
            context["rum:alias"] = alias
        shape = Request(resource=MONITOR, principal=caller, context=context).to_dict()
        text = json.dumps(shape)
        if text not in seen:
            seen.add(text)
            shapes.append(shape)
    return shapes


def write_request_log(path: Path, shapes: list[dict[str, Any]], records: int,
                      rng: random.Random) -> None:
    lines = [json.dumps(s).encode() + b"\n" for s in shapes]
    weights = [rng.paretovariate(1.2) for _ in lines]  # a few contexts are very common
    with path.open("wb") as out:
        left = records
        while left:
            batch = min(left, 100_000)
            out.write(b"".join(rng.choices(lines, weights, k=batch)))
            left -= batch


def write_decision_log(path: Path, shapes: list[dict[str, Any]], records: int,
                       rng: random.Random) -> None:
    start = 1_796_083_200  # 2026-12-01T00:00:00Z
    with path.open("w", encoding="utf-8") as out:
        for i in range(records):
            shape = dict(rng.choice(shapes))
            second = start + i // 1000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            shape["context"] = {**shape["context"], "aws:CurrentTime": stamp + "Z",
                                "aws:EpochTime": str(second),
                                "aws:RequestedRegion": "us-east-1",
                                "aws:ViaAWSService": "false"}
            record = {"v": 1, "time": f"{stamp}.{i % 1000:03d}Z",
                      "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                      "monitor_id": "0d4e5a3c-1111-4222-8333-444455556666", "monitor": "shop",
                      "request": shape, "effect": "allow", "reason": "resource_policy_allow",
                      "status": 200}
            # As the gate writes it (rumpolicy/gate/decision_log.py): compact, UTF-8.
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def read_floor(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        while True:
            lines = stream.readlines(CHUNK)
            if not lines:
                return count
            count += len(lines)


def replay(path: Path) -> Replayer:
    new, old = load_policy(NEW.read_text()), load_policy(OLD.read_text())
    replayer = Replayer(new, old, compare=True)
    with open_log(str(path)) as stream:
        replayer.replay(path.name, stream)
    replayer.report(policy_name=NEW.name, against_name=OLD.name)
    return replayer


def best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def expected_counts(path: Path) -> Counter[tuple[Any, str, str]]:
    """The naive answer: every distinct line decided with `rumpolicy.evaluate`, times its
    count (counting lines is cheap; deciding 5 million requests naively is not)."""
    new, old = load_policy(NEW.read_text()), load_policy(OLD.read_text())
    with path.open("rb") as stream:
        per_line: Counter[bytes] = Counter(stream)
    out: Counter[tuple[Any, str, str]] = Counter()
    for line, n in per_line.items():
        record = json.loads(line)
        request = Request.from_dict(record.get("request", record))
        out[(request.get("rum:alias"), evaluate(new, request).effect.value,
             evaluate(old, request).effect.value)] += n
    return out


def actual_counts(replayer: Replayer) -> Counter[tuple[Any, str, str]]:
    out: Counter[tuple[Any, str, str]] = Counter()
    for (alias, effect, _, before, _), n in replayer.counts.items():
        assert before is not None
        out[(alias, effect.value, before.value)] += n
    return out


def _timed_unit(job: ReplayJob, unit: Any) -> tuple[Any, float, float]:
    """A unit replayed on a worker, with the CPU its thread and its whole process spent."""
    thread, process = time.thread_time(), time.process_time()
    part = replay_unit(job, unit)
    return part, time.thread_time() - thread, time.process_time() - process


def _nothing(n: int) -> int:
    return n


def _cpu_of_workers(client: Any) -> float:
    return float(sum(client.run(time.process_time).values()))


def on_cluster(path: Path, workers: int, split_bytes: int, repeat: int) -> dict[str, Any]:
    """One process against clusters of 1 and `workers` processes, same log, same run."""
    from distributed import Client

    from rumpolicy.analysis.replay.distributed import local_cluster

    new, old = load_policy(NEW.read_text()), load_policy(OLD.read_text())
    job = ReplayJob(new, old, True).with_token()
    units = plan(expand([str(path)]), split_bytes)
    found: dict[str, Any] = {"units": len(units), "split_bytes": split_bytes}

    def single() -> Any:
        return replay_logs(new, [str(path)], against=old)

    def on(client: Any) -> Callable[[], Any]:
        return lambda: replay_logs(new, [str(path)], against=old, client=client,
                                   split_bytes=split_bytes)

    started = time.process_time()
    _, alone = best(single, 1)  # warms the page cache and this process's imports
    records = alone.records
    found["cpu_us_per_record"] = {"one_process": (time.process_time() - started) / records * 1e6}
    started = time.process_time()
    best(lambda: replay_units(job, units), 1)
    found["cpu_us_per_record"]["units_in_one_process"] = \
        (time.process_time() - started) / records * 1e6
    expected = alone.to_dict()
    del expected["seconds"]
    same = True

    def check(report: Any) -> None:
        nonlocal same
        got = report.to_dict()
        del got["seconds"]
        same = same and got == expected

    if workers != 1:
        with local_cluster(1) as cluster, Client(cluster) as client:
            client.run(gc.collect)
            cluster_s, report = best(on(client), repeat)
            check(report)
            found["workers_1_records_per_s"] = round(records / cluster_s)
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(gc.collect)
        # One process and the cluster take turns, so that both see the same machine: its
        # speed drifts by 20 % from one minute to the next (docs/performance.md).
        one_s = cluster_s = float("inf")
        for _ in range(repeat):
            seconds, _ = best(single, 1)
            one_s = min(one_s, seconds)
            seconds, report = best(on(client), 1)
            cluster_s = min(cluster_s, seconds)
            check(report)
        found["one_process_records_per_s"] = round(records / one_s)
        found[f"workers_{workers}_records_per_s"] = round(records / cluster_s)
        # Another job (one more cache entry), so the workers start with cold caches as they
        # did for the timed replays.
        fresh = ReplayJob(new, old, True, context_cache_entries=100_001).with_token()
        before = _cpu_of_workers(client)
        here = time.process_time()  # a LocalCluster's scheduler runs in this process
        timed = client.gather([client.submit(_timed_unit, fresh, unit, pure=False)
                               for unit in units])
        process = _cpu_of_workers(client) - before
        found["cpu_us_per_record"]["scheduler_and_client"] = \
            (time.process_time() - here) / records * 1e6
        found["cpu_us_per_record"]["dask_task_thread"] = \
            sum(t for _, t, _ in timed) / records * 1e6
        found["cpu_us_per_record"]["dask_worker_process"] = process / records * 1e6
        found["bytes_per_task"] = {
            "unit": len(pickle.dumps(units[0])),
            "part": round(sum(len(pickle.dumps(p)) for p, _, _ in timed) / len(timed)),
            "job_once_per_worker": len(pickle.dumps(job))}
        started = time.perf_counter()
        client.gather(client.map(_nothing, range(1_000), pure=False))
        found["seconds_per_empty_task"] = (time.perf_counter() - started) / 1_000
    found["same_report"] = same
    found["speedup"] = found[f"workers_{workers}_records_per_s"] / \
        found["one_process_records_per_s"]
    return found


def print_cluster(label: str, found: dict[str, Any], workers: int) -> None:
    met = "met" if found["speedup"] >= WORKERS_TARGET else "MISSED"
    print(f"\n{label} on Dask ({found['units']} units of {found['split_bytes'] >> 20} MiB, "
          "one thread per worker process):")
    print(f"  one process            {found['one_process_records_per_s']:>12,} records/s")
    print(f"  1 worker               {found['workers_1_records_per_s']:>12,} records/s")
    if workers != 1:
        print(f"  {workers} workers              {found[f'workers_{workers}_records_per_s']:>12,}"
              f" records/s  ({found['speedup']:.2f}x one process; target "
              f">= {WORKERS_TARGET}x: {met})")
    cpu = found["cpu_us_per_record"]
    print("  CPU per record: " + ", ".join(f"{k.replace('_', ' ')} {v:.2f} us"
                                           for k, v in cpu.items()))
    sizes = found["bytes_per_task"]
    print(f"  per task: a unit {sizes['unit']:,} bytes there, its part {sizes['part']:,} bytes "
          f"back (the job, {sizes['job_once_per_worker']:,} bytes, once per worker); an empty "
          f"task costs {found['seconds_per_empty_task'] * 1e3:.2f} ms end to end")
    print(f"  reports identical to one process: {'yes' if found['same_report'] else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--distinct", type=int, default=3_000)
    parser.add_argument("--log-records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--workers", type=int, default=2,
                        help="Dask worker processes to compare with one process (0: skip)")
    parser.add_argument("--split-bytes", type=int, default=32 << 20,
                        help="bytes of log per unit on the cluster")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    figures: dict[str, Any] = {"python": platform.python_version(),
                               "machine": platform.machine(), "records": args.records,
                               "distinct_contexts": args.distinct,
                               "decision_log_records": args.log_records}
    status = 0
    with tempfile.TemporaryDirectory(prefix="rumpolicy-bench-replay-") as tmp:
        shapes = _contexts(rng, args.distinct)
        requests_log = Path(tmp) / "requests.jsonl"
        decision_log = Path(tmp) / "decisions.jsonl"
        started = time.perf_counter()
        write_request_log(requests_log, shapes, args.records, rng)
        write_decision_log(decision_log, shapes, args.log_records, rng)
        print(f"generated {args.records:,} request lines ({requests_log.stat().st_size / 1e6:,.0f}"
              f" MB, {args.distinct:,} distinct contexts) and {args.log_records:,} decision-log "
              f"lines ({decision_log.stat().st_size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - started:.1f}s")
        for label, path, count in (("request log", requests_log, args.records),
                                   ("decision log", decision_log, args.log_records)):
            floor_s, lines = best(lambda p=path: read_floor(p), args.repeat)  # type: ignore[misc]
            assert lines == count
            replay_s, replayer = best(lambda p=path: replay(p), args.repeat)  # type: ignore[misc]
            ok = actual_counts(replayer) == expected_counts(path) and replayer.records == count
            status |= 0 if ok else 1
            floor_rate, rate = count / floor_s, count / replay_s
            target = TARGET if label == "request log" else DECISION_LOG_TARGET
            met = "met" if rate >= target else "MISSED"
            print(f"\n{label}: {count:,} records")
            print(f"  read lines only (floor) {floor_s:7.2f}s  {floor_rate:>12,.0f} records/s")
            print(f"  replay end to end       {replay_s:7.2f}s  {rate:>12,.0f} records/s  "
                  f"({rate / floor_rate:.2f}x the floor; target {target:,}/s: {met})")
            print(f"  counts equal a naive evaluate() loop: {'yes' if ok else 'NO'}")
            figures[label.replace(" ", "_")] = {
                "floor_seconds": round(floor_s, 3), "floor_records_per_s": round(floor_rate),
                "replay_seconds": round(replay_s, 3), "replay_records_per_s": round(rate),
                "ratio_to_floor": round(rate / floor_rate, 3), "counts_correct": ok}
        if args.workers:
            for label, path in (("request log", requests_log), ("decision log", decision_log)):
                found = on_cluster(path, args.workers, args.split_bytes, args.repeat)
                status |= 0 if found["same_report"] else 1
                figures[label.replace(" ", "_")]["cluster"] = found
                print_cluster(label, found, args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
