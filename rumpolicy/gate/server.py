"""`rumpolicy serve`'s HTTP server: uvicorn's h11 protocol, guarded against clients that hold
connections open, and blind to headers that would let a client choose its own address.

What uvicorn leaves open, and what this module adds (docs/gate.md, "Serving over HTTP"):

- **Forwarded headers.** uvicorn's proxy-headers middleware is on by default and trusts
  127.0.0.1 (or `FORWARDED_ALLOW_IPS`): a local client could set `aws:SourceIp` with
  `X-Forwarded-For` and `aws:SecureTransport` with `X-Forwarded-Proto`. The server never
  installs it; only the gate's own settings (`trust_forwarded_for`, `behind_tls_proxy`) give
  forwarded headers any meaning.
- **Slow clients.** uvicorn times out idle keep-alive connections but not a request head or body
  that trickles in, and has no connection limit short of answering 503. Here every connection
  that is waiting for its client (a head or body still arriving, or idle between requests) has
  a deadline, and at the connection limit a new connection closes the one that has been waiting
  longest, so a client that sends its request promptly is served however many connections others
  hold. The limit stays below the open-file limit, so accept() never fails for want of a file
  descriptor (asyncio would then stop accepting for a second).
- **Memory.** Large request bodies are allocated with mmap, which returns them to the system
  when freed; glibc otherwise keeps them in a fragmented heap (`_release_freed_memory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import resource
import socket
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from rumpolicy.gate.config import ServerLimits

_log = logging.getLogger("rumpolicy.gate")

ACCEPT_BURST = 64
"""Connections asyncio accepts in one go (its `backlog` argument) before any of them is counted."""
LISTEN_BACKLOG = 2048
"""The kernel's queue of connections not yet accepted: deep, so that a flood of reconnecting
clients does not make the kernel drop a normal client's SYN (a 1 s retransmit)."""
FD_RESERVE = 4 * ACCEPT_BURST + 64
"""File descriptors kept out of the connection limit: a new connection is counted two turns of
the loop after it is accepted and the one it displaces is closed a turn later, so a few bursts
are open at once; the store, its writer process, the decision log and the interpreter need some
of their own."""
SWEEP_EVERY = 0.25
"""Seconds between checks of the connections' deadlines."""


def connection_limit(limits: ServerLimits) -> int:
    """The connection limit: the configured one, never above what the open-file limit allows.
    The soft open-file limit is raised to the hard one first, as most servers do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    allowed = max(16, soft - FD_RESERVE) if soft != resource.RLIM_INFINITY else 1 << 20
    return allowed if limits.max_connections is None else min(limits.max_connections, allowed)


class _Waiting:
    """The connections waiting for their client, oldest wait first (a dict keeps insertion
    order, so the oldest is the first key and every update is O(1))."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connections: dict[GuardedH11Protocol, None] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def start(self, protocol: GuardedH11Protocol) -> None:
        self.connections.pop(protocol, None)
        self.connections[protocol] = None
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(SWEEP_EVERY, self._sweep)

    def stop(self, protocol: GuardedH11Protocol) -> None:
        self.connections.pop(protocol, None)

    def oldest(self, besides: GuardedH11Protocol) -> GuardedH11Protocol | None:
        for protocol in self.connections:
            if protocol is not besides:
                return protocol
        return None

    def _sweep(self) -> None:
        now = self.loop.time()
        late = [p for p in self.connections if p.deadline() <= now]
        for protocol in late:
            protocol.drop("did not send its request in time")
        self._sweeper = self.loop.call_later(SWEEP_EVERY, self._sweep) if self.connections \
            else None


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines for the client and a connection limit.

    A connection is *waiting* from the moment it opens, or its previous answer is sent, until
    its request has fully arrived; only waiting connections are timed out or closed to make room.
    A request the gate is working on is never cut off."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    max_connections: ClassVar[int] = 1024
    waiting: ClassVar[_Waiting | None] = None
    """The server's waiting connections: one class per server (`protocol_class`), one loop."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting = self._registry(self.loop)
        self._head_done_at: float | None = None
        self._wait_started: float | None = self.loop.time()
        self._waiting.start(self)
        if len(self.connections) > self.max_connections:
            victim = self._waiting.oldest(besides=self)
            if victim is None:  # every other connection is being answered: refuse this one
                self.drop("the server is at its connection limit")
            else:
                victim.drop("closed to make room for a new connection (connection limit)")

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting.stop(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._wait_started is None:  # the first bytes of a pipelined or keep-alive request
            self._wait_started = self.loop.time()
            self._waiting.start(self)
        super().data_received(data)
        if self._wait_started is not None:
            state = self.conn.their_state
            if state is h11.SEND_BODY and self._head_done_at is None:
                self._head_done_at = self.loop.time()
            elif state is not h11.IDLE and state is not h11.SEND_BODY:
                self._request_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request already received
        state = self.conn.their_state
        if not self.transport.is_closing() and (state is h11.IDLE or state is h11.SEND_BODY):
            now = self.loop.time()
            self._wait_started = now
            self._head_done_at = now if state is h11.SEND_BODY else None
            self._waiting.start(self)

    def _request_arrived(self) -> None:
        self._wait_started = None
        self._head_done_at = None
        self._waiting.stop(self)

    def deadline(self) -> float:
        if self._head_done_at is not None:
            return self._head_done_at + self.limits.body_timeout
        return (self._wait_started or 0.0) + self.limits.head_timeout

    def drop(self, why: str) -> None:
        """Close the connection now; the answer it was owed (none yet) is not sent."""
        self._waiting.stop(self)
        if not self.transport.is_closing():
            _log.debug("%s: %s", self.client, why)
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.transport.abort()

    @classmethod
    def _registry(cls, loop: asyncio.AbstractEventLoop) -> _Waiting:
        if cls.waiting is None:
            cls.waiting = _Waiting(loop)
        return cls.waiting


def protocol_class(limits: ServerLimits) -> type[GuardedH11Protocol]:
    """A protocol class bound to `limits` (uvicorn builds protocols from a class)."""
    return type("GatedH11Protocol", (GuardedH11Protocol,), {
        "limits": limits, "max_connections": connection_limit(limits)})


def uvicorn_config(app: Any, limits: ServerLimits, *, log_level: str = "warning"
                   ) -> uvicorn.Config:
    """uvicorn's settings for the gate: our protocol, no proxy headers, no access log (the gate
    logs requests itself)."""
    return uvicorn.Config(
        app, http=protocol_class(limits), proxy_headers=False, forwarded_allow_ips=[],
        server_header=False, access_log=False, lifespan="off", log_level=log_level,
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        h11_max_incomplete_event_size=limits.max_head_bytes, backlog=ACCEPT_BURST)


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for sock in sockets or ():  # asyncio listened with its burst size: deepen the queue
            sock.listen(LISTEN_BACKLOG)


def serve(app: Any, sock: socket.socket, limits: ServerLimits, *, log_level: str = "warning"
          ) -> None:
    """Serve `app` on the bound socket until interrupted."""
    _release_freed_memory()
    _Server(uvicorn_config(app, limits, log_level=log_level)).run(sockets=[sock])


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD = 128 * 1024


def _release_freed_memory() -> None:
    """Fix glibc's mmap threshold at its initial 128 KB. Left alone, glibc raises it to the size
    of the largest block freed (up to 32 MB), so after one large body every later one comes from
    the heap, where freed memory stays with the process. With it fixed, a body buffer of 128 KB
    or more is its own mapping and goes back to the system when the request ends."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
