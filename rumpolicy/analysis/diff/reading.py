"""What two policies read: their statements, the condition keys, and the policy variables.

Policy variables are where an exact partition can fail. A value like `${aws:username}` in a
condition on `rum:alias` relates two request values; no product of per-key classes captures
"alias equals username". Such a variable key is *restricted*: only requests where it has no
single value (absent or a list, so the variable takes its default or drops the value) are
analysed, and the rest is named in `not_analysed`. Two uses stay exact: a condition comparing a
key with a template of itself (its outcome depends only on whether the value is empty, see
docs/diff.md), and a Resource variable when the monitor ARN is fixed (the substituted text must
be a substring of that ARN, so finitely many values matter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rumpolicy.analysis.diff.callers import entry_accounts, is_caller_account, principal_entries
from rumpolicy.analysis.diff.describe import join_or
from rumpolicy.engine.conditions import judge, resolved_values, template_of
from rumpolicy.engine.decision import ContextValue
from rumpolicy.engine.evaluate import resource_check, resource_template
from rumpolicy.engine.request import Request
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Condition, Policy, Statement
from rumpolicy.policy.operators import Family
from rumpolicy.policy.variables import Template, Variable

DUMMY_RESOURCE = "arn:aws:rum:us-east-1:000000000000:appmonitor/rumpolicy-diff"
"""Stands in for the resource where only variables need resolving."""
STRINGISH = frozenset({Family.STRING, Family.ARN, Family.BOOL})
_SUBSTITUTED = (Family.STRING, Family.ARN)
_FAMILY_WORDS = {Family.STRING: "a string", Family.ARN: "an ARN", Family.BOOL: "a boolean",
                 Family.IP: "an IP address", Family.NUMERIC: "a number", Family.DATE: "a date",
                 Family.BINARY: "binary data"}


@dataclass(frozen=True, slots=True)
class StatementRef:
    side: str
    """"old" or "new"."""
    index: int
    policy: Policy
    statement: Statement
    bit: int
    """The statement's bit in the search's masks (old statements first)."""

    def where(self, path: str | None = None) -> str:
        location = self.policy.locate(path or self.statement.path)
        sid = f" '{self.statement.sid}'" if self.statement.sid else ""
        return f"{self.side} policy statement {self.index}{sid} at line {location.line}"

    @property
    def resources(self) -> tuple[str, ...]:
        s = self.statement
        return s.resource if s.resource is not None else s.not_resource or ()

    @property
    def actions(self) -> tuple[str, ...]:
        s = self.statement
        return s.action if s.action is not None else s.not_action or ()

    def templates(self, condition: Condition) -> list[Template]:
        substitutes = self.policy.substitutes_variables and \
            condition.operator.base.family in _SUBSTITUTED
        return [template_of(v, substitutes) for v in condition.values]


@dataclass(frozen=True, slots=True)
class Reading:
    refs: tuple[StatementRef, ...]
    monitor: str | None
    names: Mapping[str, str]
    """Every key read, lower case -> its spelling in the policy."""
    variables: frozenset[str]
    """Keys that some policy variable reads."""
    restricted: Mapping[str, tuple[str, ...]]
    """Variable keys whose single values are not analysed -> why."""
    absent_only: Mapping[str, tuple[str, ...]]
    """Keys analysed only when absent (compared under two types, or BinaryEquals) -> why."""
    free_resource: Mapping[int, str]
    """Statement bit -> the one variable key its Resource reads, analysed exactly."""
    self_referencing: frozenset[str]
    accounts: frozenset[str]
    """Accounts the Principal entries, the Resource patterns or the monitor name."""
    _conditions: dict[str, list[tuple[StatementRef, Condition]]] = field(
        default_factory=dict, repr=False)

    @property
    def everything(self) -> int:
        return (1 << len(self.refs)) - 1

    def conditions(self, key: str) -> list[tuple[StatementRef, Condition]]:
        found = self._conditions.get(key)
        if found is None:
            found = self._conditions[key] = [
                (r, c) for r in self.refs for c in r.statement.conditions
                if c.key.lower() == key]
        return found

    def context(self, key: str | None = None, value: ContextValue | None = None
                ) -> dict[str, str | tuple[str, ...]]:
        """A context in which every variable has no single value (so it takes its default or
        drops the value, as for an absent key), except `key`, which holds `value`."""
        context: dict[str, str | tuple[str, ...]] = {v: () for v in self.variables}
        if key is not None:
            context[key] = value if isinstance(value, str) else ()
        return context

    def condition_result(self, ref: StatementRef, condition: Condition,
                         value: ContextValue | None) -> bool | None:
        """The engine's result for `condition` when its key holds `value`."""
        request = Request(resource=DUMMY_RESOURCE,
                          context=self.context(condition.key.lower(), value))
        shown, prepared = resolved_values(condition, ref.templates(condition), request)
        return judge(condition, shown, prepared, value).result

    def passes(self, ref: StatementRef, key: str, value: ContextValue | None) -> bool:
        """Whether everything in the statement that reads `key` lets it apply: an undecidable
        condition fails closed (it keeps an Allow out and lets a Deny in)."""
        for condition in ref.statement.conditions:
            if condition.key.lower() != key:
                continue
            result = self.condition_result(ref, condition, value)
            if not (result is True or (result is None and ref.statement.effect == "Deny")):
                return False
        if self.free_resource.get(ref.bit) == key:
            assert self.monitor is not None
            return self.resource_matches(ref, self.monitor, key, value)
        return True

    def resource_matches(self, ref: StatementRef, resource: str, key: str | None = None,
                         value: ContextValue | None = None) -> bool:
        request = Request(resource=resource, context=self.context(key, value))
        return resource_check(ref.statement, ref.policy.substitutes_variables, request).matched

    def notes(self, absent_only: Mapping[str, tuple[str, ...]]) -> list[str]:
        out = []
        for key, why in sorted(self.restricted.items()):
            name = self.names[key]
            out.append(f"requests in which {name} has a single value: {'; '.join(why)}. A "
                       "condition relating two request values cannot be cut into classes "
                       f"exactly; requests where {name} is absent or a list are analysed")
        for key, why in sorted(absent_only.items()):
            out.append(f"requests that carry {self.names[key]}: {'; '.join(why)}; requests "
                       "without it are analysed")
        return out


