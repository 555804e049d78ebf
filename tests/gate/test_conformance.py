"""Conformance with botocore's RUM model (issue 11, "Deliver" 4): every operation of the model
called through boto3, in process (`rumpolicy.mock_rum`) and over HTTP (a live `rumpolicy serve`
in emulator mode), each answer held to the model beyond what botocore's parser checks.

- SCENARIOS: for each operation of the model, how to set it up and call it with valid members.
  An operation without one fails `test_every_operation_of_the_model_has_a_scenario`.
- A successful answer has the model's status; its JSON body is exactly what botocore parsed
  (botocore silently drops members the output shape does not define); and it meets every
  constraint of the output shape: required members, types, lengths, patterns, enums, sizes
  (`api.shape_problems`, the rules requests are held to).
- CASES: each (operation, modeled error) the emulator can produce, produced through boto3 with
  the error shape's status and members (body members in `err.response`, `Retry-After` as
  retryAfterSeconds). NOT_PRODUCED: each pair it cannot produce, and why. Together they must be
  every pair of the model, so a newly modeled error fails the test until someone decides.
- Both transports answer alike, ids, timestamps, request ids and each test's name prefix set
  aside; and for random members of the right types (a property per operation) both answer
  alike with the output shape or a modeled error.

InternalServerException comes from real faults in both transports: the store is seeded with an
app monitor `faulty` whose policy this engine refuses (PutRumEvents fails closed) and with SQLite
triggers that abort every write touching it (each control-plane write fails mid-operation, and
must leave nothing half-stored). An operation that only reads cannot fail that way: in process
its handler is replaced by one that raises; over HTTP it is left out (HTTP_EXCLUDED).

Servers and clients are shared by the module; every test makes its app monitors under a name
prefix of its own and deletes them when it ends.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol
from unittest import mock

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

import rumpolicy
from rumpolicy.gate import GateConfig, Storage, api
from rumpolicy.gate.gate import OPERATIONS
from rumpolicy.gate.records import MonitorRecord
from rumpolicy.testing.gate_fixture import GateServer, start_gate_server

from ._helpers import alias_policy, allow_all_policy, arn, batch
from .test_metrics import CUSTOM, CW, EV, ROLE, by_country, extended

MODEL = api.service_model()
OPERATION_NAMES = sorted(MODEL.operation_names)
TRANSPORTS = ("in_process", "http")
"""The fixtures of the two transports."""

MAIN: dict[str, Any] = {"max_app_monitors": 1000}
"""The shared gate: emulator mode (no credentials table), no app monitor quota in reach."""
TIGHT: dict[str, Any] = {"max_app_monitors": 1, "throttle_rps": 0.01}
"""A gate whose quotas one call reaches: one app monitor; one PutRumEvents per 100 s."""

Members = dict[str, Any]
Kind = Literal["main", "tight", "faulty", "broken"]
"""main: the shared gate; tight: one with the TIGHT quotas; faulty: one over the seeded store;
broken: faulty with the operation's handler raising (in process only)."""


# -- the faults ------------------------------------------------------------------------------

FAULTY = "faulty"
FAULTY_ID = "0fa0170a-0000-4000-8000-000000000001"
FAULTY_DEFINITION = "0fa0170a-0000-4000-8000-000000000002"
UNUSABLE_POLICY = '{"Version": "2012-10-17", "Statement": "every statement"}'
"""A stored policy this engine refuses (a Statement must be an object or a list)."""
_ABORT = "BEGIN SELECT RAISE(ABORT, 'fault injected by test_conformance'); END"
_TRIGGERS = (
    f"CREATE TRIGGER fault_monitor_insert BEFORE INSERT ON monitors"
    f" WHEN NEW.name GLOB '{FAULTY}-*' {_ABORT}",
    *(f"CREATE TRIGGER fault_monitor_{event} BEFORE {event} ON monitors"
      f" WHEN OLD.id = '{FAULTY_ID}' {_ABORT}" for event in ("UPDATE", "DELETE")),
    *(f"CREATE TRIGGER fault_{table}_{event} BEFORE {event} ON {table}"
      f" WHEN {'NEW' if event == 'INSERT' else 'OLD'}.monitor_id = '{FAULTY_ID}' {_ABORT}"
      for table in ("metrics_destinations", "metric_definitions")
      for event in ("INSERT", "UPDATE", "DELETE")))
"""Every write that creates an app monitor named faulty-*, or changes `faulty`, its
destinations or its definitions, fails inside SQLite."""


def _seed_faults(data_dir: Path) -> None:
    """A store holding `faulty` (with its unusable policy, a tag, a CloudWatch destination and
    one definition) and the triggers."""
    store = Storage(data_dir)
    try:
        store.insert_monitor(MonitorRecord(FAULTY_ID, FAULTY, 1.0, 1.0,
                                           json.dumps({"Domain": "example.com"}),
                                           UNUSABLE_POLICY, "seeded", json.dumps({"stage": "1"})))
        store.execute(
            ("INSERT INTO metrics_destinations (monitor_id, destination, destination_arn)"
             " VALUES (?, 'CloudWatch', '')", (FAULTY_ID,)),
            ("INSERT INTO metric_definitions (id, monitor_id, destination, destination_arn,"
             " definition, canonical, weight) VALUES (?, ?, 'CloudWatch', '', ?, 'seeded', 1)",
             (FAULTY_DEFINITION, FAULTY_ID, json.dumps(extended("SessionCount")))),
            *((sql, ()) for sql in _TRIGGERS))
    finally:
        store.close()


