"""The engine's answers on each part of each statement, asked once per input the part reads.

IAM judges a statement's Principal on the caller alone, its Action on the action, its Resource
on the resource (and, with policy variables, on the keys they name) and each condition on its
key's value (and, with variables, on theirs). The probe space asks about the same callers,
resources and key values again and again, so each part's answer is remembered per input; a
statement's trace is then assembled from its parts and the verdict taken by the engine's own
combination step (`rumpolicy.engine.combine.decide`). Every judgment is made by the engine's
functions (`caller_check`, `action_check`, `resource_check`, `condition_result`, `judge`);
nothing here decides anything itself. This is the compiled evaluator's scheme, kept per probe
space so that the truth table can read single parts without paying for whole decisions; a
property test checks that the decisions equal `rumpolicy.evaluate`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rumpolicy.engine.combine import decide
from rumpolicy.engine.conditions import (
    condition_result,
    condition_templates,
    judge,
    resolved_values,
)
from rumpolicy.engine.decision import (
    Check,
    ConditionTrace,
    ContextValue,
    Decision,
    StatementTrace,
)
from rumpolicy.engine.evaluate import (
    action_check,
    applies,
    caller_check,
    resource_check,
    resource_template,
)
from rumpolicy.engine.principals import Caller
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Condition, Policy, Statement
from rumpolicy.policy.variables import Template, has_variables


class ConditionPart:
    """One condition: judged per request value; per request when a value holds a variable."""

    __slots__ = ("_results", "_static", "_templates", "_traces", "condition", "lookup")

    def __init__(self, condition: Condition, substitutes: bool) -> None:
        self.condition = condition
        self.lookup = condition.key.lower()
        self._templates: tuple[Template, ...] = condition_templates(condition, substitutes)
        self._static: tuple[tuple[str, ...], tuple[Any, ...]] | None = (
            None if any(has_variables(t) for t in self._templates)
            else resolved_values(condition, self._templates, None))
        self._results: dict[Any, tuple[bool | None, str]] = {}
        self._traces: dict[Any, ConditionTrace] = {}

    @property
    def static(self) -> bool:
        """Whether the result reads the key's value only (no value holds a variable)."""
        return self._static is not None

    def trace(self, request: Request) -> ConditionTrace:
        value = request.values.get(self.lookup)
        if self._static is None:
            shown, prepared = resolved_values(self.condition, self._templates, request)
            return judge(self.condition, shown, prepared, value)
        return self.trace_value(value)

    def result_value(self, value: ContextValue | None) -> tuple[bool | None, str]:
        """The result and reason of `trace_value(value)`, without building the trace: the
        truth table reads only these of most options (a static condition)."""
        found = self._results.get(value)
        if found is None:
            static = self._static
            assert static is not None, "a condition with variables reads the whole request"
            found = self._results[value] = condition_result(self.condition.operator,
                                                            static[1], value)
        return found

    def trace_value(self, value: ContextValue | None) -> ConditionTrace:
        """The trace on a request whose value of the key is `value` (a static condition): the
        engine's `judge`, from the same result `result_value` gives."""
        found = self._traces.get(value)
        if found is None:
            static = self._static
            assert static is not None, "a condition with variables reads the whole request"
            result, reason = self.result_value(value)
            condition = self.condition
            found = self._traces[value] = ConditionTrace(
                condition.operator.name, condition.key, static[0], value, result, reason)
        return found


