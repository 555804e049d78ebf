"""The 4 KB limit is checked before the policy is parsed: a 50 MB file used to take 20 s and a
gigabyte of memory to be told it is too large. The diagnostic is unchanged: its size in UTF-8
bytes, at 1:1, path `$`."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.policy import loader

STATEMENT = {"Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents",
             "Resource": "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"}


def _diagnostics(text: str) -> list[rp.Diagnostic]:
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy(text)
    return list(raised.value.diagnostics)


def test_a_policy_over_the_limit_is_refused_without_being_parsed():
    text = json.dumps({"Version": "2012-10-17", "Statement": [
        {**STATEMENT, "Sid": f"S{i}"} for i in range(20_000)]}, indent=2)

    def parse_json(_: str) -> object:
        raise AssertionError("an oversized policy was parsed")

    with mock.patch.object(loader, "parse_json", parse_json):
        [diagnostic] = _diagnostics(text)
    assert (diagnostic.code, diagnostic.line, diagnostic.column, diagnostic.path) == (
        "policy-too-large", 1, 1, "$")
    assert diagnostic.message == (f"the policy is {len(text.encode())} bytes; a RUM resource "
                                  "policy may be at most 4096 bytes of UTF-8")
    identity = {**json.loads(text), "Statement": [
        {k: v for k, v in s.items() if k != "Principal"} for s in json.loads(text)["Statement"]]}
    assert len(rp.load_policy(identity, kind="identity").statements) == 20_000  # no limit


def test_over_the_limit_nothing_but_the_size_is_reported():
    """As PutResourcePolicy answers PolicySizeLimitExceededException alone: a 5 KB policy
    with a syntax error is told its size, not also its syntax."""
    text = json.dumps({"Version": "2012-10-17", "Statement": [STATEMENT],
                       "Id": "x" * 5000})[:-1]
    assert [d.code for d in _diagnostics(text)] == ["policy-too-large"]


@given(st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=60),
       st.integers(1, 8))
def test_the_size_is_the_utf8_length_chunk_by_chunk(text, chunk):
    """Lone surrogates (only a str holds them) count 3 bytes, as `surrogatepass` writes them;
    a chunk boundary anywhere changes nothing."""
    with mock.patch.object(loader, "_SIZE_CHUNK", chunk):
        assert loader._utf8_size(text) == len(text.encode("utf-8", "surrogatepass"))


def _statements(count: int) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [
        {**STATEMENT, "Sid": f"S{i}", "Condition": {"StringEquals": {"rum:alias": [f"v{i}"]}}}
        for i in range(count)]}


def test_a_mapping_is_measured_as_json_dumps_sends_it():
    """RUM counts the document it receives (aws-facts §1.6); a mapping reaches it as boto3
    users write it, `json.dumps(doc)`, not as the indented text the loader keeps for
    positions, which refused a 2.7 KB policy as 4.4 KB (review)."""
    doc = _statements(14)
    assert len(json.dumps(doc)) <= 4096 < len(json.dumps(doc, indent=2))
    assert len(rp.load_policy(doc).statements) == 14
    bigger = _statements(21)
    with pytest.raises(rp.PolicyError) as raised:
        rp.load_policy(bigger)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.message.startswith(f"the policy is {len(json.dumps(bigger))} bytes;")


def test_a_mapping_nested_past_python_is_a_diagnostic_not_a_traceback():
    deep: dict[str, object] = {"a": 1}
    for _ in range(1_000):
        deep = {"a": deep}
    for kind in ("resource", "identity"):
        with pytest.raises(rp.PolicyError) as raised:
            rp.load_policy(deep, kind=kind)  # type: ignore[arg-type]
        assert [d.code for d in raised.value.diagnostics] == ["json-syntax"]
