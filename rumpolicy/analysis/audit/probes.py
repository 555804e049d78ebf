"""What the engine decides on the probe space (`space.py`), asked as few times as it can be.

A condition reads one key, a Principal reads the caller and a Resource the resource, so the
engine's judgment of each part on each option of its own dimension (`parts.py`) gives a *truth
table*: for every statement and every option of every dimension, whether that part of the
statement holds. From it, the set of statements that apply to any combination of options is a
bitwise AND, and a statement's trace on a probe is put together from the same judgments. IAM's
evaluation depends only on which statements apply and on who calls which account's monitor, so
combinations with the same *signature* (caller class, applying set) are decided alike: the
engine's combination step is asked once per signature, and a decision with its message is made
only for the probes a finding quotes.

Policy variables break the one-dimension-per-part premise: a policy using them is marked
`exact = False` (checks that need completeness stand down), its table is read off whole
requests, and each of its probes is evaluated whole and checked against the prediction
(`consistent`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from rumpolicy.analysis.audit.parts import ConditionPart, PolicyParts
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
from rumpolicy.engine import PUT_RUM_EVENTS, Decision, Effect, Request
from rumpolicy.engine.combine import decide, outcome
from rumpolicy.engine.decision import Check, ContextValue, StatementTrace
from rumpolicy.engine.principals import CallerKind, parse_caller
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Policy

__all__ = ["RANDOM_SHORT", "RANDOM_TEXT", "Assignment", "KeyOptions", "Probe", "Probes",
           "effect_word"]

_MAX_SIGNATURES = 2000
"""Engine decisions the redundancy check may ask for; a policy needing more (none of a
realistic 4 KB policy's shape) is judged inexact and the check stands down."""


class Assignment(NamedTuple):
    """One probe request: indexes into the callers, resources and each key's options.

    A named tuple rather than a frozen dataclass: assignments are built and hashed tens of
    times a policy, and a tuple does both several times faster.
    """

    caller: int
    resource: int
    options: tuple[int, ...]


class Probe:
    """One probe request: which statements apply to it and, made only when a check reads them,
    the engine's trace of every statement, the request itself and the engine's decision.

    Not a frozen record: most probes are only asked which statements apply (which, for a
    policy without variables, the truth table says exactly), so the rest is made on first use
    and kept.
    """

    __slots__ = ("_decision", "_request", "_space", "_traces", "applying", "assignment")

    def __init__(self, space: Probes, assignment: Assignment, applying: int,
                 traces: tuple[StatementTrace, ...] | None = None,
                 request: Request | None = None) -> None:
        self.assignment = assignment
        self.applying = applying
        """Bit i set when statement i applies (as the engine's trace says)."""
        self._space = space
        self._traces = traces
        self._request = request
        self._decision: Decision | None = None

    @property
    def traces(self) -> tuple[StatementTrace, ...]:
        """The engine's trace of every statement on the request."""
        found = self._traces
        if found is None:
            found = self._traces = self._space.traces_of(self)
        return found

    @property
    def request(self) -> Request:
        found = self._request
        if found is None:
            found = self._request = self._space.request(self.assignment)
        return found

    @property
    def decision(self) -> Decision:
        """The engine's decision on the request (IAM's combination of the traces)."""
        found = self._decision
        if found is None:
            found = self._decision = PolicyParts.decide(self._space.asking(self), self.traces)
        return found


class Probes:
    """The probe space of one policy and the engine's answers on it, computed lazily."""

    def __init__(self, policy: Policy, monitor: str | None = None) -> None:
        self.policy = policy
        self.parts = PolicyParts(policy)
        """The engine's answers per statement part, shared by every probe and check."""
        self.static = self.parts.static
        """No part reads more than one dimension (no policy variable is resolved): then the
        truth table predicts exactly which statements apply to any probe."""
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
        self._columns: list[Assignment] = []
        self._traces: dict[tuple[int, int, int, tuple[int, ...]], StatementTrace] = {}
        self._classes: dict[tuple[int, int], int] = {}
        self._class_ids: dict[tuple[object, ...], int] = {}
        self._reached: dict[tuple[tuple[int, tuple[int, ...]], ...],
                            dict[int, tuple[int, ...]]] = {}
        self._verdicts: dict[tuple[int, int], tuple[Effect, str]] = {}
        self._asking: dict[tuple[int, int], Request] = {}
        self._value_masks: dict[tuple[int, Option], int] = {}
        self._deciding: list[Assignment] = []
        self._deciding_source: Iterator[Assignment] | None = self._enumerate_deciding()
        self._table()

    def release(self) -> None:
        """Drop what refers back to the space (its probes, the enumeration in progress), so
        that it is freed as soon as its policy's audit ends rather than by the cycle collector.
        The space answers nothing afterwards."""
        self._memo.clear()
        self._deciding_source = None
        self.__dict__.pop("decided", None)  # the cached property's probes

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

    def decide(self, request: Request) -> Decision:
        """The engine's decision on any request (what `rumpolicy.evaluate` decides), from the
        statement parts already judged on this space's probes."""
        return self.parts.evaluate(request)

    def evaluate(self, assignment: Assignment) -> Probe:
        """One probe (memoized): which statements apply, and the engine's traces and decision
        on it when they are read.

        For a static policy the table's prediction is the engine's own judgment of each part
        put together (`applies`), so the probe starts from it and the traces are assembled from
        the same judgments only when read; with variables the request is evaluated now and its
        applying set checked against the prediction.
        """
        found = self._memo.get(assignment)
        if found is None:
            if self.static:
                found = Probe(self, assignment, self.predict(assignment))
                self._memo[assignment] = found
            else:
                request = self.request(assignment)
                found = self._probe(assignment, self.parts.traces(request), request)
        return found

    def traces_of(self, probe: Probe) -> tuple[StatementTrace, ...]:
        """The engine's traces on a static policy's probe, checked against its applying set."""
        traces = self._assembled(probe.assignment)
        if _applying(traces) != probe.applying:
            self.consistent = False
        return traces

    def asking(self, probe: Probe) -> Request:
        """The request IAM's combination is asked about for a probe: for a static policy the
        bare request of its caller and resource (see `_bare`; a property test compares the
        decision with `rumpolicy.evaluate` on the full request), which spares building every
        probe's context."""
        if not self.static or probe._request is not None:
            return probe.request
        c, r, _ = probe.assignment
        return self._bare(c, r)

    def _assembled(self, assignment: Assignment) -> tuple[StatementTrace, ...]:
        """Every statement's trace on the probe (a static policy)."""
        return tuple(self._statement_trace(s, assignment) for s in range(len(self._reads)))

    def _statement_trace(self, s: int, assignment: Assignment) -> StatementTrace:
        """Statement `s`'s trace on the probe, put together from the engine's judgments of its
        parts in the table (a static policy: each part reads one dimension); kept per caller,
        resource and option of the keys the statement reads."""
        c, r, options = assignment
        key = (s, c, r, tuple(options[k] for k in self._reads[s]))
        trace = self._traces.get(key)
        if trace is None:
            part = self.parts.statements[s]
            conditions = []
            for condition, k in zip(part.conditions, self._where[s], strict=True):
                if k == _CALLER:
                    value = self._caller_values[c].get(condition.lookup)
                elif k == _RESOURCE:
                    value = self._resource_values[r].get(condition.lookup)
                else:
                    value = self.keys[k].values[options[k]]
                conditions.append(condition.trace_value(value))
            trace = self._traces[key] = part.assemble(
                self._principal_checks[s][c], self._action_checks[s],
                self._resource_checks[s][r], tuple(conditions))
        return trace

    def _verdict(self, assignment: Assignment, applying: int) -> tuple[Effect, str]:
        """The effect and reason IAM's combination gives a static policy's probe whose applying
        statements are `applying` (all of them, or those left in a smaller policy), taken once
        per signature.

        IAM's combination reads, of the caller, whether it is anonymous, of the monitor's
        account, or its root, and of each applying statement its effect and how its Principal
        named the caller: the caller class and the applying set (the premise the searches rest
        on, which a property test checks). A statement that does not apply has no part in it,
        so the engine's `outcome` (its `decide` without the message) is given the traces of
        the applying statements only.
        """
        c, r, _ = assignment
        signature = (self.class_id(c, r), applying)
        found = self._verdicts.get(signature)
        if found is None:
            traces = [self._statement_trace(s, assignment)
                      for s in range(len(self._reads)) if applying >> s & 1]
            found = self._verdicts[signature] = outcome(self._callers[c], self.resources[r],
                                                        traces, (), True)
        return found

    def _bare(self, c: int, r: int) -> Request:
        """A request from caller `c` to resource `r` with no context: what IAM's combination
        reads of a probe (the caller, action and resource; the context reaches it only through
        the statement traces)."""
        found = self._asking.get((c, r))
        if found is None:
            found = self._asking[(c, r)] = Request(resource=self.resources[r],
                                                   principal=self.callers[c])
        return found

    def _probe(self, assignment: Assignment, traces: tuple[StatementTrace, ...],
               request: Request | None = None) -> Probe:
        applying = _applying(traces)
        if applying != self.predict(assignment):
            self.consistent = False
        found = self._memo[assignment] = Probe(self, assignment, applying, traces, request)
        return found

    def evaluated(self) -> tuple[Probe, ...]:
        """The probes the engine has decided so far."""
        return tuple(self._memo.values())

    def verdict(self, probe: Probe) -> tuple[Effect, str]:
        """The effect and reason of the engine's decision on the probe (for a static policy
        taken once per signature, see `_verdict`; the decision itself, with its message, is
        made only for the probes a finding quotes)."""
        if not self.static:
            return probe.decision.effect, probe.decision.reason
        return self._verdict(probe.assignment, probe.applying)

    def evaluate_with(self, assignment: Assignment, override: Mapping[str, Option]) -> Decision:
        """The engine's decision on a probe with some keys set to other values."""
        return self.decide(self.request(assignment, override))

    def verdict_with(self, assignment: Assignment, override: Mapping[str, Option]
                     ) -> tuple[Effect, str]:
        """`verdict` of the probe with some keys set to other values."""
        applying = self.applying_with(assignment, override)
        if applying is None:
            decision = self.evaluate_with(assignment, override)
            return decision.effect, decision.reason
        signature = (self.class_id(assignment.caller, assignment.resource), applying)
        found = self._verdicts.get(signature)
        if found is None:
            decision = self.evaluate_with(assignment, override)
            found = self._verdicts[signature] = (decision.effect, decision.reason)
        return found

    def applying_with(self, assignment: Assignment, override: Mapping[str, Option]
                      ) -> int | None:
        """Which statements apply to the probe with some keys set to other values, from the
        engine's judgments of each part; None when only a whole evaluation can tell (policy
        variables, or a key the table does not vary)."""
        if not self.static:
            return None
        values: dict[int, Option] = {}
        for lookup, value in override.items():
            k = self.key_index.get(lookup)
            if k is None:
                return None
            values[k] = value
        c, r, options = assignment
        mask = self.action_mask & self.caller_masks[c] & self.resource_masks[r]
        for k, o in enumerate(options):
            if k not in values:
                mask &= self.key_masks[k][o]
                continue
            value = values[k]
            known = self.keys[k].values
            mask &= self.key_masks[k][known.index(value)] if value in known else \
                self._value_mask(k, value)
        return mask

    def _value_mask(self, k: int, value: Option) -> int:
        """The statements whose conditions on key `k` hold when it has `value`."""
        found = self._value_masks.get((k, value))
        if found is None:
            found = self._value_masks[(k, value)] = self._judge_value(k, value)
        return found

    def _judge_value(self, k: int, value: Option) -> int:
        mask = self.all_bits
        for s, part in enumerate(self.parts.statements):
            deny = part.statement.effect == "Deny"
            for condition, where in zip(part.conditions, self._where[s], strict=True):
                if where == k and not _holds(condition.result_value(value)[0], deny):
                    mask &= ~(1 << s)
        return mask

    def may_apply(self, assignment: Assignment, override: Mapping[str, Option], bits: int
                  ) -> bool:
        """Whether a statement in `bits` may apply to the probe with the override: exactly,
        from the engine's judgments of each part, for a static policy; else by the truth table
        (True when an overriding value is not in it: only the engine knows)."""
        applying = self.applying_with(assignment, override)
        if applying is not None:
            return bool(applying & bits)
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
        traces = [t for t in probe.traces if keep >> t.index & 1]
        return decide(probe._space.asking(probe), traces, (), True)

    def restricted_effect(self, probe: Probe, keep: int) -> Effect:
        """`restricted(probe, keep).effect`, taken once per signature (see `verdict`)."""
        if not self.static:
            return Probes.restricted(probe, keep).effect
        return self._verdict(probe.assignment, probe.applying & keep)[0]

    @staticmethod
    def without(probe: Probe, statement: int) -> Decision:
        """The engine's decision on the probe had the policy not held `statement`."""
        return Probes.restricted(probe, ~(1 << statement))

    # -- the truth table ----------------------------------------------------------------------

    def _table(self) -> None:
        nc, nr = len(self.callers), len(self.resources)
        parts = self.parts.statements
        every = self.all_bits
        self.action_mask = 0
        # A statement's bit is cleared from an option's mask when that part of it fails there.
        self.caller_masks: list[int] = [every] * nc
        self.resource_masks: list[int] = [every] * nr
        self.key_masks: tuple[list[int], ...] = tuple([every] * len(k.values)
                                                      for k in self.keys)
        self.principal_reasons: list[tuple[str | None, ...]] = [()] * nc
        self.caller_facts: list[tuple[bool, str | None, bool]] = [(True, None, False)] * nc
        self._callers = tuple(parse_caller(caller) for caller in self.callers)
        """Each caller as the engine reads it."""
        self._principal_checks: list[list[Check]] = [[] for _ in parts]
        self._resource_checks: list[list[Check]] = [[] for _ in parts]
        self._action_checks: list[Check] = []
        self._caller_values: list[Mapping[str, ContextValue]] = []
        self._resource_values: list[Mapping[str, ContextValue]] = []
        self.condition_traces: dict[tuple[int, int, int], str] = {}
        """(statement, condition, option) -> the engine's reason for that condition's result."""
        # Which dimension each condition's key belongs to: a caller key, a resource key, or
        # the index of its key among the options; and which option keys each statement reads.
        self._where = [[_CALLER if c.lookup in CALLER_KEYS else _RESOURCE
                        if c.lookup in RESOURCE_KEYS else self.key_index[c.lookup]
                        for c in part.conditions] for part in parts]
        self._reads = [tuple(sorted({k for k in where if k >= 0})) for where in self._where]
        self._by_dimension: dict[int, list[tuple[int, ConditionPart, bool]]] = {
            _CALLER: [], _RESOURCE: []}
        """The caller-key and resource-key conditions: (statement, condition, in a Deny)."""
        for s, part in enumerate(parts):
            for condition, k in zip(part.conditions, self._where[s], strict=True):
                if k < 0:
                    self._by_dimension[k].append((s, condition, part.statement.effect == "Deny"))
        self._columns = self._column_assignments()
        if self.static:
            self._table_by_part()
        else:
            self._table_by_column()

    def _column_assignments(self) -> list[Assignment]:
        """Each caller and resource once, then the anonymous caller on the monitor: those
        columns double as the likeliest witnesses that a statement changes a decision. Each
        key's options are rotated so that the policy's own values (options 1, 2, ...) meet the
        anonymous caller first; any run of `width` columns covers every option."""
        nc, nr = len(self.callers), len(self.resources)
        sizes = [len(k.values) for k in self.keys]
        width = max(nc, nr, *sizes, 1)
        return [Assignment(column if column < nc else 0, column if column < nr else 0,
                           tuple((column - nc + 1) % n for n in sizes))
                for column in range(width)]

    def _caller_part(self, c: int, request: Request | None) -> None:
        """The engine's Principal check (and caller-key conditions) for caller `c`; `request`
        (one from that caller) may be None when no condition reads a caller key, since the
        Principal reads the caller alone."""
        caller = self._callers[c]
        self.caller_facts[c] = (caller.anonymous, caller.account, caller.kind is CallerKind.ROOT)
        self._caller_values.append(_NO_VALUES if request is None else request.values)
        principal_name = self.callers[c]
        reasons: list[str | None] = []
        mask = self.caller_masks[c]
        for s, part in enumerate(self.parts.statements):
            principal = part.principal_of(principal_name, caller)
            self._principal_checks[s].append(principal)
            if principal.matched:
                reasons.append(principal.reason)
            else:
                reasons.append(None)
                mask &= ~(1 << s)
        for s, condition, deny in self._by_dimension[_CALLER]:
            assert request is not None, "caller-key conditions read the caller's request"
            if not _holds(condition.trace(request).result, deny):
                mask &= ~(1 << s)
        self.caller_masks[c] = mask
        self.principal_reasons[c] = tuple(reasons)

    def _resource_part(self, r: int, request: Request) -> None:
        """The engine's Resource check (and resource-key conditions) for resource `r`."""
        self._resource_values.append(request.values)
        mask = self.resource_masks[r]
        for s, part in enumerate(self.parts.statements):
            resource = part.resource(request)
            self._resource_checks[s].append(resource)
            if not resource.matched:
                mask &= ~(1 << s)
        for s, condition, deny in self._by_dimension[_RESOURCE]:
            if not _holds(condition.trace(request).result, deny):
                mask &= ~(1 << s)
        self.resource_masks[r] = mask

    def _table_by_part(self) -> None:
        """Every part reads one dimension, so each is asked about that dimension alone: the
        Principals about each caller, the Resources about each resource, each condition
        about each option of its key. The columns are not decided until a check asks: the
        table predicts exactly which statements apply to them."""
        for s, part in enumerate(self.parts.statements):
            action = part.action_named(PUT_RUM_EVENTS)
            self._action_checks.append(action)
            if action.matched:
                self.action_mask |= 1 << s
        # Caller 0 is the anonymous caller: its request to resource 0 is also resource 0's.
        reads_caller_keys = bool(self._by_dimension[_CALLER])
        for c in range(len(self.callers)):
            self._caller_part(c, self._bare(c, 0) if reads_caller_keys else None)
        for r in range(len(self.resources)):
            self._resource_part(r, self._bare(0, r))
        reasons = self.condition_traces
        for s, part in enumerate(self.parts.statements):
            deny = part.statement.effect == "Deny"
            fails = ~(1 << s)
            for q, (condition, k) in enumerate(zip(part.conditions, self._where[s],
                                                   strict=True)):
                if k < 0:
                    continue
                masks = self.key_masks[k]
                result_value = condition.result_value
                for o, value in enumerate(self.keys[k].values):
                    result, reasons[(s, q, o)] = result_value(value)
                    if not _holds(result, deny):
                        masks[o] &= fails

    def _table_by_column(self) -> None:
        """With policy variables a part may read several dimensions, so the table is read off
        whole requests (one per column, every dimension varied at once), and each column is
        then decided and checked against the prediction."""
        nc, nr = len(self.callers), len(self.resources)
        columns: list[tuple[Assignment, Request]] = []
        for column, assignment in enumerate(self._columns):
            request = self.request(assignment)
            columns.append((assignment, request))
            if column < nc:
                self._caller_part(assignment.caller, request)
            if column < nr:
                self._resource_part(assignment.resource, request)
            for s, part in enumerate(self.parts.statements):
                if column == 0 and part.action(request).matched:
                    self.action_mask |= 1 << s
                deny = part.statement.effect == "Deny"
                for q, (condition, k) in enumerate(zip(part.conditions, self._where[s],
                                                       strict=True)):
                    if k < 0:
                        continue
                    trace = condition.trace(request)
                    o = assignment.options[k]
                    self.condition_traces[(s, q, o)] = trace.reason
                    if not _holds(trace.result, deny):
                        self.key_masks[k][o] &= ~(1 << s)
        for assignment, request in columns:
            self._probe(assignment, self.parts.traces(request), request)

    def predict(self, assignment: Assignment) -> int:
        mask = (self.action_mask & self.caller_masks[assignment.caller]
                & self.resource_masks[assignment.resource])
        key_masks = self.key_masks
        for k, o in enumerate(assignment.options):
            mask &= key_masks[k][o]
        return mask

    def caller_class(self, caller: int, resource: int) -> tuple[object, ...]:
        """What IAM's combination reads about a caller: anonymous, same account as the
        monitor, root, and how each statement's Principal names it."""
        anonymous, account, root = self.caller_facts[caller]
        owner = self._owners[resource]
        same = owner is not None and account == owner
        return (anonymous, same, root, self.principal_reasons[caller])

    @cached_property
    def _owners(self) -> tuple[str | None, ...]:
        """The account of each resource (None when it is not an ARN)."""
        found = []
        for resource in self.resources:
            arn = split_arn(resource)
            found.append(None if arn is None else arn.account)
        return tuple(found)

    def class_id(self, caller: int, resource: int) -> int:
        """A number standing for `caller_class(caller, resource)`: equal classes, equal
        numbers (signatures are hashed often; a pair of ints hashes fast)."""
        found = self._classes.get((caller, resource))
        if found is None:
            cls = self.caller_class(caller, resource)
            found = self._class_ids.setdefault(cls, len(self._class_ids))
            self._classes[(caller, resource)] = found
        return found

    @property
    def size(self) -> int:
        """How many probe requests the space holds (every combination of options)."""
        total = len(self.callers) * len(self.resources)
        for key in self.keys:
            total *= len(key.values)
        return total

    # -- searching the space ------------------------------------------------------------------

    def _key_masks(self, fixed: Mapping[int, Sequence[int]]) -> dict[int, tuple[int, ...]]:
        """Every reachable AND of key masks -> one option tuple reaching it (kept per set of
        held keys: the searches of several checks and statements share them)."""
        held = tuple(sorted((k, tuple(allowed)) for k, allowed in fixed.items()))
        reached = self._reached.get(held)
        if reached is None:
            reached = self._reached[held] = self._grow(fixed)
        return reached

    def _grow(self, fixed: Mapping[int, Sequence[int]]) -> dict[int, tuple[int, ...]]:
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

    @cached_property
    def _distinct_resources(self) -> tuple[int, ...]:
        """One resource per (statements its Resource admits, account)."""
        resource_seen: set[tuple[int, str | None]] = set()
        resources = []
        for r, mask in enumerate(self.resource_masks):
            marker = (mask, self._owners[r])
            if marker not in resource_seen:
                resource_seen.add(marker)
                resources.append(r)
        return tuple(resources)

    def reachable(self, bits: int, *, callers: Sequence[int] | None = None,
                  fixed: Mapping[int, Sequence[int]] | None = None) -> int:
        """The statements among `bits` that apply to some probe of the region `signatures`
        searches with the same constraints: a statement applies to a probe when each of its
        parts holds on that probe's option of each dimension, so it applies somewhere exactly
        when each dimension has some allowed option where its part holds. A search for a
        statement outside this set would find nothing, so it is not made."""
        mask = bits & self.action_mask & self._any_resource
        if callers is None:
            mask &= self._any_caller
        else:
            found = 0
            for c in callers:
                found |= self.caller_masks[c]
            mask &= found
        held = fixed or {}
        for k, masks in enumerate(self.key_masks):
            allowed = held.get(k)
            if allowed is None:
                mask &= self._any_option[k]
                continue
            found = 0
            for o in allowed:
                found |= masks[o]
            mask &= found
        return mask

    @cached_property
    def _any_caller(self) -> int:
        return _union(self.caller_masks)

    @cached_property
    def _any_resource(self) -> int:
        return _union(self.resource_masks)

    @cached_property
    def _any_option(self) -> tuple[int, ...]:
        return tuple(_union(masks) for masks in self.key_masks)

    def signatures(self, *, callers: Sequence[int] | None = None,
                   fixed: Mapping[int, Sequence[int]] | None = None) -> Iterator[Assignment]:
        """One assignment per distinct (caller class, applying set), optionally with some
        callers only and some keys held to given options."""
        held = fixed or {}
        reached = self._key_masks(held)
        seen: set[tuple[int, int]] = set()
        known = self._known
        action_mask, caller_masks, resource_masks = (self.action_mask, self.caller_masks,
                                                     self.resource_masks)
        for c in (range(len(self.callers)) if callers is None else callers):
            for r in self._distinct_resources:
                base = action_mask & caller_masks[c] & resource_masks[r]
                cls = self.class_id(c, r)
                for mask, options in reached.items():
                    signature = (cls, base & mask)
                    if signature not in seen:
                        seen.add(signature)
                        candidates = known.get(signature)
                        reused = None if candidates is None else \
                            _reuse(candidates, callers, held)
                        yield reused or Assignment(c, r, options)

    @cached_property
    def _known(self) -> dict[tuple[int, int], list[Assignment]]:
        """The table's own requests (its columns) by signature: they are probes too, and
        searches reuse them instead of asking the engine about another request with the same
        signature. Without variables the prediction is exact and they wait until a check asks;
        with them they were decided and checked against the prediction."""
        known: dict[tuple[int, int], list[Assignment]] = {}
        for assignment in self._columns:
            probe = self._memo.get(assignment)
            applying = self.predict(assignment) if probe is None else probe.applying
            signature = (self.class_id(assignment.caller, assignment.resource), applying)
            known.setdefault(signature, []).append(assignment)
        return known

    def deciding(self) -> Iterator[Assignment]:
        """One probe per signature in which some statement applies (at most
        `_MAX_SIGNATURES`; past that the space is no longer exact), enumerated only as far as
        a check reads: the redundancy check stops at the first probe that shows a statement
        needed, and the enumeration is shared by every statement's search."""
        done = self._deciding
        i = 0
        while True:
            if i < len(done):
                yield done[i]
                i += 1
                continue
            source = self._deciding_source
            if source is None:
                return
            following = next(source, None)
            if following is None:
                self._deciding_source = None
                return
            done.append(following)

    def _enumerate_deciding(self) -> Iterator[Assignment]:
        count = 0
        for assignment in self.signatures():
            if self.predict(assignment):
                if count == _MAX_SIGNATURES:
                    self.exact = False
                    return
                count += 1
                yield assignment

    @property
    def to_decide(self) -> tuple[Assignment, ...]:
        """Every probe `deciding` yields."""
        return tuple(self.deciding())

    @cached_property
    def decided(self) -> tuple[Probe, ...]:
        """The engine's decision on every probe of `to_decide`."""
        return tuple(self.evaluate(assignment) for assignment in self.to_decide)

    def option_of(self, lookup: str, value: Option) -> int | None:
        k = self.key_index.get(lookup)
        if k is None:
            return None
        values = self.keys[k].values
        return values.index(value) if value in values else None


def _reuse(known: list[Assignment], callers: Sequence[int] | None,
           fixed: Mapping[int, Sequence[int]]) -> Assignment | None:
    """A table request with the signature that also meets the search's constraints."""
    for assignment in known:
        if (callers is None or assignment.caller in callers) and all(
                assignment.options[k] in allowed for k, allowed in fixed.items()):
            return assignment
    return None


def _union(masks: Sequence[int]) -> int:
    found = 0
    for mask in masks:
        found |= mask
    return found


def _holds(result: bool | None, deny: bool) -> bool:
    """Whether a condition's result lets its statement apply: an undecidable condition (None)
    fails closed, keeping an Allow from applying and letting a Deny apply (as the engine's
    `applies`)."""
    return result is True or (result is None and deny)


_CALLER = -1
_RESOURCE = -2


_NO_VALUES: Mapping[str, ContextValue] = MappingProxyType({})
"""A caller's key values where no condition reads them."""


def effect_word(effect: Effect) -> str:
    return {Effect.ALLOW: "allowed", Effect.EXPLICIT_DENY: "denied explicitly",
            Effect.IMPLICIT_DENY: "denied implicitly"}[effect]


def _applying(traces: Sequence[StatementTrace]) -> int:
    """The bit mask of the statements that apply."""
    mask = 0
    for trace in traces:
        if trace.applies:
            mask |= 1 << trace.index
    return mask
