"""Hypothesis against the HTTP app: malformed, oversized, wrongly typed and wrongly encoded
PutRumEvents requests always get a 4xx AWS error whose message names the member, never a 500,
and never leave anything in the store."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumpolicy.gate import Gate, GateConfig
from rumpolicy.gate.app import create_app

from ._helpers import allow_all_policy, batch, encoded
from .conftest import TestClient

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[TestClient, Gate, str]]:
    """Under an allow-everyone policy, so that every refusal below is about the input."""
    gate = Gate(None, GateConfig(max_body_bytes=LIMIT))
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=allow_all_policy())
    with TestClient(create_app(gate)) as client:
        yield client, gate, monitor_id


def post(app: tuple[TestClient, Gate, str], content: bytes, **headers: str) -> Any:
    client, gate, monitor_id = app
    response = client.post(f"/appmonitors/{monitor_id}", content=content, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert gate.events("shop") == []
    return response.json()["message"]


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


# JSON values only: Python writes inf as `Infinity`, which is not JSON (a body-level error).
_JSON = st.recursive(st.none() | st.booleans() | st.integers()
                     | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

# member path -> a strategy of values that member must refuse
_WRONG: dict[tuple[str | int, ...], st.SearchStrategy[Any]] = {
    ("BatchId",): _JSON.filter(lambda v: not isinstance(v, str)) | st.text(max_size=35),
    ("Alias",): st.just("") | st.text(min_size=256, max_size=300)
    | st.integers() | st.lists(st.text(), max_size=2),
    ("AppMonitorDetails",): st.integers() | st.text() | st.lists(st.integers(), max_size=2),
    ("UserDetails", "sessionId"): st.text(max_size=60).filter(lambda s: len(s) != 36)
    | st.integers(),
    ("RumEvents",): st.text() | st.integers() | st.dictionaries(st.text(max_size=3), st.integers()),
    ("RumEvents", 0, "id"): st.text(max_size=60).filter(lambda s: len(s) != 36) | st.booleans(),
    ("RumEvents", 0, "timestamp"): st.text() | st.booleans()
    | st.floats(max_value=-0.001, allow_infinity=False)
    | st.floats(min_value=3e11, allow_infinity=False),
    ("RumEvents", 0, "type"): _JSON.filter(lambda v: not isinstance(v, str)),
    ("RumEvents", 0, "details"): st.text(max_size=20).filter(_not_json)
    | st.dictionaries(st.text(max_size=3), st.integers(), min_size=1) | st.integers(),
    ("RumEvents", 0, "metadata"): st.text(max_size=20).filter(_not_json),
    ("SessionMetadata",): st.text(max_size=20).filter(_not_json) | st.integers(),
}


def _path(parts: tuple[str | int, ...]) -> str:
    shown = ""
    for part in parts:
        shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else part)
    return shown


@SETTINGS
@given(data=st.data(), member=st.sampled_from(sorted(_WRONG, key=str)))
def test_a_wrong_member_is_named(app: tuple[TestClient, Gate, str], data: st.DataObject,
                                 member: tuple[str | int, ...]) -> None:
    body = batch(app[2], "v1")
    value = data.draw(_WRONG[member])
    target: Any = body
    for part in member[:-1]:
        target = target[part]
    target[member[-1]] = value
    message = post(app, json.dumps(body).encode())
    assert f"at '{_path(member)}'" in message or f"at '{_path(member[:1])}" in message


@SETTINGS
@given(member=st.sampled_from(["BatchId", "AppMonitorDetails", "UserDetails", "RumEvents"]))
def test_a_missing_required_member_is_named(app: tuple[TestClient, Gate, str],
                                            member: str) -> None:
    body = batch(app[2], "v1")
    del body[member]
    assert f"Value null at '{member}'" in post(app, encoded(body))


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_pass(app: tuple[TestClient, Gate, str], raw: bytes) -> None:
    message = post(app, raw)
    assert "Request body" in message or "validation error" in message


@SETTINGS
@given(cut=st.integers(min_value=1, max_value=400))
def test_truncated_json_names_the_body(app: tuple[TestClient, Gate, str], cut: int) -> None:
    raw = encoded(batch(app[2], "v1"))
    assert "Request body is not valid JSON" in post(app, raw[:-cut])


@SETTINGS
@given(position=st.integers(min_value=0, max_value=300),
       bad=st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]))
def test_invalid_utf8_is_refused(app: tuple[TestClient, Gate, str], position: int,
                                 bad: bytes) -> None:
    raw = encoded(batch(app[2], "v1", Alias="v1-" + "x" * 20))
    start = raw.index(b"v1-") + 3
    index = start + position % 20
    message = post(app, raw[:index] + bad + raw[index + 1:])
    assert "not valid JSON" in message


@SETTINGS
@given(escape=st.sampled_from(["\\ud800", "\\udfff", "\\ud83d"]))
def test_lone_surrogate_escapes_are_refused(app: tuple[TestClient, Gate, str],
                                            escape: str) -> None:
    raw = encoded(batch(app[2], "PLACEHOLDER")).replace(b"PLACEHOLDER", escape.encode())
    assert "not valid JSON" in post(app, raw)


@SETTINGS
@given(events=st.integers(min_value=300, max_value=600))
def test_oversized_bodies_name_the_limit(app: tuple[TestClient, Gate, str], events: int) -> None:
    raw = encoded(batch(app[2], "v1", events=events))
    assert f"{LIMIT} bytes" in post(app, raw)
    assert f"{LIMIT} bytes" in post(app, gzip.compress(raw), **{"Content-Encoding": "gzip"})


@SETTINGS
@given(coding=st.sampled_from(["br", "zstd", "compress", "gzip, gzip"]))
def test_unknown_content_encodings_are_named(app: tuple[TestClient, Gate, str],
                                             coding: str) -> None:
    assert "Content-Encoding" in post(app, b"{}", **{"Content-Encoding": coding})


@SETTINGS
@given(number=st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]))
def test_non_json_numbers_are_refused(app: tuple[TestClient, Gate, str], number: bytes) -> None:
    raw = encoded(batch(app[2], "v1")).replace(b'"timestamp":1795000000', b'"timestamp":' + number)
    assert "not valid JSON" in post(app, raw)


def test_ids_are_checked_against_the_uuid_pattern(app: tuple[TestClient, Gate, str]) -> None:
    client, gate, _ = app
    for bad in ("x" * 36, str(uuid.uuid4()) + "0", str(uuid.uuid4()).replace("-", "_"), "%20"):
        response = client.post(f"/appmonitors/{bad}", content=encoded(batch(bad, "v1")))
        assert response.status_code == 400 and "at 'Id'" in response.json()["message"]
    assert gate.events("shop") == []
