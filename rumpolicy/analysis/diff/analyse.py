"""`diff_policies`: every request two resource policies decide differently, found exactly.

Signed callers may hold identity policies (`identities`), the same under both resource policies;
the engine then combines them with the resource policy as IAM does.

1. **Read** what the policies look at (`reading`): statements, condition keys, variables.
2. **Cut** each dimension into classes on which every check of both policies gives one answer
   (`dimensions`): resource, caller, action, then each condition key.
3. **Search** the class combinations one dimension at a time, keeping only which statements can
   still apply (`search`); decide each final state with `rumpolicy.compile_policy(...).evaluate`
   on a representative request, for both policies, cross-checked against what the surviving
   statements imply.
4. **Report** the combinations decided differently as products of class sets, in words, each
   with a witness that `rumpolicy.evaluate` re-checks on both policies.

What cannot be cut exactly narrows the analysed space and is named in `not_analysed` (and then
`equivalent` is False); a budget overrun stops the analysis the same way. Nothing is sampled.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from rumpolicy.analysis.diff.callers import OTHER_ACCOUNT, RESOURCE_ACCOUNT
from rumpolicy.analysis.diff.describe import HEADLINES, join_or, sentence
from rumpolicy.analysis.diff.dimensions import (
    ALWAYS_DERIVED,
    OTHER_CALLER_ACCOUNT,
    Dimensions,
    build_dimensions,
)
from rumpolicy.analysis.diff.errors import InternalError, TooComplex
from rumpolicy.analysis.diff.identities import NO_IDENTITY_POLICIES, IdentityPolicies
from rumpolicy.analysis.diff.model import Change, DiffStats, PolicyDiff, Region
from rumpolicy.analysis.diff.reading import Reading, read_policies
from rumpolicy.analysis.diff.search import Layered, explore
from rumpolicy.engine.compiled import compile_policy
from rumpolicy.engine.decision import Effect
from rumpolicy.engine.evaluate import evaluate
from rumpolicy.engine.request import PUT_RUM_EVENTS, Request
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.models import Policy

MAX_STATES = 200_000
"""Budget for the search's states; it also bounds the evaluations (two per final state)."""
MAX_STEPS = 3_000_000
"""Budget for the search's (state, class) pairs tried: about 5 s on the development machine."""
MAX_REGIONS = 2_000
MAX_IDENTITY_CHECKS = 400_000
"""Budget for the identity-policy statements the evaluator reads to check the final states: it
reads all the caller's statements for each (about 7 us apiece, twice), so a large identity
policy that gives each of its statements a class of its own costs their square: about 5 s."""


class State(NamedTuple):
    """Where a partial choice of classes leaves a request."""

    mask: int
    """Statements that can still apply."""
    account: str = ""
    """The resource's account class (set by the resource dimension)."""
    has_account: bool = False
    anonymous: bool = False
    root: bool = False
    same_account: bool = False
    """Whether the caller is in the resource's account (set by the caller dimension)."""
    derived: frozenset[str] = frozenset()
    """Keys the engine derives for this caller and resource: they cannot be absent."""
    pending: int = 0
    """Statements relating two request values that the caller and action let apply."""


NOT_ANALYSED = State(-1)
"""Where every cell outside the analysed space leads (`Dimensions.blocks`): one final state,
never decided, that regions may take in as a don't-care (`Layered.cubes`)."""


