"""The compiled evaluator: the interpreter's decisions, prepared once and remembered.

Compiling prepares every pattern and every variable-free condition value, and finds the context
keys the policies read. A decision depends only on the caller, the action, the resource and
those keys, so it is memoized on exactly that tuple: repeated traffic costs one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rumpolicy.engine import patterns
from rumpolicy.engine.combine import decide
from rumpolicy.engine.conditions import judge, resolve, resolved_values, template_of
from rumpolicy.engine.decision import Check, Decision, StatementTrace
from rumpolicy.engine.evaluate import (
    applies,
    element_check,
    principal_check,
    resource_template,
)
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Condition, Policy, Statement
from rumpolicy.policy.operators import Family
from rumpolicy.policy.variables import Template, Variable, has_variables

DEFAULT_MEMO_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class _CompiledCondition:
    condition: Condition
    lookup: str
    templates: tuple[Template, ...]
    static: tuple[tuple[str, ...], tuple[Any, ...]] | None
    """(shown, prepared) when no value has a variable; else resolved per request."""


@dataclass(frozen=True, slots=True)
class _CompiledStatement:
    statement: Statement
    index: int
    label: str
    actions: tuple[tuple[str, Any], ...]
    resources: tuple[tuple[str, Template, Any], ...]
    """(pattern, template, regex or None when the pattern has variables)."""
    conditions: tuple[_CompiledCondition, ...]

    def trace(self, request: Request) -> StatementTrace:
        statement = self.statement
        principal = principal_check(statement, request) if self.label == "resource" else None
        conditions = []
        for compiled in self.conditions:
            shown, prepared = compiled.static or resolved_values(
                compiled.condition, compiled.templates, request)
            conditions.append(judge(compiled.condition, shown, prepared,
                                    request.values.get(compiled.lookup)))
        action = self._action(request.action)
        resource = self._resource(request)
        return StatementTrace(
            policy=self.label, index=self.index, sid=statement.sid, effect=statement.effect,
            principal=principal, action=action, resource=resource,
            conditions=tuple(conditions),
            applies=applies(statement.effect, principal, action, resource, conditions),
        )

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
        fixed = None if has_variables(template) else resolve(template, _NO_REQUEST)
        regex = None if fixed is None else patterns.arn_glob(fixed, star_may_cross_colons=True)
        resources.append((pattern, template, regex))
    conditions = []
    for condition in statement.conditions:
        family = condition.operator.base.family
        templates = tuple(template_of(v, substitutes and family in (Family.STRING, Family.ARN))
                          for v in condition.values)
        values = None
        if not any(has_variables(t) for t in templates):
            values = resolved_values(condition, templates, _NO_REQUEST)
        conditions.append(_CompiledCondition(condition, condition.key.lower(), templates, values))
    return _CompiledStatement(statement, index, label, actions, tuple(resources),
                              tuple(conditions))


_NO_REQUEST = Request(resource="arn:aws:rum:::appmonitor/-")
"""Stands in for a request when resolving values that have no variables to look up."""


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
        self._key = _key_function(self.keys_read)

    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
        if identity_policies and not request.caller.anonymous:
            return self._evaluate_with_identities(request, identity_policies)
        key = self._key(request)
        found = self._memo.get(key)
        if found is None:
            found = self._decide(request, ())
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


def _key_function(keys: tuple[str, ...]) -> Callable[[Request], tuple[Any, ...]]:
    """The memo key for a request; specialised for the common small key counts."""
    if not keys:
        return lambda r: (r.principal, r.action, r.resource)
    if len(keys) == 1:
        (k0,) = keys
        return lambda r: (r.principal, r.action, r.resource, r.values.get(k0))
    if len(keys) == 2:
        k0, k1 = keys
        return lambda r: (r.principal, r.action, r.resource, r.values.get(k0), r.values.get(k1))
    return lambda r: (r.principal, r.action, r.resource, *map(r.values.get, keys))


def compile_policy(policy: Policy | None, *, memo_size: int = DEFAULT_MEMO_SIZE) -> CompiledPolicy:
    return CompiledPolicy(policy, memo_size=memo_size)
