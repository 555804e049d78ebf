"""Seeded, deterministic PutRumEvents request workload for the benchmarks in ``bench/``.

This module knows nothing about rumpolicy or principalmapper: it reads the fixture policies as
plain JSON, pulls out what they talk about (app-monitor ARNs, ``rum:alias`` values and patterns,
``aws:SourceIp`` ranges, ``aws:CurrentTime`` bounds, ``aws:referer`` patterns, named
principals) and generates requests around those facts: matching, near misses, wrong case,
absent keys, other monitors, anonymous and signed callers from the same and other accounts.

Each generated request is a :class:`RequestSpec` (plain data); ``decisions.py`` turns it into a
``rumpolicy.Request`` and into principalmapper's arguments before any timing starts.
"""

from __future__ import annotations

import ipaddress
import json
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACTION = "rum:PutRumEvents"
OTHER_ACCOUNT = "444455556666"

ContextValue = str | list[str]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges callers come from when they are not in a range the policy names (documentation
# ranges, RFC 5737 / RFC 3849, plus a unique-local IPv6 range). Membership in the policy's
# ranges is decided afterwards, so a pick that happens to fall inside is labelled as such.
_OUTSIDE_V4 = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "100.64.0.0/16")
_OUTSIDE_V6 = ("2001:db9::/32", "fd00:1234::/32", "2001:db8:ffff::/48")
_NEAR_MISS_ALIASES = ("prod", "staging", "beta", "alias3", "shop-v3", "canary", "release-2")
_OTHER_REFERERS = (
    "http://www.example.com/index.html",  # not https
    "https://www.example.com.evil.net/",  # lookalike host
    "https://evil.example.net/page",
    "https://www.example.org/",
)


@dataclass(frozen=True)
class PolicyFacts:
    """What a fixture policy talks about, extracted from its JSON."""

    name: str
    text: str
    doc: dict[str, Any]
    monitor_arn: str
    account: str
    region: str
    aliases: tuple[str, ...]
    alias_patterns: tuple[str, ...]
    networks: tuple[IPNetwork, ...]
    time_bounds: tuple[datetime, ...]
    reads_secure_transport: bool
    referer_patterns: tuple[str, ...]
    named_principals: tuple[str, ...]


@dataclass(frozen=True)
class RequestSpec:
    """One generated request, as plain data, plus labels saying how it was made."""

    policy: int  # index into the policies list
    resource: str
    principal: str | None
    context: dict[str, ContextValue]
    labels: dict[str, str] = field(default_factory=dict)
    action: str = ACTION


def listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _concrete_monitor(resources: Sequence[str]) -> str | None:
    for arn in resources:
        if ":appmonitor/" in arn and "*" not in arn and "?" not in arn and "${" not in arn:
            return arn
    return None


def read_policy(path: Path) -> PolicyFacts:
    """Load one fixture policy file and extract the facts the workload generator needs."""
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    statements = listify(doc.get("Statement"))
    resources: list[str] = []
    aliases: list[str] = []
    patterns: list[str] = []
    networks: list[IPNetwork] = []
    bounds: list[datetime] = []
    referers: list[str] = []
    named: list[str] = []
    secure = False
    for st in statements:
        resources.extend(str(r) for r in listify(st.get("Resource")))
        principal = st.get("Principal")
        if isinstance(principal, dict):
            for arn in listify(principal.get("AWS")):
                if isinstance(arn, str) and arn.startswith("arn:"):
                    named.append(arn)
        for op, block in (st.get("Condition") or {}).items():
            base = op.split(":")[-1]
            for key, raw in block.items():
                values = [str(v) for v in listify(raw)]
                k = key.lower()
                if k == "rum:alias":
                    for v in values:
                        if "Like" in base and ("*" in v or "?" in v):
                            patterns.append(v)
                        else:
                            aliases.append(v)
                elif k == "aws:sourceip":
                    networks.extend(ipaddress.ip_network(v, strict=False) for v in values)
                elif k == "aws:currenttime":
                    bounds.extend(t for t in map(_parse_time, values) if t is not None)
                elif k == "aws:securetransport":
                    secure = True
                elif k == "aws:referer":
                    referers.extend(values)
    monitor = _concrete_monitor(resources)
    if monitor is None:  # only wildcards: make up a monitor the wildcard covers
        pattern = next((r for r in resources if ":appmonitor/" in r), None)
        base_arn = pattern or "arn:aws:rum:us-east-1:123456789012:appmonitor/*"
        monitor = base_arn.replace("*", "app").replace("?", "a")
    parts = monitor.split(":")
    return PolicyFacts(
        name=path.stem,
        text=text,
        doc=doc,
        monitor_arn=monitor,
        account=parts[4],
        region=parts[3],
        aliases=tuple(dict.fromkeys(aliases)),
        alias_patterns=tuple(dict.fromkeys(patterns)),
        networks=tuple(dict.fromkeys(networks)),
        time_bounds=tuple(sorted(set(bounds))),
        reads_secure_transport=secure,
        referer_patterns=tuple(dict.fromkeys(referers)),
        named_principals=tuple(dict.fromkeys(named)),
    )


