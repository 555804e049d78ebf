"""GetAppMonitorData over a monitor with tens of thousands of stored events, and the cost of the
ingestion rule (gate/ingest_rules.py) on PutRumEvents' hot path, each next to a baseline
measured in the same run.

    .venv/bin/python bench/data.py                       # about 30 s
    .venv/bin/python bench/data.py --events 100000 --batch-events 4

(a) A store on disk with N events in aws-rum-web-sized batches (4 events: page view,
    navigation, resource, http; metadata and SessionMetadata as aws-rum-web 3.x sends them; a
    tenth of the sessions on Firefox). Timed: the first call (the index is built from every
    stored body, once), a page of 100 events from the start and from the middle of the range,
    a page filtered to Firefox, and reading every event in pages of 100. Baseline: reading every
    stored batch and parsing every body once, what a page would cost if it parsed them all
    (`Storage.batches` + `StoredBatch.events`). Target, at the default 50,000 events: a page
    <= 5% of the baseline (a page costs the same whatever the store holds; the baseline grows
    with it).
(b) `ingest_rules.ingested` on the 4-event batch, per call, for a monitor with CustomEvents
    DISABLED (the default) and ENABLED and no custom event, and for the rare batches that carry
    custom events, next to the whole in-process PutRumEvents of the same batch (validation,
    decision, commit). Target: under 2% of the call when no event is dropped (an HTTP request
    costs several times the in-process call, bench/gate.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate import realistic_batch, setup_gate  # bench/gate.py (bench/ is on the script's path)


def best(run: Callable[[], Any], repeat: int) -> float:
    """Seconds of the fastest of `repeat` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _batch(monitor_id: str, events: int, n: int) -> dict[str, Any]:
    body = realistic_batch(monitor_id, events)
    stamp = 1_764_151_200 + n * events
    for k, event in enumerate(body["RumEvents"]):
        event["timestamp"] = stamp + k
    if n % 10 == 0:
        body["SessionMetadata"] = body["SessionMetadata"].replace("Chrome", "Firefox")
    return body


# -- (a) ---------------------------------------------------------------------------------------

