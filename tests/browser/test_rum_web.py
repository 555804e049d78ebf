"""The aws-rum-web browser client, in headless Chromium, against a live `rumpolicy serve`.

The other gate tests speak for boto3; these speak for the client that real pages run. A page on one
loopback port loads the aws-rum-web 3.x bundle (`build.mjs`) with `signing: false`, sends its
telemetry to `rumpolicy serve` on another port, and `drive.mjs` (playwright-core driving Debian's
`/usr/bin/chromium`) reports every PutRumEvents request the browser made. The app monitor carries
the alias policy AWS documents for unsigned web clients: `Principal: "*"` with a `StringEquals`
condition on `rum:alias`, the key aws-rum-web fills from its `alias` setting.

What is checked, with the wire facts from `shared/reference/wire/README.md`:
- an allowed alias: a gzipped fetch, a plain one and the `sendBeacon` flush on page hide are all
  answered 200, and every batch lands in the store once, with the events the browser sent;
- a wrong alias or none: the first dispatch gets 403 `AccessDeniedException` (with CORS headers,
  or the browser would only see a network error and retry), nothing is stored, and aws-rum-web
  disables dispatch: no timer dispatch, explicit dispatch or page-hide beacon reaches the gate
  afterwards, which the gate's own decision log shows.

Needs `/usr/bin/chromium`, Node.js and `npm ci && node build.mjs` in this folder
(`.ci/setup-browser` does all of it). Without them the module skips, except under CI, where a
missing browser is a broken setup and fails.
"""

from __future__ import annotations

import functools
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("RUMPOLICY_CHROMIUM", "/usr/bin/chromium"))
BUNDLE = HERE / ".build" / "cwr.js"
PLAYWRIGHT = HERE / "node_modules" / "playwright-core" / "package.json"
REGION = "us-east-1"
ALLOWED_ALIAS = "web-v2"
TICK_MS = 1000
"""The dispatch timer of the deny cases: after the 403, the test waits out two more ticks."""
NO_TICK_MS = 600_000
"""The allow case dispatches explicitly, so that which batch carries what does not depend on how
fast a loaded machine runs the steps; its timer never ticks within the test."""
PROBE_EVENT = "com.example.probe"
HIDE_EVENT = "com.example.before-hide"
"""Recorded just before leaving the page, so only the page-hide beacon can carry it."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_prerequisites() -> list[str]:
    checks = [
        (os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} (apt-get install chromium)"),
        (shutil.which("node") is not None, "node on PATH (Node.js 18 or newer)"),
        (PLAYWRIGHT.is_file(), f"{PLAYWRIGHT.parent} (npm ci in {HERE})"),
        (BUNDLE.is_file(), f"{BUNDLE} (node build.mjs in {HERE})"),
    ]
    return [what for present, what in checks if not present]


@pytest.fixture(scope="module", autouse=True)
def _browser_prerequisites() -> None:
    """Skip on a developer machine without the browser tool chain; under CI, fail instead."""
    missing = _missing_prerequisites()
    if not missing:
        return
    reason = "browser test prerequisites missing (run .ci/setup-browser): " + "; ".join(missing)
    if _in_ci():
        pytest.fail(reason + " [CI is set, so this fails instead of skipping]", pytrace=False)
    pytest.skip(reason)


def _answers_http(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/appmonitor/readiness-probe")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


@dataclass(frozen=True)
class Gate:
    """A running `rumpolicy serve` and where it keeps its state."""

    url: str
    data: Path
    decision_log: Path


def _serve(data: Path, decision_log: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `rumpolicy serve --port 0` and return it with the URL its first line announces,
    once that URL answers HTTP."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rumpolicy", "serve", "--host", "127.0.0.1", "--port", "0",
             "--data", str(data), "--decision-log", str(decision_log)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        announced = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", log.read_text())
        if announced and _answers_http(int(announced.group(2))):
            return process, announced.group(1)
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise AssertionError(f"rumpolicy serve did not come up; its output:\n{log.read_text()}")


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    root = tmp_path_factory.mktemp("rum-web-gate")
    data = root / "data"
    decision_log = root / "decisions.jsonl"
    process, url = _serve(data, decision_log, root / "serve.log")
    try:
        yield Gate(url, data, decision_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The page server's access log would only clutter a failing test's output."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A static web root on its own loopback port: cross-origin to the gate, as in production."""
    root = tmp_path_factory.mktemp("rum-web-site")
    shutil.copy(BUNDLE, root / "cwr.js")
    shutil.copy(HERE / "pixel.svg", root / "pixel.svg")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="rum-web-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _rum_client(gate: Gate) -> Any:
    return boto3.client(
        "rum", endpoint_url=gate.url, region_name=REGION,
        aws_access_key_id="AKIDBROWSERTEST", aws_secret_access_key="not-used",
        config=Config(signature_version=UNSIGNED, inject_host_prefix=False,
                      retries={"max_attempts": 1}),
    )


