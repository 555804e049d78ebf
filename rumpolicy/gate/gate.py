"""The in-process gate: app monitors, their resource policies, and PutRumEvents decided and stored.

Control-plane methods take the members boto3 takes (`Name=`, `PolicyDocument=`, ...) and return
the response boto3 would (a dict), raising `GateError` with the AWS error otherwise. PutRumEvents
never raises: `put_rum_events` returns a `PutResult` whose status and error are what the caller
is answered, and any unexpected failure inside becomes InternalServerException with nothing
stored (the gate fails closed).

Order of checks for PutRumEvents (docs/semantics.md, "The gate"): Id format (400), quota
(429), body decoding and JSON object with a well-formed Alias (400), monitor exists (404),
authorization (403), full validation (400), store, 200.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import orjson

from rumpolicy.engine import Decision, Request, compile_policy
from rumpolicy.gate.config import GateConfig
from rumpolicy.gate.context import Origin, build_request
from rumpolicy.gate.decision_log import DecisionLog, entry
from rumpolicy.gate.errors import GateError, internal, monitor_not_found, validation
from rumpolicy.gate.models import (
    UUID_PATTERN,
    CreateAppMonitorBody,
    DeleteParameters,
    IdParameter,
    ListParameters,
    NameParameter,
    PutResourcePolicyBody,
    PutRumEventsBody,
)
from rumpolicy.gate.storage import MonitorRecord, Storage, StoredBatch
from rumpolicy.gate.throttle import TokenBucket, retry_after_header
from rumpolicy.gate.validation import (
    decode_body,
    member_error,
    parse_object,
    read_alias,
    validate,
    validate_put_body,
)
from rumpolicy.policy import Policy, PolicyError, load_policy

_log = logging.getLogger("rumpolicy.gate")


class Evaluator(Protocol):
    """What decides: `rumpolicy.compile_policy(policy)` by default."""

    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
        ...


Compiler = Callable[[Policy | None], Evaluator]


@dataclass(frozen=True, slots=True)
class AppMonitor:
    id: str
    name: str
    arn: str
    created: float
    last_modified: float
    spec: Mapping[str, Any]
    """CreateAppMonitor's members besides Name, as given."""
    policy_document: str | None = None
    policy_revision_id: str | None = None

    def describe(self) -> dict[str, Any]:
        """GetAppMonitor's `AppMonitor` structure."""
        spec = dict(self.spec)
        described: dict[str, Any] = {
            "Name": self.name, "Id": self.id, "Created": _iso(self.created),
            "LastModified": _iso(self.last_modified), "State": "ACTIVE",
            "Platform": spec.pop("Platform", "Web"),
            "DataStorage": {"CwLog": {"CwLogEnabled": bool(spec.pop("CwLogEnabled", False))}},
        }
        described.update(spec)
        return described

    def summary(self) -> dict[str, Any]:
        """ListAppMonitors' AppMonitorSummary."""
        return {"Name": self.name, "Id": self.id, "Created": _iso(self.created),
                "LastModified": _iso(self.last_modified), "State": "ACTIVE",
                "Platform": self.spec.get("Platform", "Web")}


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


