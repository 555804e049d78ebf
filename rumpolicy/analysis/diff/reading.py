"""What two policies read: their statements, the condition keys, and the policy variables.

The statements are those of the old and new resource policies, then those of the identity
policies (the same on both sides), each with its bit in the search's masks.

Policy variables are where an exact partition can fail. A value like `${aws:username}` in a
condition on `rum:alias` relates two request values; no product of per-key classes captures
"alias equals username". Three uses stay exact: a condition comparing a key with a template of
itself (its outcome depends only on whether the value is empty, see docs/diff.md); a Resource
variable when the monitor ARN is fixed (the substituted text must be a substring of that ARN, so
finitely many values matter); and a variable taking one of its statement's *constants*, the
values the engine derives for the named callers the statement can apply to (`aws:username` of
the user an identity policy is attached to, say). For those the statement is read again with the
value bound (a *variant*, with its own bit): the variant applies when the key holds that value,
the statement itself only when the key is absent or a list (so the variable takes its default
or drops the value).

Constants are per statement, not per key: a statement held by one of N users gets one variant
for `aws:username`, not N. Binding every user's name in every user's statement would make N^2
variants (and as many classes and search states), all for requests in which a caller's context
claims another caller's name, which IAM never sends; those stay unanalysed and are named.

Any other single value of a related key is *restricted*: wherever a statement relating it can
apply (by its caller and action), requests where the key has such a value are not analysed, and
`not_analysed` names them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from rumpolicy.analysis.diff.callers import (
    candidate_classes,
    entry_accounts,
    is_caller_account,
    principal_entries,
)
from rumpolicy.analysis.diff.describe import join_or
from rumpolicy.analysis.diff.errors import TooComplex
from rumpolicy.analysis.diff.identities import IdentityPolicies
from rumpolicy.engine.conditions import condition_templates, judge, resolved_values
from rumpolicy.engine.decision import ContextValue
from rumpolicy.engine.evaluate import principal_check, resource_check, resource_template
from rumpolicy.engine.principals import PrincipalMatch
from rumpolicy.engine.request import Request
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Condition, Policy, Statement
from rumpolicy.policy.operators import Family
from rumpolicy.policy.variables import Template, Variable, has_variables

DUMMY_RESOURCE = "arn:aws:rum:us-east-1:000000000000:appmonitor/rumpolicy-diff"
"""Stands in for the resource where only variables need resolving."""
CALLER_KEYS = ("aws:username", "aws:principalarn", "aws:principalaccount", "aws:principaltype",
               "aws:userid")
"""Keys the engine derives from the caller (`rumpolicy.engine.request`; aws:userid for anonymous
callers only): their constants are the named callers' values."""
MAX_VARIANTS = 64
"""Variants per statement (one per combination of its related keys' constants)."""
MAX_STATEMENTS = 5_000
"""Budget for statements of all policies, variants included: each is a bit of every mask and
is judged on every class of every key it reads, so past this the analysis would run for
minutes (320 holders of 10 statements, half of them reading `${aws:username}`: 4,804, 7 s)."""
Binding = tuple[tuple[str, str], ...]
_GRANTING = frozenset({PrincipalMatch.WILDCARD.value, PrincipalMatch.EXACT.value,
                       PrincipalMatch.ROLE.value, PrincipalMatch.NOT_PRINCIPAL.value})
"""Principal matches that let an Allow grant by itself (an account-only match delegates to the
account's identity policies; rumpolicy.engine.combine)."""
STRINGISH = frozenset({Family.STRING, Family.ARN, Family.BOOL})
_FAMILY_WORDS = {Family.STRING: "a string", Family.ARN: "an ARN", Family.BOOL: "a boolean",
                 Family.IP: "an IP address", Family.NUMERIC: "a number", Family.DATE: "a date",
                 Family.BINARY: "binary data"}


@dataclass(frozen=True, slots=True)
class StatementRef:
    side: str
    """"old", "new" or "identity"."""
    index: int
    policy: Policy
    statement: Statement
    bit: int
    """The statement's bit in the search's masks (old, new, identity, then variants)."""
    holder: int | None = None
    """For an identity policy's statement: the index of its principal in `IdentityPolicies`."""
    holder_arn: str = ""
    binding: Binding = ()
    """For a variant: the related keys whose variables it reads with these values."""
    of: int | None = None
    """For a variant: the bit of the statement it was made from."""
    unbound: frozenset[str] = frozenset()
    """Related keys with constants that this statement reads unbound: it stands only for
    requests where they are absent or lists (a variant stands for each constant)."""
    constants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """For each key in `unbound`: the constants its variants bind it to."""

    def where(self, path: str | None = None) -> str:
        location = self.policy.locate(path or self.statement.path)
        sid = f" '{self.statement.sid}'" if self.statement.sid else ""
        owner = f"{self.side} policy" if self.holder is None else \
            f"the identity policy of {self.holder_arn},"
        return f"{owner} statement {self.index}{sid} at line {location.line}"

    @property
    def resources(self) -> tuple[str, ...]:
        s = self.statement
        return s.resource if s.resource is not None else s.not_resource or ()

    @property
    def actions(self) -> tuple[str, ...]:
        s = self.statement
        return s.action if s.action is not None else s.not_action or ()



