"""The dimensions of the request space, each cut into classes, with a mask per class.

A class's mask holds a bit for every statement (of both policies, and of the identity policies)
whose check on this dimension passes for the class: its Principal grants (for an Allow) or names
the caller (for a Deny), or the caller holds its identity policy; its Action or Resource
matches; or every condition it has on the key lets it apply. A statement applies exactly when
its bit survives the AND of the masks of the request's classes.

`Dimensions.classify` puts any request in its cell, computing each class from the request the
way the classes were defined (signatures of engine checks), so region membership is exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import cast

from rumpolicy.analysis.diff import callers as callers_words
from rumpolicy.analysis.diff.automata import CharClass, Token, TokenLanguage, literal
from rumpolicy.analysis.diff.callers import (
    OTHER_ACCOUNT,
    RESOURCE_ACCOUNT,
    CallerClass,
    candidate_classes,
    is_caller_account,
    principal_entries,
)
from rumpolicy.analysis.diff.describe import join_or
from rumpolicy.analysis.diff.errors import TooComplex
from rumpolicy.analysis.diff.intervals import IpValues, OrderedValues
from rumpolicy.analysis.diff.keys import KeyDimension
from rumpolicy.analysis.diff.reading import DUMMY_RESOURCE, Reading, StatementRef, grants
from rumpolicy.analysis.diff.strings import (
    Atom,
    AtomKey,
    SingleValues,
    StringValues,
    bool_atom,
    casefold_atom,
    equals_atom,
    regex_atom,
    token_atom,
)
from rumpolicy.engine import patterns
from rumpolicy.engine.conditions import resolve, resolved_values
from rumpolicy.engine.evaluate import action_check, principal_check, resource_template
from rumpolicy.engine.operators import TwoReadings, read_request_value
from rumpolicy.engine.principals import CallerKind
from rumpolicy.engine.request import PUT_RUM_EVENTS, Request
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Condition
from rumpolicy.policy.operators import BASE_OPERATORS, Comparison, Family

AUTOMATON_LIMIT = 20_000
ALWAYS_DERIVED = frozenset({"aws:principaltype", "aws:principalaccount"})
"""Keys the engine derives for every request: they are never absent."""

NOT_AN_ARN, NO_ACCOUNT, OTHER_CALLER_ACCOUNT, OTHER_TEXT_ACCOUNT = (
    "<not an ARN>", "<no account>", "<other 12-digit account>", "<other account text>")



def _mask(reading: Reading, passes: Sequence[bool]) -> int:
    return sum(1 << r.bit for r, ok in zip(reading.refs, passes, strict=True) if ok)


# --- resource ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ResourceClass:
    rep: str
    account: str
    """The resource's account if the policies name it, else one of the markers above."""
    has_account: bool
    """Whether `aws:ResourceAccount` is derived (the ARN has a non-empty account)."""
    mask: int