def _alias_policy(monitor: str) -> str:
    """The documented policy for unsigned web clients: anyone, but only with this alias."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowWebClientWithAlias",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "rum:PutRumEvents",
            "Resource": f"arn:aws:rum:{REGION}:*:appmonitor/{monitor}",
            "Condition": {"StringEquals": {"rum:alias": ALLOWED_ALIAS}},
        }],
    })


def _create_monitor(gate: Gate, label: str) -> tuple[str, str]:
    """A fresh app monitor with the alias policy; returns (name, id). Custom events are
    enabled: the page records some, and RUM ingests them only then (ingest_rules.py)."""
    client = _rum_client(gate)
    name = f"browser-{label}-{uuid.uuid4().hex[:8]}"
    monitor_id: str = client.create_app_monitor(Name=name, Domain="127.0.0.1",
                                                CustomEvents={"Status": "ENABLED"})["Id"]
    client.put_resource_policy(Name=name, PolicyDocument=_alias_policy(name))
    return name, monitor_id


def _write_page(site: tuple[str, Path], gate: Gate, monitor_id: str, alias: str | None,
                dispatch_interval_ms: int) -> str:
    base, root = site
    config: dict[str, Any] = {
        "endpoint": gate.url,
        "signing": False,
        "allowCookies": False,
        "sessionSampleRate": 1,
        "telemetries": ["performance", "errors", "http"],
        "dispatchInterval": dispatch_interval_ms,
        "enableXRay": False,
        "debug": True,
    }
    if alias is not None:
        config["alias"] = alias
    setup = {"appMonitorId": monitor_id, "appVersion": "1.0.0", "region": REGION,
             "src": "cwr.js", "config": config}
    # JSON inside <script>: "</" must not close the element early.
    setup_js = json.dumps(setup).replace("</", "<\\/")
    page = f"page-{uuid.uuid4().hex[:8]}.html"
    template = (HERE / "page.html").read_text(encoding="utf-8")
    assert template.count("__RUM_SETUP__") == 1, "page.html must hold one __RUM_SETUP__"
    (root / page).write_text(template.replace("__RUM_SETUP__", setup_js), encoding="utf-8")
    return f"{base}/{page}"


def _drive(url: str, gate: Gate, steps: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    """Run drive.mjs with these steps; return its report, failing with it when a step failed."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"url": url, "endpoint": gate.url, "executablePath": str(CHROMIUM),
                                "timeoutMs": 40000, "steps": steps}), encoding="utf-8")
    done = subprocess.run(["node", str(HERE / "drive.mjs"), str(plan)], cwd=HERE,
                          capture_output=True, text=True, timeout=60, check=False)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"drive.mjs exited {done.returncode} without a report:\n"
                             f"{done.stdout}\n{done.stderr}") from None
    assert done.returncode == 0 and "error" not in report, json.dumps(report, indent=1)
    return report


