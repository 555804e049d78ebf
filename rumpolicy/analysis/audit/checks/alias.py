"""The alias traps, found by asking the engine: requests with no Alias, with any Alias, or with
the Alias in another case are decided by `rumpolicy`'s engine and the findings quote what it
decided. Which requests to ask about comes from the probe space (`probes.py`)."""

from __future__ import annotations

from collections.abc import Iterator

from rumpolicy.analysis.audit.checks import _paths
from rumpolicy.analysis.audit.context import AuditContext, label
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.keys import ALIAS
from rumpolicy.analysis.audit.probes import (
    RANDOM_SHORT,
    RANDOM_TEXT,
    Assignment,
    Probe,
    Probes,
)
from rumpolicy.analysis.audit.registry import check
from rumpolicy.engine import Effect
from rumpolicy.policy.models import Condition, Statement
from rumpolicy.policy.operators import Comparison, Family

ALIAS_MAX = 255
"""PutRumEvents' Alias is 1 to 255 characters (RUM API model)."""
_TRIES = 6
_EVASION_PROBES = 2
"""Denied probes whose alias is varied, per denied value."""
_GRANTED = "resource_policy_allow"
"""Only what the policy itself grants counts: the account's root is let in by IAM whatever the
policy says, so an "evasion" through it would be no evasion of the policy."""
"""Engine evaluations a search may spend per statement before giving up."""

_ABSENT_REASONS = {
    "key_absent_if_exists": "IfExists is true when the key is absent",
    "key_absent_for_all_values": "ForAllValues: is true when the key is absent",
    "key_absent_negated": "a negated operator is true when the key is absent",
}


def _alias_conditions(statement: Statement) -> list[tuple[int, Condition]]:
    return [(q, c) for q, c in enumerate(statement.conditions)
            if c.key.lower() == ALIAS and c.operator.base.family is not Family.NULL]


def who(probes: Probes, assignment: Assignment) -> str:
    caller = probes.callers[assignment.caller]
    return "an anonymous request" if caller is None else f"a request from {caller}"


def _search(probes: Probes, bit: int, fixed: dict[int, list[int]],
            wanted: Effect | None = None) -> Iterator[Probe]:
    """Probes in which the statement (`bit`) applies, as the engine decides them."""
    if not probes.reachable(bit, fixed=fixed):
        return
    tries = 0
    for assignment in probes.signatures(fixed=fixed):
        if not probes.predict(assignment) & bit:
            continue
        probe = probes.evaluate(assignment)
        tries += 1
        if probe.applying & bit and (wanted is None or probes.verdict(probe)[0] is wanted):
            yield probe
        if tries >= _TRIES:
            return


@check("alias-allows-missing")
def allows_missing(ctx: AuditContext) -> Iterator[Finding]:
    policy = ctx.policy
    for s, statement in enumerate(policy.statements):
        conditions = _alias_conditions(statement)
        if statement.effect != "Allow" or not conditions:
            continue
        probes = ctx.probes
        k = probes.key_index[ALIAS]
        for probe in _search(probes, 1 << s, {k: [0]}, Effect.ALLOW):
            q, condition = next(((q, c) for q, c in conditions
                                 if probes.condition_traces.get((s, q, 0)) in _ABSENT_REASONS),
                                conditions[0])
            reason = _ABSENT_REASONS.get(probes.condition_traces.get((s, q, 0), ""), "")
            yield ctx.finding(
                "alias-allows-missing", _paths.operator(condition),
                f"{condition.operator.name} on {condition.key} holds for a request without an "
                f"Alias ({reason}): the engine allows {who(probes, probe.assignment)} with no "
                f"alias ({probe.decision.message})")
            break


@check("alias-matches-any")
def matches_any(ctx: AuditContext) -> Iterator[Finding]:
    for s, statement in enumerate(ctx.policy.statements):
        conditions = _alias_conditions(statement)
        if statement.effect != "Allow" or not conditions:
            continue
        probes = ctx.probes
        k = probes.key_index[ALIAS]
        options = probes.keys[k].values
        present = [o for o in range(1, len(options)) if isinstance(options[o], str)]
        if present and all(probes.key_masks[k][o] & (1 << s) for o in present):
            tried = ", ".join(repr(options[o]) for o in present)
            yield ctx.finding(
                "alias-matches-any", conditions[0][1].path,
                f"the alias conditions of {label(ctx.policy, s)} hold for every alias the "
                f"engine tried ({tried}): they do not restrict which aliases may send")


def _case_variants(value: str) -> list[str]:
    found: dict[str, None] = {}
    for variant in (value.upper(), value.lower(), value.swapcase(), value.capitalize()):
        if variant != value:
            found[variant] = None
    return list(found)