class ResourceDimension:
    """The monitor ARN alone, or (no monitor) every string cut by the Resource patterns and by
    the account the ARN names."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.values: StringValues | None = None
        if reading.monitor is not None:
            mask = _mask(reading, [r.bit in reading.free_resource or
                                   reading.resource_matches(r, reading.monitor)
                                   for r in reading.refs])
            self.classes = [self._class(reading.monitor, mask)]
            return
        atoms: list[Atom] = []
        for ref in reading.refs:
            resolution = reading.resolution(ref)
            for pattern in ref.resources:
                parts = resolve(resource_template(pattern, ref.policy.substitutes_variables),
                                resolution)
                if parts is not None:
                    regex = patterns.arn_glob(parts, star_may_cross_colons=True)
                    atoms.append(regex_atom(regex, pattern))
        atoms.extend(_account_atoms(sorted(reading.accounts)))
        self.values = StringValues(atoms, allow_empty=False, limit=AUTOMATON_LIMIT)
        self.classes = [
            self._class(rep, _mask(reading, [reading.resource_matches(r, rep)
                                             for r in reading.refs]))
            for rep in self.values.reps]

    def _class(self, rep: str, mask: int) -> ResourceClass:
        account, has_account = self.account_class(rep)
        return ResourceClass(rep, account, has_account, mask)

    def account_class(self, resource: str) -> tuple[str, bool]:
        arn = split_arn(resource)
        if arn is None:
            return NOT_AN_ARN, False
        if not arn.account:
            return NO_ACCOUNT, False
        if arn.account in self.reading.accounts:
            return arn.account, True
        return (OTHER_CALLER_ACCOUNT if is_caller_account(arn.account)
                else OTHER_TEXT_ACCOUNT), True

    def classify(self, resource: str) -> int | None:
        if self.values is None:
            return 0 if resource == self.reading.monitor else None
        return self.values.classify(resource)

    def describe(self, chosen: frozenset[int]) -> str | None:
        if self.values is None or len(chosen) == len(self.classes):
            return None
        return "the resource " + join_or(self.values.describe(chosen))


def _account_atoms(accounts: Sequence[str]) -> list[Atom]:
    """Languages that tell a resource's account apart, exactly as `split_arn` reads it."""
    segment = Token(CharClass.NOT_COLON, star=True)
    head = (*literal("arn:"), segment, *literal(":"), segment, *literal(":"), segment,
            *literal(":"))
    tail = (*literal(":"), Token(CharClass.ANY, star=True))
    twelve = re.compile(r"\d{12}")

    def account_of(text: str) -> str | None:
        arn = split_arn(text)
        return None if arn is None else arn.account

    def language(account: tuple[Token, ...]) -> TokenLanguage:
        return TokenLanguage((*head, *account, *tail))

    atoms = [
        token_atom("arn", lambda: language((segment,)), lambda s: account_of(s) is not None,
                   "`arn:*:*:*:*:*`"),
        token_atom("no-account", lambda: language(()), lambda s: account_of(s) == "",
                   "`arn:*:*:*::*` (no account)"),
        token_atom("twelve-digits",
                   lambda: language(tuple(Token(CharClass.DIGIT) for _ in range(12))),
                   lambda s: twelve.fullmatch(account_of(s) or "") is not None,
                   "an ARN whose account is 12 digits"),
    ]
    for account in accounts:
        atoms.append(_account_atom(account, language, account_of))
    return atoms


def _account_atom(account: str, language: Callable[[tuple[Token, ...]], TokenLanguage],
                  account_of: Callable[[str], str | None]) -> Atom:
    """One account's atom (a function of its own, so each closure keeps its own account)."""
    return token_atom(f"account:{account}", lambda: language(literal(account)),
                      lambda s: account_of(s) == account, f"an ARN in account {account}")


# --- caller --------------------------------------------------------------------------------------

class CallerDimension:
    """Callers, told apart by how every Principal/NotPrincipal element names them and by which
    identity policies they hold."""

    def __init__(self, reading: Reading, resource: ResourceDimension) -> None:
        self.reading = reading
        self.resource = resource
        self._reads_username = "aws:username" in reading.names
        self._principals = [r for r in reading.refs if r.side != "identity" and r.of is None]
        """The statements with a Principal (a variant names the callers its statement does)."""
        self._resource_refs = [r for r in reading.refs if r.holder is None]
        self._held: dict[int, int] = {}
        """Identity policy index -> the bits of its statements (and their variants)."""
        for ref in reading.refs:
            if ref.holder is not None:
                self._held[ref.holder] = self._held.get(ref.holder, 0) | 1 << ref.bit
        entries = [*principal_entries(r.statement for r in reading.refs),
                   *reading.identities.principals]
        candidates = candidate_classes(entries, reading.accounts)
        placeholder = self.fresh_account()
        self.classes: list[CallerClass] = []
        self.masks: list[int] = []
        self._index: dict[Hashable, int] = {}
        for candidate in candidates:
            request = Request(resource=DUMMY_RESOURCE, principal=candidate.principal(placeholder))
            signature = self._signature(request, candidate.group)
            found = self._index.get(signature)
            if found is not None:
                existing = self.classes[found]
                if candidate.label not in (existing.label, *existing.also):
                    self.classes[found] = replace(existing,
                                                  also=(*existing.also, candidate.label))
                continue
            self._index[signature] = len(self.classes)
            self.classes.append(candidate)
            mask = sum(1 << r.bit for r in self._resource_refs
                       if grants(reading.identities, r, request))
            for held in reading.identities.indices(request.caller):
                mask |= self._held.get(held, 0)
            self.masks.append(mask)

    def _signature(self, request: Request, group: str | None) -> Hashable:
        caller = request.caller
        user = self._reads_username and caller.kind is CallerKind.USER and bool(caller.name)
        identities = self.reading.identities
        return (group, caller.kind is CallerKind.ROOT, user,
                tuple(principal_check(r.statement, request).reason for r in self._principals),
                identities.indices(caller))

    def fresh_account(self, avoid: str = "") -> str:
        """A 12-digit account no policy names (and not `avoid`)."""
        for digit in "987654321":
            account = digit * 12
            if account not in self.reading.accounts and account != avoid:
                return account
        raise AssertionError("unreachable: nine candidates, at most two excluded here")

    def classify(self, request: Request) -> int | None:
        caller = request.caller
        if caller.anonymous:
            group: str | None = None
        elif caller.account in self.reading.accounts:
            group = caller.account
        else:
            arn = split_arn(request.resource)
            same = arn is not None and arn.account == caller.account
            group = RESOURCE_ACCOUNT if same else OTHER_ACCOUNT
        return self._index.get(self._signature(request, group))

    def describe(self, chosen: frozenset[int], resources: frozenset[int]) -> str:
        own = any(self.resource.classes[r].account == OTHER_CALLER_ACCOUNT for r in resources)
        available = frozenset(i for i, c in enumerate(self.classes)
                              if own or c.group != RESOURCE_ACCOUNT)
        return callers_words.describe(self.classes, chosen, available)


