"""The RUM API's front door, free of any transport: an HTTP request in, an HTTP answer out.

The ASGI app (`app.py`, behind `rumpolicy serve`) and the in-process mock (`mock.py`, behind
botocore) both answer through `Front`, so the two can never answer differently.

    POST   /appmonitors/{Id}  and  /appmonitors/{Id}/   PutRumEvents (the data plane)
    POST   /appmonitor                                  CreateAppMonitor
    POST   /appmonitors                                 ListAppMonitors (?maxResults, ?nextToken)
    GET    /appmonitor/{Name}                           GetAppMonitor
    DELETE /appmonitor/{Name}                           DeleteAppMonitor
    PUT    /appmonitor/{Name}/policy                    PutResourcePolicy
    GET    /appmonitor/{Name}/policy                    GetResourcePolicy
    DELETE /appmonitor/{Name}/policy                    DeleteResourcePolicy (?policyRevisionId)
    OPTIONS anything                                    CORS preflight

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

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from rumpolicy.gate.context import Origin, client_address
from rumpolicy.gate.credentials import authenticate
from rumpolicy.gate.errors import GateError, internal, validation
from rumpolicy.gate.gate import Gate, PutResult, new_request_id
from rumpolicy.gate.validation import decode_body, parse_object

_log = logging.getLogger("rumpolicy.gate")

EXPOSED = "x-amzn-RequestId,x-amzn-ErrorType,Retry-After"
ALLOWED_METHODS = "GET,POST,PUT,DELETE,OPTIONS"
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


Label = str | None
"""A route segment: a literal, or None for a path label."""
_ROUTES: tuple[tuple[str, tuple[Label, ...], str], ...] = (
    ("POST", ("appmonitors", None), "PutRumEvents"),
    ("POST", ("appmonitors",), "ListAppMonitors"),
    ("POST", ("appmonitor",), "CreateAppMonitor"),
    ("GET", ("appmonitor", None), "GetAppMonitor"),
    ("DELETE", ("appmonitor", None), "DeleteAppMonitor"),
    ("PUT", ("appmonitor", None, "policy"), "PutResourcePolicy"),
    ("GET", ("appmonitor", None, "policy"), "GetResourcePolicy"),
    ("DELETE", ("appmonitor", None, "policy"), "DeleteResourcePolicy"),
)

_DATA_PLANE = "/appmonitors/"
_BY_SHAPE = {(verb, len(shape), shape[0]): (shape, operation) for verb, shape, operation in _ROUTES}
"""Routes by (method, segment count, first segment), which tells every route of the API apart
(a test checks that no two share a key)."""

ControlCall = Callable[[Gate, str | None, Mapping[str, Any], Mapping[str, str]], dict[str, Any]]


def _create(gate: Gate, label: str | None, body: Mapping[str, Any],
            query: Mapping[str, str]) -> dict[str, Any]:
    return gate.create_app_monitor(**body)


def _list(gate: Gate, label: str | None, body: Mapping[str, Any],
          query: Mapping[str, str]) -> dict[str, Any]:
    return gate.list_app_monitors(MaxResults=query.get("maxResults"),
                                  NextToken=query.get("nextToken"))


def _get(gate: Gate, label: str | None, body: Mapping[str, Any],
         query: Mapping[str, str]) -> dict[str, Any]:
    return gate.get_app_monitor(Name=label)


def _delete(gate: Gate, label: str | None, body: Mapping[str, Any],
            query: Mapping[str, str]) -> dict[str, Any]:
    return gate.delete_app_monitor(Name=label)


def _put_policy(gate: Gate, label: str | None, body: Mapping[str, Any],
                query: Mapping[str, str]) -> dict[str, Any]:
    members = {k: body[k] for k in ("PolicyDocument", "PolicyRevisionId") if k in body}
    return gate.put_resource_policy(Name=label, **members)


def _get_policy(gate: Gate, label: str | None, body: Mapping[str, Any],
                query: Mapping[str, str]) -> dict[str, Any]:
    return gate.get_resource_policy(Name=label)


def _delete_policy(gate: Gate, label: str | None, body: Mapping[str, Any],
                   query: Mapping[str, str]) -> dict[str, Any]:
    return gate.delete_resource_policy(Name=label,
                                       PolicyRevisionId=query.get("policyRevisionId"))


_CONTROL: dict[str, ControlCall] = {
    "CreateAppMonitor": _create,
    "ListAppMonitors": _list,
    "GetAppMonitor": _get,
    "DeleteAppMonitor": _delete,
    "PutResourcePolicy": _put_policy,
    "GetResourcePolicy": _get_policy,
    "DeleteResourcePolicy": _delete_policy,
}


def route(method: str, path: str) -> tuple[str, str | None]:
    """(operation, its path label) for a raw (still percent-encoded) path; one trailing slash
    is optional, as boto3 sends `/appmonitors/{Id}/` and aws-rum-web `/appmonitors/{id}`."""
    if method == "POST" and path.startswith(_DATA_PLANE):  # every PutRumEvents call
        monitor_id = path[len(_DATA_PLANE):].removesuffix("/")
        if monitor_id and "/" not in monitor_id:
            return "PutRumEvents", _label(monitor_id)
    segments = path.split("/")
    if segments[0] != "":
        raise _unknown(method, path)
    parts = segments[1:]
    if len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]
    found = _BY_SHAPE.get((method, len(parts), parts[0]))
    if found is None:
        raise _unknown(method, path)
    shape, operation = found
    label: str | None = None
    for want, got in zip(shape, parts, strict=True):
        if want is None:
            label = got
        elif want != got:
            raise _unknown(method, path)
    return operation, None if label is None else _label(label)  # decoded once the route matched


def _label(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise validation(f"The path label '{raw[:80]}' is not percent-encoded UTF-8") from None


def _unknown(method: str, path: str) -> GateError:
    return GateError("UnknownOperationException",
                     f"No RUM operation is {method} {path[:200]}")


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
        request_id = new_request_id()
        operation = None
        try:
            operation, label = route(request.method, request.route_path)
            if operation == "PutRumEvents":
                return self._put_answer(self.gate.put_rum_events(
                    label or "", request.body, self._origin(request),
                    content_encoding=request.headers.get("content-encoding"),
                    request_id=request_id))
            return self._answer(request_id, *self._control(operation, label, request),
                                operation=operation)
        except Exception as err:
            return self._failed(err, request_id, operation)

    async def answer_async(self, request: HttpRequest) -> HttpAnswer:
        if request.method != "POST" or not request.route_path.startswith(_DATA_PLANE):
            return self.answer(request)  # the control plane answers at once
        request_id = new_request_id()
        try:
            operation, label = route(request.method, request.route_path)
            if operation != "PutRumEvents":
                return self.answer(request)
            return self._put_answer(await self.gate.put_rum_events_async(
                label or "", request.body, self._origin(request),
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

    def _control(self, operation: str, label: str | None, request: HttpRequest) -> _Answer:
        body: Mapping[str, Any] = {}
        if request.body:
            body = parse_object(decode_body(request.body, request.headers.get("content-encoding"),
                                            self.config.max_body_bytes))
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        return _json(_CONTROL[operation](self.gate, label, body, query))

    def _origin(self, request: HttpRequest) -> Origin:
        identity = None
        if "authorization" in request.headers or request.query:
            identity = authenticate(
                self.config.credentials, method=request.method, scheme=request.scheme,
                raw_path=request.path, query=request.query, headers=request.headers,
                body=request.body, now=self.gate.now(), region=self.config.region,
                max_skew=self.config.max_clock_skew)
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
