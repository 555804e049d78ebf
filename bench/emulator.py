"""The RUM emulator next to moto, which is what users run for every other service.

    .venv/bin/python bench/emulator.py              # about 40 s on 2 cores

(a) In process: a boto3 `put_rum_events` (4 events, allowed and stored) under
    `rumpolicy.mock_rum`, against a comparable moto-mocked write, `logs.put_log_events` of the
    same 4 events under `moto.mock_aws`. Same process, same boto3, alternating rounds, best of
    each. Target: mock_rum costs no more than moto.
(b) Over HTTP: `rumpolicy serve` answering PutRumEvents, beside moto's server answering
    PutLogEvents for the same 4 events; requests per second over keep-alive connections from
    bench/gate.py's load generator. Reported side by side (no target).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate import load, realistic_batch

EVENTS = 4


def _policy(arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": arn}]})


def _log_events(batch: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"timestamp": int(e["timestamp"] * 1000), "message": e["details"]}
            for e in batch["RumEvents"]]


def in_process(calls: int, rounds: int) -> dict[str, float]:
    import boto3
    from moto import mock_aws

    import rumpolicy

    best = {"mock_rum": float("inf"), "moto": float("inf")}
    for _ in range(rounds):
        with rumpolicy.mock_rum() as gate:
            rum = boto3.session.Session().client("rum", region_name="us-east-1")
            monitor_id = rum.create_app_monitor(Name="shop", Domain="example.com")["Id"]
            rum.put_resource_policy(Name="shop", PolicyDocument=_policy(gate.arn("shop")))
            batches = [realistic_batch(monitor_id, EVENTS) for _ in range(calls)]
            rum.put_rum_events(Id=monitor_id, **realistic_batch(monitor_id, EVENTS))  # warm
            start = time.perf_counter()
            for batch in batches:
                rum.put_rum_events(Id=monitor_id, **batch)
            best["mock_rum"] = min(best["mock_rum"], (time.perf_counter() - start) / calls)
            assert len(gate.events("shop")) == calls + 1
        with mock_aws():
            logs = boto3.session.Session().client("logs", region_name="us-east-1")
            logs.create_log_group(logGroupName="rum")
            logs.create_log_stream(logGroupName="rum", logStreamName="s")
            streams = [_log_events(b) for b in batches]
            logs.put_log_events(logGroupName="rum", logStreamName="s", logEvents=streams[0])
            start = time.perf_counter()
            for events in streams:
                logs.put_log_events(logGroupName="rum", logStreamName="s", logEvents=events)
            best["moto"] = min(best["moto"], (time.perf_counter() - start) / calls)
    return best


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _request(path: str, body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def over_http(seconds: float, connections: int, rounds: int) -> dict[str, float]:
    import boto3

    ports = {"serve": _free_port(), "moto": _free_port()}
    with tempfile.TemporaryDirectory() as tmp:
        servers = [
            subprocess.Popen([sys.executable, "-m", "rumpolicy", "serve", "--port",
                              str(ports["serve"]), "--data", tmp, "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(ports["moto"])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            for port in ports.values():
                _wait(port, time.monotonic() + 60)
            env = {"region_name": "us-east-1", "aws_access_key_id": "test",
                   "aws_secret_access_key": "test"}
            rum = boto3.session.Session().client(
                "rum", endpoint_url=f"http://127.0.0.1:{ports['serve']}", **env)
            monitor_id = rum.create_app_monitor(Name="shop", Domain="example.com")["Id"]
            rum.put_resource_policy(Name="shop", PolicyDocument=_policy(
                "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"))
            logs = boto3.session.Session().client(
                "logs", endpoint_url=f"http://127.0.0.1:{ports['moto']}", **env)
            logs.create_log_group(logGroupName="rum")
            logs.create_log_stream(logGroupName="rum", logStreamName="s")
            batches = [realistic_batch(monitor_id, EVENTS) for _ in range(2000)]
            requests = {
                "serve": [_request(f"/appmonitors/{monitor_id}", json.dumps(b).encode(),
                                   "Content-Type: application/json") for b in batches],
                "moto": [_request("/", json.dumps({
                    "logGroupName": "rum", "logStreamName": "s",
                    "logEvents": _log_events(b)}).encode(),
                    "Content-Type: application/x-amz-json-1.1",
                    "X-Amz-Target: Logs_20140328.PutLogEvents",
                    # moto's server routes by the signing scope; it checks no signature
                    "Authorization: AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/logs/"
                    "aws4_request, SignedHeaders=host, Signature=0") for b in batches]}
            best = {"serve": 0.0, "moto": 0.0}
            for name in best:  # warm up
                load(ports[name], requests[name][:100], 1.0, connections)
            for _ in range(rounds):
                for name in best:
                    rate, statuses = load(ports[name], requests[name], seconds, connections)
                    assert set(statuses) == {200}, (name, statuses)
                    best[name] = max(best[name], rate)
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {EVENTS} events a call")
    a = in_process(args.calls, args.rounds)
    ratio = a["mock_rum"] / a["moto"]
    print(f"\n(a) in process, boto3, best of {args.rounds} x {args.calls} calls")
    print(f"  mock_rum  put_rum_events   {a['mock_rum'] * 1e6:8.0f} us/call")
    print(f"  mock_aws  put_log_events   {a['moto'] * 1e6:8.0f} us/call")
    print(f"  mock_rum / moto: {ratio:.2f}x   target <= 1.00x "
          f"{'MET' if ratio <= 1 else 'MISSED'}")
    b = over_http(args.seconds, args.connections, args.rounds)
    print(f"\n(b) over HTTP, keep-alive, {args.connections} connections, best of "
          f"{args.rounds} x {args.seconds:g} s")
    print(f"  rumpolicy serve  PutRumEvents   {b['serve']:8.0f} req/s")
    print(f"  moto server      PutLogEvents   {b['moto']:8.0f} req/s")
    print(f"  serve / moto: {b['serve'] / b['moto']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
