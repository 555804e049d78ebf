"""The orjson projector answers only where it agrees with the `json` reference: its projection
is what a Request built from `json`'s decoding reads, or it stays silent. A replay, which
decodes a plain line only with orjson, decides every line as `json` reads it."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rumpolicy import Request, evaluate
from rumpolicy.analysis.replay import Replayer
from rumpolicy.analysis.replay.reader import decode, projector

from ._helpers import MONITOR, json_request, policy, replayed, statement

KEYS = ("rum:alias", "aws:sourceip", "aws:currenttime")
PROJECT = projector(KEYS, cap=4)

_SCALARS = (st.text(max_size=4) | st.integers(-2**70, 2**70) | st.floats() | st.booleans()
            | st.none())
_NAMES = st.sampled_from(["rum:alias", "RUM:Alias", "aws:SourceIp", "aws:sourceip",
                          "aws:CurrentTime", "other"])


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    """Request lines and decision-log records with odd members, value types, numbers past 64
    bits, duplicate keys written out by hand, then raw damage."""
    values = st.text(max_size=4) if draw(st.integers(0, 3)) else \
        _SCALARS | st.lists(st.text(max_size=3), max_size=2)
    context = draw(st.lists(st.tuples(_NAMES, values), max_size=5))
    members = [("resource", draw(st.sampled_from([MONITOR] * 6 + ["", 7, None]))),
               ("principal", draw(st.sampled_from([None] * 3 + [
                   "arn:aws:iam::123456789012:role/r", "bob", 5])))]
    if draw(st.booleans()):
        members.append(("action", draw(st.sampled_from(["rum:PutRumEvents", "", 1]))))
    members.append(("context", "{" + ",".join(f"{json.dumps(k)}:{_text(v)}"
                                              for k, v in context) + "}"))
    if draw(st.booleans()):
        members.append((draw(st.sampled_from(["extra", "v"])), 1))
    request = "{" + ",".join(f"{json.dumps(k)}:{v if k == 'context' else _text(v)}"
                             for k, v in members) + "}"
    if draw(st.booleans()):
        version = draw(st.sampled_from(["1", "2", "true", "1.0", "18446744073709551617"]))
        line = '{"v":' + version + ',"time":"t","request":' + request + ',"effect":"allow"}'
    else:
        line = request
    data = line.encode()
    if not draw(st.integers(0, 3)):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=2)) + data[at:]
    return data + b"\n"


def _text(value: Any) -> str:
    try:
        return json.dumps(value)
    except ValueError:
        return "NaN"


@settings(max_examples=600, deadline=None)
@given(_lines())
def test_the_projector_agrees_with_json_or_stays_silent(line):
    key = PROJECT(line)
    if key is None:
        return
    shape = decode(line)
    assert isinstance(shape, dict), shape
    try:
        request = Request.from_dict(shape)
    except ValueError as err:
        # Bad for a reason the projection holds: the caller, the action or the resource.
        try:
            Request(principal=key[0], action=key[1], resource=key[2])
        except ValueError as same:
            assert str(same) == str(err)
            return
        raise AssertionError(f"bad only outside its projection: {err}") from None
    assert key == (request.principal, request.action, request.resource,
                   *(request.get(k) for k in KEYS))


def test_only_the_integer_1_is_version_1():
    request = json.dumps({"resource": MONITOR})
    for version in ("true", "1.0"):
        line = f'{{"v":{version},"request":{request}}}'.encode()
        assert decode(line) == (f"not a decision-log record: version {version} is not "
                                "supported (expected 1)")
        assert PROJECT(line) is None
    assert decode(f'{{"v":1,"request":{request}}}'.encode()) == {"resource": MONITOR}


NEW = policy(statement(condition={"StringLike": {"rum:alias": ["?", ""]}}),
             statement("Deny", {"StringLike": {"aws:SourceIp": ["*0*"]}}))
OLD = policy(statement(condition={"StringLike": {"aws:CurrentTime": ["?*"]}}))


def _as_json_reads(line: bytes) -> Any:
    """What a line counts as, read by `json`: why it is bad, or (alias, effect, before)."""
    request = json_request(line)
    if isinstance(request, str):
        return request
    return (request.get("rum:alias"), evaluate(NEW, request).effect,
            evaluate(OLD, request).effect)


@settings(max_examples=600, deadline=None)
@given(_lines())
def test_a_replay_decides_each_line_as_json_reads_it(line):
    assume(line.count(b"\n") == 1)  # damage may cut it in two
    replayer = Replayer(NEW, OLD)
    replayer.replay("log", io.BytesIO(line))
    expected = _as_json_reads(line)
    if isinstance(expected, str):
        assert [b.message for b in replayer.bad_lines] == [expected]
    else:
        ((outcome, n),) = replayer.counts.items()
        assert ((outcome[0], outcome[1], outcome[3]), n) == (expected, 1)


def test_a_line_nested_deeper_than_json_reads_is_bad_as_json_says():
    """orjson reads 1,023 levels, `json` about 1,000 (fewer deep in a stack): a plain line
    only orjson reads is still bad. Shallower lines replay, by either way of reading them."""
    request = json.dumps({"resource": MONITOR, "context": {"rum:alias": "v2"}})

    def nested(depth: int) -> str:
        return '{"v":1,"request":' + request + ',"x":' + "[" * depth + "]" * depth + "}\n"

    deep = replayed(nested(1010), None)
    assert [(b.line, b.message) for b in deep.bad_lines] == [(1, "not JSON: nested too deeply")]
    # After a line with the same request: still bad, whatever the caches hold (the units of a
    # cut log would otherwise disagree with the whole log).
    after = replayed(nested(1) + nested(1010), None)
    assert [(b.line, b.message) for b in after.bad_lines] == [(2, "not JSON: nested too deeply")]
    for depth in (150, 300):  # decided from the projection, and from `json`'s decoding
        shallow = replayed(nested(depth), None)
        assert (shallow.records, shallow.bad) == (1, 0)
