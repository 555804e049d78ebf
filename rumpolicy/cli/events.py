"""`rumpolicy events --data DIR --monitor NAME [--json]`: the batches the gate accepted."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rumpolicy.cli._common import EXIT_OK, UsageError


def register(commands: Any) -> None:
    parser = commands.add_parser("events", help="list the event batches a gate accepted for an "
                                 "app monitor")
    parser.add_argument("--data", default="rumpolicy-data", metavar="DIR",
                        help="the gate's data directory (default: ./%(default)s)")
    parser.add_argument("--monitor", required=True, metavar="NAME", help="app monitor name")
    parser.add_argument("--json", action="store_true",
                        help="print the batches as a JSON array, events included")
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
    try:
        with db:
            names = dict(db.execute("SELECT name, id FROM monitors").fetchall())
            if args.monitor not in names:
                known = ", ".join(sorted(names)) or "none"
                raise UsageError(f"{args.data}: no app monitor named '{args.monitor}' "
                                 f"(known: {known})")
            batches = read_batches(db, names[args.monitor])
    except sqlite3.DatabaseError as err:
        raise UsageError(f"{args.data}: cannot read the gate's store: {err}") from None
    finally:
        db.close()
    if args.json:
        print(json.dumps([b.to_dict() for b in batches], indent=2, ensure_ascii=False))
        return EXIT_OK
    for batch in batches:
        caller = batch.principal or "anonymous"
        alias = "-" if batch.alias is None else batch.alias
        print(f"{iso_time(batch.received_at)}  batch {batch.batch_id}  "
              f"{batch.event_count} events  alias {alias}  {caller}@{batch.source_ip or '-'}")
        for event in batch.events:
            print(f"    {iso_time(event.timestamp)}  {event.type}  {event.id}")
    if not batches:
        print(f"no batches accepted for {args.monitor}")
    return EXIT_OK

