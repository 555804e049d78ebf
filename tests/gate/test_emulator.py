"""The RUM emulator as people embed it: `mock_rum` in process (alone and inside moto's
`mock_aws`), emulator credentials, tags that reach decisions, UpdateAppMonitor, and `serve` as
emulator users drive it (health, request log, environment, the AWS CLI, moto beside it).
Issue: "The RUM emulator people embed"."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import unittest
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rumpolicy
from rumpolicy.gate import Gate
from rumpolicy.gate.credentials import emulator_principal
from rumpolicy.testing.gate_fixture import GateServer, start_gate_server

from ._helpers import ACCOUNT, batch

EMULATOR_USER = emulator_principal(ACCOUNT)


def client(**kwargs: Any) -> Any:
    return boto3.session.Session().client("rum", region_name="us-east-1", **kwargs)


def policy(arn: str, principal: Any = "*", condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal,
                                 "Action": "rum:PutRumEvents", "Resource": arn}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def monitor(rum: Any, name: str = "shop", **members: Any) -> tuple[str, str]:
    monitor_id = rum.create_app_monitor(Name=name, Domain="example.com", **members)["Id"]
    return monitor_id, f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/{name}"


def put(rum: Any, monitor_id: str, **changes: Any) -> Any:
    return rum.put_rum_events(Id=monitor_id, **batch(monitor_id, **changes))


# -- mock_rum ------------------------------------------------------------------------------------

def test_the_context_manager_answers_from_the_gate_it_yields() -> None:
    with rumpolicy.mock_rum() as gate:
        rum = client()
        monitor_id, arn = monitor(rum)
        rum.put_resource_policy(Name="shop", PolicyDocument=policy(arn))
        assert put(rum, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert isinstance(gate, Gate) and len(gate.events("shop")) == 1
    with rumpolicy.mock_rum() as fresh:  # each start is a new, empty gate
        assert fresh.monitors() == []


@rumpolicy.mock_rum
def test_the_bare_decorator_mocks_a_sync_test() -> None:
    assert client().list_app_monitors()["AppMonitorSummaries"] == []


@rumpolicy.mock_rum(account="111122223333", region="eu-west-1")
async def _decorated_async() -> str:
    rum = boto3.session.Session().client("rum", region_name="eu-west-1")
    await asyncio.sleep(0)
    rum.create_app_monitor(Name="app", Domain="example.com")
    return str(rum.list_tags_for_resource(
        ResourceArn="arn:aws:rum:eu-west-1:111122223333:appmonitor/app")["ResourceArn"])


def test_the_decorator_with_options_mocks_an_async_function() -> None:
    assert asyncio.run(_decorated_async()) == "arn:aws:rum:eu-west-1:111122223333:appmonitor/app"


def _names() -> list[str]:
    return [m["Name"] for m in client().list_app_monitors()["AppMonitorSummaries"]]


def test_a_decorated_class_keeps_its_tests_each_with_a_fresh_gate() -> None:
    """As moto's `mock_aws` on a class: its test methods are decorated, inherited ones too;
    decorating the class object itself hid every test from pytest and unittest (review)."""
    seen: list[list[str]] = []

    class Base:
        def test_inherited(self) -> None:
            client().create_app_monitor(Name="inherited", Domain="example.com")
            seen.append(_names())

    @rumpolicy.mock_rum
    class Plain(Base):
        def test_one(self) -> None:
            client().create_app_monitor(Name="one", Domain="example.com")
            seen.append(_names())

        @staticmethod
        def test_static() -> None:
            seen.append(["static"])

    assert isinstance(Plain, type)
    Plain().test_one()
    Plain().test_inherited()
    Plain().test_static()  # a staticmethod is left as it is (no mock), callable as one
    assert seen == [["one"], ["inherited"], ["static"]]


def test_a_decorated_test_case_runs_each_test_from_set_up_to_its_cleanups() -> None:
    class Case(unittest.TestCase):
        def setUp(self) -> None:
            client().create_app_monitor(Name="set-up", Domain="example.com")

        def test_sees_what_set_up_made(self) -> None:
            self.assertEqual(_names(), ["set-up"])  # and not another test's: a fresh gate

        def test_a_failure_is_reported(self) -> None:
            self.fail("reported")

    decorated = rumpolicy.mock_rum(Case)
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(decorated).run(result)
    assert (result.testsRun, len(result.failures), result.errors) == (2, 1, [])
    assert "reported" in result.failures[0][1]


def test_a_decorated_function_may_call_itself() -> None:
    """Each call has a mock of its own; the innermost answers while it runs."""
    @rumpolicy.mock_rum
    def depth(n: int) -> list[str]:
        client().create_app_monitor(Name=f"m{n}", Domain="example.com")
        if n:
            assert depth(n - 1) == [f"m{n - 1}"]
        return _names()

    assert depth(2) == ["m2"]


def test_the_pytest_fixture(rum_mock: Gate) -> None:
    client().create_app_monitor(Name="fixture", Domain="example.com")
    assert [m.name for m in rum_mock.monitors()] == ["fixture"]


def test_clients_made_before_the_mock_started_are_intercepted() -> None:
    early = client(aws_access_key_id="AKIDEARLY", aws_secret_access_key="early")
    with rumpolicy.mock_rum() as gate:
        early.create_app_monitor(Name="early", Domain="example.com")
        assert [m.name for m in gate.monitors()] == ["early"]


def test_the_dataplane_host_prefix_needs_no_workaround_in_process() -> None:
    """botocore sends PutRumEvents to dataplane.rum.<region>.amazonaws.com; nothing resolves it."""
    with rumpolicy.mock_rum() as gate:
        rum = client()
        monitor_id, arn = monitor(rum)
        rum.put_resource_policy(Name="shop", PolicyDocument=policy(arn))
        sent: list[str] = []
        rum.meta.events.register("before-send.rum.PutRumEvents",
                                 lambda request, **_: sent.append(request.url))
        put(rum, monitor_id)
        assert sent[0].startswith("https://dataplane.rum.us-east-1.amazonaws.com/appmonitors/")
        assert len(gate.events("shop")) == 1


def test_inside_moto_every_other_service_still_goes_to_moto() -> None:
    moto = pytest.importorskip("moto")
    with moto.mock_aws(), rumpolicy.mock_rum() as gate:
        session = boto3.session.Session(region_name="us-east-1")
        session.client("logs").create_log_group(logGroupName="beside-rum")
        monitor(session.client("rum"), "inside-moto")
        assert [g["logGroupName"] for g in
                session.client("logs").describe_log_groups()["logGroups"]] == ["beside-rum"]
        assert [m.name for m in gate.monitors()] == ["inside-moto"]
    with moto.mock_aws(), pytest.raises(ClientError, match="Not yet implemented"):
        client().list_app_monitors()  # RUM is not moto's: only mock_rum answers it


# -- emulator credentials ------------------------------------------------------------------------

def test_any_access_key_is_a_fixed_iam_user_and_the_resource_policy_still_decides() -> None:
    """moto's and LocalStack's usual dummy keys are accepted, signature unchecked; the caller is
    an IAM user of the account (not its root user), so a policy naming another principal or
    delegating to the account (with no identity policy) still denies it."""
    with rumpolicy.mock_rum():
        admin = client()
        monitor_id, arn = monitor(admin)
        for key in ("test", "testing", "FOOBARKEY"):
            rum = client(aws_access_key_id=key, aws_secret_access_key="wrong-is-fine")
            admin.put_resource_policy(Name="shop", PolicyDocument=policy(
                arn, {"AWS": EMULATOR_USER}))
            assert put(rum, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
            for other in ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone-else"},
                          {"AWS": ACCOUNT}):
                admin.put_resource_policy(Name="shop", PolicyDocument=policy(arn, other))
                with pytest.raises(rum.exceptions.AccessDeniedException,
                                   match=f"User: {EMULATOR_USER} is not authorized"):
                    put(rum, monitor_id)


def test_with_a_credentials_table_everything_stays_strict() -> None:
    principal = f"arn:aws:iam::{ACCOUNT}:user/alice"
    with rumpolicy.mock_rum(credentials={"AKIDALICE": principal}):
        rum = client(aws_access_key_id="AKIDALICE", aws_secret_access_key="any")
        monitor_id, arn = monitor(rum)
        rum.put_resource_policy(Name="shop", PolicyDocument=policy(arn, {"AWS": principal}))
        assert put(rum, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
        with pytest.raises(ClientError) as unknown:
            put(client(aws_access_key_id="test", aws_secret_access_key="test"), monitor_id)
        assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"


# -- tags and UpdateAppMonitor ---------------------------------------------------------------------

def test_tags_reach_decisions_and_changes_apply_to_the_next_call(rum_mock: Gate) -> None:
    """aws:ResourceTag/<key> is in PutRumEvents' request context (aws-facts.md section 3); key
    names are case-insensitive like every condition key."""
    rum = client()
    monitor_id, arn = monitor(rum, Tags={"stage": "beta"})
    rum.put_resource_policy(Name="shop", PolicyDocument=policy(
        arn, condition={"StringEquals": {"aws:ResourceTag/Stage": "beta"}}))
    assert put(rum, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    rum.tag_resource(ResourceArn=arn, Tags={"stage": "prod"})
    with pytest.raises(rum.exceptions.AccessDeniedException):
        put(rum, monitor_id)
    rum.tag_resource(ResourceArn=arn, Tags={"stage": "beta", "team": "web"})
    assert rum.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"stage": "beta",
                                                                     "team": "web"}
    assert put(rum, monitor_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    rum.untag_resource(ResourceArn=arn, TagKeys=["stage", "never-set"])
    with pytest.raises(rum.exceptions.AccessDeniedException):
        put(rum, monitor_id)
    assert rum.get_app_monitor(Name="shop")["AppMonitor"]["Tags"] == {"team": "web"}


def test_tag_rules(rum_mock: Gate) -> None:
    rum = client()
    _, arn = monitor(rum)
    with pytest.raises(rum.exceptions.ValidationException, match="pattern"):
        rum.tag_resource(ResourceArn=arn, Tags={"aws:reserved": "x"})
    rum.tag_resource(ResourceArn=arn, Tags={f"k{n}": "v" for n in range(50)})
    with pytest.raises(rum.exceptions.ValidationException, match="at most 50 tags"):
        rum.tag_resource(ResourceArn=arn, Tags={"one-more": "v"})
    assert len(rum.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50  # nothing half-done
    rum.untag_resource(ResourceArn=arn, TagKeys=["k49"])
    with pytest.raises(rum.exceptions.ValidationException, match="differ by more than case"):
        rum.tag_resource(ResourceArn=arn, Tags={"K0": "v"})
    for missing in (arn.replace(":appmonitor/shop", ":appmonitor/nope"),
                    arn.replace(ACCOUNT, "999999999999"), "arn:aws:s3:::bucket"):
        with pytest.raises(rum.exceptions.ResourceNotFoundException) as err:
            rum.list_tags_for_resource(ResourceArn=missing)
        assert err.value.response["resourceName"] == missing


def test_update_changes_only_the_settings_given(rum_mock: Gate) -> None:
    rum = client()
    monitor(rum, AppMonitorConfiguration={"SessionSampleRate": 0.5, "AllowCookies": True},
            CustomEvents={"Status": "ENABLED"})
    before = rum.get_app_monitor(Name="shop")["AppMonitor"]
    rum.update_app_monitor(Name="shop", DomainList=["a.example.com", "b.example.com"],
                           CwLogEnabled=True)
    after = rum.get_app_monitor(Name="shop")["AppMonitor"]
    assert "Domain" not in after and after["DomainList"] == ["a.example.com", "b.example.com"]
    assert after["DataStorage"]["CwLog"]["CwLogEnabled"] is True
    assert after["AppMonitorConfiguration"] == before["AppMonitorConfiguration"]
    assert after["CustomEvents"] == {"Status": "ENABLED"}
    with pytest.raises(rum.exceptions.ValidationException, match="not both"):
        rum.update_app_monitor(Name="shop", Domain="c.example.com", DomainList=["d.example.com"])
    with pytest.raises(rum.exceptions.ValidationException, match="SessionSampleRate"):
        rum.update_app_monitor(Name="shop", AppMonitorConfiguration={"SessionSampleRate": 2.0})
    with pytest.raises(rum.exceptions.ResourceNotFoundException):
        rum.update_app_monitor(Name="nope", CwLogEnabled=False)
    assert rum.get_app_monitor(Name="shop")["AppMonitor"] == after


def test_settings_and_tags_persist_across_a_restart(tmp_path: Path) -> None:
    with rumpolicy.mock_rum(data_dir=tmp_path):
        rum = client()
        monitor(rum, Tags={"team": "web"})
        rum.update_app_monitor(Name="shop", CwLogEnabled=True)
    with rumpolicy.mock_rum(data_dir=tmp_path):
        described = client().get_app_monitor(Name="shop")["AppMonitor"]
        assert described["Tags"] == {"team": "web"}
        assert described["DataStorage"]["CwLog"]["CwLogEnabled"] is True


# -- serve as emulator users drive it ------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateServer]:
    server = start_gate_server(tmp_path_factory.mktemp("emulator"))  # no config: emulator mode
    yield server
    server.stop()


def test_health_and_one_log_line_per_request(server: GateServer) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/_rumpolicy/health", timeout=10) as answer:
        assert json.loads(answer.read()) == {"status": "ok", "service": "rum"}
    rum = server.client(access_key="test", secret_key="test")
    monitor_id, _ = monitor(rum, "logged")
    with pytest.raises(rum.exceptions.AccessDeniedException):
        put(rum, monitor_id)  # no policy: denied
    assert server.log is not None
    deadline = time.monotonic() + 10
    while "PutRumEvents 403" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = server.log.read_text().splitlines()
    assert any(line.endswith(tuple("0123456789abcdef")) and " POST /appmonitor CreateAppMonitor"
               " 200 " in line for line in lines)
    [denied] = [line for line in lines if f"/appmonitors/{monitor_id}/ PutRumEvents" in line]
    assert " 403 AccessDeniedException implicit_deny " in denied
    assert any("emulator mode" in line and EMULATOR_USER in line for line in lines)


def test_options_come_from_the_environment_and_log_level_quiets_requests(
        tmp_path: Path) -> None:
    server = start_gate_server(tmp_path, env={"RUMPOLICY_LOG_LEVEL": "warning",
                                              "RUMPOLICY_DATA": str(tmp_path / "ignored")})
    try:
        monitor(server.client(), "quiet")  # --data from the fixture wins over RUMPOLICY_DATA
        assert server.log is not None and "CreateAppMonitor" not in server.log.read_text()
        assert not (tmp_path / "ignored").exists()
    finally:
        server.stop()
    done = subprocess.run([sys.executable, "-m", "rumpolicy", "serve"], capture_output=True,
                          text=True, env={**os.environ, "RUMPOLICY_PORT": "http"}, timeout=60)
    assert done.returncode == 2
    assert "port 'http': use a port from 0 to 65535 (--port or RUMPOLICY_PORT)" in done.stderr


def aws_cli(server: GateServer, *args: str, disable_prefix: bool = True
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_DISABLE_HOST_PREFIX_INJECTION", None)
    if disable_prefix:
        env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
    return subprocess.run([sys.executable, "-m", "awscli", "rum", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_the_aws_cli_recipe(server: GateServer) -> None:
    """docs/gate.md: AWS_ENDPOINT_URL plus AWS_DISABLE_HOST_PREFIX_INJECTION=true; with the
    endpoint alone PutRumEvents goes to dataplane.127.0.0.1, which no resolver knows."""
    pytest.importorskip("awscli")
    created = aws_cli(server, "create-app-monitor", "--name", "cli", "--domain", "example.com")
    assert created.returncode == 0, created.stderr
    monitor_id = json.loads(created.stdout)["Id"]
    arn = f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/cli"
    assert aws_cli(server, "put-resource-policy", "--name", "cli", "--policy-document",
                   policy(arn)).returncode == 0
    events = json.dumps(batch(monitor_id)["RumEvents"])
    args = ("put-rum-events", "--id", monitor_id, "--batch-id", str(uuid.uuid4()),
            "--app-monitor-details", f"id={monitor_id}", "--user-details", "{}",
            "--rum-events", events)
    put_ok = aws_cli(server, *args)
    assert put_ok.returncode == 0, put_ok.stderr
    assert len(server.events("cli")) == 1
    alone = aws_cli(server, *args, disable_prefix=False)
    assert alone.returncode != 0 and "dataplane." in alone.stderr


def test_moto_server_beside_rumpolicy_serve(server: GateServer, tmp_path: Path) -> None:
    """The recipe for both over HTTP: AWS_ENDPOINT_URL for moto's server, the service-specific
    AWS_ENDPOINT_URL_RUM for the gate."""
    pytest.importorskip("moto")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
               "AWS_ENDPOINT_URL_RUM": server.url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
               "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1"}
        script = ("import boto3\n"
                  "boto3.client('logs').create_log_group(logGroupName='beside')\n"
                  "boto3.client('rum').create_app_monitor(Name='beside', Domain='example.com')\n"
                  "print(boto3.client('logs').describe_log_groups()['logGroups'][0]"
                  "['logGroupName'])\n")
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                  text=True, timeout=60, check=False)
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)  # moto's server is still starting
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "beside"
        names = [m["Name"] for m in server.client().list_app_monitors()["AppMonitorSummaries"]]
        assert "beside" in names
    finally:
        moto.terminate()
        moto.wait(10)