@dataclass(frozen=True, slots=True)
class _Live:
    """A monitor as the data plane sees it: its policy compiled once, when it was put."""

    monitor: AppMonitor
    evaluator: Evaluator | None
    problem: str | None = None
    """Why the stored policy could not be compiled; PutRumEvents then fails closed (500)."""


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
        self._compiler = compiler
        self._offload_commits = self.config.synchronous == "full"
        self._lock = threading.RLock()
        self._by_id: dict[str, _Live] = {}
        self._by_name: dict[str, str] = {}
        rate = self.config.throttle_rps
        self._bucket = None if rate is None else TokenBucket(rate, clock=clock)
        path = self.config.decision_log
        self._log = None if path is None else DecisionLog(path)
        for record in self._storage.monitors():
            self._install(record)

    def now(self) -> float:
        """The gate's clock (epoch seconds): injectable, for aws:CurrentTime in tests."""
        return self._clock()

    @property
    def storage(self) -> Storage:
        return self._storage

    def arn(self, name: str) -> str:
        return f"arn:aws:rum:{self.config.region}:{self.config.account}:appmonitor/{name}"

    # -- app monitors -----------------------------------------------------------------------

    def create_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        body = validate(CreateAppMonitorBody, members)
        if body.Platform in (None, "Web") and body.Domain is None and body.DomainList is None:
            raise validation("1 validation error detected: Value null at 'Domain' failed to "
                             "satisfy constraint: CreateAppMonitor requires either Domain or "
                             "DomainList")
        spec = body.model_dump(exclude={"Name"}, exclude_none=True)
        with self._lock:
            if body.Name in self._by_name:
                raise GateError("ConflictException",
                                f"An app monitor named {body.Name} already exists.",
                                resourceName=body.Name, resourceType="AppMonitor")
            limit = self.config.max_app_monitors
            if limit is not None and len(self._by_name) >= limit:
                raise GateError("ServiceQuotaExceededException",
                                f"This account already has {limit} app monitors in "
                                f"{self.config.region}, the quota; delete one, or raise the "
                                "gate's max_app_monitors setting.")
            now = self._clock()
            record = MonitorRecord(str(uuid.uuid4()), body.Name, now, now, json.dumps(spec))
            self._storage.insert_monitor(record)
            live = self._install(record)
        return {"Id": live.monitor.id}

    def get_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        return {"AppMonitor": self.monitor(self._name(members)).describe()}

    def list_app_monitors(self, /, **members: Any) -> dict[str, Any]:
        """Sorted by name; NextToken is the last name returned, base64url-encoded."""
        params = validate(ListParameters, members)
        after = "" if params.NextToken is None else _decode_token(params.NextToken)
        limit = params.MaxResults or 100
        names = sorted(n for n in self._by_name if n > after)
        page = [self.monitor(n) for n in names[:limit]]
        answer: dict[str, Any] = {"AppMonitorSummaries": [m.summary() for m in page]}
        if len(names) > limit:
            answer["NextToken"] = _encode_token(page[-1].name)
        return answer

    def delete_app_monitor(self, /, **members: Any) -> dict[str, Any]:
        """Deletes the monitor, its policy and the batches it accepted."""
        name = self._name(members)
        with self._lock:
            live = self._live(name)
            self._storage.delete_monitor(live.monitor.id)
            del self._by_id[live.monitor.id]
            del self._by_name[name]
        return {}

    def monitor(self, name: str) -> AppMonitor:
        """The app monitor called `name`, or ResourceNotFoundException."""
        return self._live(name).monitor

    def monitors(self) -> list[AppMonitor]:
        return sorted((live.monitor for live in self._by_id.values()), key=lambda m: m.name)

    # -- resource policies ------------------------------------------------------------------

    def put_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        """Loads and compiles the policy once. A PolicyRevisionId, when given, must be the
        current one; every successful put gets a new revision id (docs/semantics.md)."""
        name = self._name({"Name": members.get("Name")})
        body = validate(PutResourcePolicyBody, {k: v for k, v in members.items() if k != "Name"})
        with self._lock:
            live = self._live(name)
            policy = _load(body.PolicyDocument)
            _check_revision(live.monitor, body.PolicyRevisionId, deleting=False)
            evaluator = self._compiler(policy)
            revision = str(uuid.uuid4())
            now = self._clock()
            self._storage.set_policy(live.monitor.id, body.PolicyDocument, revision, now)
            monitor = dataclasses.replace(live.monitor, policy_document=body.PolicyDocument,
                                          policy_revision_id=revision, last_modified=now)
            self._by_id[monitor.id] = _Live(monitor, evaluator)
        return {"PolicyDocument": body.PolicyDocument, "PolicyRevisionId": revision}

    def get_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        monitor = self.monitor(self._name(members))
        if monitor.policy_document is None:
            raise _no_policy(monitor.name)
        return {"PolicyDocument": monitor.policy_document,
                "PolicyRevisionId": monitor.policy_revision_id}

    def delete_resource_policy(self, /, **members: Any) -> dict[str, Any]:
        name = self._name({"Name": members.get("Name")})
        params = validate(DeleteParameters,
                          {k: v for k, v in members.items() if k != "Name"})
        with self._lock:
            live = self._live(name)
            if live.monitor.policy_document is None:
                raise _no_policy(name)
            _check_revision(live.monitor, params.PolicyRevisionId, deleting=True)
            evaluator = self._compiler(None)
            now = self._clock()
            self._storage.set_policy(live.monitor.id, None, None, now)
            removed = live.monitor.policy_revision_id
            monitor = dataclasses.replace(live.monitor, policy_document=None,
                                          policy_revision_id=None, last_modified=now)
            self._by_id[monitor.id] = _Live(monitor, evaluator)
        return {} if removed is None else {"PolicyRevisionId": removed}

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
            error = _refusal(err, request_id)
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
            error = _refusal(err, request_id)
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
            validate(IdParameter, {"Id": monitor_id})  # raises, naming the constraint
        self._throttle()
        raw, fields = self._body(body, content_encoding)
        alias = read_alias(fields)
        live = self._by_id.get(monitor_id)
        if live is None:
            raise monitor_not_found(monitor_id)
        attempt.monitor = live.monitor
        if live.evaluator is None:
            raise RuntimeError(f"the policy of {live.monitor.name} cannot be used: "
                               f"{live.problem}")
        now = self._clock()
        request = build_request(resource=live.monitor.arn, alias=alias, origin=origin, now=now,
                                region=self.config.region)
        attempt.request = request
        identity = origin.identity
        decision = live.evaluator.evaluate(
            request, identity.identity_policies if identity is not None else ())
        attempt.decision = decision
        if not decision.allowed:
            raise GateError("AccessDeniedException", decision.message)
        batch = validate_put_body(fields)
        _check_details_id(batch, monitor_id)
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
        self._storage.close()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _install(self, record: MonitorRecord) -> _Live:
        monitor = AppMonitor(record.id, record.name, self.arn(record.name), record.created,
                             record.last_modified, MappingProxyType(json.loads(record.spec)),
                             record.policy_document, record.policy_revision_id)
        try:
            policy = None if record.policy_document is None else \
                load_policy(record.policy_document)
            live = _Live(monitor, self._compiler(policy))
        except Exception as err:  # a stored policy this engine no longer accepts
            _log.error("app monitor %s: stored policy unusable: %s", record.name, err)
            live = _Live(monitor, None, str(err))
        self._by_id[record.id] = live
        self._by_name[record.name] = record.id
        return live

    def _live(self, name: str) -> _Live:
        monitor_id = self._by_name.get(name)
        live = None if monitor_id is None else self._by_id.get(monitor_id)
        if live is None:
            raise monitor_not_found(name)
        return live

    @staticmethod
    def _name(members: Mapping[str, Any]) -> str:
        return validate(NameParameter, {"Name": members.get("Name")}).Name


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


