"""Line keys: decision-log lines that can only differ in what no decision reads share a key;
anything that could change an outcome keeps lines apart; a key replays as its line does."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.replay import ReplayJob, expand, plan, replay_logs, replay_units
from rumpolicy.analysis.replay.linekeys import (
    SHORT_HEAD,
    VOLATILE_KEYS,
    blankable,
    line_key_function,
)

from ._helpers import MONITOR, comparable, json_request, policy, statement

KEY = line_key_function(("aws:CurrentTime",))
REQUEST = {"action": "rum:PutRumEvents", "resource": MONITOR, "principal": None,
           "context": {"rum:alias": "v2", "aws:CurrentTime": "2026-11-26T10:00:00Z"}}


def _line(time: str = "2026-11-26T10:00:00.123Z", request_id: str = "7f3c", *,
          compact: bool = False, **changes: object) -> bytes:
    request = json.loads(json.dumps(REQUEST))
    context = changes.pop("context", None)
    if context is not None:
        request["context"] = context
    record = {"v": 1, "time": time, "request_id": request_id, "monitor_id": "0d4e",
              "monitor": "shop", "request": request, "effect": "allow",
              "reason": "resource_policy_allow", "status": 200, **changes}
    separators = (",", ":") if compact else None
    return (json.dumps(record, separators=separators) + "\n").encode()


@given(st.text("0123456789:-TZ.", max_size=30), st.text("0123456789abcdef-", max_size=40),
       st.text("0123456789:-TZ", max_size=25), st.booleans())
def test_time_id_and_current_time_do_not_split_lines(time, request_id, current, compact):
    other = _line(time, request_id, context={"rum:alias": "v2", "aws:CurrentTime": current},
                  compact=compact)
    assert KEY(other) == KEY(_line(compact=compact))


def test_lines_the_gate_writes_share_a_key_across_time_and_requests():
    from rumpolicy import Effect, Request, evaluate
    from rumpolicy.gate.context import build_request
    from rumpolicy.gate.decision_log import entry

    def written(now: float, request_id: str, alias: str) -> bytes:
        origin = SimpleNamespace(extra={}, secure_transport=True, source_ip="203.0.113.9",
                                 user_agent="aws-rum-web/1.20", referer=None, identity=None)
        request = build_request(resource=REQUEST["resource"], alias=alias,
                                origin=origin, now=now, region="us-east-1")  # type: ignore[arg-type]
        decision = evaluate(None, request)
        assert decision.effect is Effect.IMPLICIT_DENY
        record = entry(at=now, request_id=request_id, monitor_id="m-1", monitor="shop",
                       request=request, decision=decision, status=403)
        # As DecisionLog.write puts it on disk.
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        assert Request.from_dict(json.loads(line)["request"]) == request
        return line.encode()

    key = line_key_function(blankable(["rum:alias"]))
    first = key(written(1_796_083_200.25, "a" * 32, "v2"))
    assert first.startswith(SHORT_HEAD) and b'"aws:CurrentTime":"","aws:EpochTime":""' in first
    assert key(written(1_796_090_000.5, "b" * 32, "v2")) == first
    assert key(written(1_796_083_200.25, "a" * 32, "v1")) != first


def test_what_a_decision_can_read_keeps_lines_apart():
    base = KEY(_line())
    assert KEY(_line(context={"rum:alias": "v1", "aws:CurrentTime": "x"})) != base
    assert KEY(_line(effect="explicit_deny")) != base  # kept, though unread: the tail stays
    # A head that is not the plain scalar members is not dropped.
    assert KEY(_line(v=2)) != base                       # a later "v" wins in JSON
    assert KEY(_line().replace(b'"v": 1', b'"v": 2')) == _line().replace(b'"v": 1', b'"v": 2')
    nested = _line().replace(b'"monitor": "shop"', b'"monitor": {"a": 1}')
    assert KEY(nested) == nested
    escaped = _line().replace(b'"monitor": "shop"', b'"monitor": "sh\\"op"')
    assert KEY(escaped) == escaped
    # 007 is not a JSON number: that line is bad, so it may not share the key of a good one.
    compact = _line(compact=True)
    assert KEY(compact.replace(b'"v":1,', b'"v":1,"n":7,')) == KEY(compact)
    zeros = compact.replace(b'"v":1,', b'"v":1,"n":007,')
    assert KEY(zeros) == zeros
    # A read key is never blanked: without it in `blank`, the time stays in the key.
    strict = line_key_function(())
    assert strict(_line()) != strict(_line(context={"rum:alias": "v2",
                                                     "aws:CurrentTime": "later"}))


def test_values_that_are_not_plain_strings_are_not_blanked():
    odd = _line(context={"rum:alias": "v2", "aws:CurrentTime": 'a"b'})
    other = _line(context={"rum:alias": "v2", "aws:CurrentTime": "a\\u0022b"})
    assert KEY(odd) != KEY(other)


def test_a_line_that_is_already_a_key_is_its_own_key():
    shortened = KEY(_line())
    assert shortened.startswith(SHORT_HEAD)
    assert KEY(shortened) == shortened
    plain = (json.dumps(REQUEST) + "\n").encode()
    assert KEY(plain) == plain


_BLANKED = tuple(k.lower() for k in VOLATILE_KEYS)


def _replays_as(line: bytes) -> Any:
    """What a replay reads from a line: the kind of its badness, or the request less the
    values of the blankable keys (which keys rewrite)."""
    request = json_request(line)
    if isinstance(request, str):  # a key may move an error's column, not its kind
        return request if request.startswith("not a request:") else request.partition(":")[0]
    return (request.principal, request.action, request.resource,
            {k: v for k, v in request.values.items() if not k.endswith(_BLANKED)})


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6) | \
    st.sampled_from(["2026-12-01T00:00:00Z", "1796083200", 'a"b', "a\\b", "\u00e9", "\n"])


@st.composite
def _records(draw: st.DrawFn) -> bytes:
    """Decision-log lines as the gate writes them and otherwise: heads of other members and
    values, other spacing, the times of any value, side by side or apart, then raw damage."""
    head: dict[str, Any] = {"v": draw(st.sampled_from([1, 1, 1, 2, "1", True]))}
    gate = ["time", "request_id", "monitor_id", "monitor"]
    names = st.sampled_from([*gate, "v", "n", "Time", "request"])
    for name in draw(st.just(gate) | st.lists(names, max_size=4)):
        head[name] = draw(_TEXT | st.integers(-5, 10**20) | st.none() | st.just({"a": 1}))
    times = {"aws:CurrentTime": draw(_TEXT), "aws:EpochTime": draw(_TEXT)}
    context: dict[str, Any] = {"aws:SourceIp": "203.0.113.9"}
    if draw(st.booleans()):
        context.update(times)
        context["rum:alias"] = draw(st.sampled_from(["v1", "v2"]))
    else:
        context["rum:alias"] = draw(st.sampled_from(["v1", "v2"]))
        context.update(reversed(times.items()))
    request = {"action": "rum:PutRumEvents", "resource": REQUEST["resource"],
               "principal": None, "context": context}
    record = {**head, "request": request, "effect": "allow"}
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    line = json.dumps(record, separators=separators, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(line)))
        damage = draw(st.binary(min_size=1, max_size=2))
        line = line[:at] + damage + line[at + draw(st.integers(0, 2)):]
    return line + b"\n"


@settings(max_examples=400, deadline=None)
@given(_records(), st.sampled_from([VOLATILE_KEYS, ("aws:EpochTime",), ()]))
def test_a_key_replays_exactly_as_its_line(line, blank):
    assert _replays_as(line_key_function(blank)(line)) == _replays_as(line)


def test_keys_a_policy_reads_are_not_blankable():
    assert blankable(["rum:alias", "aws:sourceip"]) == VOLATILE_KEYS
    assert blankable(["aws:currenttime"]) == ("aws:EpochTime",)
    # A key ending in a quote and the name could sit behind an escaped quote (docstring).
    assert blankable(['x"aws:epochtime']) == ("aws:CurrentTime",)


def test_a_head_number_neither_decoder_reads_keeps_the_line_its_own_key(tmp_path):
    """`json` refuses integers of more than 4,300 digits and orjson past 64 bits: a line whose
    head holds one is bad, so its key must not drop it and read as a valid request. Otherwise
    the line counts when its chunk is counted by keys and is bad when counted by bytes, and a
    log cut into units disagrees with the whole log (here 13 records and 1 bad line)."""
    huge = b'{"v":1,"n":1' + b"0" * 5000 + b',"request":{"resource":"' + MONITOR.encode() + \
        b'","context":{"rum:alias":"a"}}}\n'
    assert KEY(huge) == huge
    assert KEY(_line(compact=True, n=10 ** 18)) != _line(compact=True, n=10 ** 18)  # 19 digits

    allow_all = policy(statement())
    distinct = b"".join(_line(compact=True, request_id=str(i)) for i in range(3))
    log = tmp_path / "log.jsonl"
    log.write_bytes(distinct + _line(compact=True, request_id="same") * 10 + huge)
    whole = replay_logs(allow_all, [str(log)])
    units = plan(expand([str(log)]), len(distinct))
    merged = replay_units(ReplayJob(allow_all).with_token(), units)
    assert (whole.records, whole.bad) == (13, 1)
    assert comparable(merged) == comparable(whole)