def read_policies(directory: Path) -> list[PolicyFacts]:
    """All ``*.json`` policies in *directory*, sorted by file name."""
    return [read_policy(p) for p in sorted(directory.glob("*.json"))]


# --------------------------------------------------------------------------- generation


def _token(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _expand_pattern(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(rng.choice(["", _token(rng, rng.randint(1, 8))]))
        elif ch == "?":
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(ch)
    return "".join(out)


def _wrong_case(rng: random.Random, value: str) -> str | None:
    variants = {value.upper(), value.swapcase(), value.capitalize(), value.title()} - {value}
    return rng.choice(sorted(variants)) if variants else None


def _key_case(rng: random.Random, key: str) -> str:
    """Same key, other spelling: IAM matches condition keys case-insensitively."""
    choice = rng.randrange(3)
    if choice == 0:
        return key.upper()
    if choice == 1:
        return key.lower()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in key)


def _random_host(rng: random.Random, net: IPNetwork) -> IPAddress:
    offset = rng.randrange(net.num_addresses) if net.num_addresses > 1 else 0
    return net.network_address + offset


def _pick_principal(rng: random.Random, facts: PolicyFacts) -> tuple[str | None, str]:
    acct = facts.account
    named_roles = [p for p in facts.named_principals if ":role/" in p]
    r = rng.random()
    if r < 0.45:
        return None, "anonymous"
    if r < 0.55:
        user = rng.choice(["alice", "dev/bob", "ci-bot"])
        return f"arn:aws:iam::{acct}:user/{user}", "same-account-user"
    if r < 0.65:
        return f"arn:aws:iam::{acct}:role/app-{rng.choice(['web', 'batch'])}", "same-account-role"
    if r < 0.72:
        return (
            f"arn:aws:sts::{acct}:assumed-role/app-web/i-{_token(rng, 10)}",
            "same-account-session",
        )
    if r < 0.85:
        if not named_roles:
            return f"arn:aws:iam::{acct}:role/app-web", "same-account-role"
        role = rng.choice(named_roles)
        if rng.random() < 0.5:
            return role, "named-role"
        name = role.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{acct}:assumed-role/{name}/s-{_token(rng)}", "named-role-session"
    # Another account: a user, a role with the same name as a named role, or its session.
    name = named_roles[0].rsplit("/", 1)[-1] if named_roles else "app-web"
    other = rng.choice(
        [
            f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory",
            f"arn:aws:iam::{OTHER_ACCOUNT}:role/{name}",
            f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/{name}/x-{_token(rng)}",
        ]
    )
    return other, "other-account"


def _pick_resource(rng: random.Random, facts: PolicyFacts) -> tuple[str, str]:
    r = rng.random()
    if r < 0.86:
        return facts.monitor_arn, "monitor"
    prefix, name = facts.monitor_arn.split(":appmonitor/", 1)
    if r < 0.94:
        return f"{prefix}:appmonitor/other-app", "other-monitor"
    if r < 0.97:
        variant = name.upper() if name != name.upper() else name.lower()
        return f"{prefix}:appmonitor/{variant}", "monitor-wrong-case"
    other_region = "ap-south-1" if facts.region != "ap-south-1" else "us-east-1"
    return facts.monitor_arn.replace(f":{facts.region}:", f":{other_region}:", 1), "other-region"


def _pick_alias(rng: random.Random, facts: PolicyFacts) -> tuple[str | None, str]:
    known = list(facts.aliases) or ["alias1"]
    r = rng.random()
    if r < 0.15:
        return None, "absent"
    if r < 0.60:
        if facts.alias_patterns and rng.random() < 0.5:
            return _expand_pattern(rng, rng.choice(facts.alias_patterns)), "matching"
        return rng.choice(known), "matching"
    if r < 0.85:
        base = rng.choice(known)
        return rng.choice([*_NEAR_MISS_ALIASES, base + "x", base[:-1] or "z"]), "non-matching"
    wrong = _wrong_case(rng, rng.choice(known + list(facts.alias_patterns)).replace("*", "x"))
    return (wrong, "wrong-case") if wrong else (rng.choice(_NEAR_MISS_ALIASES), "non-matching")


def _pick_ip(rng: random.Random, facts: PolicyFacts) -> tuple[str | None, str]:
    if rng.random() < 0.04:
        return None, "absent"
    v6 = rng.random() < 0.3
    if facts.networks and rng.random() < 0.5:
        family = [n for n in facts.networks if (n.version == 6) == v6] or list(facts.networks)
        addr = _random_host(rng, rng.choice(family))
    else:
        pool = _OUTSIDE_V6 if v6 else _OUTSIDE_V4
        addr = _random_host(rng, ipaddress.ip_network(rng.choice(pool)))
    inside = any(addr in n for n in facts.networks)
    text = addr.exploded if addr.version == 6 and rng.random() < 0.05 else str(addr)
    label = f"ipv{addr.version}"
    if facts.networks:
        label += "-in" if inside else "-out"
    return text, label


def _pick_time(rng: random.Random, facts: PolicyFacts) -> tuple[str | None, str]:
    if rng.random() < 0.05:
        return None, "absent"
    lo, hi = facts.time_bounds[0], facts.time_bounds[-1]
    r = rng.random()
    if r < 0.2:
        t = rng.choice(facts.time_bounds)  # exactly on a bound
        label = "on-bound"
    elif r < 0.35:
        t = rng.choice(facts.time_bounds) + timedelta(seconds=rng.choice([-1, 1]))
        label = "next-to-bound"
    else:
        margin = max(hi - lo, timedelta(days=1))  # about a third inside the window
        span = (hi - lo) + 2 * margin
        t = lo - margin + timedelta(seconds=rng.randrange(int(span.total_seconds())))
        label = "inside" if lo <= t < hi else "outside"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ"), label


def _pick_referer(rng: random.Random, facts: PolicyFacts) -> tuple[str | None, str]:
    r = rng.random()
    if r < 0.1:
        return None, "absent"
    if r < 0.65:
        return _expand_pattern(rng, rng.choice(facts.referer_patterns)), "matching"
    return rng.choice(_OTHER_REFERERS), "non-matching"


def _put(
    context: dict[str, ContextValue],
    labels: dict[str, str],
    key: str,
    picked: tuple[str | None, str],
) -> None:
    value, label = picked
    labels[key] = label
    if value is not None:
        context[key] = value


def generate(policies: Sequence[PolicyFacts], n: int, seed: int) -> list[RequestSpec]:
    """*n* requests spread evenly (in a shuffled order) over *policies*; same seed, same list."""
    rng = random.Random(seed)
    specs: list[RequestSpec] = []
    for i in range(n):
        index = i % len(policies)
        facts = policies[index]
        principal, p_label = _pick_principal(rng, facts)
        resource, r_label = _pick_resource(rng, facts)
        labels = {"principal": p_label, "resource": r_label}
        context: dict[str, ContextValue] = {}
        _put(context, labels, "rum:alias", _pick_alias(rng, facts))
        _put(context, labels, "aws:SourceIp", _pick_ip(rng, facts))
        if facts.time_bounds:
            _put(context, labels, "aws:CurrentTime", _pick_time(rng, facts))
        if facts.reads_secure_transport:
            r = rng.random()
            value = None if r < 0.05 else ("true" if r < 0.8 else "false")
            _put(context, labels, "aws:SecureTransport", (value, value or "absent"))
        if facts.referer_patterns:
            _put(context, labels, "aws:referer", _pick_referer(rng, facts))
        if rng.random() < 0.10:  # same keys, other spellings
            context = {_key_case(rng, k): v for k, v in context.items()}
            labels["key-case"] = "varied"
        specs.append(RequestSpec(index, resource, principal, context, labels))
    rng.shuffle(specs)
    return specs
