"""The gate over HTTP: the RUM REST API as botocore's model routes it, as a Starlette ASGI app.

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
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rumpolicy.gate.context import Origin, client_address
from rumpolicy.gate.credentials import authenticate
from rumpolicy.gate.errors import GateError, internal, validation
from rumpolicy.gate.gate import Gate, new_request_id
from rumpolicy.gate.validation import body_too_large, decode_body, parse_object

_log = logging.getLogger("rumpolicy.gate")

EXPOSED = "x-amzn-RequestId,x-amzn-ErrorType,Retry-After"
ALLOWED_METHODS = "GET,POST,PUT,DELETE,OPTIONS"
PREFLIGHT_MAX_AGE = "600"

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


class GateEndpoint:
    """The ASGI callable behind every route of the gate's app.

    It speaks raw ASGI rather than through Starlette's Request and Response: the data plane is
    the hot path, and the wrappers cost more than the gate's decision (docs/performance.md)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.config = gate.config
        cors = [(b"access-control-allow-origin", self.config.cors_allow_origin.encode("latin-1")),
                (b"access-control-expose-headers", EXPOSED.encode())]
        if self.config.cors_allow_origin != "*":
            cors.append((b"vary", b"Origin"))
        self._cors = tuple(cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        try:
            status, body, headers = await self._handle(scope, receive, request_id)
        except _Disconnected:
            return  # nobody to answer; nothing was stored
        except GateError as err:
            status, body, headers = _error(err)
        except Exception:
            _log.exception("request %s failed inside the gate; answered 500", request_id)
            status, body, headers = _error(internal(request_id))
        head = [(b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id.encode()), *self._cors, *headers]
        if body:
            head.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive, request_id: str) -> _Answer:
        method: str = scope["method"]
        headers = _headers(scope)
        if method == "OPTIONS":
            return _preflight(headers)
        raw_path = _raw_path(scope)
        operation, label = route(method, _route_path(scope, raw_path))
        raw = await _read_body(receive, headers, self.config.max_body_bytes)
        if operation == "PutRumEvents":
            return await self._put_rum_events(scope, headers, raw_path, raw, label or "",
                                              request_id)
        body: Mapping[str, Any] = {}
        if raw:
            encoding = headers.get("content-encoding")
            body = parse_object(decode_body(raw, encoding, self.config.max_body_bytes))
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        return _json(_CONTROL[operation](self.gate, label, body, query))

    async def _put_rum_events(self, scope: Scope, headers: Mapping[str, str], raw_path: str,
                              raw: bytes, monitor_id: str, request_id: str) -> _Answer:
        query = scope.get("query_string", b"").decode("latin-1")
        identity = None
        if "authorization" in headers or query:
            identity = authenticate(
                self.config.credentials, method=scope["method"],
                scheme=scope.get("scheme", "http"), raw_path=raw_path, query=query,
                headers=headers, body=raw, now=self.gate.now(),
                region=self.config.region, max_skew=self.config.max_clock_skew)
        client = scope.get("client")
        origin = Origin(
            source_ip=client_address(client[0] if client else None,
                                     headers.get("x-forwarded-for"),
                                     trust_forwarded=self.config.trust_forwarded_for),
            secure_transport=scope.get("scheme") == "https" or self.config.behind_tls_proxy,
            user_agent=headers.get("user-agent"), referer=headers.get("referer"),
            identity=identity)
        result = await self.gate.put_rum_events_async(
            monitor_id, raw, origin, content_encoding=headers.get("content-encoding"),
            request_id=request_id)
        if result.error is not None:
            return _error(result.error)
        return _OK


_Header = tuple[bytes, bytes]
_Answer = tuple[int, bytes, Sequence[_Header]]
"""(status, JSON body, headers besides the ones every answer carries)."""
_OK: _Answer = (200, b"{}", ())


class _Disconnected(Exception):
    """The client went away before its request body arrived."""


def _preflight(headers: Mapping[str, str]) -> _Answer:
    asked = headers.get("access-control-request-headers") or "*"
    return 200, b"", ((b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                      (b"access-control-allow-headers", asked.encode("latin-1")),
                      (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()))


def create_app(gate: Gate) -> Starlette:
    """The gate's ASGI app. Mount it anywhere: routing uses the path below the mount point."""
    return Starlette(routes=[Route("/{path:path}", GateEndpoint(gate))])


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; the first of repeated headers wins."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def _read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def _route_path(scope: Scope, raw_path: str) -> str:
    """The raw path below the mount point (`root_path`)."""
    path = raw_path.split("?", 1)[0]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path


def _json(answer: Mapping[str, Any], status: int = 200,
          headers: Sequence[_Header] = ()) -> _Answer:
    return status, json.dumps(answer, separators=(",", ":")).encode(), headers


def _error(err: GateError) -> _Answer:
    return _json(err.body(), err.status,
                 tuple((k.lower().encode(), v.encode("latin-1")) for k, v in err.headers().items()))