_ACTIONS = (PUT_RUM_EVENTS, "rum:GetAppMonitor", "rum:UpdateAppMonitor", "rum:ListAppMonitors",
            "logs:PutLogEvents")
"""Real actions, preferred as witnesses of their classes (PutRumEvents first)."""


# --- action --------------------------------------------------------------------------------------

class ActionDimension:
    """rum:PutRumEvents alone (with a monitor, by default), or every action cut by the Action
    and NotAction patterns (matched ignoring case, as the engine does)."""

    def __init__(self, reading: Reading, every_action: bool) -> None:
        self.reading = reading
        self.values: StringValues | None = None
        if every_action:
            atoms = [regex_atom(patterns.glob([(p, False)], ignore_case=True), p)
                     for ref in reading.refs for p in ref.actions]
            self.values = StringValues(atoms, allow_empty=False, preferred=_ACTIONS,
                                       limit=AUTOMATON_LIMIT)
            self.reps: tuple[str, ...] = self.values.reps
        else:
            self.reps = (PUT_RUM_EVENTS,)
        self._put = self._vector(PUT_RUM_EVENTS)
        self.masks = [_mask(reading, self._vector(rep)) for rep in self.reps]

    def _vector(self, action: str) -> tuple[bool, ...]:
        return tuple(action_check(r.statement, action).matched for r in self.reading.refs)

    def classify(self, action: str) -> int | None:
        if self.values is None:
            return 0 if self._vector(action) == self._put else None
        return self.values.classify(action)

    def describe(self, chosen: frozenset[int]) -> str | None:
        if self.values is None or len(chosen) == len(self.reps):
            return None
        return "the action " + join_or(self.values.describe(chosen))


# --- condition keys ------------------------------------------------------------------------------

def key_dimension(reading: Reading, key: str, notes: dict[str, list[str]]
                  ) -> tuple[KeyDimension, list[int]]:
    """The key's classes and their masks; a part that cannot be analysed is added to `notes`
    (key -> why) and left out of the key's classes."""
    conditions = reading.conditions(key)
    single: SingleValues | None = None
    own_atoms: dict[int, set[AtomKey]] = {}
    if key not in reading.absent_only:
        try:
            single = _single_values(reading, key, conditions, own_atoms)
        except TooComplex as err:
            notes.setdefault(key, []).append(f"its patterns are too many to combine ({err})")
    set_conditions = [(r, c) for r, c in conditions
                      if c.operator.qualifier and c.operator.base.family is not Family.NULL]

    def member_results(text: str) -> tuple[bool | None, ...]:
        return tuple(reading.condition_result(r, c, (text,)) for r, c in set_conditions)

    absent = key not in ALWAYS_DERIVED
    try:
        dimension = KeyDimension(key, reading.names[key], single, absent=absent,
                                 member_results=member_results,
                                 set_conditions=len(set_conditions))
    except TooComplex as err:
        notes.setdefault(key, []).append(f"lists of it are too varied ({err})")
        dimension = KeyDimension(key, reading.names[key], None, absent=absent,
                                 member_results=member_results, set_conditions=0)
    involved = [r for r in reading.refs if reading.reads(r, key)]
    failing = [0] * len(dimension.classes)
    """Per class: the bits of the involved statements that it keeps from applying."""
    grouped = _Grouped(dimension) if isinstance(dimension.single, StringValues) else None
    for ref in involved:
        bit = 1 << ref.bit
        chosen: Sequence[int] = range(len(dimension.classes))
        if grouped is not None:
            chosen = grouped.others
            grouped.add(reading, key, ref, own_atoms.get(ref.bit, set()), failing)
        for index in chosen:
            if not reading.passes(ref, key, dimension.classes[index].value):
                failing[index] |= bit
    if grouped is not None:
        for index in grouped.singles:
            failing[index] |= grouped.outside_failing & ~grouped.inside[index]
    return dimension, [reading.everything & ~f for f in failing]


