"""The gate over HTTP: an ASGI app that reads each request and answers it through `Front`.

This module only moves bytes: the request's head and body in (the body no larger than the gate
accepts, and refused unread when its declared length is already too large), the answer out.
Routing, errors and CORS are `front.py`'s. One log line per request goes to the
`rumpolicy.requests` logger (method, path, operation, status, and the decision for
PutRumEvents).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rumpolicy.gate.errors import validation
from rumpolicy.gate.front import Front, HttpAnswer, HttpRequest, route
from rumpolicy.gate.gate import Gate, new_request_id
from rumpolicy.gate.validation import body_too_large

__all__ = ["GateEndpoint", "create_app", "route"]

requests_log = logging.getLogger("rumpolicy.requests")


class GateEndpoint:
    """The ASGI callable behind every route of the gate's app.

    It speaks raw ASGI rather than through Starlette's Request and Response: the data plane is
    the hot path, and the wrappers cost more than the gate's decision (docs/performance.md)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.front = Front(gate)
        self._limit = gate.config.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        client = scope.get("client")
        request = HttpRequest(
            method=scope["method"], path=_raw_path(scope), headers=headers,
            query=scope.get("query_string", b"").decode("latin-1"),
            client=client[0] if client else None, scheme=scope.get("scheme", "http"),
            mount=scope.get("root_path", ""))
        declared = headers.get("content-length", "")
        if declared and "transfer-encoding" in headers:
            # Two framings that can disagree are how a request is smuggled past a proxy;
            # RFC 9112 (6.1) lets a server refuse it and has it close the connection.
            answer = self.front.refusal(validation(
                "a request must not carry both Content-Length and Transfer-Encoding"),
                new_request_id(), close=True)
        elif declared.isdigit() and int(declared) > self._limit:
            # Refused unread; the connection closes rather than read a body nobody wants.
            answer = self.front.refusal(body_too_large(self._limit), new_request_id(),
                                        close=True)
        else:
            try:
                body = await _read_body(receive, self._limit)
            except _Disconnected:
                return  # nobody to answer; nothing was stored
            except _TooLarge:
                answer = self.front.refusal(body_too_large(self._limit), new_request_id(),
                                            close=True)
            else:
                answer = await self.front.answer_async(_with_body(request, body))
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})
        if requests_log.isEnabledFor(logging.INFO):
            _log_request(request, answer)


def create_app(gate: Gate) -> Starlette:
    """The gate's ASGI app. Mount it anywhere: routing uses the path below the mount point.

    Every HTTP path is the gate's to answer: Starlette's `{path:path}` pattern cannot match a
    decoded newline (`%0A` in a path label), so the router's fallback answers through the gate
    too, as `mock_rum` does, rather than with Starlette's plain 404."""
    endpoint = GateEndpoint(gate)
    app = Starlette(routes=[Route("/{path:path}", endpoint)])
    not_found = app.router.not_found

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        await (endpoint if scope["type"] == "http" else not_found)(scope, receive, send)

    app.router.default = fallback
    return app


def _log_request(request: HttpRequest, answer: HttpAnswer) -> None:
    decision = f" {answer.decision}" if answer.decision else ""
    error = f" {answer.error}" if answer.error else ""
    requests_log.info("%s %s %s %s %d%s%s %s", request.client or "-", request.method,
                      request.path[:200], answer.operation or "-", answer.status, error,
                      decision, answer.request_id)


def _with_body(request: HttpRequest, body: bytes) -> HttpRequest:
    return HttpRequest(request.method, request.path, request.query, request.headers, body,
                       request.client, request.scheme, request.mount)


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; the first of repeated headers wins."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


class _Disconnected(Exception):
    """The client went away before its request body arrived."""


class _TooLarge(Exception):
    """The body grew past the limit while it arrived (no length was declared)."""


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body. Its chunks are joined into one buffer as they come, which glibc maps
    by itself once it is large, so its memory goes back to the system with the request."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _Disconnected
    first: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(first) > limit:
            raise _TooLarge
        return first
    buffer = bytearray(first)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        buffer += message.get("body", b"")
        if len(buffer) > limit:
            raise _TooLarge
        if not message.get("more_body", False):
            return bytes(buffer)


def _raw_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded. A target in absolute form
    (`POST http://host/appmonitors/...`, which RFC 9112 has servers accept) is its path."""
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"])
    path: str = raw.decode("latin-1").split("?", 1)[0]
    if path[:8].lower().startswith(("http://", "https://")):
        return "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    return path
