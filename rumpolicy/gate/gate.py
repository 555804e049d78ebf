"""The in-process gate: the RUM API's operations, and PutRumEvents decided and stored.

Every operation of botocore's RUM model is a method taking the members boto3 takes
(`Name=`, `PolicyDocument=`, ...) and returning the response boto3 would (a dict), or raising
`GateError` with the AWS error; `call(operation, members)` is the same by name. Members are
checked against the model first (`api.py`); the operations themselves live in `monitors.py`,
`policies.py`, `metrics.py` and `data.py`.

PutRumEvents never raises: `put_rum_events` returns a `PutResult` whose status and error are what
the caller is answered, and any unexpected failure inside becomes InternalServerException with
nothing stored (the gate fails closed). Order of its checks (docs/semantics.md, "The gate"): Id
format (400), quota (429), body decoding and JSON object with a well-formed Alias (400), monitor
exists (404), authorization (403), full validation (400), the monitor's ingestion rules (events
it would not ingest are dropped, never refused: `ingest_rules.py`), store, 200.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rumpolicy.engine import Decision, Request, compile_policy
from rumpolicy.gate import api, data, ingest_rules, metrics, monitors, policies
from rumpolicy.gate.config import GateConfig
from rumpolicy.gate.context import Origin, build_request
from rumpolicy.gate.decision_log import DecisionLog, entry
from rumpolicy.gate.errors import GateError, internal, monitor_not_found, validation
from rumpolicy.gate.models import UUID_PATTERN, PutRumEventsBody
from rumpolicy.gate.registry import AppMonitor, Compiler, Evaluator, Registry
from rumpolicy.gate.storage import MonitorGone, Storage, StoredBatch
from rumpolicy.gate.throttle import TokenBucket, retry_after_header
from rumpolicy.gate.validation import (
    decode_body,
    member_error,
    parse_object,
    read_alias,
    validate_put_body,
)

__all__ = ["AppMonitor", "Compiler", "Evaluator", "Gate", "PutResult", "new_request_id"]

_log = logging.getLogger("rumpolicy.gate")

Handler = Callable[[Registry, Mapping[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {
    "CreateAppMonitor": monitors.create_app_monitor,
    "GetAppMonitor": monitors.get_app_monitor,
    "UpdateAppMonitor": monitors.update_app_monitor,
    "DeleteAppMonitor": monitors.delete_app_monitor,
    "ListAppMonitors": monitors.list_app_monitors,
    "TagResource": monitors.tag_resource,
    "UntagResource": monitors.untag_resource,
    "ListTagsForResource": monitors.list_tags_for_resource,
    "PutResourcePolicy": policies.put_resource_policy,
    "GetResourcePolicy": policies.get_resource_policy,
    "DeleteResourcePolicy": policies.delete_resource_policy,
    "PutRumMetricsDestination": metrics.put_rum_metrics_destination,
    "ListRumMetricsDestinations": metrics.list_rum_metrics_destinations,
    "DeleteRumMetricsDestination": metrics.delete_rum_metrics_destination,
    "BatchCreateRumMetricDefinitions": metrics.batch_create_rum_metric_definitions,
    "BatchGetRumMetricDefinitions": metrics.batch_get_rum_metric_definitions,
    "BatchDeleteRumMetricDefinitions": metrics.batch_delete_rum_metric_definitions,
    "UpdateRumMetricDefinition": metrics.update_rum_metric_definition,
    "GetAppMonitorData": data.get_app_monitor_data,
}
"""Every control-plane operation by its model name; PutRumEvents is the gate's own."""


@dataclass(frozen=True, slots=True)
class PutResult:
    """The outcome of one PutRumEvents call."""

    request_id: str
    error: GateError | None = None
    decision: Decision | None = None
    """None when the call was refused before the decision (400, 404, 429)."""
    stored: bool = False
    """True when this call committed the batch; False for refusals and for a BatchId the
    monitor already had (answered 200, stored once)."""

    @property
    def status(self) -> int:
        return 200 if self.error is None else self.error.status

    @property
    def accepted(self) -> bool:
        return self.error is None

    def response(self) -> dict[str, Any]:
        return {} if self.error is None else self.error.body()


