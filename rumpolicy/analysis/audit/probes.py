"""What the engine decides on the probe space (`space.py`), asked as few times as it can be.

A condition reads one key, a Principal reads the caller and a Resource the resource, so a few
engine evaluations (one per option, all dimensions varied together) give a *truth table*: for
every statement and every option of every dimension, whether that part of the statement holds.
From it, the set of statements that apply to any combination of options is a bitwise AND. IAM's
evaluation depends only on which statements apply and on who calls which account's monitor, so
combinations with the same *signature* (caller class, applying set) are decided alike; the
engine decides one request per signature, and each decision is checked against the predicted
applying set (`consistent`). Policy variables break the one-key-per-condition premise, so a
policy using them is marked `exact = False` and checks that need completeness stand down.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from rumpolicy.analysis.audit.space import (
    CALLER_KEYS,
    RANDOM_SHORT,
    RANDOM_TEXT,
    RESOURCE_KEYS,
    KeyOptions,
    Option,
    account_of,
    accounts_of,
    callers_of,
    first_monitor,
    key_options,
    resources_of,
    uses_variables,
)
from rumpolicy.engine import Decision, Effect, Request, compile_policy
from rumpolicy.engine.combine import decide
from rumpolicy.engine.principals import CallerKind
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Policy

__all__ = ["RANDOM_SHORT", "RANDOM_TEXT", "Assignment", "KeyOptions", "Probe", "Probes",
           "effect_word"]

_MAX_SIGNATURES = 2000
"""Engine decisions the redundancy check may ask for; a policy needing more (none of a
realistic 4 KB policy's shape) is judged inexact and the check stands down."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """One probe request: indexes into the callers, resources and each key's options."""

    caller: int
    resource: int
    options: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Probe:
    assignment: Assignment
    request: Request
    decision: Decision
    applying: int
    """Bit i set when statement i applies (as the engine's trace says)."""


class Probes:
    """The probe space of one policy and the engine's answers on it, computed lazily."""

    def __init__(self, policy: Policy, monitor: str | None = None) -> None:
        self.policy = policy
        self.compiled = compile_policy(policy)
        self.all_bits = (1 << len(policy.statements)) - 1
        self.account = account_of(policy, monitor)
        self.monitor = monitor or first_monitor(policy, self.account)
        resources, few_resources = ((monitor,), False) if monitor else \
            resources_of(policy, self.account, self.monitor)
        self.resources = resources
        self.callers, few_callers = callers_of(policy, accounts_of(resources))
        self.keys = key_options(policy)
        self.key_index = {k.lookup: i for i, k in enumerate(self.keys)}
        self.exact = not (uses_variables(policy) or few_resources or few_callers
                          or any(k.truncated for k in self.keys))
        """False when the space cannot stand for every request (policy variables, or more
        principals, resources or literals than it holds): completeness claims stand down."""
        self.consistent = True
        """False once an engine decision contradicted the truth table's prediction."""
        self._memo: dict[Assignment, Probe] = {}
        self._table()

    # -- requests ---------------------------------------------------------------------------

    def request(self, assignment: Assignment,
                override: Mapping[str, Option] | None = None) -> Request:
        context: dict[str, str | Sequence[str]] = {}
        for key, option in zip(self.keys, assignment.options, strict=True):
            value = key.values[option]
            if override is not None and key.lookup in override:
                value = override[key.lookup]
            if value is not None:
                context[key.key] = value
        if override is not None:
            for lookup, value in override.items():
                if lookup not in self.key_index and value is not None:
                    context[lookup] = value
        return Request(resource=self.resources[assignment.resource],
                       principal=self.callers[assignment.caller], context=context)

    def evaluate(self, assignment: Assignment) -> Probe:
        """The engine's decision on one probe (memoized), with the statements that applied."""
        found = self._memo.get(assignment)
        if found is None:
            request = self.request(assignment)
            decision = self.compiled.evaluate(request)
            applying = _applying(decision)
            if applying != self.predict(assignment):
                self.consistent = False
            found = Probe(assignment, request, decision, applying)
            self._memo[assignment] = found
        return found

    def evaluated(self) -> tuple[Probe, ...]:
        """The probes the engine has decided so far (the truth table's and searches')."""
        return tuple(self._memo.values())

    def evaluate_with(self, assignment: Assignment, override: Mapping[str, Option]) -> Decision:
        """The engine's decision on a probe with some keys set to other values."""
        return self.compiled.evaluate(self.request(assignment, override))

    def may_apply(self, assignment: Assignment, override: Mapping[str, Option], bits: int
                  ) -> bool:
        """Whether, by the truth table, a statement in `bits` may apply to the probe with the
        override (True when an overriding value is not in the table: only the engine knows)."""
        options = list(assignment.options)
        for lookup, value in override.items():
            k = self.key_index.get(lookup)
            if k is None or value not in self.keys[k].values:
                return True
            options[k] = self.keys[k].values.index(value)
        changed = Assignment(assignment.caller, assignment.resource, tuple(options))
        return bool(self.predict(changed) & bits)

    @cached_property
    def allow_bits(self) -> int:
        return sum(1 << i for i, s in enumerate(self.policy.statements) if s.effect == "Allow")

    @staticmethod
    def restricted(probe: Probe, keep: int) -> Decision:
        """The engine's decision on the probe had the policy held only the statements in
        `keep` (a bit mask).

        Statement traces are independent of one another, so leaving some out of IAM's
        combination (the engine's own `decide`) is evaluating the smaller policy; a property
        test checks this against `evaluate` on it.
        """
        traces = [t for t in probe.decision.statements if keep >> t.index & 1]
        return decide(probe.request, traces, (), True)

    @staticmethod
    def without(probe: Probe, statement: int) -> Decision:
        """The engine's decision on the probe had the policy not held `statement`."""
        return Probes.restricted(probe, ~(1 << statement))

    # -- the truth table ----------------------------------------------------------------------

    def _table(self) -> None:
        nc, nr = len(self.callers), len(self.resources)
        width = max(nc, nr, *(len(k.values) for k in self.keys), 1)
        statements = self.policy.statements
        self.action_mask = 0
        caller_ok = [[True] * nc for _ in statements]
        resource_ok = [[True] * nr for _ in statements]
        key_ok = [[[True] * len(k.values) for k in self.keys] for _ in statements]
        self.principal_reasons: list[tuple[str | None, ...]] = [()] * nc
        self.caller_facts: list[tuple[bool, str | None, bool]] = [(True, None, False)] * nc
        self.condition_traces: dict[tuple[int, int, int], str] = {}
        """(statement, condition, option) -> the engine's reason for that condition's result."""
        columns: list[tuple[Assignment, Request, Decision]] = []
        for column in range(width):
            # Each caller and resource once, then the anonymous caller on the monitor: those
            # columns double as the likeliest witnesses that a statement changes a decision.
            # Each key's options are rotated so that the policy's own values (options 1, 2, ...)
            # meet the anonymous caller first; any run of `width` columns covers every option.
            c, r = (column if column < nc else 0), (column if column < nr else 0)
            options = tuple((column - nc + 1) % len(k.values) for k in self.keys)
            request = self.request(Assignment(c, r, options))
            decision = self.compiled.evaluate(request)
            columns.append((Assignment(c, r, options), request, decision))
            if column < nc:
                caller = request.caller
                self.caller_facts[c] = (caller.anonymous, caller.account,
                                        caller.kind is CallerKind.ROOT)
                self.principal_reasons[c] = tuple(
                    t.principal.reason if t.principal is not None and t.principal.matched
                    else None for t in decision.statements)
            for s, trace in enumerate(decision.statements):
                statement = statements[s]
                if column == 0 and trace.action.matched:
                    self.action_mask |= 1 << s
                if column < nc and (trace.principal is None or not trace.principal.matched):
                    caller_ok[s][c] = False
                if column < nr and not trace.resource.matched:
                    resource_ok[s][r] = False
                deny = statement.effect == "Deny"
                for q, (condition, result) in enumerate(
                        zip(statement.conditions, trace.conditions, strict=True)):
                    ok = result.result is True or (result.result is None and deny)
                    lookup = condition.key.lower()
                    if lookup in CALLER_KEYS:
                        if column < nc and not ok:
                            caller_ok[s][c] = False
                    elif lookup in RESOURCE_KEYS:
                        if column < nr and not ok:
                            resource_ok[s][r] = False
                    else:
                        k = self.key_index[lookup]
                        o = options[k]
                        self.condition_traces[(s, q, o)] = result.reason
                        if not ok:
                            key_ok[s][k][o] = False
        self.caller_masks = _column_masks(caller_ok, nc)
        self.resource_masks = _column_masks(resource_ok, nr)
        self.key_masks = tuple(_column_masks([row[k] for row in key_ok], len(key.values))
                               for k, key in enumerate(self.keys))
        # The table's own requests are probes too: searches reuse them instead of asking the
        # engine again about a request with the same signature.
        self._known: dict[tuple[object, ...], list[Assignment]] = {}
        for assignment, request, decision in columns:
            applying = _applying(decision)
            if applying != self.predict(assignment):
                self.consistent = False
            self._memo[assignment] = Probe(assignment, request, decision, applying)
            signature = (self.caller_class(assignment.caller, assignment.resource), applying)
            self._known.setdefault(signature, []).append(assignment)

    def predict(self, assignment: Assignment) -> int:
        mask = (self.action_mask & self.caller_masks[assignment.caller]
                & self.resource_masks[assignment.resource])
        for k, o in enumerate(assignment.options):
            mask &= self.key_masks[k][o]
        return mask

    def caller_class(self, caller: int, resource: int) -> tuple[object, ...]:
        """What IAM's combination reads about a caller: anonymous, same account as the
        monitor, root, and how each statement's Principal names it."""
        anonymous, account, root = self.caller_facts[caller]
        arn = split_arn(self.resources[resource])
        same = arn is not None and account == arn.account
        return (anonymous, same, root, self.principal_reasons[caller])

    @property
    def size(self) -> int:
        """How many probe requests the space holds (every combination of options)."""
        total = len(self.callers) * len(self.resources)
        for key in self.keys:
            total *= len(key.values)
        return total

    # -- searching the space ------------------------------------------------------------------

    def _key_masks(self, fixed: Mapping[int, Sequence[int]]) -> dict[int, tuple[int, ...]]:
        """Every reachable AND of key masks -> one option tuple reaching it."""
        reached: dict[int, tuple[int, ...]] = {self.all_bits: ()}
        for k, masks in enumerate(self.key_masks):
            choices = fixed.get(k)
            if choices is None:
                firsts: dict[int, int] = {}
                for o, m in enumerate(masks):
                    firsts.setdefault(m, o)
                choices = tuple(firsts.values())
            grown: dict[int, tuple[int, ...]] = {}
            for mask, options in reached.items():
                for o in choices:
                    grown.setdefault(mask & masks[o], (*options, o))
            if len(grown) > _MAX_SIGNATURES:
                self.exact = False
                grown = dict(list(grown.items())[:_MAX_SIGNATURES])
            reached = grown
        return reached

    def signatures(self, *, callers: Sequence[int] | None = None,
                   fixed: Mapping[int, Sequence[int]] | None = None) -> Iterator[Assignment]:
        """One assignment per distinct (caller class, applying set), optionally with some
        callers only and some keys held to given options."""
        reached = self._key_masks(fixed or {})
        seen: set[tuple[object, ...]] = set()
        resource_seen: set[tuple[int, str | None]] = set()
        resources = []
        for r, mask in enumerate(self.resource_masks):
            arn = split_arn(self.resources[r])
            marker = (mask, arn.account if arn else None)
            if marker not in resource_seen:
                resource_seen.add(marker)
                resources.append(r)
        fixed = fixed or {}
        for c in (range(len(self.callers)) if callers is None else callers):
            for r in resources:
                base = self.action_mask & self.caller_masks[c] & self.resource_masks[r]
                cls = self.caller_class(c, r)
                for mask, options in reached.items():
                    signature = (cls, base & mask)
                    if signature not in seen:
                        seen.add(signature)
                        yield self._reuse(signature, callers, fixed) or \
                            Assignment(c, r, options)

    def _reuse(self, signature: tuple[object, ...], callers: Sequence[int] | None,
               fixed: Mapping[int, Sequence[int]]
               ) -> Assignment | None:
        """A table request with this signature that also meets the search's constraints."""
        for known in self._known.get(signature, ()):
            if (callers is None or known.caller in callers) and all(
                    known.options[k] in allowed for k, allowed in fixed.items()):
                return known
        return None

    @cached_property
    def decided(self) -> tuple[Probe, ...]:
        """The engine's decision on one probe per signature in which some statement applies
        (at most `_MAX_SIGNATURES`; past that the space is no longer exact)."""
        found: list[Probe] = []
        for assignment in self.signatures():
            if self.predict(assignment):
                if len(found) == _MAX_SIGNATURES:
                    self.exact = False
                    break
                found.append(self.evaluate(assignment))
        return tuple(found)

    def option_of(self, lookup: str, value: Option) -> int | None:
        k = self.key_index.get(lookup)
        if k is None:
            return None
        values = self.keys[k].values
        return values.index(value) if value in values else None


def _column_masks(ok: Sequence[Sequence[bool]], width: int) -> tuple[int, ...]:
    """Per column, the statements (rows) whose cell holds, as a bit mask."""
    return tuple(sum(1 << s for s, row in enumerate(ok) if row[i]) for i in range(width))


def _applying(decision: Decision) -> int:
    mask = 0
    for trace in decision.statements:
        if trace.applies:
            mask |= 1 << trace.index
    return mask


def effect_word(effect: Effect) -> str:
    return {Effect.ALLOW: "allowed", Effect.EXPLICIT_DENY: "denied explicitly",
            Effect.IMPLICIT_DENY: "denied implicitly"}[effect]