class _Diff:
    def __init__(self, old: Policy | None, new: Policy | None, dimensions: Dimensions) -> None:
        self.old, self.new = old, new
        self.dimensions = dimensions
        reading: Reading = dimensions.reading
        self.reading = reading

        def bits(side: str, effect: str) -> int:
            return sum(1 << r.bit for r in reading.refs
                       if r.side == side and r.statement.effect == effect)

        self.deny = {side: bits(side, "Deny") | bits("identity", "Deny")
                     for side in ("old", "new")}
        self.allow = {side: bits(side, "Allow") for side in ("old", "new")}
        self.identity_allow = bits("identity", "Allow")

    def step(self, dimension: int, state: State, chosen: int) -> State | None:
        d = self.dimensions
        if state is NOT_ANALYSED:
            return state
        if dimension == 0:
            resource = d.resource.classes[chosen]
            return State(state.mask & resource.mask, resource.account, resource.has_account)
        if dimension == 1:
            caller = d.caller.classes[chosen]
            if caller.group == RESOURCE_ACCOUNT and state.account != OTHER_CALLER_ACCOUNT:
                return None  # no caller shares an account the resource does not have
            same = caller.group == RESOURCE_ACCOUNT or (
                caller.group not in (None, OTHER_ACCOUNT) and caller.group == state.account)
            derived = set(ALWAYS_DERIVED)
            if caller.group is not None:
                derived.add("aws:principalarn")
            else:
                derived.add("aws:userid")
            if caller.user:
                derived.add("aws:username")
            if state.has_account:
                derived.add("aws:resourceaccount")
            return State(state.mask & d.caller.masks[chosen], anonymous=caller.group is None,
                         root=caller.kind == "root", same_account=same,
                         derived=frozenset(derived & self.reading.names.keys()),
                         pending=d.caller.masks[chosen] & d.relating_any)
        if dimension == 2:
            return state._replace(mask=state.mask & d.action.masks[chosen],
                                  pending=state.pending & d.action.masks[chosen])
        key = d.keys[dimension - 3]
        if key.classes[chosen].kind == "absent" and key.key in state.derived:
            return None
        if state.pending and d.blocks(dimension - 3, chosen, state.pending):
            return NOT_ANALYSED  # named in not_analysed
        return state._replace(mask=state.mask & d.key_masks[dimension - 3][chosen],
                              derived=state.derived - {key.key})

    def effect(self, state: State, side: str) -> Effect:
        """What rumpolicy.engine.combine decides when exactly the statements in `state.mask`
        apply: the cross-check for the evaluator's answers. A Deny of either kind wins; an
        identity Allow counts only for a caller of the resource's account (an anonymous caller
        holds none: its bits never survive the caller dimension)."""
        if state.mask & self.deny[side]:
            return Effect.EXPLICIT_DENY
        granted = bool(state.mask & self.allow[side])
        if state.anonymous:
            return Effect.ALLOW if granted else Effect.IMPLICIT_DENY
        if not state.same_account:
            return Effect.IMPLICIT_DENY
        held = bool(state.mask & self.identity_allow)
        return Effect.ALLOW if granted or held or state.root else Effect.IMPLICIT_DENY

    def _bare(self, cell: Sequence[int]) -> Request:
        """The cell's resource, caller and action, with no context: what the engine derives."""
        d = self.dimensions
        resource = d.resource.classes[cell[0]].rep
        caller = d.caller.classes[cell[1]]
        arn = split_arn(resource)
        account = arn.account if arn is not None else ""
        if caller.group != RESOURCE_ACCOUNT:
            account = d.caller.fresh_account(avoid=account)
        return Request(resource=resource, action=d.action.reps[cell[2]],
                       principal=caller.principal(account))

    def request(self, cell: Sequence[int]) -> Request:
        """The representative request of a cell; derived keys are left to the engine when
        what it derives is already in the chosen class."""
        d = self.dimensions
        derived = self._bare(cell)
        resource, action, principal = derived.resource, derived.action, derived.principal
        context: dict[str, str | list[str]] = {}
        for dimension, chosen in zip(d.keys, cell[3:], strict=True):
            key_class = dimension.classes[chosen]
            if key_class.kind == "absent":
                continue
            implied = derived.values.get(dimension.key)
            if implied is not None and dimension.classify(implied) == chosen:
                continue
            value = key_class.value
            context[dimension.name] = value if isinstance(value, str) else list(value or ())
        return Request(resource=resource, action=action, principal=principal, context=context)

    def witness_cell(self, graph: Layered[State], cube: Sequence[frozenset[int]],
                     targets: set[int]) -> tuple[int, ...]:
        """The first (most specific) class of each dimension, except that a key keeps the
        value the engine derives for the caller when the region allows it, and a key the
        region does not narrow is left out of the request; the next best cell when that one is
        a don't-care, not analysed."""
        def order(done: tuple[int, ...], chosen: frozenset[int]) -> list[int]:
            ranked = sorted(chosen)
            if len(done) < 3:
                return ranked
            dimension = self.dimensions.keys[len(done) - 3]
            implied = self._bare(done).values.get(dimension.key)
            found = None if implied is None else dimension.classify(implied)
            if found is not None and found in chosen:
                preferred: int | None = found
            elif len(chosen) == len(dimension.classes):
                preferred = dimension.absent_index
            else:
                preferred = None
            return ranked if preferred is None else \
                [preferred, *(c for c in ranked if c != preferred)]

        cell = graph.find(tuple(cube), targets, order)
        if cell is None:
            raise InternalError("a region holds no cell of its change")
        return cell

    def describe(self, headline: str, cube: Sequence[frozenset[int]]) -> str:
        d = self.dimensions
        clauses = [d.resource.describe(cube[0]), d.action.describe(cube[2])]
        clauses += [k.describe(chosen) for k, chosen in zip(d.keys, cube[3:], strict=True)]
        return sentence(headline, d.caller.describe(cube[1], cube[0]),
                        [c for c in clauses if c])

    def run(self, scope: str, notes: list[str]) -> PolicyDiff:
        d = self.dimensions
        graph: Layered[State] = explore(d.sizes, State(self.reading.everything), self.step,
                                        limit=MAX_STATES, steps=MAX_STEPS)
        compiled = (compile_policy(self.old), compile_policy(self.new))
        held = self.reading.identities.held_by
        outcome: dict[tuple[Effect, Effect], set[int]] = {}
        dont_care = next((i for i, s in enumerate(graph.final) if s is NOT_ANALYSED), None)
        finals = [(final, state, self.request(graph.path(final)))
                  for final, state in enumerate(graph.final) if final != dont_care]
        held_by = [held(request) for _, _, request in finals]
        checks = sum(len(p.statements) for holds in held_by for p in holds)
        if checks > MAX_IDENTITY_CHECKS:  # refused before the work, not after it
            raise TooComplex(f"checking {len(finals):,} kinds of request against the identity "
                             f"policies would read {checks:,} of their statements (at most "
                             f"{MAX_IDENTITY_CHECKS:,})")
        for (final, state, request), holds in zip(finals, held_by, strict=True):
            effects = (compiled[0].evaluate(request, holds).effect,
                       compiled[1].evaluate(request, holds).effect)
            implied = (self.effect(state, "old"), self.effect(state, "new"))
            if effects != implied:
                raise InternalError(f"the evaluator decided {effects} where the statements "
                                    f"that apply imply {implied}, for {request.to_dict()}")
            if effects[0] is not effects[1]:
                outcome.setdefault(effects, set()).add(final)
        changes: list[Change] = []
        for pair, headline in HEADLINES.items():
            found = []
            targets = outcome.get(pair, set())
            for cube in graph.cubes(targets, MAX_REGIONS, dont_care) if targets else ():
                witness = self.request(self.witness_cell(graph, cube, targets))
                got = (evaluate(self.old, witness, held(witness)).effect,
                       evaluate(self.new, witness, held(witness)).effect)
                if got != pair:
                    raise InternalError(f"witness {witness.to_dict()} gets {got}, not {pair}")
                found.append(Change(pair[0], pair[1], self.describe(headline, cube), witness,
                                    Region(cube, d)))
            changes.extend(sorted(found, key=lambda c: c.description))
        stats = DiffStats(classes=tuple(zip(d.names, d.sizes, strict=True)),
                          cells=graph.cells(dont_care), states=sum(len(s) for s in graph.states),
                          evaluations=2 * (len(graph.final) - (dont_care is not None)))
        return PolicyDiff(not changes and not notes, tuple(changes), tuple(notes), scope,
                          stats, d, self.reading.identities)