@dataclass(slots=True)
class _Attempt:
    """What a PutRumEvents call got to, for the decision log."""

    monitor: AppMonitor | None = None
    request: Request | None = None
    decision: Decision | None = None
    stored: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Gate:
    """The gate over a data directory (None: in memory). Thread-safe."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None,
                 config: GateConfig | None = None, *, clock: Callable[[], float] = time.time,
                 storage: Storage | None = None, compiler: Compiler = compile_policy) -> None:
        self.config = config or GateConfig()
        self._clock = clock
        self._storage = storage if storage is not None else Storage(
            data_dir, synchronous=self.config.synchronous)
        self._offload_commits = self.config.synchronous == "full"
        self._registry = Registry(self.config, self._storage, clock, compiler)
        rate = self.config.throttle_rps
        self._bucket = None if rate is None else TokenBucket(rate, clock=clock)
        path = self.config.decision_log
        self._log = None if path is None else DecisionLog(path)

    def now(self) -> float:
        """The gate's clock (epoch seconds): injectable, for aws:CurrentTime in tests."""
        return self._clock()

    @property
    def storage(self) -> Storage:
        return self._storage

    def arn(self, name: str) -> str:
        return self._registry.arn(name)

    def monitor(self, name: str) -> AppMonitor:
        """The app monitor called `name`, or ResourceNotFoundException."""
        return self._registry.monitor(name)

    def monitors(self) -> list[AppMonitor]:
        return [self._registry.monitor(name) for name in self._registry.names()]

    # -- the control plane ------------------------------------------------------------------

    def call(self, operation: str, members: Mapping[str, Any]) -> dict[str, Any]:
        """Run a control-plane operation by its model name with boto3's members."""
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise GateError("UnknownOperationException",
                            f"{operation} is not a control-plane operation of the RUM API")
        return handler(self._registry, api.checked(api.operations()[operation], members))

    def create_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        return self.call("CreateAppMonitor", members)

    def get_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        return self.call("GetAppMonitor", members)

    def update_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        return self.call("UpdateAppMonitor", members)

    def delete_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        return self.call("DeleteAppMonitor", members)

    def list_app_monitors(self, /, **members: Any) -> dict[str, Any]:
        return self.call("ListAppMonitors", members)

    def tag_resource(self, /, **members: Any) -> dict[str, Any]:
        return self.call("TagResource", members)

    def untag_resource(self, /, **members: Any) -> dict[str, Any]:
        return self.call("UntagResource", members)

    def list_tags_for_resource(self, /, **members: Any) -> dict[str, Any]:
        return self.call("ListTagsForResource", members)

    def put_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        return self.call("PutResourcePolicy", members)

    def get_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        return self.call("GetResourcePolicy", members)

    def delete_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        return self.call("DeleteResourcePolicy", members)

    def put_rum_metrics_destination(self, /, **members: Any) -> dict[str, Any]:
        return self.call("PutRumMetricsDestination", members)

    def list_rum_metrics_destinations(self, /, **members: Any) -> dict[str, Any]:
        return self.call("ListRumMetricsDestinations", members)

    def delete_rum_metrics_destination(self, /, **members: Any) -> dict[str, Any]:
        return self.call("DeleteRumMetricsDestination", members)

    def batch_create_rum_metric_definitions(self, /, **members: Any) -> dict[str, Any]:
        return self.call("BatchCreateRumMetricDefinitions", members)

    def batch_get_rum_metric_definitions(self, /, **members: Any) -> dict[str, Any]:
        return self.call("BatchGetRumMetricDefinitions", members)

    def batch_delete_rum_metric_definitions(self, /, **members: Any) -> dict[str, Any]:
        return self.call("BatchDeleteRumMetricDefinitions", members)

    def update_rum_metric_definition(self, /, **members: Any) -> dict[str, Any]:
        return self.call("UpdateRumMetricDefinition", members)

    def get_app_monitor_data(self, /, **members: Any) -> dict[str, Any]:
        return self.call("GetAppMonitorData", members)

    # -- data plane -------------------------------------------------------------------------

    def put_rum_events(self, monitor_id: str, body: bytes | str | Mapping[str, Any],
                       origin: Origin | None = None, *, content_encoding: str | None = None,
                       request_id: str | None = None) -> PutResult:
        """Decide and store one PutRumEvents call; never raises. The batch is committed (on
        the calling thread, or in a group with concurrent callers) before this returns."""
        request_id = request_id or new_request_id()
        attempt = _Attempt()
        error = None
        try:
            batch = self._prepare(monitor_id, body, origin or Origin(), content_encoding,
                                  request_id, attempt)
            attempt.stored = self._storage.store_batch(batch)
        except Exception as err:
            error = _refusal(err, monitor_id, request_id)
        return self._settle(attempt, request_id, error)

    async def put_rum_events_async(self, monitor_id: str, body: bytes | str | Mapping[str, Any],
                                   origin: Origin | None = None, *,
                                   content_encoding: str | None = None,
                                   request_id: str | None = None) -> PutResult:
        """`put_rum_events` for an event loop. It decides inline, then awaits a group commit:
        with synchronous=NORMAL (a commit is a write to the WAL, tens of microseconds) the loop
        commits the batches of one turn together itself, cheaper than two thread hand-offs;
        with FULL the writer thread does, so the loop serves other calls during the fsync."""
        request_id = request_id or new_request_id()
        attempt = _Attempt()
        error = None
        try:
            batch = self._prepare(monitor_id, body, origin or Origin(), content_encoding,
                                  request_id, attempt)
            if self._offload_commits:
                attempt.stored = await asyncio.wrap_future(self._storage.submit(batch))
            else:
                attempt.stored = await self._storage.store_soon(batch)
        except Exception as err:
            error = _refusal(err, monitor_id, request_id)
        return self._settle(attempt, request_id, error)

    def _settle(self, attempt: _Attempt, request_id: str, error: GateError | None
                ) -> PutResult:
        result = PutResult(request_id, error, attempt.decision,
                           attempt.stored if error is None else False)
        self._record(attempt, result)
        return result

    def _prepare(self, monitor_id: str, body: bytes | str | Mapping[str, Any], origin: Origin,
                 content_encoding: str | None, request_id: str, attempt: _Attempt
                 ) -> StoredBatch:
        """Every check, in order, up to the batch to commit; raises GateError to refuse."""
        if not _UUID.fullmatch(monitor_id):
            api.check_member("PutRumEvents", "Id", monitor_id)  # raises, naming the constraint
        self._throttle()
        raw, fields = self._body(body, content_encoding)
        alias = read_alias(fields)
        live = self._registry.by_id.get(monitor_id)
        if live is None:
            raise monitor_not_found(monitor_id)
        attempt.monitor = live.monitor
        if live.evaluator is None:
            raise RuntimeError(f"the policy of {live.monitor.name} cannot be used: "
                               f"{live.problem}")
        now = self._clock()
        request = build_request(resource=live.monitor.arn, alias=alias, origin=origin, now=now,
                                region=self.config.region, resource_tags=live.resource_tags)
        attempt.request = request
        identity = origin.identity
        decision = live.evaluator.evaluate(
            request, identity.identity_policies if identity is not None else ())
        attempt.decision = decision
        if not decision.allowed:
            raise GateError("AccessDeniedException", decision.message)
        batch = validate_put_body(fields)
        _check_details_id(batch, monitor_id)
        # The parse of `raw` is reused; a Mapping body is the caller's, not a parse of `raw`.
        batch, raw = ingest_rules.ingested(
            live.monitor, batch, raw, None if isinstance(body, Mapping) else fields)
        return _stored(batch, raw, live.monitor.id, now, request_id, alias, origin)

    def _body(self, body: bytes | str | Mapping[str, Any], content_encoding: str | None
              ) -> tuple[bytes, Mapping[str, Any]]:
        """(the JSON text as stored, its members)."""
        if isinstance(body, Mapping):
            try:
                return json.dumps(body, allow_nan=False).encode(), body
            except (TypeError, ValueError, RecursionError) as err:
                raise validation(f"Request body is not JSON: {err}") from None
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        text = decode_body(raw, content_encoding, self.config.max_body_bytes)
        return text, parse_object(text, rules=False)  # the store applies json_rules

    def _throttle(self) -> None:
        if self._bucket is None:
            return
        wait = self._bucket.take()
        if wait > 0:
            raise GateError("ThrottlingException",
                            f"Rate exceeded: the PutRumEvents quota of this gate is "
                            f"{self.config.throttle_rps:g} requests per second.",
                            retry_after=retry_after_header(wait))

    def _record(self, attempt: _Attempt, result: PutResult) -> None:
        if self._log is None or attempt.decision is None or attempt.request is None \
                or attempt.monitor is None:
            return
        try:
            self._log.write(entry(at=self._clock(), request_id=result.request_id,
                                  monitor_id=attempt.monitor.id, monitor=attempt.monitor.name,
                                  request=attempt.request, decision=attempt.decision,
                                  status=result.status))
        except Exception:  # the answer stands; the log is for replay, not for deciding
            _log.exception("could not write the decision log line for %s", result.request_id)

    # -- reading what was stored ------------------------------------------------------------

    def events(self, name: str) -> list[StoredBatch]:
        """The batches the monitor called `name` accepted, in commit order."""
        return self._storage.batches(self.monitor(name).id)

    def close(self) -> None:
        self._registry.event_indexes.clear()
        self._storage.close()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_UUID = re.compile(UUID_PATTERN)
