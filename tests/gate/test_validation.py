"""Bytes to a validated PutRumEvents body, and the messages that name what is wrong.

Rules cited: botocore's RUM model (Alias 1-255, UUID ids of 36 characters, `details`, `metadata`
and `SessionMetadata` are jsonvalue strings, timestamps are epoch seconds as JSON numbers);
aws-rum-web gzips batches of 2 KB and more (wire README)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest

from rumpolicy.gate.errors import GateError
from rumpolicy.gate.validation import (
    decode_body,
    parse_object,
    read_alias,
    validate_put_body,
)

from ._helpers import batch, encoded, event

MONITOR = "a1b2c3d4-0000-4000-8000-00000000beef"


def refusal(call: Any, *args: Any) -> GateError:
    with pytest.raises(GateError) as caught:
        call(*args)
    assert caught.value.code == "ValidationException"
    return caught.value


def test_gzip_and_deflate_bodies_decode() -> None:
    body = encoded(batch(MONITOR, events=30))
    assert decode_body(gzip.compress(body), "gzip") == body
    assert decode_body(zlib.compress(body), "deflate") == body
    assert decode_body(body, None) == body
    assert decode_body(body, "identity") == body


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b" " * (20 * 1024 * 1024))
    error = refusal(decode_body, bomb, "gzip", 1024 * 1024)
    assert "decompresses to more than 1048576 bytes" in error.message


def test_truncated_gzip_and_unknown_encodings_name_the_problem() -> None:
    body = gzip.compress(encoded(batch(MONITOR)))
    assert "truncated" in refusal(decode_body, body[:-10], "gzip").message
    assert "Content-Encoding" in refusal(decode_body, b"not gzip", "gzip").message
    assert "Content-Encoding 'br' is not supported" in refusal(decode_body, b"x", "br").message


@pytest.mark.parametrize(("raw", "expected"), [
    (b"", "Request body is empty"),
    (b"[]", "must be a JSON object, not an array"),
    (b'{"a":', "not valid JSON"),
    (b'{"BatchId": NaN}', "not valid JSON"),
    (b'{"Alias": "\xff"}', "not valid JSON: invalid UTF-8 at line 1 column 12"),
    (b'{"Alias":\n "\xc3\xa9\xff"}', "not valid JSON: invalid UTF-8 at line 2 column 4"),
    (b'{"RumEvents": [1e400]}', "not valid JSON: number is infinity"),  # RFC 8259 section 6
    (b'{"Alias": "\\ud800"}', "not valid JSON"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),
])
def test_bodies_that_are_not_json_objects(raw: bytes, expected: str) -> None:
    assert expected in refusal(parse_object, raw).message


def test_a_text_body_with_a_lone_surrogate_says_where() -> None:
    message = refusal(parse_object, '{"a": 1,\n"Alias": "v\ud800"}').message
    assert message.endswith("a lone surrogate is not Unicode text at line 2 column 12")


@pytest.mark.parametrize(("alias", "expected"), [
    ("", "Member must have length greater than or equal to 1"),
    ("a" * 256, "Member must have length less than or equal to 255"),
    (7, "Member must be a string, not a number"),
    (["v1"], "Member must be a string, not an array"),
])
def test_alias_is_checked_before_the_decision(alias: Any, expected: str) -> None:
    error = refusal(read_alias, {"Alias": alias})
    assert "at 'Alias'" in error.message
    assert expected in error.message


def test_alias_boundaries_are_the_models() -> None:
    assert read_alias({"Alias": "a" * 255}) == "a" * 255
    assert read_alias({"Alias": "x"}) == "x"
    assert read_alias({}) is None
    assert read_alias({"Alias": None}) is None  # null for an optional member means absent


def test_realistic_batches_validate() -> None:
    body = validate_put_body(batch(MONITOR, "v1", events=20))
    assert len(body["RumEvents"]) == 20
    assert body["Alias"] == "v1"


def test_timestamps_are_epoch_seconds_int_or_float() -> None:
    for stamp in (1704164645, 1704164645.123456, 0):
        body = validate_put_body(batch(MONITOR, RumEvents=[event(timestamp=stamp)]))
        assert body["RumEvents"][0]["timestamp"] == stamp


@pytest.mark.parametrize(("changes", "where", "constraint"), [
    ({"BatchId": "x"}, "BatchId", "length greater than or equal to 36"),
    ({"BatchId": "z" * 36}, "BatchId", "regular expression pattern: [a-fA-F0-9]{8}-"),
    ({"BatchId": None}, "BatchId", "Member must not be null"),
    ({"RumEvents": [event(id="1234")]}, "RumEvents[0].id", "length greater than or equal"),
    ({"RumEvents": [event(), event(details="{oops")]}, "RumEvents[1].details",
     "Member must be a string of JSON text"),
    ({"RumEvents": [event(metadata="")]}, "RumEvents[0].metadata", "JSON text"),
    ({"RumEvents": [event(details={"a": 1})]}, "RumEvents[0].details", "Member must be a string"),
    ({"RumEvents": [event(timestamp="1704164645")]}, "RumEvents[0].timestamp", "number"),
    ({"RumEvents": [event(timestamp=True)]}, "RumEvents[0].timestamp", "number"),
    ({"RumEvents": [event(timestamp=-1)]}, "RumEvents[0].timestamp",
     "value greater than or equal to 0"),
    ({"RumEvents": [event(timestamp=1e300)]}, "RumEvents[0].timestamp",
     "value less than or equal to 253402300799"),
    ({"RumEvents": [event(timestamp=float("inf"))]}, "RumEvents[0].timestamp", "finite number"),
    ({"RumEvents": [event(details='{"big": 1e999}')]}, "RumEvents[0].details", "JSON text"),
    ({"RumEvents": [event(type=3)]}, "RumEvents[0].type", "Member must be a string"),
    ({"RumEvents": {"id": "x"}}, "RumEvents", "Member must be a list"),
    ({"UserDetails": {"sessionId": "s"}}, "UserDetails.sessionId", "length greater"),
    ({"UserDetails": []}, "UserDetails", "Member must be a JSON object"),
    ({"SessionMetadata": "{"}, "SessionMetadata", "JSON text"),
    ({"AppMonitorDetails": {"version": 1}}, "AppMonitorDetails.version", "be a string"),
])
def test_each_bad_member_is_named_with_its_constraint(changes: dict[str, Any], where: str,
                                                      constraint: str) -> None:
    error = refusal(validate_put_body, batch(MONITOR, **changes))
    assert error.message.startswith("1 validation error detected: Value ")
    assert f"at '{where}' failed to satisfy constraint: " in error.message
    assert constraint in error.message


def test_many_errors_are_counted_and_the_list_is_capped() -> None:
    body = batch(MONITOR, RumEvents=[event(id="bad") for _ in range(25)])
    message = refusal(validate_put_body, body).message
    assert message.startswith("25 validation errors detected: ")
    assert message.endswith("; and 15 more")


def test_messages_never_echo_huge_or_raw_values() -> None:
    body = batch(MONITOR, RumEvents=[event(details="x\n" * 100_000)])
    message = refusal(validate_put_body, body).message
    assert len(message) < 600
    assert "\n" not in message


def test_unknown_members_are_ignored_and_empty_event_lists_accepted() -> None:
    body = validate_put_body(batch(MONITOR, Extra={"x": 1}, RumEvents=[]))
    assert body["RumEvents"] == []
    assert "Extra" not in body


def test_member_names_are_case_sensitive() -> None:
    body = batch(MONITOR)
    body["batchId"] = body.pop("BatchId")
    assert "Value null at 'BatchId'" in refusal(validate_put_body, body).message


def test_parse_object_accepts_what_real_clients_send() -> None:
    boto_style = json.dumps(batch(MONITOR, "v\u00ea"), ensure_ascii=True).encode()
    assert parse_object(boto_style)["Alias"] == "v\u00ea"


def test_repeated_json_texts_are_checked_once_and_bad_ones_every_time() -> None:
    """metadata and SessionMetadata repeat across events and batches (aws-rum-web), so a text
    found to be JSON is remembered; a bad one is never remembered, and the memory is bounded."""
    from rumpolicy.gate import models

    good = json.dumps({"title": "remembered", "pageId": "/r"})
    body = batch(MONITOR, "v1", events=3)
    for item in body["RumEvents"]:
        item["metadata"] = good
    validate_put_body(body)
    assert good in models._SEEN_JSON
    for _ in range(3):  # the same bad text, again and again, is refused each time
        body["RumEvents"][0]["metadata"] = '{"title": "oops"'
        assert "RumEvents[0].metadata" in refusal(validate_put_body, body).message
    assert '{"title": "oops"' not in models._SEEN_JSON
    for n in range(models._SEEN_JSON_LIMIT + 5):
        validate_put_body(batch(MONITOR, SessionMetadata=json.dumps({"n": n})))
    assert len(models._SEEN_JSON) <= models._SEEN_JSON_LIMIT
