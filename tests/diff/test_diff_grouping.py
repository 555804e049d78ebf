"""`dimensions._Grouped` against the per-class loop it replaced, on generated policies.

`key_dimension` judges a statement on the single-value classes of a string key by groups: one
call of `Reading.passes` per combination of the statement's own atoms (its condition values,
the value a variant binds, its free Resource's substrings), and ONE call for every class in
none of them. That is exact only if `passes` reads nothing of a single value but those
memberships. Here the masks it builds are compared, for every key and every statement, with
the plain loop it replaced (every statement judged on every class's representative), and
both with `passes` itself on values other than the representatives (so a class whose members
behave differently is caught too, whichever of the two loops would have hidden it).

The statements lean on what could break the premise: a key compared with a variable of itself
(`a${rum:alias}`, `${rum:alias}*`, with a default) or of another key (variants bind the
username of a held identity policy), IgnoreCase operators and Unicode case folding, ArnLike
segments, Bool next to strings on one key, Null, IfExists and the set qualifiers (the
two-readings rule), Deny statements (undecidable conditions let them in), Resource and
NotResource reading a variable under a fixed monitor, and two-reading IP and date values.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.analysis.diff import IdentityPolicies
from rumpolicy.analysis.diff.dimensions import key_dimension
from rumpolicy.analysis.diff.keys import KeyDimension
from rumpolicy.analysis.diff.reading import Reading, read_policies
from rumpolicy.analysis.diff.strings import StringValues
from rumpolicy.engine.decision import ContextValue
from rumpolicy.testing.strategies import ACCOUNT, OTHER_ACCOUNT, monitor_arn, statements

SHOP = monitor_arn("shop")
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
FORWARDER = f"arn:aws:iam::{ACCOUNT}:role/rum-forwarder"

_LITERALS = ("v1", "V1", "shop", "alice", "ALICE", "sho", "canary-1", "a*", "x y", "true", "TRUE",
             "false", "sk", "SK", "\u017fk", "\u212a", "stra\u00dfe", "STRASSE", "\ufb00", "FF",
             "\u0130", "i\u0307")
"""Case folding's odd ones: long s and the Kelvin sign fold to s and k, sharp s and the ff
ligature to two letters, dotted capital I to i and a combining dot."""
_SELF = ("${rum:alias}", "a${rum:alias}", "${rum:alias}*", "*${rum:alias}", "?${rum:alias}",
         "${rum:alias}${rum:alias}", "${rum:alias, 'v1'}", "${rum:alias}-${aws:username}",
         "${rum:Alias}", "*${rum:alias}*")
_OTHER = ("${aws:username}", "${aws:username}*", "${aws:username, 'shop'}", "${aws:userid}",
          "${aws:PrincipalType}", "${aws:PrincipalAccount}", "x-${aws:username}",
          "${aws:ResourceAccount}")
_ARNS = (ALICE, f"arn:aws:iam::{ACCOUNT}:*", f"arn:aws:iam::{ACCOUNT}:user/*", "arn:*:iam::*:*",
         "*", "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}", "${aws:PrincipalArn}",
         f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}", "arn:aws:iam::*:user/al?ce",
         f"arn:aws:sts::{ACCOUNT}:assumed-role/rum-forwarder/*")
_IPS = ("203.0.113.0/24", "::ffff:203.0.113.0/120", "::ffff:0:0/96", "10.0.0.0/8", "::/0",
        "2001:db8::/32")
_DATES = ("2026", "2027", "2026-12-01T00:00:00Z", "1764151200", "1999")

_STRING = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
           "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike")
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rum:alias": ((*_STRING, "Bool"), (*_LITERALS, *_SELF, *_OTHER, "canary-*", "v?", "*")),
    "aws:username": (_STRING, ("alice", "ALICE", "al*", "shop", "${aws:username}",
                               "${rum:alias}", "${aws:username}x", "\u017f*")),
    "aws:PrincipalArn": (("ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals", "StringLike",
                          "StringEqualsIgnoreCase"), _ARNS),
    "aws:PrincipalType": (_STRING, ("User", "Anonymous", "AssumedRole", "user", "${aws:userid}",
                                    "${aws:PrincipalType}")),
    "aws:SecureTransport": (("Bool", "StringEquals", "StringEqualsIgnoreCase"),
                            ("true", "false", "TRUE", "yes")),
    "aws:SourceIp": (("IpAddress", "NotIpAddress"), _IPS),
    "aws:CurrentTime": (("DateLessThan", "DateGreaterThanEquals", "DateEquals",
                         "DateNotEquals"), _DATES),
}
_RESOURCES = (SHOP, "*", f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/${{rum:alias}}",
              f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/${{aws:username}}",
              f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/sh${{rum:alias}}",
              "arn:aws:rum:*:*:appmonitor/${rum:alias}*",
              "arn:aws:rum:*:*:appmonitor/x${rum:alias}?",
              "arn:aws:rum:*:*:${aws:username, 'appmonitor/shop'}")
_PRINCIPALS = ("*", {"AWS": ACCOUNT}, {"AWS": ALICE}, {"AWS": FORWARDER},
               {"AWS": [ALICE, OTHER_ACCOUNT]})


@st.composite
def _condition_blocks(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(_KEYS)))
        operators, values = _KEYS[key]
        if draw(st.integers(0, 7)) == 0:
            operator, chosen = "Null", [draw(st.sampled_from(("true", "false")))]
        else:
            operator = draw(st.sampled_from(operators))
            chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3,
                                   unique=True))
            if operator == "Bool":
                chosen = [draw(st.sampled_from(("true", "false", "True")))]
            if draw(st.integers(0, 2)) == 0:
                operator += "IfExists"
        qualifier = draw(st.sampled_from(("", "", "ForAnyValue:", "ForAllValues:")))
        name = draw(st.sampled_from((key, key.lower(), key.upper())))
        entries = block.setdefault(qualifier + operator, {})
        if not any(k.lower() == key.lower() for k in entries):
            entries[name] = chosen
    return block


@st.composite
def _statements(draw: st.DrawFn, identity: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(("Allow", "Deny", "Deny")))}
    if not identity:
        out["Principal"] = draw(st.sampled_from(_PRINCIPALS))
    out["Action"] = draw(st.sampled_from(("rum:PutRumEvents", "rum:*", "*")))
    plain = st.sampled_from((SHOP, "*", f"arn:aws:rum:*:{ACCOUNT}:appmonitor/*"))
    resources = draw(st.lists(st.one_of(plain, st.sampled_from(_RESOURCES)), min_size=1,
                              max_size=2, unique=True))  # a variable costs a monitor's substrings
    out["NotResource" if draw(st.integers(0, 3)) == 0 else "Resource"] = resources
    out["Condition"] = draw(_condition_blocks())
    return out


def _policies(identity: bool = False) -> st.SearchStrategy[rp.Policy]:
    statement = st.one_of(_statements(identity), _statements(identity),
                          statements(identity=identity))
    documents = st.fixed_dictionaries({
        "Version": st.sampled_from(("2012-10-17", "2012-10-17", "2008-10-17")),
        "Statement": st.lists(statement, min_size=1, max_size=4)})
    return documents.map(lambda d: rp.load_policy(d, kind="identity" if identity else "resource"))


def _identity_policies() -> st.SearchStrategy[IdentityPolicies]:
    holders = st.lists(st.sampled_from((ALICE, FORWARDER)), max_size=2, unique=True)
    return holders.flatmap(lambda chosen: st.tuples(
        *[st.tuples(st.just(arn), _policies(identity=True)) for arn in chosen])
    ).map(IdentityPolicies)


def reference_masks(reading: Reading, key: str, dimension: KeyDimension) -> list[int]:
    """The loop `_Grouped` replaced: every statement that reads the key, on every class."""
    involved = [r for r in reading.refs if reading.reads(r, key)]
    masks = []
    for key_class in dimension.classes:
        mask = reading.everything
        for ref in involved:
            if not reading.passes(ref, key, key_class.value):
                mask &= ~(1 << ref.bit)
        masks.append(mask)
    return masks


def _probes(reading: Reading, dimension: KeyDimension,
            rng: random.Random) -> list[ContextValue | None]:
    """Values other than the representatives: the policies' own texts, the monitor's
    substrings, case variants (full Unicode folding included), and near misses."""
    texts: set[str] = {*_LITERALS, "User", "Anonymous", "anonymous", "AssumedRole", ACCOUNT,
                       ALICE, FORWARDER, "203.0.113.7", "::ffff:203.0.113.7", "10.1.1.1",
                       "2026", "2027", "2026-12-01T00:00:00Z", "1764151200", "not-a-value"}
    for ref in reading.refs:
        for condition in ref.statement.conditions:
            texts.update(condition.values)
        texts.update(ref.resources)
    for values in reading.constants.values():
        texts.update(values)
    if reading.monitor is not None:
        arn = reading.monitor
        texts.update(arn[i:j] for i in range(len(arn)) for j in range(i + 1, len(arn) + 1)
                     if j - i <= 6 or j == len(arn) or i == 0)
    if isinstance(dimension.single, StringValues):
        texts.update(dimension.single.reps)
    base = sorted(t for t in texts if t)
    out: set[str] = set(base)
    for text in rng.sample(base, min(len(base), 60)):
        out.update((text.upper(), text.lower(), text.swapcase(), text.casefold(), "x" + text,
                    text + "x", text + ":", text[1:], text[:-1], text.replace("*", "x"),
                    text.replace("k", "\u212a").replace("s", "\u017f")))
    singles = sorted(t for t in out if t)
    chosen: list[ContextValue] = list(rng.sample(singles, min(len(singles), 150)))
    lists: list[ContextValue] = [tuple(rng.sample(singles, rng.randint(1, 3)))
                                 for _ in range(20)]
    return [*chosen, *lists, "", None]


def _check_key(reading: Reading, key: str, rng: random.Random) -> None:
    dimension, masks = key_dimension(reading, key, {})
    reference = reference_masks(reading, key, dimension)
    for index, (mask, expected) in enumerate(zip(masks, reference, strict=True)):
        differing = [r.where() for r in reading.refs if (mask ^ expected) >> r.bit & 1]
        assert mask == expected, (f"{key}: class {index} ({dimension.classes[index]}): grouped "
                                  f"{mask:b}, per class {expected:b}, differing: {differing}")
    involved = [r for r in reading.refs if reading.reads(r, key)]
    for value in _probes(reading, dimension, rng):
        found = dimension.classify(value)
        if found is None:
            continue
        for ref in involved:
            passes = reading.passes(ref, key, value)
            assert bool(masks[found] >> ref.bit & 1) == passes, (
                f"{key}={value!r} lies in class {found} ({dimension.classes[found]}), whose mask "
                f"says {not passes} for {ref.where()}; `passes` says {passes}")


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(_policies(), st.none()), _policies(), _identity_policies(),
       st.sampled_from((SHOP, SHOP, None)), st.integers(0, 2**32))
def test_grouped_masks_equal_the_per_class_loop(
        old: rp.Policy | None, new: rp.Policy, identities: IdentityPolicies,
        monitor: str | None, seed: int) -> None:
    reading = read_policies(old, new, monitor, identities)
    rng = random.Random(seed)
    for key in sorted(reading.names):
        _check_key(reading, key, rng)


def test_self_reference_and_variants_group_like_the_per_class_loop() -> None:
    """A fixed case of each premise the property leans on, so it is checked on every run."""
    policy = rp.load_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": SHOP,
         "Condition": {"StringNotLike": {"rum:alias": ["a${rum:alias}", "${rum:alias}*"]},
                       "StringEqualsIgnoreCase": {"aws:username": "${rum:alias}"}}},
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "rum:PutRumEvents",
         "NotResource": f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/sh${{rum:alias}}",
         "Condition": {"ForAnyValue:StringEqualsIfExists": {"rum:alias": "${aws:username}-*"},
                       "Bool": {"rum:alias": "true"}}}]})
    identity = rp.load_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rum:*", "Resource": "*",
         "Condition": {"StringLike": {"rum:alias": "${aws:username}"}}}]}, kind="identity")
    reading = read_policies(None, policy, SHOP, IdentityPolicies(((ALICE, identity),)))
    rng = random.Random(0)
    for key in sorted(reading.names):
        _check_key(reading, key, rng)