def _fail(*_: Any) -> dict[str, Any]:
    raise RuntimeError("fault injected by test_conformance")


# -- the world a test calls through ----------------------------------------------------------

@dataclass
class _Last:
    """The last answer a transport's clients received, as it came off the wire."""

    status: int = 0
    body: bytes = b""


@dataclass(frozen=True)
class Clients:
    rum: Any
    """Checks members against the model before sending, as boto3 does by default."""
    loose: Any
    """Sends any members (parameter_validation off), for the refusals."""
    last: _Last


def _clients(make: Callable[..., Any]) -> Clients:
    last = _Last()

    def record(http_response: Any, **_: Any) -> None:
        last.status, last.body = http_response.status_code, http_response.content

    rum, loose = make(), make(parameter_validation=False)
    for client in (rum, loose):
        client.meta.events.register("after-call.rum", record)
    return Clients(rum, loose, last)


class Monitor(NamedTuple):
    name: str
    id: str
    arn: str


@dataclass
class World:
    """A gate seen through one transport's clients, and the app monitors a test made in it."""

    clients: Clients
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    names: list[str] = field(default_factory=list)

    @property
    def rum(self) -> Any:
        return self.clients.rum

    @property
    def loose(self) -> Any:
        return self.clients.loose

    @property
    def last(self) -> _Last:
        return self.clients.last

    def name(self, what: str) -> str:
        """A name of this test's, deleted when it ends."""
        self.names.append(f"{self.prefix}-{what}")
        return self.names[-1]

    def missing(self) -> str:
        return f"{self.prefix}-missing"

    def monitor(self, what: str = "app", **members: Any) -> Monitor:
        name = self.name(what)
        if "DomainList" not in members:
            members.setdefault("Domain", "example.com")
        monitor_id = self.rum.create_app_monitor(Name=name, **members)["Id"]
        return Monitor(name, monitor_id, arn(name))

    def open_monitor(self) -> Monitor:
        """A monitor whose policy lets anyone put events."""
        monitor = self.monitor()
        self.rum.put_resource_policy(Name=monitor.name,
                                     PolicyDocument=allow_all_policy(monitor.name))
        return monitor

    def destination(self, **to: Any) -> Monitor:
        """A monitor with a metrics destination (CloudWatch unless `to` says)."""
        monitor = self.monitor()
        self.rum.put_rum_metrics_destination(AppMonitorName=monitor.name, **(to or CW))
        return monitor

    def definitions(self, monitor: Monitor, *entries: Members) -> list[str]:
        created = self.rum.batch_create_rum_metric_definitions(
            AppMonitorName=monitor.name, MetricDefinitions=list(entries), **CW)
        assert created["Errors"] == []
        return [d["MetricDefinitionId"] for d in created["MetricDefinitions"]]

    def clean(self) -> None:
        for name in self.names:
            with contextlib.suppress(ClientError):
                self.rum.delete_app_monitor(Name=name)


@contextlib.contextmanager
def _world(clients: Clients) -> Iterator[World]:
    world = World(clients)
    try:
        yield world
    finally:
        world.clean()


class Transport(Protocol):
    def world(self, kind: Kind, operation: str) -> contextlib.AbstractContextManager[World]: ...


class InProcess:
    """`rumpolicy.mock_rum` for each test: an in-memory gate, or one over a seeded store."""

    def __init__(self, faulty_dir: Path) -> None:
        self.faulty_dir = faulty_dir
        self.clients = _clients(self._client)

    @staticmethod
    def _client(**config: Any) -> Any:
        return boto3.session.Session().client(
            "rum", region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config))

    @contextlib.contextmanager
    def world(self, kind: Kind, operation: str) -> Iterator[World]:
        seeded = kind in ("faulty", "broken")
        broken = {operation: _fail} if kind == "broken" else {}
        with rumpolicy.mock_rum(config=GateConfig(**(TIGHT if kind == "tight" else MAIN)),
                                data_dir=self.faulty_dir if seeded else None), \
                mock.patch.dict(OPERATIONS, broken), _world(self.clients) as world:
            yield world


class OverHttp:
    """A live `rumpolicy serve` over a seeded store (the main and the faulty world at once),
    and a tight one started when first needed."""

    def __init__(self, server: GateServer, start_tight: Callable[[], GateServer]) -> None:
        self.servers = [server]
        self.clients = self._clients(server)
        self._start_tight = start_tight
        self._tight: Clients | None = None

    @staticmethod
    def _clients(server: GateServer) -> Clients:
        """Signed, with any key, as in process: the caller is the emulator's principal."""
        return _clients(lambda **config: server.client(access_key="testing",
                                                       secret_key="testing", **config))

    def world(self, kind: Kind, operation: str) -> contextlib.AbstractContextManager[World]:
        assert kind != "broken", f"{operation}: no fault reaches it over HTTP (HTTP_EXCLUDED)"
        if kind != "tight":
            return _world(self.clients)
        if self._tight is None:
            self.servers.append(self._start_tight())
            self._tight = self._clients(self.servers[-1])
        return _world(self._tight)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> InProcess:
    faulty = tmp_path_factory.mktemp("conformance-faulty")
    _seed_faults(faulty)
    return InProcess(faulty)


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OverHttp]:
    directory = tmp_path_factory.mktemp("conformance-http")
    _seed_faults(directory / "store")  # where start_gate_server keeps the server's data
    transport = OverHttp(start_gate_server(directory, MAIN), lambda: start_gate_server(
        tmp_path_factory.mktemp("conformance-tight"), TIGHT))
    yield transport
    transport.stop()


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> Transport:
    found: Transport = request.getfixturevalue(request.param)
    return found