def _stored_batches(gate: Gate, monitor: str) -> list[dict[str, Any]]:
    """What `rumpolicy events --json` lists: the accepted batches, events included."""
    done = subprocess.run(
        [sys.executable, "-m", "rumpolicy", "events", "--data", str(gate.data),
         "--monitor", monitor, "--json"],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    batches: list[dict[str, Any]] = json.loads(done.stdout)
    return batches


def _decisions(gate: Gate, monitor: str) -> list[dict[str, Any]]:
    if not gate.decision_log.exists():
        return []
    # Only whole lines: the gate may be halfway through writing the last one.
    lines = gate.decision_log.read_text(encoding="utf-8").split("\n")[:-1]
    return [entry for entry in map(json.loads, lines) if entry.get("monitor") == monitor]


def _wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _summary(posts: list[dict[str, Any]]) -> str:
    """One line per PutRumEvents request, for assertion messages."""
    return "\n".join(
        f"#{post['seq']} t={post['t']}ms {post['transport']} "
        f"encoding={post['contentEncoding']} alias={post.get('alias')!r} "
        f"events={len(post.get('eventIds', []))} -> status={post['status']} "
        f"failure={post['failure']}"
        for post in posts
    )


def _console_text(report: dict[str, Any]) -> str:
    return "\n".join(str(message["text"]) for message in report["console"])


def test_allowed_alias_batches_land_in_the_store(
    gate: Gate, site: tuple[str, Path], tmp_path: Path
) -> None:
    monitor, monitor_id = _create_monitor(gate, "allow")
    url = _write_page(site, gate, monitor_id, ALLOWED_ALIAS, NO_TICK_MS)
    report = _drive(url, gate, [
        {"do": "open"},
        # The click's error, and the web vitals that a first input settles, join the first batch.
        {"do": "click", "selector": "#boom"},
        {"do": "sleep", "ms": 300},
        # Page telemetry plus padded custom events: the first batch is far over the 2048
        # characters at which aws-rum-web 3.x gzips a fetch body.
        {"do": "record", "count": 10, "bytes": 300, "type": PROBE_EVENT},
        {"do": "dispatch"},
        {"do": "awaitPosts", "count": 1},
        # A small batch: under the threshold, so sent as plain JSON.
        {"do": "record", "count": 2, "type": PROBE_EVENT},
        {"do": "dispatch"},
        {"do": "awaitPosts", "count": 2},
        # Left behind when the page is left: only the page-hide beacon can carry these.
        {"do": "record", "count": 3, "type": HIDE_EVENT},
        {"do": "hide"},
        {"do": "settle"},
    ], tmp_path)

    fetches = report["posts"]
    assert [post["transport"] for post in fetches] == ["fetch", "fetch"], _summary(fetches)
    assert all(post["status"] == 200 and post["alias"] == ALLOWED_ALIAS for post in fetches), (
        _summary(fetches))
    assert fetches[0]["contentEncoding"] == "gzip", "a realistic first batch is gzipped"
    assert fetches[1]["contentEncoding"] is None, "a batch under 2048 characters is not"
    assert all(post["path"] == f"/appmonitors/{monitor_id}" for post in fetches)

    # The page-hide beacon leaves with the unloading document, where DevTools no longer
    # reports it, so the gate's decision log is what shows it arrived.
    _wait_until(lambda: len(_decisions(gate, monitor)) >= 3, 10, "the page-hide beacon")
    decisions = _decisions(gate, monitor)
    assert len(decisions) == 3, decisions
    assert all(d["effect"] == "allow" and d["status"] == 200 for d in decisions), decisions
    for decision in decisions:
        context = decision["request"]["context"]
        assert context.get("rum:alias") == ALLOWED_ALIAS, context
        # What the browser adds on its own: its User-Agent, and a Referer cut to the page's
        # origin (Chromium's default strict-origin-when-cross-origin policy), beacon included.
        assert "HeadlessChrome/" in context["aws:UserAgent"], context
        assert context["aws:referer"] == f"{site[0]}/", context

    # Every batch the browser sent is stored once, under its BatchId, with its events; the one
    # batch the driver did not see is the beacon, carrying the events recorded before leaving.
    batches = _stored_batches(gate, monitor)
    stored_ids = [batch["batch_id"] for batch in batches]
    assert len(stored_ids) == len(set(stored_ids)) == 3, stored_ids
    by_id = {batch["batch_id"]: batch for batch in batches}
    for post in fetches:
        assert [event["id"] for event in by_id[post["batchId"]]["events"]] == post["eventIds"]
    [beacon] = [batch for batch in batches if batch["batch_id"] not in
                {post["batchId"] for post in fetches}]
    assert [e["type"] for e in beacon["events"]].count(HIDE_EVENT) == 3, beacon["events"]
    assert all(batch["alias"] == ALLOWED_ALIAS and batch["principal"] is None
               and batch["session_id"] == fetches[0]["sessionId"] for batch in batches)
    types = {event["type"] for batch in batches for event in batch["events"]}
    assert {"com.amazon.rum.session_start_event", "com.amazon.rum.page_view_event",
            "com.amazon.rum.js_error_event", "com.amazon.rum.performance_navigation_event",
            PROBE_EVENT, HIDE_EVENT} <= types, types
    assert "Dispatch failed" not in _console_text(report)


@pytest.mark.parametrize("alias", ["web-v1", None], ids=["wrong-alias", "no-alias"])
def test_denied_alias_stores_nothing_and_client_disables_itself(
    gate: Gate, site: tuple[str, Path], tmp_path: Path, alias: str | None
) -> None:
    monitor, monitor_id = _create_monitor(gate, "deny")
    url = _write_page(site, gate, monitor_id, alias, TICK_MS)
    report = _drive(url, gate, [
        {"do": "open"},
        {"do": "record", "count": 10, "bytes": 300, "type": PROBE_EVENT},
        # The first timer tick sends the batch and gets the 403.
        {"do": "awaitPosts", "count": 1},
        # After the 403 the client has no dispatch left: not on demand, not on two more timer
        # ticks, not on page hide, though each of these has events to send.
        {"do": "record", "count": 2, "type": PROBE_EVENT},
        {"do": "dispatch"},
        {"do": "sleep", "ms": 2 * TICK_MS + 500},
        {"do": "record", "count": 3, "type": HIDE_EVENT},
        {"do": "hide"},
        {"do": "sleep", "ms": 1000},
        {"do": "settle"},
    ], tmp_path)

    posts = report["posts"]
    assert len(posts) == 1, (
        "expected one request, answered 403, then silence; the browser sent:\n" + _summary(posts))
    [denied] = posts
    assert denied["status"] == 403, _summary(posts)
    assert denied["errorType"] == "AccessDeniedException", denied
    assert denied["failure"] is None, "a CORS failure would make the client retry, not stop"
    if alias is None:
        assert denied["hasAlias"] is False, "without an alias setting the key is absent"
    else:
        assert denied["alias"] == alias
    console = _console_text(report)
    assert "Dispatch failed with status code: 403" in console, console
    assert "Dispatch disabled" in console, console

    decisions = _decisions(gate, monitor)
    assert len(decisions) == 1, f"requests reached the gate after the 403: {decisions}"
    assert decisions[0]["effect"] == "implicit_deny" and decisions[0]["status"] == 403
    assert decisions[0]["request"]["context"].get("rum:alias") == alias
    assert _stored_batches(gate, monitor) == []
