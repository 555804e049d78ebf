"""A pytest plugin: CloudWatch RUM in process (`rum_mock`), or a live `rumpolicy serve` on a free
loopback port with ready boto3 clients.

    def test_in_process(rum_mock):                # rum_mock is the Gate answering
        client = boto3.client("rum", region_name="us-east-1")
        client.create_app_monitor(Name="shop", Domain="example.com")

    def test_alias_policy(rum_gate, rum_client):
        monitor_id = rum_client.create_app_monitor(Name="shop", Domain="example.com")["Id"]
        ...
        rum_client.put_rum_events(Id=monitor_id, ...)
        assert rum_gate.events("shop")

Fixtures: `rum_mock` (rumpolicy.mock_rum for the test: every boto3 RUM client answers from an
in-memory Gate, which the fixture yields), `rum_gate` (one server per test session, data in a
temporary directory), `rum_gate_config` (override it in your conftest.py to configure that
server), `rum_client` (an unsigned boto3 RUM client with host-prefix injection off and no
retries) and `rum_signed_client` (a factory of signed clients; by default it signs with the
test credential the default config declares). Use names unique to each test: the server is shared.

boto3 and the gate are imported only when used, so loading the plugin costs next to nothing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rumpolicy.cli.serve import READY

if TYPE_CHECKING:
    from rumpolicy.gate import Gate
    from rumpolicy.gate.storage import StoredBatch

DEFAULT_ACCOUNT = "123456789012"
"""The gate's defaults (rumpolicy.gate.config), repeated so that loading the plugin imports
neither pydantic nor the gate: the plugin is loaded into every pytest session."""
DEFAULT_REGION = "us-east-1"
TEST_ACCESS_KEY = "AKIDRUMPOLICYTEST"
TEST_SECRET_KEY = "rumpolicy-test-secret"
TEST_PRINCIPAL = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/rum-tester"
DEFAULT_CONFIG: Mapping[str, Any] = {
    "credentials": {TEST_ACCESS_KEY: {"principal": TEST_PRINCIPAL,
                                      "secret_key": TEST_SECRET_KEY}},
}


@dataclass
class GateServer:
    """A running `rumpolicy serve` subprocess."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    log: Path | None = None
    _clients: list[Any] = field(default_factory=list, repr=False)

    def client(self, *, access_key: str | None = None, secret_key: str | None = None,
               **config: Any) -> Any:
        """A boto3 RUM client for this server: unsigned unless keys are given; host-prefix
        injection off (`dataplane.` would break an IP endpoint) and one attempt per call."""
        import boto3
        import botocore
        from botocore.config import Config

        settings: dict[str, Any] = {
            "inject_host_prefix": False,
            # total_max_attempts counts the first attempt; max_attempts counts only retries
            "retries": {"total_max_attempts": 1, "mode": "standard"}}
        if access_key is None:
            settings["signature_version"] = botocore.UNSIGNED
        settings.update(config)
        session = boto3.session.Session()
        return session.client(
            "rum", region_name=self.region, endpoint_url=self.url,
            aws_access_key_id=access_key or "unused", aws_secret_access_key=secret_key or "unused",
            config=Config(**settings))

    def events(self, monitor: str) -> list[StoredBatch]:
        """The batches the server has committed for the app monitor called `monitor`."""
        from rumpolicy.gate.storage import open_read_only, read_batches

        db = open_read_only(self.data_dir)
        try:
            row = db.execute("SELECT id FROM monitors WHERE name = ?", (monitor,)).fetchone()
            return [] if row is None else read_batches(db, row[0])
        finally:
            db.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_gate_server(data_dir: str | Path, config: Mapping[str, Any] | None = None, *,
                      timeout: float = 30.0, extra_args: tuple[str, ...] = (),
                      env: Mapping[str, str] | None = None,
                      preexec_fn: Callable[[], None] | None = None) -> GateServer:
    """Start `rumpolicy serve --port 0` on 127.0.0.1 and wait until it listens. `env` adds to
    the environment; `preexec_fn` runs in the child before the server starts (to lower its
    resource limits, say)."""
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "rumpolicy", "serve", "--host", "127.0.0.1", "--port", "0",
            "--data", str(data / "store"), *extra_args]
    if config is not None:
        config_file = data / "gate-config.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        args += ["--config", str(config_file)]
    log = data / "gate-server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr,
                                   stdin=subprocess.DEVNULL, preexec_fn=preexec_fn,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    url = _await_ready(process, timeout, log)
    return GateServer(url=url, data_dir=data / "store", process=process,
                      region=str((config or {}).get("region", DEFAULT_REGION)),
                      account=str((config or {}).get("account", DEFAULT_ACCOUNT)), log=log)


def _await_ready(process: subprocess.Popen[bytes], timeout: float, log: Path) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(left, 0))
        chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            process.kill()
            process.wait()
            why = "exited" if left > 0 else f"was not listening after {timeout:g} s"
            raise RuntimeError(f"rumpolicy serve {why}: {log.read_text(errors='replace')}")
        line += chunk
    text = line.decode().strip()
    if not text.startswith(READY):
        process.kill()
        raise RuntimeError(f"rumpolicy serve printed {text!r}, expected '{READY} URL'")
    return text.removeprefix(READY).split()[0]


@pytest.fixture(scope="session")
def rum_gate_config() -> Mapping[str, Any]:
    """The configuration `rum_gate` starts with; override this fixture to change it."""
    return DEFAULT_CONFIG


@pytest.fixture(scope="session")
def rum_gate(tmp_path_factory: pytest.TempPathFactory,
             rum_gate_config: Mapping[str, Any]) -> Iterator[GateServer]:
    server = start_gate_server(tmp_path_factory.mktemp("rum-gate"), rum_gate_config)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def rum_client(rum_gate: GateServer) -> Any:
    """An unsigned boto3 RUM client of `rum_gate`."""
    return rum_gate.client()


@pytest.fixture
def rum_signed_client(rum_gate: GateServer) -> Callable[..., Any]:
    """`rum_signed_client(access_key=..., secret_key=...)`: a client signing with SigV4."""
    def make(access_key: str = TEST_ACCESS_KEY, secret_key: str = TEST_SECRET_KEY,
             **config: Any) -> Any:
        return rum_gate.client(access_key=access_key, secret_key=secret_key, **config)
    return make


@pytest.fixture
def rum_mock() -> Iterator[Gate]:
    """`rumpolicy.mock_rum()` around the test: boto3 RUM clients talk to the Gate yielded, in
    process, in emulator mode (any access key accepted)."""
    from rumpolicy.gate.mock import mock_rum

    with mock_rum() as gate:
        yield gate