# -- scenarios -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    setup: Callable[[World], Members]
    """Prepares the world and returns the members of the call."""
    world: Kind = "main"


RICH: Members = {
    "DomainList": ["example.com", "*.example.org"],
    "Tags": {"stage": "prod", "team": "web"},
    "AppMonitorConfiguration": {
        "IdentityPoolId": "us-east-1:0b2b6a52-4a9e-4c1b-9a61-0a4f8e9d3c21",
        "GuestRoleArn": "arn:aws:iam::123456789012:role/RUM-Monitor-guest",
        "AllowCookies": True, "EnableXRay": False, "SessionSampleRate": 0.5,
        "Telemetries": ["errors", "performance", "http"],
        "ExcludedPages": ["https://example.com/private"], "FavoritePages": ["/checkout"]},
    "CwLogEnabled": True,
    "CustomEvents": {"Status": "ENABLED"},
    "DeobfuscationConfiguration": {"JavaScriptSourceMaps": {"Status": "ENABLED",
                                                            "S3Uri": "s3://shop-maps/web"}},
}
"""Every setting CreateAppMonitor takes, so that GetAppMonitor answers with all of them."""


def _events(monitor_id: str, **changes: Any) -> Members:
    return {"Id": monitor_id, **batch(monitor_id, **changes)}


def _two_monitors(world: World) -> Members:
    world.monitor("a")
    world.monitor("b")
    return {"MaxResults": 100}


def _put_policy(world: World) -> Members:
    name = world.monitor().name
    return {"Name": name, "PolicyDocument": allow_all_policy(name)}


def _revision(world: World) -> Members:
    monitor = world.open_monitor()
    revision = world.rum.get_resource_policy(Name=monitor.name)["PolicyRevisionId"]
    return {"Name": monitor.name, "PolicyRevisionId": revision}


def _batch_get(world: World) -> Members:
    monitor = world.destination()
    world.definitions(monitor, extended("JsErrorCount"), CUSTOM)
    return {"AppMonitorName": monitor.name, **CW, "MaxResults": 1}


def _batch_delete(world: World) -> Members:
    monitor = world.destination()
    ids = world.definitions(monitor, extended("JsErrorCount"))
    return {"AppMonitorName": monitor.name, **CW, "MetricDefinitionIds": [*ids, "gone"]}


def _update_definition(world: World) -> Members:
    monitor = world.destination()
    [definition] = world.definitions(monitor, CUSTOM)
    return {"AppMonitorName": monitor.name, **CW, "MetricDefinitionId": definition,
            "MetricDefinition": {**CUSTOM, "Namespace": "Other"}}


def _app_monitor_data(world: World) -> Members:
    monitor = world.open_monitor()
    world.rum.put_rum_events(**_events(monitor.id, events=3))
    return {"Name": monitor.name, "MaxResults": 2,
            "TimeRange": {"After": 1_794_999_999_000, "Before": 1_795_000_100_000}}


SCENARIOS: dict[str, Case] = {
    "CreateAppMonitor": Case(lambda w: {"Name": w.name("new"), "Domain": "example.com",
                                        "Tags": {"stage": "test"},
                                        "CustomEvents": {"Status": "ENABLED"}}),
    "GetAppMonitor": Case(lambda w: {"Name": w.monitor("rich", **RICH).name}),
    "UpdateAppMonitor": Case(lambda w: {
        "Name": w.monitor().name, "Domain": "example.net", "CwLogEnabled": True,
        "AppMonitorConfiguration": {"SessionSampleRate": 1.0}}),
    "DeleteAppMonitor": Case(lambda w: {"Name": w.monitor().name}),
    "ListAppMonitors": Case(_two_monitors),
    "TagResource": Case(lambda w: {"ResourceArn": w.monitor().arn, "Tags": {"owner": "web"}}),
    "UntagResource": Case(lambda w: {"ResourceArn": w.monitor(Tags={"a": "1", "b": "2"}).arn,
                                     "TagKeys": ["a", "absent"]}),
    "ListTagsForResource": Case(lambda w: {"ResourceArn": w.monitor(Tags={"a": "1"}).arn}),
    "PutResourcePolicy": Case(_put_policy),
    "GetResourcePolicy": Case(lambda w: {"Name": w.open_monitor().name}),
    "DeleteResourcePolicy": Case(_revision),
    "PutRumEvents": Case(lambda w: _events(w.open_monitor().id, alias="v1")),
    "PutRumMetricsDestination": Case(lambda w: {"AppMonitorName": w.monitor().name, **EV,
                                                "IamRoleArn": ROLE}),
    "ListRumMetricsDestinations": Case(lambda w: {
        "AppMonitorName": w.destination(**EV, IamRoleArn=ROLE).name}),
    "DeleteRumMetricsDestination": Case(lambda w: {"AppMonitorName": w.destination().name,
                                                   **CW}),
    "BatchCreateRumMetricDefinitions": Case(lambda w: {
        "AppMonitorName": w.destination().name, **CW,
        "MetricDefinitions": [extended("JsErrorCount"), CUSTOM, {"Name": "Nope"},
                              extended("JsErrorCount")]}),
    "BatchGetRumMetricDefinitions": Case(_batch_get),
    "BatchDeleteRumMetricDefinitions": Case(_batch_delete),
    "UpdateRumMetricDefinition": Case(_update_definition),
    "GetAppMonitorData": Case(_app_monitor_data),
}


