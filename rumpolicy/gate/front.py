"""The RUM API's front door, free of any transport: an HTTP request in, an HTTP answer out.

The ASGI app (`app.py`, behind `rumpolicy serve`) and the in-process mock (`mock.py`, behind
botocore) both answer through `Front`, so the two can never answer differently.

Every operation of botocore's RUM model is routed as the model says (`api.py`); PutRumEvents,
the hot path, is found by its path prefix before anything else. Any OPTIONS request is a CORS
preflight; `GET /_rumpolicy/health` answers the health check emulator users expect.

Wire behaviour (../shared/reference/wire/README.md): an error is its status, an
`x-amzn-ErrorType` header and a `{"message": ...}` body with the modeled members; every answer,
denies and preflights included, carries `x-amzn-RequestId` and the CORS headers, so a browser
client sees a 403 as a 403 and backs off instead of retrying a network error. Bodies are parsed as
JSON whatever their Content-Type (beacons send text/plain) and may be gzip-compressed. The Host
header is not routed on, so `Host: dataplane.<host>` works. Path labels are cut from the raw path
before percent-decoding, so an `Id` holding `%2F` is refused as a bad Id, not as a missing route.

The control plane is not authorized: it is the local operator's interface. The data plane
authenticates signed calls and asks the gate to decide.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rumpolicy.gate import api
from rumpolicy.gate.context import Origin, client_address
from rumpolicy.gate.credentials import authenticate
from rumpolicy.gate.errors import GateError, internal
from rumpolicy.gate.gate import Gate, PutResult, new_request_id
from rumpolicy.gate.validation import decode_body, parse_object

_log = logging.getLogger("rumpolicy.gate")

EXPOSED = "x-amzn-RequestId,x-amzn-ErrorType,Retry-After"
ALLOWED_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
PREFLIGHT_MAX_AGE = "600"

Header = tuple[bytes, bytes]
"""A header as it goes on the wire: lower-case name, value."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as any transport delivers it."""

    method: str
    path: str
    """The raw (still percent-encoded) path as sent, without the query string."""
    query: str = ""
    """The raw query string."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """By lower-case name; the first of repeated headers."""
    body: bytes = b""
    client: str | None = None
    """The peer's address, as the transport saw it (never a forwarded header)."""
    scheme: str = "http"
    mount: str = ""
    """Where the API is mounted: routing reads the path below it; signatures cover all of it."""

    @property
    def route_path(self) -> str:
        return self.path[len(self.mount):] if self.mount and self.path.startswith(self.mount) \
            else self.path


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """The answer to one request, and what the request log says of it."""

    status: int
    headers: tuple[Header, ...]
    body: bytes
    request_id: str
    operation: str | None = None
    """None when the request named no operation (a preflight, an unknown route)."""
    decision: str | None = None
    """PutRumEvents only: the decision's effect, when the call got that far."""
    error: str | None = None
    """The AWS error code, when the answer is one."""


_DATA_PLANE = "/appmonitors/"
HEALTH_PATH = "/_rumpolicy/health"
"""Outside the RUM API's paths: no operation of the model starts with an underscore."""


def route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """(operation, its path labels) for a raw (still percent-encoded) path."""
    if method == "POST" and path.startswith(_DATA_PLANE):  # every PutRumEvents call
        monitor_id = path[len(_DATA_PLANE):].removesuffix("/")
        if monitor_id and "/" not in monitor_id:
            return "PutRumEvents", {"Id": api.decode_label(monitor_id)}
    operation, labels = api.route(method, path)
    return operation.name, labels