@dataclass(frozen=True, slots=True)
class Reading:
    refs: tuple[StatementRef, ...]
    monitor: str | None
    names: Mapping[str, str]
    """Every key read, lower case -> its spelling in the policy."""
    variables: frozenset[str]
    """Keys that some policy variable reads."""
    restricted: Mapping[str, tuple[tuple[int, str], ...]]
    """Related keys -> (bit of a statement relating it, why). Where that statement can apply,
    the key's single values are not analysed (except the statement's `constants`)."""
    constants: Mapping[str, tuple[str, ...]]
    """Related keys -> the values some variant binds them to (each its own class)."""
    absent_only: Mapping[str, tuple[str, ...]]
    """Keys analysed only when absent (compared under two types, or BinaryEquals) -> why."""
    free_resource: Mapping[int, str]
    """Statement bit -> the one variable key its Resource reads, analysed exactly."""
    self_referencing: frozenset[str]
    accounts: frozenset[str]
    """Accounts the Principal entries, the Resource patterns, the identity policies' principals
    or the monitor name."""
    identities: IdentityPolicies
    _conditions: dict[str, list[tuple[StatementRef, Condition]]] = field(
        default_factory=dict, repr=False)
    _templates: dict[tuple[int, bool], tuple[tuple[Template, ...], bool]] = field(
        default_factory=dict, repr=False)
    """(id of a condition, substitutes) -> its templates and whether any has a variable."""
    _results: dict[tuple[int, bool, ContextValue | None], bool | None] = field(
        default_factory=dict, repr=False)
    """Results of the conditions without variables, by (id, substitutes, value)."""

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

    def context(self, key: str | None = None, value: ContextValue | None = None,
                binding: Binding = ()) -> dict[str, str | tuple[str, ...]]:
        """A context in which every variable has no single value (so it takes its default or
        drops the value, as for an absent key), except the bound ones and `key`, which holds
        `value`."""
        context: dict[str, str | tuple[str, ...]] = {v: () for v in self.variables}
        context.update(binding)
        if key is not None:
            context[key] = value if isinstance(value, str) else ()
        return context

    def resolution(self, ref: StatementRef, key: str | None = None) -> Request:
        """A request to resolve the statement's variables with: `key` has no single value."""
        return Request(resource=DUMMY_RESOURCE, context=self.context(key, None, ref.binding))

    def templates(self, ref: StatementRef, condition: Condition
                  ) -> tuple[tuple[Template, ...], bool]:
        """The engine's templates of the condition (parsed once; the diff asks for them for
        every class of every key), and whether any reads a variable."""
        key = (id(condition), ref.policy.substitutes_variables)
        found = self._templates.get(key)
        if found is None:
            templates = condition_templates(condition, key[1])
            found = self._templates[key] = (templates, any(map(has_variables, templates)))
        return found

    def condition_result(self, ref: StatementRef, condition: Condition,
                         value: ContextValue | None) -> bool | None:
        """The engine's result for `condition` when its key holds `value`; remembered for a
        condition without variables, whose result depends on the value alone."""
        templates, variable = self.templates(ref, condition)
        memo = None if variable else (id(condition), ref.policy.substitutes_variables, value)
        if memo is not None and memo in self._results:
            return self._results[memo]
        request = None if memo is not None else Request(
            resource=DUMMY_RESOURCE,
            context=self.context(condition.key.lower(), value, ref.binding))
        shown, prepared = resolved_values(condition, templates, request)
        result = judge(condition, shown, prepared, value).result
        if memo is not None:
            self._results[memo] = result
        return result

    def passes(self, ref: StatementRef, key: str, value: ContextValue | None) -> bool:
        """Whether everything in the statement that reads `key` lets it apply: an undecidable
        condition fails closed (it keeps an Allow out and lets a Deny in). A variant needs its
        bound value; an unbound related key must be absent or a list."""
        bound = dict(ref.binding).get(key)
        if (bound is not None and value != bound) or \
                (key in ref.unbound and isinstance(value, str)):
            return False
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

    def reads(self, ref: StatementRef, key: str) -> bool:
        """Whether `passes` can depend on `key` for this statement."""
        return key in ref.unbound or key in dict(ref.binding) or \
            self.free_resource.get(ref.bit) == key or \
            any(c.key.lower() == key for c in ref.statement.conditions)

    def resource_matches(self, ref: StatementRef, resource: str, key: str | None = None,
                         value: ContextValue | None = None) -> bool:
        request = Request(resource=resource, context=self.context(key, value, ref.binding))
        return resource_check(ref.statement, ref.policy.substitutes_variables, request).matched