class _Grouped:
    """`reading.passes` on a key's single-value classes, one call per group of alike classes.

    A statement's conditions on the key compare a single value only with the languages of its
    own atoms (its resolved condition values, the constant a variant binds), so the classes in
    none of them (most, with many statements) behave alike, and so do classes with the same
    memberships in them. Without this, N holders of policies reading `${aws:username}` cost N
    statements times N classes each. (A class whose members behaved differently would be no
    class; the evaluator's cross-check of every final state stays the safety net.) What could
    break this is judged class by class, in `others`: "" (the two readings), absence, lists;
    IP, number and date keys (IPv4-mapped addresses, bare years) are not grouped. A value
    compared with a template of itself (`a${key}`) gives one answer on every non-empty value.
    tests/diff/test_diff_grouping.py compares the masks with the per-class loop."""

    def __init__(self, dimension: KeyDimension) -> None:
        assert isinstance(dimension.single, StringValues)
        self.dimension = dimension
        self.values = dimension.single
        self.singles = [i for i, c in enumerate(dimension.classes) if c.kind == "single"]
        self.others = [i for i, c in enumerate(dimension.classes) if c.kind != "single"]
        self._members: list[list[int]] = [[] for _ in self.values.atoms]
        for index in self.singles:
            single = dimension.classes[index].single
            assert single is not None
            for position, member in enumerate(self.values.signatures[single]):
                if member:
                    self._members[position].append(index)
        self.inside = [0] * len(dimension.classes)
        """Per class: the statements that have an atom holding it (judged one by one)."""
        self.outside_failing = 0
        """The statements that fail on every class in none of their atoms."""

    def add(self, reading: Reading, key: str, ref: StatementRef, atoms: set[AtomKey],
            failing: list[int]) -> None:
        bound = dict(ref.binding).get(key)
        if bound is not None:
            atoms = atoms | {equals_atom(bound).key}
        positions = sorted(p for a in atoms if (p := self.values.position(a)) is not None)
        inside = sorted({i for p in positions for i in self._members[p]})
        bit = 1 << ref.bit
        results: dict[tuple[bool, ...], bool] = {}
        for index in inside:
            single = self.dimension.classes[index].single
            assert single is not None
            signature = self.values.signatures[single]
            group = tuple(signature[p] for p in positions)
            passes = results.get(group)
            if passes is None:
                passes = results[group] = reading.passes(
                    ref, key, self.dimension.classes[index].value)
            self.inside[index] |= bit
            if not passes:
                failing[index] |= bit
        if len(inside) < len(self.singles):
            taken = set(inside)
            outside = next(i for i in self.singles if i not in taken)
            if not reading.passes(ref, key, self.dimension.classes[outside].value):
                self.outside_failing |= bit