class Front:
    """The gate behind the RUM API's HTTP interface. `answer` for callers on any thread,
    `answer_async` on an event loop (its PutRumEvents commits in a group with concurrent
    callers); both answer alike."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.config = gate.config
        cors = [(b"access-control-allow-origin", self.config.cors_allow_origin.encode("latin-1")),
                (b"access-control-expose-headers", EXPOSED.encode())]
        if self.config.cors_allow_origin != "*":
            cors.append((b"vary", b"Origin"))
        self._cors = tuple(cors)

    def answer(self, request: HttpRequest) -> HttpAnswer:
        if request.method == "OPTIONS":
            return self.preflight(request)
        if request.method in ("GET", "HEAD") and request.route_path == HEALTH_PATH:
            return self.health()
        request_id = new_request_id()
        operation = None
        try:
            operation, labels = route(request.method, request.route_path)
            if operation == "PutRumEvents":
                return self._put_answer(self.gate.put_rum_events(
                    labels["Id"], request.body, self._origin(request),
                    content_encoding=request.headers.get("content-encoding"),
                    request_id=request_id))
            return self._answer(request_id, *self._control(operation, labels, request),
                                operation=operation)
        except Exception as err:
            return self._failed(err, request_id, operation)

    async def answer_async(self, request: HttpRequest) -> HttpAnswer:
        """PutRumEvents on the loop; anything else on a thread, so that a slow control-plane
        call (GetAppMonitorData indexing a large monitor) never holds up the data plane."""
        if request.method != "POST" or not request.route_path.startswith(_DATA_PLANE):
            return await asyncio.to_thread(self.answer, request)
        request_id = new_request_id()
        try:
            operation, labels = route(request.method, request.route_path)
            if operation != "PutRumEvents":
                return await asyncio.to_thread(self.answer, request)
            return self._put_answer(await self.gate.put_rum_events_async(
                labels["Id"], request.body, self._origin(request),
                content_encoding=request.headers.get("content-encoding"),
                request_id=request_id))
        except Exception as err:
            return self._failed(err, request_id, "PutRumEvents")

    def _failed(self, err: Exception, request_id: str, operation: str | None) -> HttpAnswer:
        """A GateError is the answer; anything else is a bug, answered 500 (fail closed)."""
        if not isinstance(err, GateError):
            _log.error("request %s failed inside the gate; answered 500", request_id,
                       exc_info=err)
            err = internal(request_id)
        return self.refusal(err, request_id, operation=operation)

    def refusal(self, err: GateError, request_id: str, *, operation: str | None = None,
                close: bool = False) -> HttpAnswer:
        """The answer for an AWS error; `close` asks the transport to end the connection (a
        body left unread)."""
        status, body, headers = _error(err)
        if close:
            headers = (*headers, (b"connection", b"close"))
        return self._answer(request_id, status, body, headers, operation=operation,
                            error=err.code)

    def _control(self, operation: str, labels: Mapping[str, str], request: HttpRequest
                 ) -> _Answer:
        body: Mapping[str, Any] = {}
        if request.body:
            body = parse_object(decode_body(request.body, request.headers.get("content-encoding"),
                                            self.config.max_body_bytes))
        op = api.operations()[operation]
        return _json(self.gate.call(operation, api.request_members(op, labels, request.query,
                                                                   body)))

    def _origin(self, request: HttpRequest) -> Origin:
        identity = None
        if "authorization" in request.headers or request.query:
            identity = authenticate(
                self.config.credentials, method=request.method, scheme=request.scheme,
                raw_path=request.path, query=request.query, headers=request.headers,
                body=request.body, now=self.gate.now(), region=self.config.region,
                max_skew=self.config.max_clock_skew, account=self.config.account)
        headers = request.headers
        return Origin(
            source_ip=client_address(request.client, headers.get("x-forwarded-for"),
                                     trust_forwarded=self.config.trust_forwarded_for),
            secure_transport=request.scheme == "https" or self.config.behind_tls_proxy,
            user_agent=headers.get("user-agent"), referer=headers.get("referer"),
            identity=identity)

    def _put_answer(self, result: PutResult) -> HttpAnswer:
        decision = None if result.decision is None else result.decision.effect.value
        if result.error is None:
            return self._answer(result.request_id, *_OK, operation="PutRumEvents",
                                decision=decision)
        status, body, headers = _error(result.error)
        return self._answer(result.request_id, status, body, headers, operation="PutRumEvents",
                            decision=decision, error=result.error.code)

    def _answer(self, request_id: str, status: int, body: bytes, headers: Sequence[Header],
                *, operation: str | None, decision: str | None = None, error: str | None = None
                ) -> HttpAnswer:
        head = ((b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id.encode()), *self._cors, *headers)
        if body:
            head = (*head, (b"content-type", b"application/json"))
        return HttpAnswer(status, head, body, request_id, operation, decision, error)

    def health(self) -> HttpAnswer:
        """Up and serving: the store is open and answers a query."""
        self.gate.storage.query("SELECT 1")
        return self._answer(new_request_id(), *_json({"status": "ok", "service": "rum"}),
                            operation=None)

    def preflight(self, request: HttpRequest) -> HttpAnswer:
        asked = request.headers.get("access-control-request-headers") or "*"
        return self._answer(new_request_id(), 200, b"", (
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", asked.encode("latin-1")),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode())), operation=None)


_Answer = tuple[int, bytes, Sequence[Header]]
"""(status, JSON body, headers besides the ones every answer carries)."""
_OK: _Answer = (200, b"{}", ())


def _json(answer: Mapping[str, Any], status: int = 200,
          headers: Sequence[Header] = ()) -> _Answer:
    return status, json.dumps(answer, separators=(",", ":")).encode(), headers


def _error(err: GateError) -> _Answer:
    return _json(err.body(), err.status,
                 tuple((k.lower().encode(), v.encode("latin-1")) for k, v in err.headers().items()))