# -- modeled errors --------------------------------------------------------------------------

def _throttled(world: World) -> Members:
    """TIGHT refills its one token in 100 s: a first call takes it, if it is there."""
    members = _events(str(uuid.uuid4()))
    with contextlib.suppress(ClientError):
        world.loose.put_rum_events(**members)
    return members


FULL = [by_country([f"C{n:03d}-{k}" for k in range(10)]) for n in range(200)]
"""200 definitions of 10 dimension values each: the 2,000 a destination holds."""


def _full(world: World) -> tuple[Monitor, list[str]]:
    monitor = world.destination()
    return monitor, world.definitions(monitor, *FULL)


def _oversized_quota_update(world: World) -> Members:
    monitor, ids = _full(world)
    return {"AppMonitorName": monitor.name, **CW, "MetricDefinitionId": ids[0],
            "MetricDefinition": by_country([f"Y{k}" for k in range(11)])}


def _repeating_update(world: World) -> Members:
    monitor = world.destination()
    first, _ = world.definitions(monitor, extended("JsErrorCount"),
                                 extended("PageViewCount"))
    return {"AppMonitorName": monitor.name, **CW, "MetricDefinitionId": first,
            "MetricDefinition": extended("PageViewCount")}


def _second_monitor(world: World) -> Members:
    world.monitor("first")
    return {"Name": world.name("second"), "Domain": "example.com"}


def _denied(world: World) -> Members:
    """Sample (c) of the user guide allows alias v1 only; the call says v2."""
    monitor = world.monitor()
    world.rum.put_resource_policy(Name=monitor.name,
                                  PolicyDocument=alias_policy(monitor.name, ("v1",)))
    return _events(monitor.id, alias="v2")


def _stale(world: World, **members: Any) -> Members:
    return {"Name": world.open_monitor().name, "PolicyRevisionId": "stale", **members}


def _oversized_policy(world: World) -> Members:
    name = world.monitor().name
    aliases = tuple(f"alias-{n:04d}" for n in range(400))
    return {"Name": name, "PolicyDocument": alias_policy(name, aliases)}


BAD_NAME = "bad name"
"""Not an AppMonitorName: its pattern allows no space."""
_READS: dict[str, Members] = {
    "GetAppMonitor": {"Name": FAULTY},
    "ListAppMonitors": {},
    "ListTagsForResource": {"ResourceArn": arn(FAULTY)},
    "GetResourcePolicy": {"Name": FAULTY},
    "ListRumMetricsDestinations": {"AppMonitorName": FAULTY},
    "BatchGetRumMetricDefinitions": {"AppMonitorName": FAULTY, **CW},
    "GetAppMonitorData": {"Name": FAULTY, "TimeRange": {"After": 0}},
}
"""The operations that only read: no store fault reaches them."""
HTTP_EXCLUDED: dict[tuple[str, str], str] = {
    (operation, "InternalServerException"):
        "it only reads, and a live server has no fault to inject short of a hook in the gate; "
        "the ASGI app answers control-plane calls through Front.answer, the function the mock "
        "calls, so the in-process case covers the answer's wire form"
    for operation in _READS}