@check("deny-alias-evadable")
def deny_evadable(ctx: AuditContext) -> Iterator[Finding]:
    """Only a Deny that names what it denies: one that denies every alias but the allowed ones
    (StringNotEquals, the fix this check recommends) also denies their other cases and the
    absent alias, and a case variant of a value it denies may be an allowed alias."""
    for s, statement in enumerate(ctx.policy.statements):
        conditions = [(q, c) for q, c in _alias_conditions(statement)
                      if not c.operator.base.negated]
        if statement.effect != "Deny" or not conditions:
            continue
        found = _evasion(ctx, s, conditions[0][1])
        if found is not None:
            yield found


def _evasion(ctx: AuditContext, s: int, condition: Condition) -> Finding | None:
    probes = ctx.probes
    k = probes.key_index[ALIAS]
    options = probes.keys[k].values
    denied = [o for o in range(1, len(options))
              if isinstance(options[o], str) and options[o] not in (RANDOM_TEXT, RANDOM_SHORT)
              and probes.key_masks[k][o] & (1 << s)]
    for o in denied[:3]:
        value = options[o]
        assert isinstance(value, str)
        tried = 0
        for probe in _search(probes, 1 << s, {k: [o]}, Effect.EXPLICIT_DENY):
            for variant in (None, *_case_variants(value)):
                if not probes.may_apply(probe.assignment, {ALIAS: variant}, probes.allow_bits):
                    continue
                if probes.verdict_with(probe.assignment, {ALIAS: variant})[1] == _GRANTED:
                    decision = probes.evaluate_with(probe.assignment, {ALIAS: variant})
                    how = "without an Alias" if variant is None else f"with Alias '{variant}'"
                    return ctx.finding(
                        "deny-alias-evadable", condition.path,
                        f"the engine denies {who(probes, probe.assignment)} with Alias "
                        f"'{value}' ({label(ctx.policy, s)}) but allows the same request "
                        f"{how} ({decision.message})")
            tried += 1
            if tried >= _EVASION_PROBES:
                break
    return None


@check("alias-value-never-matches")
def never_matches(ctx: AuditContext) -> Iterator[Finding]:
    policy = ctx.policy
    for s, statement in enumerate(policy.statements):
        for _, condition in _alias_conditions(statement):
            base = condition.operator.base
            if base.family is not Family.STRING:
                continue
            for index, value in enumerate(condition.values):
                length = len(value.replace("*", "")) if base.comparison is Comparison.LIKE \
                    else len(value)
                if length > ALIAS_MAX:
                    yield ctx.finding("alias-value-never-matches", _paths.value(condition, index),
                                      f"this value needs an Alias of at least {length} "
                                      f"characters; PutRumEvents accepts at most {ALIAS_MAX}")
                elif value == "":
                    yield ctx.finding("alias-value-never-matches", _paths.value(condition, index),
                                      "an empty value: a request's Alias is 1 to 255 characters "
                                      "and clients omit it rather than send it empty")
                elif statement.effect == "Deny":
                    found = _dead_case_variant(ctx, s, condition, index, value)
                    if found is not None:
                        yield found


def _dead_case_variant(ctx: AuditContext, s: int, condition: Condition, index: int,
                       value: str) -> Finding | None:
    """A Deny value that differs only in case from an alias the policy admits, and that the
    engine shows is never admitted even without this Deny."""
    base = condition.operator.base
    if base.negated or base.comparison not in (Comparison.EQUALS, Comparison.LIKE):
        return None
    others = {v for st in ctx.policy.statements for _, c in _alias_conditions(st)
              for v in c.values if v != value and v.casefold() == value.casefold()}
    if not others:
        return None
    probes = ctx.probes
    k = probes.key_index[ALIAS]
    mine = probes.option_of(ALIAS, value)
    for other in sorted(others):
        theirs = probes.option_of(ALIAS, other)
        if mine is None or theirs is None:
            continue
        for assignment in probes.signatures(fixed={k: [theirs]}):
            probe = probes.evaluate(assignment)
            if probes.verdict(probe)[1] != _GRANTED:
                continue
            same = Assignment(assignment.caller, assignment.resource,
                              tuple(mine if i == k else o
                                    for i, o in enumerate(assignment.options)))
            if not Probes.without(probes.evaluate(same), s).allowed:
                return ctx.finding(
                    "alias-value-never-matches", _paths.value(condition, index),
                    f"'{value}' never matches a request this policy admits: the engine allows "
                    f"{who(probes, assignment)} with Alias '{other}', and denies Alias "
                    f"'{value}' even without {label(ctx.policy, s)} ({condition.operator.name} "
                    "is case-sensitive)")
            break
    return None