def _single_values(reading: Reading, key: str,
                   conditions: Sequence[tuple[StatementRef, Condition]],
                   own_atoms: dict[int, set[AtomKey]]) -> SingleValues:
    """The key's single values cut into classes; `own_atoms` gets, per statement bit, the atoms
    its conditions on the key compare with (what `_Grouped` judges it by)."""
    prepared: list[tuple[int, Condition, str, object]] = []
    families: set[Family] = set()
    for ref, condition in conditions:
        if condition.operator.base.family is Family.NULL:
            continue  # reads presence only: the absent class already stands apart
        families.add(condition.operator.base.family)
        resolution = reading.resolution(ref, key)
        for template in reading.templates(ref, condition)[0]:
            shown, values = resolved_values(condition, [template], resolution)
            prepared.extend((ref.bit, condition, text, value)
                            for text, value in zip(shown, values, strict=True))
    if families == {Family.IP}:
        ip = BASE_OPERATORS["IpAddress"]
        networks = [cast(tuple[int, int, int], v) for _, _, _, v in prepared]
        return IpValues(networks, lambda s: read_request_value(ip, s))
    if families in ({Family.NUMERIC}, {Family.DATE}):
        dates = families == {Family.DATE}
        base = BASE_OPERATORS["DateEquals" if dates else "NumericEquals"]
        thresholds = [cast(Decimal, t) for _, _, _, v in prepared  # both readings of "2027"
                      for t in (v if isinstance(v, TwoReadings) else (v,))]
        return OrderedValues(thresholds, lambda s: read_request_value(base, s), dates=dates)
    atoms: list[Atom] = []
    for bit, condition, text, value in prepared:
        base = condition.operator.base
        if base.family is Family.BOOL:
            made = [bool_atom(True), bool_atom(False)]
        elif base.comparison is Comparison.EQUALS:
            made = [equals_atom(str(value))]
        elif base.comparison is Comparison.EQUALS_IGNORE_CASE:
            made = [casefold_atom(str(value), text)]
        else:
            made = [regex_atom(cast(re.Pattern[str], value), text)]
        atoms += made
        own_atoms.setdefault(bit, set()).update(a.key for a in made)
    if key in reading.self_referencing:
        atoms.append(equals_atom(""))
    atoms.extend(equals_atom(v) for v in reading.constants.get(key, ()))  # one class each
    for bit, variable in reading.free_resource.items():
        if variable == key:
            made = _resource_variable_atoms(reading, bit, key)
            atoms += made
            own_atoms.setdefault(bit, set()).update(a.key for a in made)
    return StringValues(atoms, limit=AUTOMATON_LIMIT)


def _resource_variable_atoms(reading: Reading, bit: int, key: str) -> list[Atom]:
    """With the resource fixed, `${key}` in a Resource pattern is literal text that must appear
    in the monitor ARN: only substrings of the ARN can make a difference."""
    arn = reading.monitor
    assert arn is not None
    ref = reading.refs[bit]
    outsider = next(c for c in "~#%^|" + "".join(map(chr, range(0x2600, 0x2700)))
                    if c not in arn)
    baseline = reading.resource_matches(ref, arn, key, outsider)
    pieces = {arn[i:j] for i in range(len(arn) + 1) for j in range(i, len(arn) + 1)}
    return [equals_atom(p) for p in sorted(pieces)
            if reading.resource_matches(ref, arn, key, p) != baseline]


# --- all of them ---------------------------------------------------------------------------------