CASES: dict[tuple[str, str], Case] = {
    # ValidationException: a member the model or the API Reference's rules refuse.
    **{(operation, "ValidationException"): Case(setup) for operation, setup in {
        "BatchCreateRumMetricDefinitions": lambda w: {
            "AppMonitorName": BAD_NAME, **CW, "MetricDefinitions": [extended("JsErrorCount")]},
        "BatchDeleteRumMetricDefinitions": lambda w: {
            "AppMonitorName": BAD_NAME, **CW, "MetricDefinitionIds": ["x"]},
        "BatchGetRumMetricDefinitions": lambda w: {"AppMonitorName": w.destination().name,
                                                   **CW, "MaxResults": 0},
        "CreateAppMonitor": lambda w: {"Name": BAD_NAME, "Domain": "example.com"},
        "DeleteAppMonitor": lambda w: {"Name": "x" * 256},
        "DeleteResourcePolicy": lambda w: {"Name": BAD_NAME},
        "DeleteRumMetricsDestination": lambda w: {"AppMonitorName": w.monitor().name,
                                                  "Destination": "Elsewhere"},
        "GetAppMonitor": lambda w: {"Name": ".hidden"},
        "GetAppMonitorData": lambda w: {"Name": BAD_NAME, "TimeRange": {"After": 0}},
        "GetResourcePolicy": lambda w: {"Name": BAD_NAME},
        "ListAppMonitors": lambda w: {"MaxResults": 101},
        "ListRumMetricsDestinations": lambda w: {"AppMonitorName": w.monitor().name,
                                                 "NextToken": "not a token!"},
        "ListTagsForResource": lambda w: {"ResourceArn": "shop"},
        "PutResourcePolicy": lambda w: {"Name": BAD_NAME, "PolicyDocument": "{}"},
        "PutRumEvents": lambda w: {**_events(str(uuid.uuid4())), "Id": "not-a-uuid"},
        "PutRumMetricsDestination": lambda w: {"AppMonitorName": w.monitor().name, **CW,
                                               "IamRoleArn": ROLE},
        "TagResource": lambda w: {"ResourceArn": w.monitor().arn, "Tags": {"aws:stage": "1"}},
        "UntagResource": lambda w: {"ResourceArn": w.monitor().arn, "TagKeys": ["a b"]},
        "UpdateAppMonitor": lambda w: {"Name": w.monitor().name, "Domain": "example.com",
                                       "DomainList": ["example.com"]},
        "UpdateRumMetricDefinition": lambda w: {
            "AppMonitorName": w.destination().name, **CW, "MetricDefinitionId": "x",
            "MetricDefinition": {"Name": "Nope"}},
    }.items()},
    # ResourceNotFoundException: an app monitor, destination or definition that is not there.
    **{(operation, "ResourceNotFoundException"): Case(setup) for operation, setup in {
        "BatchCreateRumMetricDefinitions": lambda w: {
            "AppMonitorName": w.monitor().name, **CW,
            "MetricDefinitions": [extended("JsErrorCount")]},
        "BatchDeleteRumMetricDefinitions": lambda w: {
            "AppMonitorName": w.missing(), **CW, "MetricDefinitionIds": ["x"]},
        "BatchGetRumMetricDefinitions": lambda w: {"AppMonitorName": w.destination().name,
                                                   **EV},
        "DeleteAppMonitor": lambda w: {"Name": w.missing()},
        "DeleteResourcePolicy": lambda w: {"Name": w.missing()},
        "DeleteRumMetricsDestination": lambda w: {"AppMonitorName": w.monitor().name, **CW},
        "GetAppMonitor": lambda w: {"Name": w.missing()},
        "GetAppMonitorData": lambda w: {"Name": w.missing(), "TimeRange": {"After": 0}},
        "GetResourcePolicy": lambda w: {"Name": w.missing()},
        "ListRumMetricsDestinations": lambda w: {"AppMonitorName": w.missing()},
        "ListTagsForResource": lambda w: {"ResourceArn": arn(w.missing())},
        "PutResourcePolicy": lambda w: {"Name": w.missing(),
                                        "PolicyDocument": allow_all_policy(w.missing())},
        "PutRumEvents": lambda w: _events(str(uuid.uuid4())),
        "PutRumMetricsDestination": lambda w: {"AppMonitorName": w.missing(), **CW},
        "TagResource": lambda w: {"ResourceArn": arn(w.missing()), "Tags": {"a": "1"}},
        "UntagResource": lambda w: {"ResourceArn": arn(w.missing()), "TagKeys": ["a"]},
        "UpdateAppMonitor": lambda w: {"Name": w.missing(), "Domain": "example.com"},
        "UpdateRumMetricDefinition": lambda w: {
            "AppMonitorName": w.destination().name, **CW, "MetricDefinitionId": "x",
            "MetricDefinition": extended("JsErrorCount")},
    }.items()},
    ("CreateAppMonitor", "ConflictException"): Case(lambda w: {
        "Name": w.monitor().name, "Domain": "example.com"}),
    ("UpdateRumMetricDefinition", "ConflictException"): Case(_repeating_update),
    ("CreateAppMonitor", "ServiceQuotaExceededException"): Case(_second_monitor,
                                                                world="tight"),
    ("BatchCreateRumMetricDefinitions", "ServiceQuotaExceededException"): Case(lambda w: {
        "AppMonitorName": _full(w)[0].name, **CW,
        "MetricDefinitions": [extended("JsErrorCount")]}),
    ("UpdateRumMetricDefinition", "ServiceQuotaExceededException"): Case(
        _oversized_quota_update),
    ("PutResourcePolicy", "MalformedPolicyDocumentException"): Case(lambda w: {
        "Name": w.monitor().name, "PolicyDocument": "{not json"}),
    ("PutResourcePolicy", "PolicySizeLimitExceededException"): Case(_oversized_policy),
    ("PutResourcePolicy", "InvalidPolicyRevisionIdException"): Case(lambda w: _stale(
        w, PolicyDocument=allow_all_policy(w.prefix))),
    ("DeleteResourcePolicy", "InvalidPolicyRevisionIdException"): Case(_stale),
    ("GetResourcePolicy", "PolicyNotFoundException"): Case(lambda w: {
        "Name": w.monitor().name}),
    ("DeleteResourcePolicy", "PolicyNotFoundException"): Case(lambda w: {
        "Name": w.monitor().name}),
    ("PutRumEvents", "AccessDeniedException"): Case(_denied),
    ("PutRumEvents", "ThrottlingException"): Case(_throttled, world="tight"),
    # InternalServerException: a write the seeded store refuses, or a read's handler raising.
    **{(operation, "InternalServerException"): Case(setup, world="faulty")
       for operation, setup in {
        "CreateAppMonitor": lambda w: {"Name": f"{FAULTY}-{w.prefix}", "Domain": "example.com"},
        "UpdateAppMonitor": lambda w: {"Name": FAULTY, "Domain": "example.net"},
        "DeleteAppMonitor": lambda w: {"Name": FAULTY},
        "TagResource": lambda w: {"ResourceArn": arn(FAULTY), "Tags": {"a": "1"}},
        "UntagResource": lambda w: {"ResourceArn": arn(FAULTY), "TagKeys": ["stage"]},
        "PutResourcePolicy": lambda w: {"Name": FAULTY,
                                        "PolicyDocument": allow_all_policy(FAULTY)},
        "DeleteResourcePolicy": lambda w: {"Name": FAULTY},
        "PutRumEvents": lambda w: _events(FAULTY_ID),
        "PutRumMetricsDestination": lambda w: {"AppMonitorName": FAULTY, **CW},
        "DeleteRumMetricsDestination": lambda w: {"AppMonitorName": FAULTY, **CW},
        "BatchCreateRumMetricDefinitions": lambda w: {
            "AppMonitorName": FAULTY, **CW, "MetricDefinitions": [extended("PageViewCount")]},
        "BatchDeleteRumMetricDefinitions": lambda w: {
            "AppMonitorName": FAULTY, **CW, "MetricDefinitionIds": [FAULTY_DEFINITION]},
        "UpdateRumMetricDefinition": lambda w: {
            "AppMonitorName": FAULTY, **CW, "MetricDefinitionId": FAULTY_DEFINITION,
            "MetricDefinition": extended("PageViewCount")},
    }.items()},
    **{(operation, "InternalServerException"): Case(lambda w, members=members: members,
                                                    world="broken")
       for operation, members in _READS.items()},
}