_seed = random.SystemRandom()
_high = f"{_seed.getrandbits(64) & ~0xF000 | 0x4000:016x}"  # the version nibble: 4
_ID_PREFIX = f"{_high[:8]}-{_high[8:12]}-{_high[12:16]}-"
_id_counter = itertools.count(_seed.getrandbits(60))  # next() on it is atomic: thread-safe


def new_request_id() -> str:
    """A version-4 UUID (`x-amzn-RequestId`): 64 bits drawn once per process, then a counter
    from a random start. Request ids need to be unique, not secret; `uuid4()` costs a system
    call and a UUID object per request, and this is on the hot path."""
    tail = f"{next(_id_counter) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000:016x}"
    return f"{_ID_PREFIX}{tail[:4]}-{tail[4:]}"  # the variant bits: 10


def _refusal(err: Exception, monitor_id: str, request_id: str) -> GateError:
    """A GateError is the answer; anything else is a bug, answered 500 (fail closed)."""
    if isinstance(err, GateError):
        return err
    if isinstance(err, MonitorGone):  # the answer a call after DeleteAppMonitor gets
        return monitor_not_found(monitor_id)
    _log.error("PutRumEvents %s failed inside the gate; answered 500", request_id,
               exc_info=err)
    return internal(request_id)


def _check_details_id(body: PutRumEventsBody, monitor_id: str) -> None:
    """AppMonitorDetails.id, when sent, must be the Id the call is addressed to: the model ties
    nothing together, but a batch stored under one monitor claiming another is a client bug an
    emulator should surface (docs/semantics.md)."""
    claimed = body["AppMonitorDetails"].get("id")
    if claimed is not None and claimed != monitor_id:
        raise member_error("AppMonitorDetails.id", claimed,
                           f"Member must be the Id in the request path ({monitor_id}) when "
                           "present")


def _stored(body: PutRumEventsBody, raw: bytes, monitor_id: str, now: float, request_id: str,
            alias: str | None, origin: Origin) -> StoredBatch:
    details = {k: v for k, v in body["AppMonitorDetails"].items() if v is not None}
    user = body["UserDetails"]
    return StoredBatch(
        monitor_id=monitor_id, batch_id=body["BatchId"], received_at=now, request_id=request_id,
        alias=alias, principal=origin.identity.principal if origin.identity else None,
        source_ip=origin.source_ip, app_monitor_details=orjson.dumps(details).decode(),
        user_id=user.get("userId"), session_id=user.get("sessionId"),
        session_metadata=body.get("SessionMetadata"), event_count=len(body["RumEvents"]),
        body=raw)


