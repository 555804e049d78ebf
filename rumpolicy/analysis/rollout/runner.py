"""Running a rollout file: every expectation passes or fails, and a failure says why.

Requests are decided with the identity policies their caller holds (`identity policy` lines),
the same for the policy and its baseline. A decision expectation fails with the decision's own
explanation (which statement applied, which condition did not hold). A change expectation is
checked with the semantic diff, which is exact; it fails with each offending region, a witness
request, and what the policy now decides for that witness. Whatever the diff reports it could
not analyse fails the expectation too: an unproven "no new access" is not a pass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rumpolicy.analysis.diff.identities import NO_IDENTITY_POLICIES, IdentityPolicies
from rumpolicy.analysis.rollout.exemptions import with_exemptions
from rumpolicy.analysis.rollout.model import (
    ChangeExpectation,
    ChangeKind,
    DecisionExpectation,
    Expectation,
    IdentitySource,
    PolicySource,
    Problem,
    RolloutError,
    RolloutFile,
)
from rumpolicy.analysis.rollout.parser import read_rollout
from rumpolicy.engine import CompiledPolicy, Effect, Request, compile_policy, evaluate
from rumpolicy.policy import Policy, PolicyError, load_policy
from rumpolicy.policy.models import PolicyKind


@dataclass(frozen=True, slots=True)
class Outcome:
    expectation: Expectation
    passed: bool
    summary: str
    """One line: what was expected and what happened."""
    detail: str
    """Why it failed (explanations, witnesses); empty when it passed."""
    seconds: float


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: Path
    outcomes: tuple[Outcome, ...]
    problems: tuple[Problem, ...]
    """Why the file could not run at all (syntax, meaning, a policy that does not load)."""
    seconds: float

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


@dataclass(frozen=True, slots=True)
class LoadedRollout:
    """A rollout file with its policies loaded and the policy under test compiled."""

    rollout: RolloutFile
    policy: Policy | None
    baseline: Policy | None
    compiled: CompiledPolicy
    identities: IdentityPolicies = NO_IDENTITY_POLICIES


def load_rollout(path: Path) -> LoadedRollout:
    """Read `path` and load the policies it names; a RolloutError lists every problem."""
    rollout = read_rollout(path)
    problems: list[Problem] = []
    policy = _load(rollout.path, rollout.policy, problems)
    baseline = _load(rollout.path, rollout.baseline, problems) if rollout.baseline else None
    held = [(source.principal, _load(rollout.path, source, problems, "identity"))
            for source in rollout.identities]
    if problems:
        raise RolloutError(tuple(problems))
    identities = IdentityPolicies(tuple((p, i) for p, i in held if i is not None))
    return LoadedRollout(rollout, policy, baseline, compile_policy(policy), identities)


def _load(path: Path, source: PolicySource | IdentitySource | None, problems: list[Problem],
          kind: PolicyKind = "resource") -> Policy | None:
    if source is None or source.path is None:
        return None
    where = source.position
    what = "policy" if kind == "resource" else "identity policy"
    try:
        text = source.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(path, f'{what} file "{source.written}" not found '
                                      f"(looked for {source.path})", where))
        return None
    except (OSError, UnicodeDecodeError) as err:
        problems.append(Problem(path, f'cannot read {what} file "{source.written}": {err}',
                                where))
        return None
    try:
        return load_policy(text, kind=kind)
    except PolicyError as err:
        shown = "; ".join(d.format(source.written) for d in err.diagnostics[:3])
        more = len(err.diagnostics) - 3
        tail = f" (and {more} more; run rumpolicy validate)" if more > 0 else ""
        problems.append(Problem(path, f'{what} "{source.written}" is not valid: {shown}{tail}',
                                where))
        return None


def run_file(path: Path) -> FileOutcome:
    """Load and run one rollout file; problems are returned, never raised."""
    started = time.perf_counter()
    try:
        loaded = load_rollout(path)
    except RolloutError as err:
        return FileOutcome(path, (), err.problems, time.perf_counter() - started)
    outcomes = tuple(check(loaded, e) for e in loaded.rollout.expectations)
    return FileOutcome(path, outcomes, (), time.perf_counter() - started)


def run_files(paths: Iterable[Path]) -> list[FileOutcome]:
    return [run_file(p) for p in paths]


def check(loaded: LoadedRollout, expectation: Expectation) -> Outcome:
    """Check one expectation of `loaded`."""
    started = time.perf_counter()
    if isinstance(expectation, DecisionExpectation):
        passed, summary, detail = _check_decision(loaded, expectation)
    else:
        passed, summary, detail = _check_change(loaded, expectation)
    return Outcome(expectation, passed, summary, detail, time.perf_counter() - started)


def _check_decision(loaded: LoadedRollout, expectation: DecisionExpectation
                    ) -> tuple[bool, str, str]:
    request = expectation.request
    holding = loaded.identities.holding(request)
    decision = loaded.compiled.evaluate(request, tuple(p for _, p in holding))
    got = f"{decision.effect.value} ({decision.reason})"
    if expectation.verdict.accepts(decision.effect):
        return True, f"{expectation.verdict}: got {got}", ""
    detail = f"request: {describe_request(request)}\n{_holds(holding)}{decision.explain()}"
    return False, f"expected {expectation.verdict}, got {got}", detail


_VIOLATES: dict[ChangeKind, Callable[[Effect, Effect], bool]] = {
    ChangeKind.NO_NEW_ACCESS: lambda old, new: new is Effect.ALLOW and old is not Effect.ALLOW,
    ChangeKind.NO_LOST_ACCESS: lambda old, new: old is Effect.ALLOW and new is not Effect.ALLOW,
    ChangeKind.NO_CHANGE: lambda old, new: old is not new,
}
_OFFENCE = {  # (one region, several regions)
    ChangeKind.NO_NEW_ACCESS: ("region grants access the old policy did not",
                               "regions grant access the old policy did not"),
    ChangeKind.NO_LOST_ACCESS: ("region takes away access the old policy gave",
                                "regions take away access the old policy gave"),
    ChangeKind.NO_CHANGE: ("region changes decision", "regions change decision"),
}


def _check_change(loaded: LoadedRollout, expectation: ChangeExpectation
                  ) -> tuple[bool, str, str]:
    try:
        from rumpolicy.analysis.diff import diff_policies
    except ImportError as err:  # fail closed: an unchecked change expectation is no pass
        return False, f"cannot check {expectation.kind}: the semantic diff is unavailable", \
            str(err)
    exemptions = expectation.exemptions
    result = diff_policies(with_exemptions(loaded.baseline, exemptions),
                           with_exemptions(loaded.policy, exemptions),
                           monitor=loaded.rollout.monitor, identity_policies=loaded.identities)
    violates = _VIOLATES[expectation.kind]
    offending = [c for c in result.changes
                 if violates(Effect(c.from_effect), Effect(c.to_effect))]
    unanalysed = [str(item) for item in getattr(result, "not_analysed", ()) or ()]
    if not offending and not unanalysed:
        where = " outside the exemptions" if exemptions else ""
        count = len(result.changes)
        checked = f"no decision differs{where}" if not count else \
            f"{count} {'region differs' if count == 1 else 'regions differ'}{where}, " \
            "none of them this way"
        return True, f"{expectation.kind}: holds ({checked})", ""
    parts: list[str] = []
    for change in offending:
        parts.append(_explain_change(loaded, change))
    if unanalysed:
        parts.append("cannot be proven: the semantic diff could not analyse "
                     + "; ".join(unanalysed))
    if offending:
        count = len(offending)
        summary = (f"expected {expectation.kind}, but {count} "
                   f"{_OFFENCE[expectation.kind][count != 1]}")
    else:
        summary = f"expected {expectation.kind}, but the diff could not analyse everything"
    return False, summary, "\n".join(parts)


def _explain_change(loaded: LoadedRollout, change: Any) -> str:
    witness: Request = change.witness
    holding = loaded.identities.holding(witness)
    held = tuple(p for _, p in holding)
    before = evaluate(loaded.baseline, witness, held)
    now = evaluate(loaded.policy, witness, held)
    return "\n".join([
        f"{change.description} ({Effect(change.from_effect).value} -> "
        f"{Effect(change.to_effect).value})",
        f"  witness: {describe_request(witness)}",
        *([_indent(_holds(holding).rstrip(), "  ")] if holding else []),
        f"  before: {before.effect.value} ({before.reason})",
        "  now: " + _indent(now.explain(), "  ").lstrip(),
    ])


def _holds(holding: tuple[tuple[str, Policy], ...]) -> str:
    """A line naming the identity policies the caller holds, by the principal they are given
    for (the explanation numbers them in this order)."""
    if not holding:
        return ""
    listed = ", ".join(f"[{n}] {principal}" for n, (principal, _) in enumerate(holding))
    return f"holds the identity policies given for: {listed}\n"


def describe_request(request: Request) -> str:
    """The request as one line of JSON (action left out when it is PutRumEvents)."""
    shape = request.to_dict()
    if shape["action"] == "rum:PutRumEvents":
        del shape["action"]
    return json.dumps(shape, ensure_ascii=False)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