_UNAUTHORIZED = ("the control plane is not authorized: it is the local operator's interface "
                 "(docs/semantics.md, 'The control plane is not authorized')")
_UNMETERED = ("the gate's one rate quota is PutRumEvents' (throttle_rps); it emulates no "
              "control-plane rate limit")
_CREATES_NOTHING = ("the model's ConflictException is 'attempted to create a resource that "
                    "already exists', and this operation creates nothing")
NOT_PRODUCED: dict[tuple[str, str], str] = {
    **{(operation, "AccessDeniedException"): _UNAUTHORIZED for operation in (
        "BatchCreateRumMetricDefinitions", "BatchDeleteRumMetricDefinitions",
        "BatchGetRumMetricDefinitions", "CreateAppMonitor", "DeleteAppMonitor",
        "DeleteResourcePolicy", "DeleteRumMetricsDestination", "GetAppMonitor",
        "GetAppMonitorData", "GetResourcePolicy", "ListAppMonitors",
        "ListRumMetricsDestinations", "PutResourcePolicy", "PutRumMetricsDestination",
        "UpdateAppMonitor", "UpdateRumMetricDefinition")},
    **{(operation, "ThrottlingException"): _UNMETERED for operation in (
        "BatchCreateRumMetricDefinitions", "BatchDeleteRumMetricDefinitions",
        "CreateAppMonitor", "DeleteAppMonitor", "DeleteResourcePolicy",
        "DeleteRumMetricsDestination", "GetAppMonitor", "GetAppMonitorData",
        "GetResourcePolicy", "ListAppMonitors", "PutResourcePolicy",
        "PutRumMetricsDestination", "UpdateAppMonitor", "UpdateRumMetricDefinition")},
    **{(operation, "ConflictException"): _CREATES_NOTHING for operation in (
        "DeleteAppMonitor", "DeleteResourcePolicy", "DeleteRumMetricsDestination",
        "GetResourcePolicy", "UpdateAppMonitor")},
    ("PutResourcePolicy", "ConflictException"):
        "a put replaces the monitor's policy (a stale PolicyRevisionId is "
        "InvalidPolicyRevisionIdException): nothing is created that could already exist",
    ("PutRumMetricsDestination", "ConflictException"):
        "putting a destination that exists gives it the new IamRoleArn (API Reference): "
        "not a conflict",
    ("BatchCreateRumMetricDefinitions", "ConflictException"):
        "a definition the destination already has is an entry of the answer's Errors "
        "(ErrorCode ConflictException) and the call succeeds (docs/semantics.md, 'Per entry "
        "or whole call')",
    ("BatchDeleteRumMetricDefinitions", "ConflictException"):
        "it creates nothing; an id it cannot delete is an entry of the answer's Errors",
    ("CreateAppMonitor", "ResourceNotFoundException"):
        "it needs no resource to exist: the gate looks up no identity pool, role, log group "
        "or bucket its members name",
}
UNSENT: dict[tuple[str, str], str] = {
    ("ThrottlingException", "serviceCode"): "RUM documents no Service Quotas code for its "
                                            "PutRumEvents quota; the gate invents none",
    ("ThrottlingException", "quotaCode"): "as serviceCode",
}
"""Modeled error members the gate leaves out; it sends every other one."""


# -- checking answers ------------------------------------------------------------------------

def _call(world: World, operation: str, members: Members, *, loose: bool = False) -> Members:
    client = world.loose if loose else world.rum
    answer: Members = getattr(client, xform_name(operation))(**members)
    return answer


def _refused(world: World, operation: str, members: Members) -> ClientError:
    with pytest.raises(ClientError) as caught:
        _call(world, operation, members, loose=True)
    return caught.value


def _assert_output(operation: str, answer: Members, last: _Last) -> None:
    model = MODEL.operation_model(operation)
    assert last.status == model.http["responseCode"]
    assert _IDS.fullmatch(answer["ResponseMetadata"]["RequestId"])
    parsed = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    sent = json.loads(last.body)
    assert api.shape_problems(model.output_shape, parsed) == []
    assert _dropped(sent, parsed) == [], "members the output shape does not define"
    assert parsed == sent