@dataclass(eq=False)
class Dimensions:
    reading: Reading
    resource: ResourceDimension
    caller: CallerDimension
    action: ActionDimension
    keys: tuple[KeyDimension, ...]
    key_masks: tuple[tuple[int, ...], ...]
    unanalysed_keys: dict[str, tuple[str, ...]]
    relating: tuple[int, ...] = field(init=False)
    """Per key: the statements relating it to another value (`Reading.restricted`). Wherever
    one of them can apply by its caller and action (`pending`), the key's single values are
    not analysed (`blocks`), except the statement's constants, which its variants stand for."""
    relating_any: int = field(init=False, repr=False)
    """The union of `relating`."""
    _covered: tuple[dict[int, int], ...] = field(init=False, repr=False)
    """Per key: class of a constant (one value each) -> the relating statements that have a
    variant for it."""

    def __post_init__(self) -> None:
        refs = self.reading.refs
        relating: list[int] = []
        covered: list[dict[int, int]] = []
        for dimension in self.keys:
            bits = {bit for bit, _ in self.reading.restricted.get(dimension.key, ())}
            relating.append(sum(1 << bit for bit in bits))
            classes: dict[int, int] = {}
            for bit in bits:
                for value in dict(refs[bit].constants).get(dimension.key, ()):
                    found = dimension.classify(value)
                    if found is not None:
                        classes[found] = classes.get(found, 0) | 1 << bit
            covered.append(classes)
        self.relating, self._covered = tuple(relating), tuple(covered)
        self.relating_any = 0
        for mask in self.relating:
            self.relating_any |= mask

    @property
    def names(self) -> list[str]:
        return ["resource", "caller", "action", *(k.name for k in self.keys)]

    @property
    def sizes(self) -> list[int]:
        return [len(self.resource.classes), len(self.caller.classes), len(self.action.reps),
                *(len(k.classes) for k in self.keys)]

    def pending(self, caller: int, action: int) -> int:
        """The relating statements that the caller and action classes let apply: their
        Principal (or identity policy) and Action checks read no variable, so this is exact."""
        return self.caller.masks[caller] & self.action.masks[action] & self.relating_any

    def blocks(self, position: int, chosen: int, pending: int) -> bool:
        """Whether class `chosen` of the `position`th key lies outside the analysed space."""
        pending &= self.relating[position]
        if not pending or self.keys[position].classes[chosen].kind not in ("single", "empty"):
            return False
        return bool(pending & ~self._covered[position].get(chosen, 0))

    def classify(self, request: Request) -> tuple[int, ...] | None:
        resource = self.resource.classify(request.resource)
        caller = self.caller.classify(request)
        action = self.action.classify(request.action)
        if resource is None or caller is None or action is None:
            return None
        pending = self.pending(caller, action)
        cell = [resource, caller, action]
        for position, dimension in enumerate(self.keys):
            found = dimension.classify(request.get(dimension.key))
            if found is None or self.blocks(position, found, pending):
                return None
            cell.append(found)
        return tuple(cell)

    def notes(self) -> list[str]:
        """What was left out, in words: for each related key the values, callers and actions
        where it is (exactly what `blocks` leaves out), then keys analysed only when absent or
        without lists."""
        out = []
        for dimension in self.keys:
            groups: dict[tuple[str, frozenset[int], frozenset[int]], list[str]] = {}
            for bit, why in self.reading.restricted.get(dimension.key, ()):
                callers = frozenset(i for i, m in enumerate(self.caller.masks) if m >> bit & 1)
                actions = frozenset(i for i, m in enumerate(self.action.masks) if m >> bit & 1)
                values = "has a single value"
                constants = dict(self.reading.refs[bit].constants).get(dimension.key)
                if constants:
                    values += " other than " + join_or([f"`{c}`" for c in constants], "and")
                if callers and actions:
                    groups.setdefault((values, callers, actions), []).append(why)
            if groups:
                out.append(self._related_note(dimension.name, groups))
        for key, whys in sorted(self.unanalysed_keys.items()):
            out.append(f"requests that carry {self.reading.names[key]}: {'; '.join(whys)}; "
                       "requests without it are analysed")
        return out

    def _related_note(self, name: str, groups: dict[tuple[str, frozenset[int], frozenset[int]],
                                                      list[str]]) -> str:
        every = frozenset(range(len(self.resource.classes)))
        places = []
        for values, callers, actions in groups:
            who = self.caller.describe(callers, every)
            action = self.action.describe(actions)
            where = "" if who == "any caller" and not action else \
                f" from {who}" + (f" where {action}" if action else "")
            places.append(values + where)
        whys = "; ".join(dict.fromkeys(why for whys in groups.values() for why in whys))
        return (f"requests in which {name} {'; or '.join(places)}: {whys}. A condition "
                "relating two request values cannot be cut into classes exactly; every other "
                "request is analysed")


def build_dimensions(reading: Reading, every_action: bool) -> Dimensions:
    resource = ResourceDimension(reading)
    caller = CallerDimension(reading, resource)
    action = ActionDimension(reading, every_action)
    notes: dict[str, list[str]] = {k: list(v) for k, v in reading.absent_only.items()}
    keys: list[KeyDimension] = []
    masks: list[tuple[int, ...]] = []
    order = sorted(reading.names, key=lambda k: (k != "rum:alias", k != "aws:sourceip", k))
    for key in order:
        dimension, key_masks = key_dimension(reading, key, notes)
        keys.append(dimension)
        masks.append(tuple(key_masks))
    return Dimensions(reading, resource, caller, action, tuple(keys), tuple(masks),
                      {k: tuple(v) for k, v in notes.items()})
