"""The gate's cost, next to baselines measured in the same run.

    .venv/bin/python bench/gate.py                  # about 40 s on 2 cores
    .venv/bin/python bench/gate.py --batches 2000 --seconds 5 --connections 16

(a) In-process PutRumEvents for a realistic 20-event batch (page views, navigation and resource
    timings, an http event, a JS error; about 9 KB of JSON, metadata and SessionMetadata as
    aws-rum-web 3.x sends them), through the whole gate: decode, validate, build the context,
    decide (alias policy, compiled), commit to SQLite on disk (WAL). The floor is parsing and
    validating the same body and nothing else (`parse_object` + `validate_put_body`). Target:
    gate <= 3x floor per batch. Every batch has its own BatchId, so every call commits.
(b) HTTP requests per second over keep-alive connections from a small asyncio load generator on
    127.0.0.1, against one uvicorn server that serves both the gate (PutRumEvents, allowed and
    stored) and a bare Starlette endpoint answering `{}` to the same request. Target: gate >= 60%
    of bare.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ALIAS = "v1"


def realistic_batch(monitor_id: str, events: int = 20) -> dict[str, Any]:
    session = str(uuid.uuid4())
    page = {"version": "1.0.0", "pageId": "/checkout", "title": "Checkout - Example Shop"}
    kinds = [
        ("com.amazon.rum.page_view_event", {"version": "1.0.0", "pageId": "/checkout",
                                            "interaction": 3, "pageInteractionId": "/checkout-3",
                                            "parentPageInteractionId": "/cart-2",
                                            "referrer": "https://shop.example.com/cart"}),
        ("com.amazon.rum.performance_navigation_event", {
            "version": "1.0.0", "initiatorType": "navigation", "navigationType": "navigate",
            "startTime": 0, "unloadEventStart": 0, "promptForUnload": 0, "redirectCount": 0,
            "redirectStart": 0, "redirectTime": 0, "workerStart": 0, "workerTime": 0,
            "fetchStart": 2.3, "domainLookupStart": 2.3, "dns": 0, "nextHopProtocol": "h2",
            "connectStart": 2.3, "connect": 0, "secureConnectionStart": 0, "tlsTime": 0,
            "requestStart": 4.1, "timeToFirstByte": 61.2, "responseStart": 65.4,
            "responseTime": 3.1, "domInteractive": 180.2, "domContentLoadedEventStart": 181.0,
            "domContentLoaded": 0.4, "domComplete": 402.7, "domProcessingTime": 221.6,
            "loadEventStart": 402.8, "loadEventTime": 0.2, "duration": 403.1,
            "headerSize": 300, "transferSize": 18034, "compressionRatio": 3.2,
            "navigationTimingLevel": 2}),
        ("com.amazon.rum.performance_resource_event", {
            "version": "1.0.0", "targetUrl": "https://cdn.example.com/static/js/app.8f3c1d.js",
            "initiatorType": "script", "duration": 41.7, "transferSize": 82233,
            "fileType": "script"}),
        ("com.amazon.rum.http_event", {
            "version": "1.0.0", "request": {"method": "POST", "url": "https://api.example.com/cart"},
            "response": {"status": 200, "statusText": "OK"}, "latency": 87}),
        ("com.amazon.rum.js_error_event", {
            "version": "1.0.0", "type": "TypeError",
            "message": "Cannot read properties of undefined (reading 'price')",
            "filename": "https://cdn.example.com/static/js/app.8f3c1d.js", "lineno": 1,
            "colno": 48211, "stack": "TypeError: Cannot read properties of undefined\n"
                                     "    at total (app.8f3c1d.js:1:48211)\n" * 3}),
    ]
    return {
        "BatchId": str(uuid.uuid4()),
        "AppMonitorDetails": {"id": monitor_id, "version": "1.0.0"},
        "UserDetails": {"userId": "00000000-0000-0000-0000-000000000000", "sessionId": session},
        "RumEvents": [{"id": str(uuid.uuid4()), "timestamp": 1764151200 + n,
                       "type": kinds[n % len(kinds)][0], "metadata": json.dumps(page),
                       "details": json.dumps(kinds[n % len(kinds)][1])}
                      for n in range(events)],
        "SessionMetadata": json.dumps({
            "version": "1.0.0", "browserLanguage": "en-US", "browserName": "Chrome",
            "browserVersion": "156.0.0.0", "osName": "Linux", "osVersion": "unknown",
            "deviceType": "desktop", "platformType": "web", "domain": "shop.example.com",
            "aws:client": "arw-script", "aws:clientVersion": "3.2.1"}),
        "Alias": ALIAS,
    }


def alias_policy(arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": arn,
        "Condition": {"StringEquals": {"rum:alias": [ALIAS, "v2"]}}}]})


def setup_gate(data: Path, synchronous: str = "normal") -> tuple[Any, str]:
    from rumpolicy.gate import Gate, GateConfig

    gate = Gate(data, GateConfig(synchronous=synchronous))  # type: ignore[arg-type]
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=alias_policy(gate.monitor("shop").arn))
    return gate, monitor_id


# -- (a) in process ----------------------------------------------------------------------------

def in_process(batches: int, repeat: int) -> dict[str, float]:
    from rumpolicy.gate import Origin
    from rumpolicy.gate.validation import parse_object, validate_put_body

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("normal", "full"):
            gate, monitor_id = setup_gate(Path(tmp) / mode, mode)
            origin = Origin(source_ip="203.0.113.9", user_agent="Mozilla/5.0 bench")
            floor_best = gate_best = float("inf")
            for _ in range(repeat):
                bodies = [json.dumps(realistic_batch(monitor_id), separators=(",", ":")).encode()
                          for _ in range(batches)]
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                for body in bodies:
                    validate_put_body(parse_object(body))
                floor_best = min(floor_best, (time.perf_counter() - start) / batches)
                start = time.perf_counter()
                for body in bodies:
                    result = gate.put_rum_events(monitor_id, body, origin)
                gate_best = min(gate_best, (time.perf_counter() - start) / batches)
                gc.enable()
                assert result.stored, result.error
            results["size"] = len(bodies[0])
            results["floor"] = floor_best
            results[f"gate_{mode}"] = gate_best
            gate.close()
    return results


def json_rules(batches: int, repeat: int, sizes: list[int]) -> list[tuple[int, float, float]]:
    """(events, us per body for the duplicate and nesting checks, us for orjson's parse alone)."""
    import orjson

    from rumpolicy.gate.json_rules import text_problem

    rows = []
    for events in sizes:
        bodies = [json.dumps(realistic_batch(str(uuid.uuid4()), events),
                             separators=(",", ":")).encode() for _ in range(batches)]
        parsed = [orjson.loads(body) for body in bodies]
        check = parse = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            for body, value in zip(bodies, parsed, strict=True):
                assert text_problem(body, value) is None
            check = min(check, (time.perf_counter() - start) / batches)
            start = time.perf_counter()
            for body in bodies:
                orjson.loads(body)
            parse = min(parse, (time.perf_counter() - start) / batches)
        rows.append((events, check * 1e6, parse * 1e6))
    return rows


# -- (b) over HTTP -----------------------------------------------------------------------------

def serve(data: str) -> None:
    """The bench server: the gate and a bare endpoint in one Starlette app, served as `rumpolicy
    serve` serves (uvicorn with the gate's guarded protocol, gate/server.py)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from rumpolicy.gate.app import create_app
    from rumpolicy.gate.config import ServerLimits
    from rumpolicy.gate.server import serve as serve_http

    gate, monitor_id = setup_gate(Path(data))

    async def bare(request: Any) -> Response:
        return Response(b"{}", media_type="application/json")

    # One Starlette app holds both, as `rumpolicy serve` serves the gate's own app: mounting it
    # inside another Starlette app would add a second middleware stack to the gate's side only.
    app = Starlette(routes=[Route("/bare/{rest:path}", bare, methods=["POST"]),
                            *create_app(gate).routes])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # see serve.py
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    gc.freeze()  # as `rumpolicy serve` does: startup objects leave the collector's generations
    print(sock.getsockname()[1], monitor_id, flush=True)
    serve_http(app, sock, ServerLimits())


async def _connection(port: int, requests: list[bytes], deadline: float, counts: list[int],
                      statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(requests[n % len(requests)])
            n += 1
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, closing = 0, False
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                closing = closing or line.lower() == b"connection: close"
            await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
            counts[0] += 1
            if closing:  # a server without keep-alive (moto's): a new connection each time
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def _requests(path: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             f"User-Agent: bench\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
            for b in bodies]


def load(port: int, requests: list[bytes], seconds: float, connections: int
         ) -> tuple[float, dict[int, int]]:
    counts = [0]
    statuses: dict[int, int] = {}

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, requests[i::connections], deadline, counts,
                                           statuses) for i in range(connections)))

    start = time.perf_counter()
    asyncio.run(run())
    return counts[0] / (time.perf_counter() - start), statuses


def over_http(seconds: float, connections: int, rounds: int, events: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen([sys.executable, __file__, "--serve", tmp],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port_text, monitor_id = server.stdout.readline().split()
            port = int(port_text)
            bodies = [json.dumps(realistic_batch(monitor_id, events),
                                 separators=(",", ":")).encode() for _ in range(4000)]
            gate_requests = _requests(f"/appmonitors/{monitor_id}", bodies)
            bare_requests = _requests(f"/bare/{monitor_id}", bodies)
            load(port, bare_requests[:200], 1.0, connections)  # warm up both paths
            load(port, gate_requests[:200], 1.0, connections)
            best = {"bare": 0.0, "gate": 0.0}
            for n in range(rounds):  # alternate, best of each, so drift hits both alike
                for name, requests in (("bare", bare_requests), ("gate", gate_requests)):
                    shift = (n * 997) % len(requests)
                    rate, statuses = load(port, requests[shift:] + requests[:shift], seconds,
                                          connections)
                    assert set(statuses) == {200}, statuses
                    best[name] = max(best[name], rate)
        finally:
            server.terminate()
            server.wait(10)
    return {"bare": best["bare"], "gate": best["gate"], "size": float(len(bodies[0]))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--http-events", type=int, nargs="+", default=[4, 10, 20],
                        help="events per batch in the HTTP runs: the captured aws-rum-web "
                             "batches (../shared/reference/wire/captures) hold 1-10 events, "
                             "most often 4; 20 is the in-process batch")
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    a = in_process(args.batches, args.repeat)
    print(f"\n(a) in-process PutRumEvents, 20-event batch of {a['size']:.0f} bytes, "
          f"best of {args.repeat} x {args.batches} batches")
    print(f"  {'':34}{'us/batch':>10}{'batches/s':>11}{'x floor':>9}")
    rows = [("floor: parse + validate", a["floor"]),
            ("gate, synchronous=NORMAL (default)", a["gate_normal"]),
            ("gate, synchronous=FULL", a["gate_full"])]
    for name, seconds in rows:
        print(f"  {name:<34}{seconds * 1e6:>10.1f}{1 / seconds:>11.0f}"
              f"{seconds / a['floor']:>8.2f}x")
    ratio = a["gate_normal"] / a["floor"]
    print(f"  target: gate <= 3x floor -> {ratio:.2f}x {'MET' if ratio <= 3 else 'MISSED'}")
    print("\n(c) the duplicate-member and nesting checks of every stored body (json_rules.py), "
          "made by the store: in the HTTP app's writer process, off the event loop")
    print(f"  {'batch':<12}{'checks us':>10}{'parse us':>10}{'checks/parse':>14}")
    for events, check, parse in json_rules(args.batches, args.repeat, args.http_events):
        print(f"  {f'{events} events':<12}{check:>10.2f}{parse:>10.2f}{check / parse:>13.0%}")
    print(f"\n(b) HTTP, keep-alive, {args.connections} connections, one uvicorn (h11) process, "
          f"best of {args.rounds} x {args.seconds:g} s, bare and gate alternating")
    print(f"  {'batch':<22}{'bare {} req/s':>16}{'gate req/s':>12}{'gate/bare':>11}"
          "   target >= 60%")
    for events in args.http_events:
        b = over_http(args.seconds, args.connections, args.rounds, events)
        share = b["gate"] / b["bare"]
        label = f"{events} events, {b['size'] / 1024:.1f} KB"
        print(f"  {label:<22}{b['bare']:>16.0f}{b['gate']:>12.0f}{share:>10.0%}   "
              f"{'MET' if share >= 0.6 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