def _dropped(sent: Any, parsed: Any, where: str = "") -> list[str]:
    """Where `sent` has members botocore did not parse: it drops what the shape lacks."""
    if isinstance(sent, dict) and isinstance(parsed, dict):
        return [path for k, v in sent.items() for path in (
            _dropped(v, parsed[k], f"{where}{k}.") if k in parsed else [f"{where}{k}"])]
    if isinstance(sent, list) and isinstance(parsed, list):
        return [path for n, (v, w) in enumerate(zip(sent, parsed, strict=False))
                for path in _dropped(v, w, f"{where}{n}.")]
    return []


def _assert_error(error: str, caught: ClientError, last: _Last) -> None:
    shape = MODEL.shape_for(error)
    assert caught.response["Error"]["Code"] == error
    assert last.status == shape.metadata["error"]["httpStatusCode"]
    assert _IDS.fullmatch(caught.response["ResponseMetadata"]["RequestId"])
    assert caught.response["ResponseMetadata"]["RetryAttempts"] == 0, "a client retried"
    members = {k: v for k, v in caught.response.items() if k not in ("Error", "ResponseMetadata")}
    assert api.shape_problems(shape, members) == []
    assert set(members) == set(shape.members) - {m for e, m in UNSENT if e == error}
    in_body = {name for name, member in shape.members.items() if not member.serialization}
    assert json.loads(last.body) == {k: v for k, v in members.items() if k in in_body}


def _assert_faulty_as_seeded(world: World) -> None:
    """A failed write leaves nothing behind: `faulty` reads back as _seed_faults wrote it."""
    rum = world.rum
    monitor = rum.get_app_monitor(Name=FAULTY)["AppMonitor"]
    assert (monitor["Domain"], monitor["Tags"], monitor["LastModified"]) == (
        "example.com", {"stage": "1"}, "1970-01-01T00:00:01")
    assert rum.get_resource_policy(Name=FAULTY)["PolicyDocument"] == UNUSABLE_POLICY
    assert rum.list_rum_metrics_destinations(AppMonitorName=FAULTY)["Destinations"] == [CW]
    assert [d["MetricDefinitionId"] for d in rum.batch_get_rum_metric_definitions(
        AppMonitorName=FAULTY, **CW)["MetricDefinitions"]] == [FAULTY_DEFINITION]
    assert [s["Name"] for s in rum.list_app_monitors()["AppMonitorSummaries"]
            if s["Name"].startswith(FAULTY)] == [FAULTY]


_IDS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIMES = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}(:\d{2}:\d{2})?")
_LOG_GROUP = re.compile(r"(/aws/vendedlogs/RUMService_.+)[0-9a-f]{8}")
"""GetAppMonitor's CwLogGroup: the monitor's name, then the first 8 characters of its id."""
_OPAQUE = {"NextToken": "<token>", "retryAfterSeconds": "<seconds>"}
"""Members whose value is the gate's own business: a token encodes the last name returned
(with the test's prefix); Retry-After counts down from the one call to the next."""


def _normalised(value: Any, prefix: str) -> Any:
    if isinstance(value, dict):
        if "AppMonitorSummaries" in value:  # the test's own: the HTTP server also has `faulty`
            value = {**value, "AppMonitorSummaries": [
                s for s in value["AppMonitorSummaries"] if s["Name"].startswith(prefix)]}
        return {k: _OPAQUE[k] if k in _OPAQUE else _normalised(v, prefix)
                for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normalised(v, prefix) for v in value]
    if isinstance(value, str):
        value = _LOG_GROUP.sub(r"\1<id>", _IDS.sub("<id>", value))
        return _TIMES.sub("<time>", value.replace(prefix, "<prefix>"))
    return value


def _answered(transport: Transport, operation: str, case: Case) -> tuple[int, Any]:
    """The answer to the case's call, held to the model (the output shape, or one of the
    operation's modeled errors with its members; a 5xx only where a fault is injected) and
    normalised, as both transports must agree on it."""
    model = MODEL.operation_model(operation)
    unexpected = {"InternalServerException"} if case.world == "main" else set()
    with transport.world(case.world, operation) as world:
        members = case.setup(world)
        try:
            answer = _call(world, operation, members, loose=True)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            assert code in {e.name for e in model.error_shapes} - unexpected
            _assert_error(code, err, world.last)
            answer = err.response
        else:
            _assert_output(operation, answer, world.last)
            if operation == "CreateAppMonitor":
                world.names.append(members["Name"])  # deleted when the world ends
        return world.last.status, _normalised(answer, world.prefix)


# -- the tests -------------------------------------------------------------------------------

def test_every_operation_of_the_model_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(OPERATION_NAMES)


def test_the_gate_serves_every_operation_of_the_model() -> None:
    assert set(OPERATIONS) | {"PutRumEvents"} == set(OPERATION_NAMES)


def test_every_modeled_error_is_produced_or_its_absence_explained() -> None:
    modeled = {(operation, error.name) for operation in OPERATION_NAMES
               for error in MODEL.operation_model(operation).error_shapes}
    assert not set(CASES) & set(NOT_PRODUCED)
    assert set(CASES) | set(NOT_PRODUCED) == modeled
    assert {(error, member) for error, member in UNSENT
            if member not in MODEL.shape_for(error).members} == set()


