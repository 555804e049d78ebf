"""Building a `Request`: its validations, the keys IAM derives, and that the fast constructor's
caches never change what a request holds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rumpolicy.engine.request as request_module
from rumpolicy import Request
from rumpolicy.engine.principals import parse_caller

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
SESSION = "arn:aws:sts::123456789012:assumed-role/rum-forwarder/web-1"


def _reference_values(principal: str | None, resource: str,
                      context: dict[str, object]) -> dict[str, object]:
    """The request context written out the slow, obvious way (IAM global condition keys page:
    aws:PrincipalType, aws:PrincipalAccount, aws:PrincipalArn, aws:username,
    aws:ResourceAccount, aws:userid of an anonymous caller; key names are case-insensitive)."""
    caller = parse_caller(principal)
    values: dict[str, object] = {}
    parts = resource.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4]:
        values["aws:resourceaccount"] = parts[4]
    values["aws:principaltype"] = caller.kind.value
    values["aws:principalaccount"] = caller.account or "anonymous"
    if caller.arn is not None:
        values["aws:principalarn"] = caller.role_arn or caller.arn
    else:  # IAM's principal-key table: anonymous rows of aws:userid and aws:PrincipalType
        values["aws:userid"] = "anonymous"
    if caller.kind.value == "User":
        values["aws:username"] = caller.name
    for key, value in context.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[key.lower()] = value
    return values


_KEYS = st.sampled_from(["aws:SourceIp", "aws:sourceip", "AWS:SOURCEIP", "rum:alias",
                         "aws:PrincipalArn", "aws:principaltype", "aws:referer", "Custom:Key"])
_VALUES = st.one_of(st.text(max_size=5), st.booleans(), st.integers(), st.floats(),
                    st.lists(st.text(max_size=3), max_size=3))
_PRINCIPALS = st.sampled_from([None, SESSION, "arn:aws:iam::123456789012:user/ops/alice",
                               "arn:aws:iam::999999999999:role/x",
                               "arn:aws:iam::123456789012:root"])
_RESOURCES = st.sampled_from([MONITOR, "arn:aws:rum:eu-west-1::appmonitor/x", "not-an-arn",
                              "arn:aws:rum:us-east-1:444455556666:appmonitor/a:b"])


@settings(max_examples=300, deadline=None)
@given(principal=_PRINCIPALS, resource=_RESOURCES,
       context=st.dictionaries(_KEYS, _VALUES, max_size=6), cache=st.sampled_from([1, 2, 16_384]))
def test_values_equal_the_reference_whatever_the_caches_hold(principal, resource, context,
                                                             cache):
    saved, request_module._CACHE_ENTRIES = request_module._CACHE_ENTRIES, cache
    try:
        for _ in range(2):  # the second build is answered from the caches
            request = Request(resource=resource, principal=principal, context=context)
            assert dict(request.values) == _reference_values(principal, resource, context)
            assert request.caller == parse_caller(principal)
            assert dict(request.context) == context
            assert Request.from_dict(request.to_dict()) == request
    finally:
        request_module._CACHE_ENTRIES = saved


def test_the_request_keeps_its_own_copy_of_the_context():
    context = {"rum:alias": "v1"}
    request = Request(resource=MONITOR, context=context)
    context["rum:alias"] = "v2"
    context["aws:SourceIp"] = "203.0.113.9"
    assert request.get("RUM:ALIAS") == "v1" and request.get("aws:sourceip") is None
    assert dict(request.context) == {"rum:alias": "v1"}
    with pytest.raises(TypeError):
        request.context["rum:alias"] = "v3"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.resource = "x"  # type: ignore[misc]


def test_it_is_still_a_dataclass():
    request = Request(resource=MONITOR, principal=SESSION, context={"rum:alias": "v1"})
    assert [f.name for f in dataclasses.fields(request)][:4] == [
        "resource", "action", "principal", "context"]
    moved = dataclasses.replace(request, principal=None)
    assert moved.caller.anonymous and moved.get("aws:principalarn") is None
    assert moved.get("rum:alias") == "v1"
    assert repr(request).startswith("Request(resource=")


@pytest.mark.parametrize(("fields", "message"), [
    ({"resource": ""}, "a request needs a resource"),
    ({"resource": 7}, "a request needs a resource"),
    ({"resource": MONITOR, "action": ""}, "action must be a non-empty string"),
    ({"resource": MONITOR, "action": None}, "action must be a non-empty string"),
    ({"resource": MONITOR, "principal": 12}, "principal must be an ARN string"),
    ({"resource": MONITOR, "principal": "alice"}, "'alice' is not a caller ARN"),
    ({"resource": MONITOR, "context": {1: "x"}}, "context keys must be strings"),
    ({"resource": MONITOR, "context": {"k": {"a": 1}}}, "context value of 'k'"),
    ({"resource": MONITOR, "context": {"k": ["a", 1]}}, "context value of 'k'"),
    ({"resource": MONITOR, "context": {"k": None}}, "context value of 'k'"),
    ({"resource": MONITOR, "context": [("k", "v")]}, "context must be a mapping"),
])
def test_every_validation_names_the_field(fields, message):
    with pytest.raises(ValueError, match=message):
        Request(**fields)


@pytest.mark.parametrize(("data", "message"), [
    ({"resource": MONITOR, "extra": 1}, "unknown request field"),
    ({"resource": MONITOR, "context": ["k"]}, "request.context must be an object"),
    ({"context": {}}, "a request needs a resource"),
])
def test_from_dict_names_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        Request.from_dict(data)


def test_long_key_names_and_resources_are_not_remembered() -> None:
    """A hostile context must not fill the caches with megabytes of text (request.py)."""
    key, resource = "k" * 10_000, "arn:aws:rum:us-east-1:123456789012:appmonitor/" + "x" * 10_000
    made = Request(resource=resource, context={key: "v"})
    assert made.get(key) == "v"
    assert made.get("aws:ResourceAccount") == "123456789012"
    assert key not in request_module._lowered
    assert all(cached[1] != resource for cached in request_module._derived)