def diff_policies(old: Policy | None, new: Policy | None, *, monitor: str | None = None,
                  all_actions: bool | None = None,
                  identity_policies: IdentityPolicies | Mapping[str, Policy] =
                  NO_IDENTITY_POLICIES) -> PolicyDiff:
    """Every request `old` and `new` decide differently, as regions with checked witnesses.

    `monitor`: analyse requests to this app monitor only (else every resource). `all_actions`:
    analyse every action, not only rum:PutRumEvents; by default True exactly when no monitor
    is given. `None` stands for "no policy attached". `identity_policies`: principal ARN ->
    the identity policy attached to it (a role's also holds for its sessions), the same under
    both policies; without them signed callers are judged on the resource policy alone.
    Raises ValueError for a principal that cannot hold an identity policy or is given twice.
    """
    identities = identity_policies if isinstance(identity_policies, IdentityPolicies) else \
        IdentityPolicies.of(identity_policies)
    every_action = monitor is None if all_actions is None else all_actions
    scope = (("every action" if every_action else PUT_RUM_EVENTS) + " on " +
             (monitor if monitor is not None else "every resource") + "; " +
             (f"identity policies of {join_or(identities.principals, 'and')}" if identities
              else "signed callers judged without identity policies"))
    notes: list[str] = []
    try:
        reading = read_policies(old, new, monitor, identities)
        dimensions = build_dimensions(reading, every_action)
        notes = dimensions.notes()
        return _Diff(old, new, dimensions).run(scope, notes)
    except (TooComplex, InternalError) as err:
        reason = "too many combinations" if isinstance(err, TooComplex) else \
            "an internal check failed"
        return PolicyDiff(False, (), (*notes, f"everything: the analysis stopped ({reason}: "
                                               f"{err})"), scope,
                          identity_policies=identities)


def representatives(result: PolicyDiff, rng: random.Random | None = None
                    ) -> Iterator[Request]:
    """One request per reachable cell of `result`'s partition, nothing merged: what brute
    force evaluates (bench/diff.py's baseline; the tests check the regions against it).

    With `rng`, cells are drawn at random, endlessly.
    """
    dimensions = result.space
    if not isinstance(dimensions, Dimensions):
        return
    diff = _Diff(None, None, dimensions)
    sizes = dimensions.sizes
    start = State(dimensions.reading.everything)

    def step(dimension: int, state: State, chosen: int) -> State | None:
        after = diff.step(dimension, state, chosen)
        return None if after is NOT_ANALYSED else after

    if rng is not None:
        while result.stats.cells:
            cell: list[int] = []
            state: State | None = start
            for dimension, size in enumerate(sizes):
                assert state is not None
                options = [(c, s) for c in range(size)
                           if (s := step(dimension, state, c)) is not None]
                if not options:  # a dead end (say, a key no such caller can lack): retry
                    state = None
                    break
                chosen, state = rng.choice(options)
                cell.append(chosen)
            if state is not None:
                yield diff.request(cell)
    stack: list[tuple[int, State, tuple[int, ...]]] = [(0, start, ())]
    while stack:
        dimension, state, done = stack.pop()
        if dimension == len(sizes):
            yield diff.request(done)
            continue
        for chosen in reversed(range(sizes[dimension])):
            after = step(dimension, state, chosen)
            if after is not None:
                stack.append((dimension + 1, after, (*done, chosen)))