def test_the_checker_knows_every_type_the_answers_use() -> None:
    """api.shape_problems passes values of types it does not know: none may be in an answer."""
    def types(shape: Any, seen: set[str]) -> set[str]:
        if shape is None or shape.name in seen:
            return set()
        seen.add(shape.name)
        found = {shape.type_name}
        children = {"structure": lambda: shape.members.values(),
                    "list": lambda: [shape.member],
                    "map": lambda: [shape.key, shape.value]}.get(shape.type_name, list)()
        for child in children:
            found |= types(child, seen)
        return found

    seen: set[str] = set()
    used = set().union(*(types(MODEL.operation_model(op).output_shape, seen)
                         for op in OPERATION_NAMES),
                       *(types(error, seen) for error in MODEL.error_shapes))
    assert used <= api.CHECKED_TYPES


def test_the_checker_finds_what_the_output_shape_forbids() -> None:
    """The checks this test makes can fail: a GetAppMonitor answer broken in each way."""
    shape = MODEL.operation_model("GetAppMonitor").output_shape
    good = {"AppMonitor": {"Name": "shop", "Id": FAULTY_ID, "Created": "2026-11-18T00:00:00",
                           "State": "ACTIVE", "Tags": {"stage": "prod"},
                           "DomainList": ["example.com"]}}
    assert api.shape_problems(shape, good) == []
    broken = {"AppMonitor": {"Name": "shop shop", "Id": 7, "Created": "2026-11-18T00:00:00Z",
                             "State": "RUNNING", "Tags": {"aws:stage": "prod"},
                             "DomainList": [], "DeobfuscationConfiguration": {
                                 "JavaScriptSourceMaps": {}}}}
    found = {(".".join(map(str, where)), constraint.split(":")[0])
             for where, _, constraint in api.shape_problems(shape, broken)}
    assert found == {
        ("AppMonitor.Name", "Member must satisfy regular expression pattern"),
        ("AppMonitor.Id", "Member must be a string"),
        ("AppMonitor.Created", "Member must have length less than or equal to 19"),
        ("AppMonitor.State", "Member must satisfy enum value set"),
        ("AppMonitor.Tags.aws:stage.[key]", "Member must satisfy regular expression pattern"),
        ("AppMonitor.DomainList", "Member must have length greater than or equal to 1"),
        ("AppMonitor.DeobfuscationConfiguration.JavaScriptSourceMaps.Status",
         "Member must not be null")}


@pytest.mark.parametrize("transport", TRANSPORTS, indirect=True)
@pytest.mark.parametrize("operation", OPERATION_NAMES)
def test_each_operation_answers_with_its_output_shape(transport: Transport,
                                                      operation: str) -> None:
    with transport.world("main", operation) as world:
        answer = _call(world, operation, SCENARIOS[operation].setup(world))
        _assert_output(operation, answer, world.last)


@pytest.mark.parametrize(("operation", "error", "transport"), [
    (operation, error, transport) for (operation, error), case in sorted(CASES.items())
    for transport in TRANSPORTS if transport == "in_process" or (operation, error)
    not in HTTP_EXCLUDED],
    indirect=["transport"])
def test_each_modeled_error_comes_with_its_members(operation: str, error: str,
                                                   transport: Transport) -> None:
    case = CASES[operation, error]
    with transport.world(case.world, operation) as world:
        caught = _refused(world, operation, case.setup(world))
        _assert_error(error, caught, world.last)
        if case.world == "faulty":
            _assert_faulty_as_seeded(world)


@pytest.mark.parametrize(("operation", "error"), [
    *((operation, None) for operation in OPERATION_NAMES),
    *(pair for pair in sorted(CASES) if pair not in HTTP_EXCLUDED)])
def test_both_transports_answer_alike(in_process: InProcess, http: OverHttp, operation: str,
                                      error: str | None) -> None:
    case = SCENARIOS[operation] if error is None else CASES[operation, error]
    assert _answered(in_process, operation, case) == _answered(http, operation, case)


def _typed(shape: Any, *, label: bool = False) -> st.SearchStrategy[Any]:
    """Values of the shape's type with its constraints ignored: what boto3 sends with
    parameter validation off (or another SDK whose checks differ)."""
    kind = shape.type_name
    if kind == "structure":
        members = {name: _typed(member, label=member.serialization.get("location") == "uri")
                   for name, member in shape.members.items()}
        required = set(shape.required_members)
        return st.fixed_dictionaries({k: v for k, v in members.items() if k in required},
                                     optional={k: v for k, v in members.items()
                                               if k not in required})
    if kind == "list":
        return st.lists(_typed(shape.member), max_size=3)
    if kind == "map":
        return st.dictionaries(_typed(shape.key), _typed(shape.value), max_size=3)
    if kind == "string":
        text = st.text(min_size=int(label), max_size=20) | st.text("a.-", min_size=250,
                                                                   max_size=260)
        return st.sampled_from(shape.enum) | text if shape.enum else text
    return _SCALARS[kind]


_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "integer": st.integers(-2, 5000), "long": st.integers(-2, 5000),
    "double": st.floats(-1, 2, allow_nan=False), "boolean": st.booleans(),
    "timestamp": st.integers(0, 2_000_000_000)}


@pytest.mark.parametrize("operation", OPERATION_NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_any_typed_members_are_answered_alike_and_as_modeled(
        in_process: InProcess, http: OverHttp, operation: str, data: st.DataObject) -> None:
    """Whatever members of the right types a client sends, both transports answer alike, and
    as the model says."""
    members = data.draw(_typed(MODEL.operation_model(operation).input_shape), label="members")
    case = Case(lambda world: members)
    assert _answered(http, operation, case) == _answered(in_process, operation, case)
