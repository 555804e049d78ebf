"""`rumpolicy serve`: the RUM API over HTTP (the gate's ASGI app on uvicorn, guarded).

With no arguments it serves 127.0.0.1:4566 with its data in ./rumpolicy-data, in emulator mode
(any access key accepted) unless a config gives a credentials table. `--port 0` picks a free
port; the first line printed names the address actually bound, so scripts and the pytest
fixture can read it. Each request is logged on stderr at level info (method, path, operation,
status, and the decision for PutRumEvents). The common options also come from the environment
(`RUMPOLICY_HOST`, `RUMPOLICY_PORT`, `RUMPOLICY_DATA`, `RUMPOLICY_CONFIG`,
`RUMPOLICY_LOG_LEVEL`), as containers and CI services set them; a flag wins over the variable.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from rumpolicy.cli._common import EXIT_OK, UsageError

DEFAULT_DATA = "rumpolicy-data"
READY = "rumpolicy gate listening on"
"""The start of the line printed once the socket is bound: `READY http://HOST:PORT`."""


LOG_LEVELS = ("debug", "info", "warning", "error")
_ENVIRONMENT = {"host": "RUMPOLICY_HOST", "port": "RUMPOLICY_PORT", "data": "RUMPOLICY_DATA",
                "config": "RUMPOLICY_CONFIG", "log_level": "RUMPOLICY_LOG_LEVEL"}
_DEFAULTS: dict[str, str | None] = {"host": "127.0.0.1", "port": "4566", "data": DEFAULT_DATA,
                                    "config": None, "log_level": "info"}


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="serve the RUM API: PutRumEvents decided by the "
                                 "app monitor's resource policy, plus the control plane")
    parser.add_argument("--host", help="address to bind (default: 127.0.0.1; RUMPOLICY_HOST)")
    parser.add_argument("--port", help="port to bind, 0 for any free one (default: 4566; "
                                       "RUMPOLICY_PORT)")
    parser.add_argument("--data", metavar="DIR",
                        help=f"data directory: monitors, policies, accepted events (default: "
                             f"./{DEFAULT_DATA}; RUMPOLICY_DATA)")
    parser.add_argument("--config", metavar="FILE",
                        help="gate configuration (.json or .toml): account, region, credentials, "
                             "throttle_rps, decision_log, limits, ... (docs/gate.md; "
                             "RUMPOLICY_CONFIG)")
    parser.add_argument("--decision-log", metavar="FILE",
                        help="append every PutRumEvents decision to FILE as JSON lines")
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        help="info logs every request, warning only problems (default: info; "
                             "RUMPOLICY_LOG_LEVEL)")
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> dict[str, str | None]:
    """Each option from its flag, else its environment variable, else its default."""
    settings = {}
    for name, variable in _ENVIRONMENT.items():
        given = getattr(args, name)
        settings[name] = given if given is not None else os.environ.get(variable) or \
            _DEFAULTS[name]
    level = settings["log_level"]
    if level not in LOG_LEVELS:
        raise UsageError(f"RUMPOLICY_LOG_LEVEL={level!r}: use one of {', '.join(LOG_LEVELS)}")
    return settings


def _port(text: str | None) -> int:
    if text is None or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise UsageError(f"port {text!r}: use a port from 0 to 65535 (--port or "
                         "RUMPOLICY_PORT)")
    return int(text)


def _logging(level: str) -> None:
    """One line per record on stderr: time, level, message."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("rumpolicy")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import gc
    import logging

    from rumpolicy.gate import ConfigError, Gate, GateConfig, api, load_config
    from rumpolicy.gate.app import create_app
    from rumpolicy.gate.credentials import emulator_principal
    from rumpolicy.gate.server import serve

    settings = _settings(args)
    args.host, args.data, args.config = settings["host"], settings["data"], settings["config"]
    args.port = _port(settings["port"])
    assert settings["log_level"] is not None
    _logging(settings["log_level"])
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
    api.operations()  # botocore's RUM model, read now rather than by the first request
    if not config.credentials:
        logging.getLogger("rumpolicy.gate").info(
            "emulator mode: no credentials table, so any access key is accepted unchecked and "
            "a signed caller is %s (docs/gate.md)", emulator_principal(config.account))
    # Startup objects (pydantic schemas, botocore's model, compiled policies) never die: move
    # them out of the collector's generations, or every full collection walks them again and
    # stalls requests for milliseconds (bench/gate.py saw p90 latency fall from 3.3 to 0.6 ms).
    gc.freeze()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"{READY} http://{shown}:{port} (data: {Path(args.data).resolve()})", flush=True)
    try:
        serve(app, sock, config.server, log_level=settings["log_level"])
    finally:
        gate.close()
        sock.close()
    return EXIT_OK


def _bind(host: str, port: int) -> socket.socket:
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