def _refusal(err: Exception, request_id: str) -> GateError:
    """A GateError is the answer; anything else is a bug, answered 500 (fail closed)."""
    if isinstance(err, GateError):
        return err
    _log.error("PutRumEvents %s failed inside the gate; answered 500", request_id,
               exc_info=err)
    return internal(request_id)


def _load(document: str) -> Policy:
    """PutResourcePolicy's document -> Policy, or the AWS error carrying the diagnostics."""
    try:
        return load_policy(document)
    except PolicyError as err:
        shown = "; ".join(d.format() for d in err.diagnostics)
        if any(d.code == "policy-too-large" for d in err.diagnostics):
            raise GateError("PolicySizeLimitExceededException",
                            f"The policy document is too large. The limit is 4 KB. "
                            f"{shown}") from None
        raise GateError("MalformedPolicyDocumentException",
                        f"The policy document is malformed: {shown}") from None


def _check_revision(monitor: AppMonitor, given: str | None, *, deleting: bool) -> None:
    if given is None or given == monitor.policy_revision_id:
        return
    current = "has no policy" if monitor.policy_revision_id is None else \
        f"is at policy revision {monitor.policy_revision_id}"
    action = "delete" if deleting else "update"
    raise GateError("InvalidPolicyRevisionIdException",
                    f"The policy revision id {given} does not match: app monitor "
                    f"{monitor.name} {current}; cannot {action} its policy.")


def _no_policy(name: str) -> GateError:
    return GateError("PolicyNotFoundException",
                     f"The resource-based policy doesn't exist on the app monitor {name}.")


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


def _iso(epoch: float) -> str:
    """ISOTimestampString: 19 characters, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True
                                ).decode("utf-8")
    except (ValueError, UnicodeError):
        raise validation(f"1 validation error detected: Value '{token[:40]}' at 'NextToken' "
                         "failed to satisfy constraint: Member must be a token returned by "
                         "ListAppMonitors") from None