def variables_of(template: Template) -> list[Variable]:
    return [p for p in template if isinstance(p, Variable)]


def read_policies(old: Policy | None, new: Policy | None, monitor: str | None,
                  identities: IdentityPolicies) -> Reading:
    refs: list[StatementRef] = []
    for side, policy in (("old", old), ("new", new)):
        if policy is not None:
            for index, statement in enumerate(policy.statements):
                refs.append(StatementRef(side, index, policy, statement, len(refs)))
    for holder, (principal, policy) in enumerate(identities.attached):
        for index, statement in enumerate(policy.statements):
            refs.append(StatementRef("identity", index, policy, statement, len(refs), holder,
                                     principal))
    _within_budget(len(refs))
    names: dict[str, str] = {}
    relations: dict[int, dict[str, list[str]]] = {}
    """Statement bit -> key it relates -> why."""
    combined: dict[int, set[str]] = {}
    """Statement bit -> the variables its Resource combines (with a monitor): no variants."""
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
            for template in condition_templates(condition, ref.policy.substitutes_variables):
                for variable in variables_of(template):
                    used = name(variable.key)
                    variables.add(used)
                    if used == key:
                        self_referencing.add(key)
                    else:
                        relations.setdefault(ref.bit, {}).setdefault(used, []).append(
                            f"{ref.where(condition.path)} compares {condition.key} with "
                            f"${{{variable.key}}}")
    free_resource: dict[int, str] = {}
    for bit, read in resource_keys.items():
        variables |= read
        where = refs[bit].where()
        if monitor is None:
            for key in read:
                relations.setdefault(bit, {}).setdefault(key, []).append(
                    f"{where} names ${{{names[key]}}} in its Resource, and no monitor ARN fixes "
                    "the resource")
        elif len(read) > 1:
            for key in read:
                combined.setdefault(bit, set()).add(key)
                relations.setdefault(bit, {}).setdefault(key, []).append(
                    f"{where} combines several variables in its Resource")
        else:
            free_resource[bit] = next(iter(read))
    absent_only = _mixed_families(families)
    accounts = _accounts(refs, monitor, identities)
    related = {key for keys in relations.values() for key in keys}
    bindable = {key for key in related if key not in absent_only
                and set(families.get(key, {})) <= STRINGISH | {Family.NULL}}
    callers = _named_callers([*principal_entries(r.statement for r in refs),
                              *identities.principals], accounts, monitor)
    holding: dict[int, list[tuple[Request, _Derived]]] = {}
    """Identity policy index -> the named callers that hold it."""
    for caller in callers:
        for index in identities.indices(caller[0].caller):
            holding.setdefault(index, []).append(caller)

    def callers_of(ref: StatementRef) -> Sequence[tuple[Request, _Derived]]:
        return callers if ref.holder is None else holding.get(ref.holder, [])

    refs = _with_variants(refs, relations, combined, {
        bit: _constants(refs[bit], callers_of(refs[bit]), identities, bindable)
        for bit in relations})
    _within_budget(len(refs))
    restricted: dict[str, list[tuple[int, str]]] = {}
    for ref in refs:
        base = ref.bit if ref.of is None else ref.of
        bound = dict(ref.binding)
        for key, whys in relations.get(base, {}).items():
            if key not in bound:
                restricted.setdefault(key, []).extend((ref.bit, why) for why in whys)
        if base in free_resource and free_resource[base] not in bound:
            free_resource[ref.bit] = free_resource[base]
    constants: dict[str, dict[str, None]] = {}
    for ref in refs:
        for key, values in ref.constants:
            constants.setdefault(key, {}).update(dict.fromkeys(values))
    return Reading(
        refs=tuple(refs), monitor=monitor, names=names, variables=frozenset(variables),
        restricted={k: tuple(v) for k, v in restricted.items()},
        constants={k: tuple(v) for k, v in constants.items()},
        absent_only=absent_only, free_resource=free_resource,
        self_referencing=frozenset(self_referencing), accounts=frozenset(accounts),
        identities=identities)


