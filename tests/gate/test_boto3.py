"""Real boto3 clients against a live `rumpolicy serve` on a free loopback port: the alias policy
end to end, signed callers, the AWS errors boto3 raises, durability across `kill -9`, and many
clients at once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rumpolicy.testing.gate_fixture import GateServer, start_gate_server

from ._helpers import ACCOUNT, alias_policy, batch, event

_names = iter(range(1_000_000))


def new_monitor(client: Any, policy: Callable[[str], str] | None = None) -> tuple[str, str]:
    """A monitor with a name unique in this session (the server is shared)."""
    name = f"m{os.getpid()}-{next(_names)}"
    monitor_id = client.create_app_monitor(Name=name, Domain="example.com")["Id"]
    if policy is not None:
        client.put_resource_policy(Name=name, PolicyDocument=policy(name))
    return name, monitor_id


def put(client: Any, monitor_id: str, alias: str | None = None, **changes: Any) -> Any:
    body = batch(monitor_id, alias, **changes)
    return client.put_rum_events(Id=monitor_id, **body)


def test_alias_policy_end_to_end(rum_gate: GateServer, rum_client: Any) -> None:
    name, monitor_id = new_monitor(rum_client, alias_policy)
    accepted = put(rum_client, monitor_id, "v1")
    assert accepted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(accepted["ResponseMetadata"]["RequestId"]) == 36
    for alias in ("wrong", None):
        with pytest.raises(rum_client.exceptions.AccessDeniedException) as denied:
            put(rum_client, monitor_id, alias)
        assert denied.value.response["Error"]["Message"].startswith(
            "User: anonymous is not authorized to perform: rum:PutRumEvents")
        assert denied.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    [stored] = rum_gate.events(name)
    assert stored.alias == "v1" and stored.source_ip == "127.0.0.1"


def test_validation_and_not_found_errors(rum_client: Any) -> None:
    _, monitor_id = new_monitor(rum_client, alias_policy)
    with pytest.raises(rum_client.exceptions.ValidationException) as too_long:
        put(rum_client, monitor_id, "a" * 256)  # boto3 checks only the minimum length
    assert "at 'Alias'" in str(too_long.value)
    with pytest.raises(rum_client.exceptions.ValidationException) as bad_event:
        put(rum_client, monitor_id, "v1", RumEvents=[event(details="{not json")])
    assert "RumEvents[0].details" in str(bad_event.value)
    with pytest.raises(rum_client.exceptions.ValidationException):
        put(rum_client, "z" * 36, "v1")
    unknown = str(uuid.uuid4())
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException) as missing:
        put(rum_client, unknown, "v1")
    assert missing.value.response["resourceName"] == unknown


def test_policy_errors_through_boto3(rum_client: Any) -> None:
    name, _ = new_monitor(rum_client)
    with pytest.raises(rum_client.exceptions.PolicyNotFoundException):
        rum_client.get_resource_policy(Name=name)
    with pytest.raises(rum_client.exceptions.MalformedPolicyDocumentException) as malformed:
        rum_client.put_resource_policy(Name=name, PolicyDocument='{"Version": "2012-10-17"}')
    assert "missing-statement" in str(malformed.value) or "1:1:" in str(malformed.value)
    with pytest.raises(rum_client.exceptions.PolicySizeLimitExceededException):
        rum_client.put_resource_policy(Name=name, PolicyDocument=" " * 4097 + "{}")
    revision = rum_client.put_resource_policy(Name=name, PolicyDocument=alias_policy(name))[
        "PolicyRevisionId"]
    with pytest.raises(rum_client.exceptions.InvalidPolicyRevisionIdException):
        rum_client.put_resource_policy(Name=name, PolicyDocument=alias_policy(name),
                                       PolicyRevisionId="stale")
    assert rum_client.delete_resource_policy(Name=name, PolicyRevisionId=revision)[
        "PolicyRevisionId"] == revision
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException):
        rum_client.put_resource_policy(Name="no-such-monitor", PolicyDocument="{}")
    with pytest.raises(rum_client.exceptions.ConflictException):
        rum_client.create_app_monitor(Name=name, Domain="example.com")
    listed = rum_client.list_app_monitors(MaxResults=100)["AppMonitorSummaries"]
    assert name in [m["Name"] for m in listed]
    rum_client.delete_app_monitor(Name=name)
    with pytest.raises(rum_client.exceptions.ResourceNotFoundException):
        rum_client.get_app_monitor(Name=name)


def test_get_app_monitor_names_the_log_group_while_cw_log_is_enabled(rum_client: Any) -> None:
    """DataStorage.CwLog.CwLogGroup (botocore's CwLog shape: "The name of the log group where
    the copies are stored"), as RUM names the group it creates: RUMService_ + the monitor's
    name + the first 8 characters of its id. Without CwLogEnabled there are no copies."""
    name = f"m{os.getpid()}-{next(_names)}"
    monitor_id = rum_client.create_app_monitor(Name=name, Domain="example.com",
                                               CwLogEnabled=True)["Id"]
    group = f"/aws/vendedlogs/RUMService_{name}{monitor_id[:8]}"

    def cw_log() -> dict[str, Any]:
        storage: dict[str, Any] = rum_client.get_app_monitor(Name=name)["AppMonitor"][
            "DataStorage"]["CwLog"]
        return storage

    assert cw_log() == {"CwLogEnabled": True, "CwLogGroup": group}
    rum_client.update_app_monitor(Name=name, CwLogEnabled=False)
    assert cw_log() == {"CwLogEnabled": False}
    rum_client.update_app_monitor(Name=name, Domain="example.net")  # CwLogEnabled unchanged
    assert cw_log() == {"CwLogEnabled": False}
    rum_client.update_app_monitor(Name=name, CwLogEnabled=True)
    assert cw_log() == {"CwLogEnabled": True, "CwLogGroup": group}
    other, _ = new_monitor(rum_client)
    assert rum_client.get_app_monitor(Name=other)["AppMonitor"]["DataStorage"] == {
        "CwLog": {"CwLogEnabled": False}}


def test_signed_callers(rum_gate: GateServer, rum_signed_client: Callable[..., Any],
                        rum_client: Any) -> None:
    """The default fixture config maps the test key to user/rum-tester; a resource policy
    naming that user lets the signed client in, while unsigned callers stay out."""
    principal = f"arn:aws:iam::{ACCOUNT}:user/rum-tester"

    def named_user(name: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "rum:PutRumEvents",
            "Resource": f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/{name}"}]})

    name, monitor_id = new_monitor(rum_client, named_user)
    signed = rum_signed_client()
    assert put(signed, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(rum_client.exceptions.AccessDeniedException):
        put(rum_client, monitor_id)
    with pytest.raises(ClientError) as bad:
        put(rum_signed_client(secret_key="not-the-secret"), monitor_id)
    assert bad.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as unknown:
        put(rum_signed_client(access_key="AKIDUNKNOWN"), monitor_id)
    assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert [b.principal for b in rum_gate.events(name)] == [principal]


def test_an_acknowledged_batch_survives_kill_9(tmp_path: Path) -> None:
    server = start_gate_server(tmp_path)
    try:
        client = server.client()
        name, monitor_id = new_monitor(client, alias_policy)
        body = batch(monitor_id, "v1", events=20)
        response = client.put_rum_events(Id=monitor_id, **body)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        pid = server.process.pid
        writers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(writers) == 1  # the store's writer process committed the batch
        os.kill(pid, signal.SIGKILL)
        server.process.wait(10)
    finally:
        server.stop()
    [stored] = server.events(name)
    assert stored.batch_id == body["BatchId"] and len(stored.events) == 20
    deadline = time.monotonic() + 10  # its input closed with the gate: it exits, never orphaned
    while _running(writers[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(writers[0])


def _running(pid: str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; reaping it is its new parent's business


@pytest.mark.parametrize("synchronous", ["normal", "full"])
def test_many_clients_at_once_store_exactly_the_allowed_batches(
        tmp_path: Path, synchronous: str) -> None:
    server = start_gate_server(tmp_path, {"synchronous": synchronous})
    try:
        setup = server.client()
        name, monitor_id = new_monitor(setup, alias_policy)
        sent: dict[str, list[str]] = {"allowed": [], "denied": []}
        failures: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker(n: int) -> None:
            client = server.client(max_pool_connections=2)
            start.wait()
            for k in range(15):
                allowed = (n + k) % 2 == 0
                body = batch(monitor_id, "v2" if allowed else f"x{k}", events=3)
                try:
                    client.put_rum_events(Id=monitor_id, **body)
                    outcome = "allowed"
                except client.exceptions.AccessDeniedException:
                    outcome = "denied"
                with lock:
                    sent[outcome].append(body["BatchId"])
                    if outcome != ("allowed" if allowed else "denied"):
                        failures.append(body["BatchId"])

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        stored = [b.batch_id for b in server.events(name)]
        assert len(stored) == len(set(stored)) == 60
        assert set(stored) == set(sent["allowed"])
    finally:
        server.stop()


def test_serve_logs_every_decision(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    server = start_gate_server(tmp_path, extra_args=("--decision-log", str(log)))
    try:
        client = server.client()
        name, monitor_id = new_monitor(client, alias_policy)
        put(client, monitor_id, "v1")
        with pytest.raises(client.exceptions.AccessDeniedException):
            put(client, monitor_id, "nope")
    finally:
        server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["monitor"], x["effect"], x["status"]) for x in lines] == \
        [(name, "allow", 200), (name, "implicit_deny", 403)]
    assert lines[1]["request"]["context"]["rum:alias"] == "nope"
    assert lines[1]["request"]["context"]["aws:SourceIp"] == "127.0.0.1"
    assert lines[1]["request"]["context"]["aws:UserAgent"].startswith("Boto3/")