def variables_of(template: Template) -> list[Variable]:
    return [p for p in template if isinstance(p, Variable)]


def read_policies(old: Policy | None, new: Policy | None, monitor: str | None) -> Reading:
    refs: list[StatementRef] = []
    for side, policy in (("old", old), ("new", new)):
        if policy is not None:
            for index, statement in enumerate(policy.statements):
                refs.append(StatementRef(side, index, policy, statement, len(refs)))
    names: dict[str, str] = {}
    restricted: dict[str, list[str]] = {}
    families: dict[str, dict[Family, list[str]]] = {}
    resource_keys: dict[int, set[str]] = {}
    self_referencing: set[str] = set()
    variables: set[str] = set()

    def name(key: str) -> str:
        names.setdefault(key.lower(), key)
        return key.lower()

    for ref in refs:
        for pattern in ref.resources:
            for variable in variables_of(resource_template(pattern,
                                                           ref.policy.substitutes_variables)):
                resource_keys.setdefault(ref.bit, set()).add(name(variable.key))
        for condition in ref.statement.conditions:
            key = name(condition.key)
            family = condition.operator.base.family
            families.setdefault(key, {}).setdefault(family, []).append(ref.where(condition.path))
            for template in ref.templates(condition):
                for variable in variables_of(template):
                    used = name(variable.key)
                    variables.add(used)
                    if used == key:
                        self_referencing.add(key)
                    else:
                        restricted.setdefault(used, []).append(
                            f"{ref.where(condition.path)} compares {condition.key} with "
                            f"${{{variable.key}}}")
    free_resource: dict[int, str] = {}
    for bit, read in resource_keys.items():
        variables |= read
        where = refs[bit].where()
        if monitor is None:
            for key in read:
                restricted.setdefault(key, []).append(
                    f"{where} names ${{{names[key]}}} in its Resource, and no monitor ARN fixes "
                    "the resource")
        elif len(read) > 1:
            for key in read:
                restricted.setdefault(key, []).append(
                    f"{where} combines several variables in its Resource")
        else:
            free_resource[bit] = next(iter(read))
    return Reading(
        refs=tuple(refs), monitor=monitor, names=names, variables=frozenset(variables),
        restricted={k: tuple(v) for k, v in restricted.items()},
        absent_only=_mixed_families(families),
        free_resource={b: k for b, k in free_resource.items() if k not in restricted},
        self_referencing=frozenset(self_referencing),
        accounts=frozenset(_accounts(refs, monitor)))


def _mixed_families(families: dict[str, dict[Family, list[str]]]
                    ) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, by_family in families.items():
        kinds = {f for f in by_family if f is not Family.NULL}
        groups = {("string" if f in STRINGISH else f.value) for f in kinds}
        if Family.BINARY in kinds:
            out[key] = (f"BinaryEquals on it is not analysed ({by_family[Family.BINARY][0]})",)
        elif len(groups) > 1:
            words = join_or([_FAMILY_WORDS[f] for f in sorted(kinds)], "and as")
            where = sorted({w for f in kinds for w in by_family[f]})
            out[key] = (f"it is compared both as {words} ({'; '.join(where)})",)
    return out


def _accounts(refs: list[StatementRef], monitor: str | None) -> set[str]:
    accounts = entry_accounts(principal_entries([r.statement for r in refs]))
    if monitor is not None:
        arn = split_arn(monitor)
        if arn is not None and arn.account:
            accounts.add(arn.account)
    for ref in refs:
        for pattern in ref.resources:
            arn = split_arn(pattern)
            if arn is not None and is_caller_account(arn.account):
                accounts.add(arn.account)
    return accounts
