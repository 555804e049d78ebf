"""Line keys: decision-log lines that can only differ in what no decision reads share a key;
anything that could change an outcome keeps lines apart."""

from __future__ import annotations

import json
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from rumpolicy.analysis.replay.linekeys import VOLATILE_KEYS, blankable, line_key_function

KEY = line_key_function(("aws:CurrentTime",))
REQUEST = {"action": "rum:PutRumEvents",
           "resource": "arn:aws:rum:us-east-1:123456789012:appmonitor/shop", "principal": None,
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
    assert first.startswith(b"\n\n")
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


def test_a_shortened_key_never_equals_a_whole_line():
    shortened = KEY(_line())
    assert shortened.startswith(b"\n\n")
    plain = (json.dumps(REQUEST) + "\n").encode()
    assert KEY(plain) == plain


def test_keys_a_policy_reads_are_not_blankable():
    assert blankable(["rum:alias", "aws:sourceip"]) == VOLATILE_KEYS
    assert blankable(["aws:currenttime"]) == ("aws:EpochTime",)
    # A key ending in a quote and the name could sit behind an escaped quote (docstring).
    assert blankable(['x"aws:epochtime']) == ("aws:CurrentTime",)