def reading(total: int, batch_events: int, repeat: int) -> dict[str, float]:
    from rumpolicy.gate import Gate, Origin

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gate, monitor_id = setup_gate(Path(tmp) / "store")
        origin = Origin(source_ip="203.0.113.9")
        for n in range(total // batch_events):
            body = json.dumps(_batch(monitor_id, batch_events, n), separators=(",", ":"))
            assert gate.put_rum_events(monitor_id, body.encode(), origin).stored
        gate.close()
        stamps = (1_764_151_200_000, 1_764_151_200_000 + total * 1000)
        middle = {"After": (stamps[0] + stamps[1]) // 2, "Before": stamps[1]}
        everything = {"After": stamps[0], "Before": stamps[1]}

        def first_call() -> None:
            fresh = Gate(Path(tmp) / "store")
            fresh.get_app_monitor_data(Name="shop", TimeRange=everything, MaxResults=100)
            fresh.close()

        results["first"] = best(first_call, repeat)
        gate = Gate(Path(tmp) / "store")
        get = gate.get_app_monitor_data
        results["page"] = best(lambda: get(Name="shop", TimeRange=everything), repeat * 5)
        results["middle"] = best(lambda: get(Name="shop", TimeRange=middle), repeat * 5)
        firefox = [{"Name": "Browser", "Values": ["Firefox"]}]
        results["filtered"] = best(lambda: get(Name="shop", TimeRange=everything,
                                               Filters=firefox), repeat * 5)

        def walk() -> None:
            token: dict[str, str] = {}
            count = 0
            while True:
                page = get(Name="shop", TimeRange=everything, **token)
                count += len(page["Events"])
                if "NextToken" not in page:
                    break
                token = {"NextToken": page["NextToken"]}
            assert count == total, count

        results["walk"] = best(walk, repeat)

        def parse_all() -> None:
            for stored in gate.storage.batches(monitor_id):
                stored.events  # noqa: B018  (parsing is the point)

        results["baseline"] = best(parse_all, repeat)
        gate.close()
    return results


# -- (b) ---------------------------------------------------------------------------------------

def ingest_rule(calls: int, repeat: int) -> dict[str, float]:
    from rumpolicy.gate import Origin
    from rumpolicy.gate.ingest_rules import ingested
    from rumpolicy.gate.validation import parse_object, validate_put_body

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gate, monitor_id = setup_gate(Path(tmp) / "store")
        bodies = [json.dumps(realistic_batch(monitor_id, 4), separators=(",", ":")).encode()
                  for _ in range(calls)]
        origin = Origin(source_ip="203.0.113.9")
        results["put"] = best(lambda: [gate.put_rum_events(monitor_id, b, origin)
                                       for b in bodies], repeat) / calls
        raw = bodies[0]
        body = validate_put_body(parse_object(raw))
        custom = dict(body, RumEvents=[*body["RumEvents"][:3],
                                       {**body["RumEvents"][3], "type": "my_custom_event"}])
        custom_raw = json.dumps({**json.loads(raw), "RumEvents": custom["RumEvents"]}).encode()
        for status in ("DISABLED", "ENABLED"):
            gate.update_app_monitor(Name="shop", CustomEvents={"Status": status})
            monitor = gate.monitor("shop")
            for label, (checked, text) in (("built-in", (body, raw)),
                                           ("custom", (custom, custom_raw))):
                runs = calls * 10 if label == "built-in" else calls

                def rule(checked: Any = checked, text: bytes = text, runs: int = runs,
                         monitor: Any = monitor) -> None:
                    for _ in range(runs):
                        ingested(monitor, checked, text)

                results[f"{status} {label}"] = best(rule, repeat) / runs
        gate.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-events", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    a = reading(args.events, args.batch_events, args.repeat)
    print(f"\n(a) GetAppMonitorData, {args.events} events in batches of {args.batch_events} "
          f"(SQLite on disk), best of {args.repeat}+")
    print(f"  {'':44}{'ms':>9}{'x baseline':>12}")
    rows = [("baseline: read and parse every stored body", a["baseline"]),
            ("first call (builds the index)", a["first"]),
            ("page of 100, start of the range", a["page"]),
            ("page of 100, middle of the range", a["middle"]),
            ("page of 100, Browser = Firefox (10%)", a["filtered"]),
            (f"every event, {args.events // 100} pages of 100", a["walk"])]
    for name, seconds in rows:
        print(f"  {name:<44}{seconds * 1e3:>9.2f}{seconds / a['baseline']:>11.1%}")
    worst = max(a["page"], a["middle"], a["filtered"]) / a["baseline"]
    print(f"  target: a page <= 5% of the baseline -> {worst:.1%} "
          f"{'MET' if worst <= 0.05 else 'MISSED'}")
    b = ingest_rule(args.calls, args.repeat)
    print("\n(b) the ingestion rule on the 4-event batch, per call, next to the whole in-process "
          "PutRumEvents (synchronous=NORMAL)")
    print(f"  {'':44}{'us':>9}{'of put':>12}")
    print(f"  {'PutRumEvents, in process':<44}{b['put'] * 1e6:>9.2f}{1:>11.1%}")
    for status in ("DISABLED", "ENABLED"):
        for label in ("built-in", "custom"):
            seconds = b[f"{status} {label}"]
            what = "4 built-in events" if label == "built-in" else "3 built-in, 1 custom"
            print(f"  {f'CustomEvents {status}, {what}':<44}{seconds * 1e6:>9.2f}"
                  f"{seconds / b['put']:>11.1%}")
    share = max(b["DISABLED built-in"], b["ENABLED built-in"], b["ENABLED custom"]) / b["put"]
    print(f"  target: under 2% of the call when nothing is dropped -> {share:.2%} "
          f"{'MET' if share < 0.02 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