class StatementPart:
    """One statement of a resource policy: its element checks and conditions, remembered."""

    __slots__ = (
        "_actions",
        "_principals",
        "_resources",
        "_substitutes",
        "conditions",
        "index",
        "statement",
        "static",
    )

    def __init__(self, statement: Statement, index: int, substitutes: bool,
                 shared: _Shared | None = None) -> None:
        self.statement = statement
        self.index = index
        self._substitutes = substitutes
        shared = shared if shared is not None else _Shared()
        # Statements that write an element alike share its answers: the engine's checks read
        # nothing else of the statement (a property test compares the decisions with
        # `rumpolicy.evaluate`).
        self.conditions = tuple(shared.condition(c, substitutes) for c in statement.conditions)
        self._principals: dict[str | None, Check] = shared.cache(
            ("principal", statement.principal, statement.not_principal))
        self._actions: dict[str, Check] = shared.cache(
            ("action", statement.action, statement.not_action))
        patterns = (statement.resource if statement.resource is not None
                    else statement.not_resource or ())
        variable = any("${" in p and has_variables(resource_template(p, substitutes))
                       for p in patterns)
        self._resources: dict[str, Check] | None = None if variable else shared.cache(
            ("resource", statement.resource, statement.not_resource))
        """None when a Resource pattern holds a variable: then it is judged per request."""
        self.static = not variable and all(c.static for c in self.conditions)
        """Whether each part reads one thing only: the caller, the action, the resource, or
        its condition's key."""

    def principal(self, request: Request) -> Check:
        return self.principal_of(request.principal, request.caller)

    def principal_of(self, principal: str | None, caller: Caller) -> Check:
        """The Principal check for the caller `principal` names (`caller`, parsed): it reads
        nothing else, so the truth table asks without building a request per caller."""
        found = self._principals.get(principal)
        if found is None:
            found = self._principals[principal] = caller_check(self.statement, caller)
        return found

    def action(self, request: Request) -> Check:
        return self.action_named(request.action)

    def action_named(self, action: str) -> Check:
        found = self._actions.get(action)
        if found is None:
            found = self._actions[action] = action_check(self.statement, action)
        return found

    def resource(self, request: Request) -> Check:
        cache = self._resources
        if cache is None:
            return resource_check(self.statement, self._substitutes, request)
        found = cache.get(request.resource)
        if found is None:
            found = cache[request.resource] = resource_check(self.statement, self._substitutes,
                                                             request)
        return found

    def trace(self, request: Request) -> StatementTrace:
        return self.assemble(self.principal(request), self.action(request),
                             self.resource(request),
                             tuple(c.trace(request) for c in self.conditions))

    def assemble(self, principal: Check, action: Check, resource: Check,
                 conditions: tuple[ConditionTrace, ...]) -> StatementTrace:
        """The statement's trace from the engine's judgments of its parts on one request."""
        statement = self.statement
        return StatementTrace(
            policy="resource", index=self.index, sid=statement.sid, effect=statement.effect,
            principal=principal, action=action, resource=resource, conditions=conditions,
            applies=applies(statement.effect, principal, action, resource, conditions))


class _Shared:
    """The answers of one policy's elements, by what the element says (per policy only)."""

    __slots__ = ("_caches", "_conditions")

    def __init__(self) -> None:
        self._caches: dict[object, dict[Any, Check]] = {}
        self._conditions: dict[Condition, ConditionPart] = {}

    def cache(self, element: object) -> dict[Any, Check]:
        found = self._caches.get(element)
        if found is None:
            found = self._caches[element] = {}
        return found

    def condition(self, condition: Condition, substitutes: bool) -> ConditionPart:
        found = self._conditions.get(condition)
        if found is None:
            found = self._conditions[condition] = ConditionPart(condition, substitutes)
        return found


class PolicyParts:
    """Every statement of one resource policy, for requests without identity policies."""

    __slots__ = ("statements", "static")

    def __init__(self, policy: Policy) -> None:
        substitutes = policy.substitutes_variables
        shared = _Shared()
        self.statements = tuple(StatementPart(s, i, substitutes, shared)
                                for i, s in enumerate(policy.statements))
        self.static = all(part.static for part in self.statements)
        """No part reads more than one thing (no policy variable is resolved anywhere)."""

    def traces(self, request: Request) -> tuple[StatementTrace, ...]:
        return tuple(part.trace(request) for part in self.statements)

    @staticmethod
    def decide(request: Request, traces: Sequence[StatementTrace]) -> Decision:
        """The engine's verdict on the statement traces (the policy is attached)."""
        return decide(request, traces, (), True)

    def evaluate(self, request: Request) -> Decision:
        """What `rumpolicy.evaluate(policy, request)` decides."""
        return decide(request, self.traces(request), (), True)
