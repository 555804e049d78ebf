"""`rumpolicy serve`: the ingestion gate over HTTP (Starlette on uvicorn).

With no arguments it serves 127.0.0.1:4566 with its data in ./rumpolicy-data. `--port 0` picks a
free port; the first line printed names the address actually bound, so scripts and the pytest
fixture can read it.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from rumpolicy.cli._common import EXIT_OK, UsageError

DEFAULT_DATA = "rumpolicy-data"
READY = "rumpolicy gate listening on"
"""The start of the line printed once the socket is bound: `READY http://HOST:PORT`."""


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="serve the RUM API: PutRumEvents decided by the "
                                 "app monitor's resource policy, plus the control plane")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=4566,
                        help="port to bind, 0 for any free one (default: %(default)s)")
    parser.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                        help="data directory: monitors, policies, accepted events "
                             "(default: ./%(default)s)")
    parser.add_argument("--config", metavar="FILE",
                        help="gate configuration (.json or .toml): account, region, credentials, "
                             "throttle_rps, decision_log, ... (docs/gate.md)")
    parser.add_argument("--decision-log", metavar="FILE",
                        help="append every PutRumEvents decision to FILE as JSON lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import gc

    from rumpolicy.gate import ConfigError, Gate, GateConfig, load_config
    from rumpolicy.gate.app import create_app
    from rumpolicy.gate.server import serve

    try:
        config = load_config(args.config) if args.config else GateConfig()
    except ConfigError as err:
        raise UsageError(str(err)) from None
    if args.decision_log:
        config = dataclasses.replace(config, decision_log=Path(args.decision_log))
    sock = _bind(args.host, args.port)
    try:
        gate = Gate(args.data, config)
    except OSError as err:
        raise UsageError(f"{args.data}: cannot use as the data directory: {err}") from None
    except Exception as err:  # sqlite3.DatabaseError: not a gate's store
        raise UsageError(f"{args.data}: cannot open the gate's store: {err}") from None
    app = create_app(gate)
    # Startup objects (pydantic schemas, botocore's model, compiled policies) never die: move
    # them out of the collector's generations, or every full collection walks them again and
    # stalls requests for milliseconds (bench/gate.py saw p90 latency fall from 3.3 to 0.6 ms).
    gc.freeze()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"{READY} http://{shown}:{port} (data: {Path(args.data).resolve()})", flush=True)
    try:
        serve(app, sock, config.server)
    finally:
        gate.close()
        sock.close()
    return EXIT_OK


def _bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: use a port from 0 to 65535")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
        # proto says TCP, and with Nagle on every keep-alive answer waits ~40 ms for an ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        hint = "; pick another --port (0 picks a free one)" if port else ""
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror}{hint}") from None
    sock.set_inheritable(True)
    if sys.platform != "win32":
        sock.listen(2048)
    return sock