def _within_budget(statements: int) -> None:
    if statements > MAX_STATEMENTS:
        raise TooComplex(f"{statements:,} statements and variants of statements, more than "
                         f"{MAX_STATEMENTS:,}")


_Derived = tuple[tuple[str, str], ...]


def _named_callers(entries: Sequence[str], accounts: frozenset[str] | set[str],
                   monitor: str | None) -> tuple[tuple[Request, _Derived], ...]:
    """The callers whose derived values are constants: anonymous callers, the root users of the
    named accounts, every caller an entry names and a session of every role named; each with
    the caller keys the engine derives for it (`Request.values`), and with a monitor its
    account for aws:ResourceAccount."""
    principals: list[str | None] = [None]
    for candidate in candidate_classes(entries, accounts):
        if candidate.kind in ("root", "named", "sessions") and candidate.group in accounts:
            principals.append(candidate.principal(""))
    resource_account: _Derived = ()
    if monitor is not None:
        arn = split_arn(monitor)
        if arn is not None and arn.account:
            resource_account = (("aws:resourceaccount", arn.account),)
    out = []
    for principal in dict.fromkeys(principals):
        request = Request(resource=monitor or DUMMY_RESOURCE, principal=principal)
        derived = tuple((key, value) for key in CALLER_KEYS
                        if isinstance(value := request.values.get(key), str))
        out.append((request, derived + resource_account))
    return tuple(out)


def grants(identities: IdentityPolicies, ref: StatementRef, request: Request) -> bool:
    """Whether the statement's caller check lets it apply to the request's caller: it holds the
    identity policy, or the Principal grants (an Allow; an account-only match delegates to the
    account's identity policies, `rumpolicy.engine.combine`) or names it (a Deny)."""
    if ref.holder is not None:
        return identities.holds(ref.holder, request.caller)
    check = principal_check(ref.statement, request)
    return check.reason in _GRANTING if ref.statement.effect == "Allow" else check.matched


def _constants(ref: StatementRef, callers: Sequence[tuple[Request, _Derived]],
               identities: IdentityPolicies, keys: set[str]) -> dict[str, tuple[str, ...]]:
    """For each of `keys`: the values the engine derives for the named callers the statement
    can apply to (in the callers' order). A caller it cannot apply to never makes its
    conditions matter, so that caller's values need no variant of it."""
    found: dict[str, dict[str, None]] = {}
    for request, derived in callers:
        if grants(identities, ref, request):
            for key, value in derived:
                if key in keys:
                    found.setdefault(key, {})[value] = None
    return {key: tuple(values) for key, values in found.items()}


def _with_variants(refs: list[StatementRef], relations: Mapping[int, Mapping[str, list[str]]],
                   combined: Mapping[int, set[str]],
                   constants_of: Mapping[int, Mapping[str, tuple[str, ...]]]
                   ) -> list[StatementRef]:
    """The statements, each that relates keys with constants marked `unbound` on them,
    followed by its variants. Not for keys a Resource combines with others under a fixed
    monitor: a variant binding one would leave a Resource with one variable that only the
    statement itself, not its variant, is read exactly for."""
    out = list(refs)
    variants: list[StatementRef] = []
    for ref in refs:
        constants = constants_of.get(ref.bit, {})
        keys = sorted(k for k in relations.get(ref.bit, {})
                      if k in constants and k not in combined.get(ref.bit, set()))
        combinations = 1
        for key in keys:
            combinations *= len(constants[key]) + 1
        if not keys or combinations - 1 > MAX_VARIANTS:
            continue
        out[ref.bit] = replace(ref, unbound=frozenset(keys),
                               constants=tuple((k, constants[k]) for k in keys))
        for values in itertools.product(*[(None, *constants[k]) for k in keys]):
            binding = tuple((k, v) for k, v in zip(keys, values, strict=True) if v is not None)
            if binding:
                bound = {k for k, _ in binding}
                variants.append(replace(ref, bit=len(refs) + len(variants), binding=binding,
                                        unbound=frozenset(keys) - bound,
                                        constants=tuple((k, constants[k]) for k in keys
                                                        if k not in bound),
                                        of=ref.bit))
    return out + variants


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


def _accounts(refs: list[StatementRef], monitor: str | None, identities: IdentityPolicies
              ) -> set[str]:
    accounts = entry_accounts([*principal_entries([r.statement for r in refs]),
                               *identities.principals])
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
