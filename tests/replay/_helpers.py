"""What the replay tests share: the app monitors, policy builders, log lines and writers, the
traffic the units and cluster properties replay, and reports made comparable across runs."""

from __future__ import annotations

import gzip
import io
import json
import socket
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from rumpolicy import Request, load_policy
from rumpolicy.analysis.replay import Replayer
from rumpolicy.analysis.replay.reader import decode
from rumpolicy.policy import Policy

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
OTHER = "arn:aws:rum:us-east-1:123456789012:appmonitor/blog"
CANARY = Path(__file__).resolve().parents[2] / "fixtures" / "rollouts" / "canary"
"""shop-canary.json and shop-stable.json, the policies the command-line replays compare."""


# -- policies ---------------------------------------------------------------------------------


def statement(effect: str = "Allow", condition: Mapping[str, Any] | None = None, *,
              principal: Any = "*") -> dict[str, Any]:
    """A statement on PutRumEvents to MONITOR."""
    found: dict[str, Any] = {"Effect": effect, "Principal": principal,
                             "Action": "rum:PutRumEvents", "Resource": MONITOR}
    if condition:
        found["Condition"] = condition
    return found


def policy_document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def policy(*statements: dict[str, Any]) -> Policy:
    return load_policy(policy_document(*statements))


def alias_in(values: list[str], operator: str = "StringEquals") -> dict[str, Any]:
    """A condition on rum:alias."""
    return {operator: {"rum:alias": values}}


# -- lines and replays ------------------------------------------------------------------------


def request_line(alias: str | None = None, resource: str = MONITOR, **context: str) -> str:
    """A line of request JSONL (`Request.to_dict()`)."""
    if alias is not None:
        context["rum:alias"] = alias
    return json.dumps(Request(resource=resource, context=context).to_dict())


def log_record(request: Mapping[str, Any], n: int, *, compact: bool = True,
               **members: Any) -> str:
    """A decision-log line (docs/decision-log.md) around `request`: the gate's members, written
    as the gate writes them (`compact`) or spaced; `members` change or add some."""
    record = {"v": 1, "time": f"t{n}", "request_id": f"id-{n}", "monitor_id": "m",
              "monitor": "shop", "request": request, "effect": "allow", **members}
    return json.dumps(record, separators=(",", ":") if compact else None)


def json_request(line: bytes) -> Request | str:
    """The request `json` reads in a line (the reference a replay must agree with), or why
    the line holds none, as a replay words it."""
    shape = decode(line)
    if isinstance(shape, str):
        return shape
    try:
        return Request.from_dict(shape)
    except (ValueError, TypeError) as err:
        return f"not a request: {err}"


def replayed(text: str, policy: Policy | None, **options: Any) -> Replayer:
    """A Replayer (`options` are its own) fed `text` as the log `log.jsonl`."""
    replayer = Replayer(policy, **options)
    replayer.replay("log.jsonl", io.BytesIO(text.encode()))
    return replayer


def comparable(report: Any) -> dict[str, Any]:
    """A report (or its JSON) less the time it took, which no two runs share."""
    found = dict(report if isinstance(report, dict) else report.to_dict())
    del found["seconds"]
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the traffic units and clusters replay ----------------------------------------------------

NEW = policy(statement(condition=alias_in(["v2", "canary-*"], "StringLike")),
             statement("Deny", {"IpAddress": {"aws:SourceIp": ["198.51.100.0/24"]}}))
OLD = policy(statement(condition=alias_in(["v1", "v2"], "StringLike")))
ALIASES = ["v1", "v2", "canary-1", "canary-2", "V2", "x", None]


@st.composite
def traffic(draw: st.DrawFn) -> list[str]:
    """Request lines and decision-log lines (as the gate writes them and otherwise), bad lines,
    blank lines, other monitors."""
    lines = []
    for n in range(draw(st.integers(0, 60))):
        alias = draw(st.sampled_from(ALIASES))
        context: dict[str, Any] = {"aws:SourceIp": draw(st.sampled_from(
            ["203.0.113.9", "198.51.100.7", "2001:db8::1"]))}
        if alias is not None:
            context["rum:alias"] = alias
        if draw(st.booleans()):
            context["aws:CurrentTime"] = f"2026-12-01T00:00:{n % 60:02d}Z"
            context["aws:EpochTime"] = str(1796083200 + n)
        request = {"action": "rum:PutRumEvents",
                   "resource": draw(st.sampled_from([MONITOR, MONITOR, OTHER])),
                   "principal": None, "context": context}
        kind = draw(st.sampled_from(["plain", "gate", "spaced", "bad", "blank"]))
        if kind == "plain":
            lines.append(json.dumps(request))
        elif kind in ("gate", "spaced"):
            lines.append(log_record(request, n, compact=kind == "gate"))
        elif kind == "bad":
            lines.append(draw(st.sampled_from(["nope", '{"v": 2, "request": {}}', "[1]",
                                               json.dumps({**request, "principal": "bob"})])))
        else:
            lines.append("")
    return lines


def write_logs(directory: Path, lines: list[str], cuts: list[int], gzipped: list[bool]) -> None:
    """The lines over several logs, some gzip."""
    bounds = [0, *sorted(c % (len(lines) + 1) for c in cuts), len(lines)]
    for index, (start, end) in enumerate(pairwise(bounds)):
        text = "".join(line + "\n" for line in lines[start:end]).encode()
        name = directory / f"log-{index}.jsonl"
        if gzipped[index % len(gzipped)]:
            name.with_suffix(".jsonl.gz").write_bytes(gzip.compress(text))
        else:
            name.write_bytes(text)
