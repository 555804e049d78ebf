"""Hypothesis strategies for app-monitor policies and PutRumEvents requests.

They draw from small pools on purpose: policies and requests then share aliases, addresses and
principals often enough that statements really match, which is where bugs live.

    from rumpolicy.testing.strategies import policies, requests
    @given(policies(), requests())
    def test_my_policy_never_lets_alias_less_requests_in(policy, request): ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from rumpolicy.engine.request import Request
from rumpolicy.policy.loader import load_policy
from rumpolicy.policy.models import Policy, PolicyKind

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "999999999999"
REGION = "us-east-1"
MONITORS = ("shop", "blog")
ALIASES = ("v1", "v2", "V1", "canary-1", "canary-internal", "legacy", "a*", "x y")


def monitor_arn(name: str = "shop", account: str = ACCOUNT) -> str:
    return f"arn:aws:rum:{REGION}:{account}:appmonitor/{name}"


CALLERS = (
    None,
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/session-1",
    f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder",
    f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory",
    f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/rum-forwarder/s",
)

_IPS = ("203.0.113.9", "203.0.113.200", "198.51.100.252", "192.0.2.1", "10.1.2.3",
        "2001:db8::7", "2001:db8:1::1", "::1", "not-an-ip", "::ffff:198.51.100.252", "")
_CIDRS = ("203.0.113.0/24", "198.51.100.252", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32",
          "2001:db8:1::/48", "::/0", "203.0.113.128/25")
_TIMES = ("2026-11-26T10:00:00Z", "2026-12-01T00:00:00Z", "2026-12-08T12:30:00Z",
          "1764151200", "yesterday", "2026", "")
_DATES = ("2026-12-01", "2026-12-01T00:00:00Z", "2026", "1764151200", "2026-12-08T00:00:00+01:00")
_NUMBERS = ("0", "10", "1764151200", "2.5", "-1")
_REFERERS = ("https://www.example.com/page", "https://evil.example.net/", "http://example.com/",
             "")

# key -> (values a request may carry, (operator, policy values) pairs that make sense for it)
_STRING_OPS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
               "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike")
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "rum:alias": ((*ALIASES, ""), _STRING_OPS, (*ALIASES, "canary-*", "v?", "*", "${aws:username}",
                                         "${*}", "${rum:alias}")),
    "aws:SourceIp": (_IPS, ("IpAddress", "NotIpAddress"), _CIDRS),
    "aws:CurrentTime": (_TIMES, ("DateLessThan", "DateGreaterThanEquals", "DateEquals",
                                 "DateNotEquals"), _DATES),
    "aws:EpochTime": (_NUMBERS, ("NumericLessThan", "NumericGreaterThanEquals",
                                 "NumericEquals", "NumericNotEquals"), _NUMBERS),
    "aws:SecureTransport": (("true", "false", "TRUE", "maybe"), ("Bool",), ("true", "false")),
    "aws:referer": (_REFERERS, _STRING_OPS, ("https://www.example.com/*", "*example.com*")),
    "aws:PrincipalArn": (CALLERS[1:5], ("ArnLike", "ArnNotLike", "ArnEquals"),
                         (f"arn:aws:iam::{ACCOUNT}:*", f"arn:aws:iam::{ACCOUNT}:role/*",
                          "arn:aws:iam::*:user/alice", "*")),
    "aws:TagKeys": (("team", "env", "Team", ""), _STRING_OPS, ("team", "env", "t*")),
    "aws:UserAgent": (("aws-rum-web/3.2.1", "curl/8"), _STRING_OPS, ("aws-rum-web/*",)),
}


def _case_variants(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from((key, key.lower(), key.upper()))


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """A Condition block of one to three operator/key pairs drawn from sensible combinations."""
    block: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(_KEYS)))
        _, ops, values = _KEYS[key]
        if draw(st.integers(0, 9)) == 0:
            op, chosen = "Null", [draw(st.sampled_from(("true", "false")))]
        else:
            op = draw(st.sampled_from(ops))
            chosen = draw(st.lists(st.sampled_from(values), min_size=0, max_size=3, unique=True))
            if op == "Bool":
                chosen = chosen[:1] or ["true"]
            if draw(st.booleans()):
                op += "IfExists"
        qualifier = draw(st.sampled_from(("", "", "", "ForAnyValue:", "ForAllValues:")))
        name = qualifier + op
        entry: Any = chosen[0] if len(chosen) == 1 and draw(st.booleans()) else chosen
        block.setdefault(name, {})[key] = entry
    return block


_PRINCIPALS: tuple[Any, ...] = (
    "*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/rum-forwarder"},
    {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/session-1"},
    {"AWS": OTHER_ACCOUNT}, {"Service": "rum.amazonaws.com"},
    {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/alice", OTHER_ACCOUNT]},
)
_ACTIONS = ("rum:PutRumEvents", "rum:*", "rum:Put*", "*", "RUM:putrumevents", "rum:PutRumEvent?",
            "rum:GetAppMonitor", "logs:PutLogEvents")
_RESOURCES = (monitor_arn("shop"), monitor_arn("blog"), "*", f"arn:aws:rum:{REGION}:{ACCOUNT}:*",
              f"arn:aws:rum:*:{ACCOUNT}:appmonitor/*", "arn:aws:rum:*:*:appmonitor/sh?p",
              f"arn:aws:rum:{REGION}:{ACCOUNT}:appmonitor/${{aws:username}}",
              f"arn:aws:rum:{REGION}:{ACCOUNT}:appmonitor/a${{*}}",
              monitor_arn("shop", OTHER_ACCOUNT))


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None,
               identity: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(("Allow", "Deny")))}
    if draw(st.booleans()):
        out["Sid"] = draw(st.sampled_from(("AllowAlias", "DenyLegacy", "S1")))
    if not identity:  # NotPrincipal only with Deny: the loader refuses it with Allow
        negated = out["Effect"] == "Deny" and draw(st.integers(0, 3)) == 0
        out["NotPrincipal" if negated else "Principal"] = draw(st.sampled_from(_PRINCIPALS))
    actions = draw(st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=2, unique=True))
    out["NotAction" if draw(st.integers(0, 7)) == 0 else "Action"] = (
        actions[0] if len(actions) == 1 else actions)
    resources = draw(st.lists(st.sampled_from(_RESOURCES), min_size=1, max_size=2, unique=True))
    out["NotResource" if draw(st.integers(0, 7)) == 0 else "Resource"] = (
        resources[0] if len(resources) == 1 else resources)
    if draw(st.integers(0, 3)):
        out["Condition"] = draw(conditions())
    return out


@st.composite
def policy_documents(draw: st.DrawFn, identity: bool = False) -> dict[str, Any]:
    """A policy as a JSON-ready dict (valid by construction)."""
    doc: dict[str, Any] = {}
    version = draw(st.sampled_from(("2012-10-17", "2012-10-17", "2008-10-17", None)))
    if version:
        doc["Version"] = version
    doc["Statement"] = draw(st.lists(statements(identity=identity), min_size=1, max_size=4))
    return doc


def policies(identity: bool = False) -> st.SearchStrategy[Policy]:
    kind: PolicyKind = "identity" if identity else "resource"
    return policy_documents(identity).map(lambda d: load_policy(d, kind=kind))


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(sorted(_KEYS)), max_size=5, unique=True)):
        values, _, _ = _KEYS[key]
        name = draw(_case_variants(key))
        if key == "aws:TagKeys" or draw(st.integers(0, 9)) == 0:
            context[name] = draw(st.lists(st.sampled_from(values), max_size=3))
        else:
            context[name] = draw(st.sampled_from(values))
    if draw(st.integers(0, 5)) == 0:
        context["aws:username"] = draw(st.sampled_from(("shop", "alice", "*")))
    return context


@st.composite
def requests(draw: st.DrawFn) -> Request:
    return Request(
        resource=draw(st.sampled_from((monitor_arn("shop"), monitor_arn("blog"),
                                       monitor_arn("shop", OTHER_ACCOUNT), monitor_arn("a*")))),
        action=draw(st.sampled_from(("rum:PutRumEvents", "rum:putrumevents",
                                     "rum:GetAppMonitor"))),
        principal=draw(st.sampled_from(CALLERS)),
        context=draw(contexts()),
    )


def aliases() -> st.SearchStrategy[str]:
    """Aliases as the PutRumEvents model allows them: 1 to 255 characters."""
    return st.one_of(st.sampled_from(ALIASES), st.text(min_size=1, max_size=255))
