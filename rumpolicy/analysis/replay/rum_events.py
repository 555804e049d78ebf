"""CloudWatch RUM's own records of what it accepted, replayed where they hold enough.

With CwLogEnabled an app monitor copies every event it ingests to CloudWatch Logs (log group
/aws/vendedlogs/RUMService_<name><id prefix>), one JSON object per RUM event:
`event_timestamp` (the client's clock, milliseconds), `event_type` (com.amazon.rum....),
`event_id`, `event_version`, `log_stream`, `application_id` (the app monitor's id, not its ARN),
`application_version`, `metadata` (browser, OS, device, page, domain, `aws:client`, and the
`countryCode` / `subdivisionCode` RUM derives from the address), `user_details` (`sessionId`,
`userId`) and `event_details`. An export to S3 puts the ingestion time and a space before each.

What a decision reads is mostly absent: no alias, no source address (only a country), no
caller (signed or not, which role), no user agent or referer header, no time of the request
(`event_timestamp` is when the browser saw the event, often minutes earlier), and no record at
all of the requests RUM refused. So an event replays only when the user names the app monitor
(`--monitor`) and the caller (`--caller`), and the policies read no context key beyond those
IAM derives from the caller and the resource; otherwise it is reported, by line, as not
replayable, with what is missing. docs/rollouts.md says the same for users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

ANONYMOUS = "anonymous"
_EXPORT_PREFIX = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")
"""CloudWatch Logs' export to S3 writes each event as `<ingestion time> <message>`."""
DERIVED = frozenset({"aws:principalarn", "aws:principalaccount", "aws:principaltype",
                     "aws:username", "aws:resourceaccount"})
"""Keys IAM derives from the caller and the resource (engine/request.py), so known once the
caller and the monitor are. aws:userid too, for an anonymous caller only: a signed caller's is
its unique id, which no ARN tells."""


def export_message(line: bytes) -> bytes | None:
    """The message of a line of a CloudWatch Logs export, or None for other lines."""
    found = _EXPORT_PREFIX.match(line)
    return line[found.end():] if found is not None else None


def is_rum_event(record: Mapping[str, Any]) -> bool:
    event_type = record.get("event_type")
    return (isinstance(event_type, str) and event_type.startswith("com.amazon.rum.")
            and "application_id" in record and "request" not in record)


def rum_event_request(*, monitor: str | None, caller: str | None,
                      keys_read: Iterable[str]) -> dict[str, Any] | str:
    """The request shape every RUM event of the log stands for, or why none can be replayed.
    It does not depend on the event: the event holds nothing a decision can read."""
    known = DERIVED | {"aws:userid"} if caller == ANONYMOUS else DERIVED
    missing = sorted({k for k in keys_read if k.lower() not in known})
    needs = []
    if monitor is None:
        needs.append("--monitor ARN (an event names its app monitor by id only)")
    if caller is None:
        needs.append("--caller anonymous|ARN (an event does not say who called)")
    if missing:
        return (f"not replayable: a CloudWatch RUM log event records no {', '.join(missing)}, "
                "which the policies read")
    if needs:
        return f"not replayable: name {' and '.join(needs)}"
    assert monitor is not None
    return {"resource": monitor, "principal": None if caller == ANONYMOUS else caller,
            "context": {}}
