"""The compiled evaluator: the interpreter's decisions, prepared once and remembered.

Compiling prepares every pattern and every variable-free condition value, and finds the context
keys the policies read. A decision depends only on the caller, the action, the resource and
those keys, so it is memoized on exactly that tuple: repeated traffic costs one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rumpolicy.engine import patterns
from rumpolicy.engine.combine import decide
from rumpolicy.engine.conditions import condition_templates, judge, resolve, resolved_values
from rumpolicy.engine.decision import Check, ConditionTrace, Decision, StatementTrace
from rumpolicy.engine.evaluate import (
    applies,
    element_check,
    principal_check,
    resource_template,
)
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Condition, Policy, Statement
from rumpolicy.policy.variables import Template, Variable, has_variables

DEFAULT_MEMO_SIZE = 100_000


_CACHE_LIMIT = 4096
"""Entries kept per condition or statement cache before it starts afresh."""


@dataclass(frozen=True, slots=True)
class _CompiledCondition:
    condition: Condition
    lookup: str
    templates: tuple[Template, ...]
    static: tuple[tuple[str, ...], tuple[Any, ...]] | None
    """(shown, prepared) when no value has a variable; else resolved per request."""
    traces: dict[Any, ConditionTrace] = field(default_factory=dict)
    """For static conditions: the trace for each request value seen (traces are immutable)."""

    def trace(self, request: Request) -> ConditionTrace:
        value = request.values.get(self.lookup)
        if self.static is None:
            shown, prepared = resolved_values(self.condition, self.templates, request)
            return judge(self.condition, shown, prepared, value)
        found = self.traces.get(value)
        if found is None:
            found = judge(self.condition, *self.static, value)
            if len(self.traces) >= _CACHE_LIMIT:
                self.traces.clear()
            self.traces[value] = found
        return found


@dataclass(frozen=True, slots=True)
class _CompiledStatement:
    statement: Statement
    index: int
    label: str
    actions: tuple[tuple[str, Any], ...]
    resources: tuple[tuple[str, Template, Any], ...]
    """(pattern, template, regex or None when the pattern has variables)."""
    conditions: tuple[_CompiledCondition, ...]
    checks: dict[tuple[str | None, str, str], tuple[Check | None, Check, Check]] = field(
        default_factory=dict)
    """Principal, action and resource checks by (principal, action, resource), when the
    resources have no variables (else the resource check reads the context)."""

    def trace(self, request: Request) -> StatementTrace:
        statement = self.statement
        principal, action, resource = self._checks(request)
        conditions = tuple(c.trace(request) for c in self.conditions)
        return StatementTrace(
            policy=self.label, index=self.index, sid=statement.sid, effect=statement.effect,
            principal=principal, action=action, resource=resource, conditions=conditions,
            applies=applies(statement.effect, principal, action, resource, conditions),
        )

    def _checks(self, request: Request) -> tuple[Check | None, Check, Check]:
        key = (request.principal, request.action, request.resource)
        found = self.checks.get(key)
        if found is None:
            found = (
                principal_check(self.statement, request) if self.label == "resource" else None,
                self._action(request.action),
                self._resource(request),
            )
            if all(regex is not None for _, _, regex in self.resources):
                if len(self.checks) >= _CACHE_LIMIT:
                    self.checks.clear()
                self.checks[key] = found
        return found

    def _action(self, action: str) -> Check:
        hit = next((p for p, regex in self.actions if regex.fullmatch(action)), None)
        return element_check("action", self.statement.action is None, hit)

    def _resource(self, request: Request) -> Check:
        hit = None
        for pattern, template, static in self.resources:
            regex = static
            if regex is None:
                parts = resolve(template, request)
                if parts is None:
                    continue
                regex = patterns.arn_glob(parts, star_may_cross_colons=True)
            if regex.fullmatch(request.resource):
                hit = pattern
                break
        return element_check("resource", self.statement.resource is None, hit)


def _compile_statement(statement: Statement, index: int, label: str, policy: Policy
                       ) -> _CompiledStatement:
    substitutes = policy.substitutes_variables
    actions = tuple((p, patterns.glob([(p, False)], ignore_case=True))
                    for p in (statement.action if statement.action is not None
                              else statement.not_action or ()))
    resources = []
    for pattern in (statement.resource if statement.resource is not None
                    else statement.not_resource or ()):
        template = resource_template(pattern, substitutes)
        fixed = None if has_variables(template) else resolve(template, None)
        regex = None if fixed is None else patterns.arn_glob(fixed, star_may_cross_colons=True)
        resources.append((pattern, template, regex))
    conditions = []
    for condition in statement.conditions:
        templates = condition_templates(condition, substitutes)
        values = None
        if not any(has_variables(t) for t in templates):
            values = resolved_values(condition, templates, None)
        conditions.append(_CompiledCondition(condition, condition.key.lower(), templates, values))
    return _CompiledStatement(statement, index, label, actions, tuple(resources),
                              tuple(conditions))


def _keys_read(statements: Sequence[_CompiledStatement]) -> tuple[str, ...]:
    """Every context key a decision can depend on, in a stable order."""
    keys: dict[str, None] = {}
    for compiled in statements:
        for condition in compiled.conditions:
            keys[condition.lookup] = None
            for template in condition.templates:
                keys.update({p.key.lower(): None for p in template if isinstance(p, Variable)})
        for _, template, _ in compiled.resources:
            keys.update({p.key.lower(): None for p in template if isinstance(p, Variable)})
    return tuple(keys)


class CompiledPolicy:
    """A policy prepared for many decisions; `evaluate` equals `rumpolicy.evaluate`."""

    def __init__(self, policy: Policy | None, *, memo_size: int = DEFAULT_MEMO_SIZE) -> None:
        self.policy = policy
        self._statements = () if policy is None else tuple(
            _compile_statement(s, i, "resource", policy) for i, s in enumerate(policy.statements))
        self.keys_read = _keys_read(self._statements)
        self._memo: dict[tuple[Any, ...], Decision] = {}
        self._memo_size = memo_size
        self._identity: dict[tuple[int, int], tuple[Policy, tuple[_CompiledStatement, ...]]] = {}
        self.evaluate = _memoized(self.keys_read, self._memo, self._miss)  # type: ignore[method-assign]

    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
        """Decide `request`; replaced per instance by the memoized fast path (`_memoized`)."""
        return self._miss(request, identity_policies, None)  # pragma: no cover

    def _miss(self, request: Request, identity_policies: Sequence[Policy],
              key: tuple[Any, ...] | None) -> Decision:
        if identity_policies and not request.caller.anonymous:
            return self._evaluate_with_identities(request, identity_policies)
        found = self._decide(request, ())
        if key is not None:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _decide(self, request: Request,
                identities: Sequence[tuple[int, tuple[_CompiledStatement, ...]]]) -> Decision:
        resource_traces = [s.trace(request) for s in self._statements]
        identity_traces = [s.trace(request) for _, statements in identities for s in statements]
        return decide(request, resource_traces, identity_traces, self.policy is not None)

    def _evaluate_with_identities(self, request: Request,
                                  identity_policies: Sequence[Policy]) -> Decision:
        compiled = [self._compiled_identity(n, p) for n, p in enumerate(identity_policies)]
        return self._decide(request, [(n, c) for n, c in enumerate(compiled)])

    def _compiled_identity(self, position: int, policy: Policy) -> tuple[_CompiledStatement, ...]:
        """Identity policies are compiled on first use and kept while the same object is
        passed again (the gate passes each caller's policies unchanged)."""
        cached = self._identity.get((id(policy), position))
        if cached is not None and cached[0] is policy:
            return cached[1]
        statements = tuple(_compile_statement(s, i, f"identity[{position}]", policy)
                           for i, s in enumerate(policy.statements))
        if len(self._identity) >= 1024:
            self._identity.clear()
        self._identity[(id(policy), position)] = (policy, statements)
        return statements


Miss = Callable[[Request, Sequence[Policy], "tuple[Any, ...] | None"], Decision]


def _memoized(keys: tuple[str, ...], memo: dict[tuple[Any, ...], Decision], miss: Miss
              ) -> Callable[..., Decision]:
    """The hot path as a closure: build the memo key from exactly the keys read, look it up.

    Specialised for the common small key counts; everything else (identity policies, a miss)
    goes to `miss`, which also fills the memo.
    """
    get = memo.get
    if not keys:
        def evaluate(request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
            key = (request.principal, request.action, request.resource)
            found = None if identity_policies else get(key)
            return found if found is not None else miss(request, identity_policies, key)
    elif len(keys) == 1:
        (k0,) = keys

        def evaluate(request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
            key = (request.principal, request.action, request.resource, request.values.get(k0))
            found = None if identity_policies else get(key)
            return found if found is not None else miss(request, identity_policies, key)
    elif len(keys) == 2:
        k0, k1 = keys

        def evaluate(request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
            values = request.values
            key = (request.principal, request.action, request.resource, values.get(k0),
                   values.get(k1))
            found = None if identity_policies else get(key)
            return found if found is not None else miss(request, identity_policies, key)
    elif len(keys) == 3:
        k0, k1, k2 = keys

        def evaluate(request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
            values = request.values
            key = (request.principal, request.action, request.resource, values.get(k0),
                   values.get(k1), values.get(k2))
            found = None if identity_policies else get(key)
            return found if found is not None else miss(request, identity_policies, key)
    else:
        def evaluate(request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
            key = (request.principal, request.action, request.resource,
                   *map(request.values.get, keys))
            found = None if identity_policies else get(key)
            return found if found is not None else miss(request, identity_policies, key)
    return evaluate


def compile_policy(policy: Policy | None, *, memo_size: int = DEFAULT_MEMO_SIZE) -> CompiledPolicy:
    return CompiledPolicy(policy, memo_size=memo_size)
