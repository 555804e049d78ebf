"""`rumpolicy events --data DIR --monitor MONITOR [--format text|json]`: the batches the gate
accepted for an app monitor (its name, or its ARN: the gate stores monitors by name)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rumpolicy.cli._common import EXIT_OK, UsageError, add_format, add_monitor, add_output, emit


def register(commands: Any) -> None:
    parser = commands.add_parser("events", help="list the event batches a gate accepted for an "
                                 "app monitor")
    parser.add_argument("--data", default="rumpolicy-data", metavar="DIR",
                        help="the gate's data directory (default: ./%(default)s)")
    add_monitor(parser, "the app monitor", required=True)
    add_format(parser)
    add_output(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from rumpolicy.gate.context import iso_time
    from rumpolicy.gate.storage import open_read_only, read_batches

    try:
        db = open_read_only(args.data)
    except FileNotFoundError:
        raise UsageError(f"{args.data}: no gate store here (run `rumpolicy serve --data "
                         f"{args.data}` first)") from None
    name = args.monitor.rsplit("/", 1)[1]
    try:
        with db:
            names = dict(db.execute("SELECT name, id FROM monitors").fetchall())
            if name not in names:
                known = ", ".join(sorted(names)) or "none"
                raise UsageError(f"{args.data}: no app monitor named '{name}' "
                                 f"(known: {known})")
            batches = read_batches(db, names[name])
    except sqlite3.DatabaseError as err:
        raise UsageError(f"{args.data}: cannot read the gate's store: {err}") from None
    finally:
        db.close()
    if args.format == "json":
        emit(args, json.dumps([b.to_dict() for b in batches], indent=2, ensure_ascii=False))
        return EXIT_OK
    lines = []
    for batch in batches:
        caller = batch.principal or "anonymous"
        alias = "-" if batch.alias is None else batch.alias
        lines.append(f"{iso_time(batch.received_at)}  batch {batch.batch_id}  "
                     f"{batch.event_count} events  alias {alias}  "
                     f"{caller}@{batch.source_ip or '-'}")
        lines += [f"    {iso_time(event.timestamp)}  {event.type}  {event.id}"
                  for event in batch.events]
    emit(args, "\n".join(lines) if batches else f"no batches accepted for {name}")
    return EXIT_OK

