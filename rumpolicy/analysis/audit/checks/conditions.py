"""Checks on condition keys and values: keys a PutRumEvents request never carries, operators
that cannot read a key's type, set qualifiers, wildcards and IP ranges (Access Analyzer's
checks of the same names, with RUM's key list)."""

from __future__ import annotations

from collections.abc import Iterator

from rumpolicy.analysis.audit import keys
from rumpolicy.analysis.audit.checks import _paths
from rumpolicy.analysis.audit.context import AuditContext
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.networks import Range, read_range
from rumpolicy.analysis.audit.registry import check
from rumpolicy.policy.models import Condition
from rumpolicy.policy.operators import Comparison, Family
from rumpolicy.policy.values import is_bare_year, read_network


def _conditions(ctx: AuditContext) -> Iterator[tuple[int, Condition]]:
    for index, statement in enumerate(ctx.policy.statements):
        for condition in statement.conditions:
            yield index, condition


@check("alias-key-typo", "unknown-global-condition-key", "unknown-rum-condition-key",
       "foreign-condition-key")
def unknown_keys(ctx: AuditContext) -> Iterator[Finding]:
    for _, condition in _conditions(ctx):
        key = condition.key
        if keys.spec(key) is not None:
            continue
        prefix = key.partition(":")[0].lower()
        if keys.looks_like_alias(key):
            yield ctx.finding("alias-key-typo", condition.path,
                              f"'{key}' is not a condition key; did you mean rum:alias?")
        elif prefix == "aws":
            hint = keys.nearest_global(key)
            yield ctx.finding("unknown-global-condition-key", condition.path,
                              f"'{key}' is not a global condition key"
                              + (f"; did you mean {hint}?" if hint else ""))
        elif prefix == "rum":
            yield ctx.finding("unknown-rum-condition-key", condition.path,
                              f"'{key}' is not a RUM condition key: rum:alias is the only one "
                              "a PutRumEvents request carries")
        else:
            yield ctx.finding("foreign-condition-key", condition.path,
                              f"'{key}' belongs to the '{prefix}' service; a PutRumEvents "
                              "request never carries it")


@check("type-mismatch", "string-operator-on-typed-key", "missing-qualifier",
       "for-all-values-single-valued", "null-with-qualifier")
def operators_and_keys(ctx: AuditContext) -> Iterator[Finding]:
    for index, condition in _conditions(ctx):
        op = condition.operator
        family = op.base.family
        if family is Family.NULL:
            if op.qualifier:
                always = "true" if op.qualifier == "ForAllValues" else "false"
                yield ctx.finding("null-with-qualifier", _paths.operator(condition),
                                  f"{op.name} is always {always}, whatever the request holds")
            continue
        spec = keys.spec(condition.key)
        if spec is None:
            continue
        allowed = keys.FAMILIES[spec.type]
        if family not in allowed:
            check_id = ("string-operator-on-typed-key" if family is Family.STRING
                        else "type-mismatch")
            yield ctx.finding(check_id, condition.path,
                              f"{op.name} cannot compare {condition.key}, a {spec.type.value} "
                              f"key; use {keys.SUGGESTED_OPERATOR[spec.type]}")
        if spec.multivalued and op.qualifier is None:
            yield ctx.finding("missing-qualifier", _paths.operator(condition),
                              f"{condition.key} is multivalued; {op.name} needs ForAnyValue: "
                              "or ForAllValues:")
        if (not spec.multivalued and op.qualifier == "ForAllValues"
                and ctx.policy.statements[index].effect == "Allow"
                and condition.key.lower() != keys.ALIAS):
            yield ctx.finding("for-all-values-single-valued", _paths.operator(condition),
                              f"{op.name} on the single-valued {condition.key} is true when "
                              "the request lacks the key, so this Allow holds without it")


@check("wildcard-without-like")
def wildcards(ctx: AuditContext) -> Iterator[Finding]:
    for _, condition in _conditions(ctx):
        base = condition.operator.base
        if base.family is not Family.STRING or base.comparison is Comparison.LIKE:
            continue
        for index, value in enumerate(condition.values):
            if _unescaped_wildcard(value):
                yield ctx.finding("wildcard-without-like", _paths.value(condition, index),
                                  f"'{value}' under {condition.operator.name} matches only the "
                                  "literal text, * and ? included; StringLike treats them as "
                                  "wildcards")


@check("date-two-readings")
def four_digit_dates(ctx: AuditContext) -> Iterator[Finding]:
    for _, condition in _conditions(ctx):
        if condition.operator.base.family is not Family.DATE:
            continue
        for index, value in enumerate(condition.values):
            if is_bare_year(value):
                yield ctx.finding("date-two-readings", _paths.value(condition, index),
                                  f"'{value}' under {condition.operator.name} is the year "
                                  f"{value} and {int(value):,} seconds after the epoch; the "
                                  "engine decides only where both readings agree")


def _unescaped_wildcard(value: str) -> bool:
    for escape in ("${*}", "${?}", "${$}"):
        value = value.replace(escape, "")
    return "*" in value or "?" in value


# RFC 1918, loopback, link-local, shared address space (RFC 6598), unique-local and link-local
# IPv6: a caller's public address (aws:SourceIp) is never in them.
_PRIVATE = tuple(r for r in map(read_range, (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "100.64.0.0/10", "fc00::/7", "fe80::/10", "::1/128")) if r is not None)


def _private(network: Range) -> bool:
    return any(network.within(p) for p in _PRIVATE)


@check("private-ip-only", "private-ip-subset", "improve-ip-range")
def ip_ranges(ctx: AuditContext) -> Iterator[Finding]:
    for _, condition in _conditions(ctx):
        if condition.operator.base.family is not Family.IP:
            continue
        parsed = [(i, v, read_range(v)) for i, v in enumerate(condition.values)]
        for index, value, network in parsed:
            if network is not None and "/" in value and network.host_bits:
                yield ctx.finding("improve-ip-range", _paths.value(condition, index),
                                  f"'{value}' has host bits set; IAM reads it as "
                                  f"{read_network(value)}")
        if condition.key.lower() != "aws:sourceip":
            continue
        private = [(i, v) for i, v, n in parsed if n is not None and _private(n)]
        if not private:
            continue
        if len(private) == len(parsed):
            effect = ("never matches a caller" if not condition.operator.base.negated
                      else "matches every caller")
            yield ctx.finding("private-ip-only", condition.path,
                              f"{condition.operator.name} names only private ranges; "
                              f"aws:SourceIp is the caller's public address, so it {effect}")
        else:
            for index, value in private:
                yield ctx.finding("private-ip-subset", _paths.value(condition, index),
                                  f"'{value}' is a private range; aws:SourceIp never falls "
                                  "in it")
