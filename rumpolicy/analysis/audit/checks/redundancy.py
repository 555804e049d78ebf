"""Redundant or unreachable statements, found with the engine on probe requests.

Probe-based, not a proof: a statement is reported when, on every probe request synthesized
from the policy's own principals, resources and condition values (`probes.py`), the engine's
decision is the same with and without it. A statement that changes a decision only on requests
built from values the policy never names would be missed as "necessary" and reported; the
probe values are chosen so that every literal, its wildcard instance, case variant and numeric
or date edges are present, which is where a statement's effect can change. The check stands
down (reports nothing) when the policy uses policy variables, or when an engine decision
contradicts the truth table the probes were planned from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rumpolicy.analysis.audit.checks.alias import who
from rumpolicy.analysis.audit.context import AuditContext, label
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.probes import Probe, Probes, effect_word
from rumpolicy.analysis.audit.registry import check


@check("redundant-statement", late=True)
def redundant(ctx: AuditContext) -> Iterator[Finding]:
    """Statements are tried last to first, each against the policy less those already found
    redundant, so all reported statements can go together (of two copies, the later one is
    reported).

    Only the probes a statement applies to can show it changes a decision, and one such probe
    is enough, so the engine is asked about each signature only when a statement's judgment
    reaches it. Which statements apply to a probe is read from the truth table first: without
    policy variables (else the check has already stood down) its prediction is the engine's,
    because each part reads one dimension; tests/audit/test_audit_probes.py pins the two equal.
    """
    policy = ctx.policy
    probes = ctx.probes
    if not probes.exact:
        return
    seen = probes.evaluated()
    kept = probes.all_bits
    found: list[tuple[int, Probe | None]] = []
    for s in reversed(range(len(policy.statements))):
        bit = 1 << s
        if ctx.has_error_in(policy.statements[s].path):
            continue
        # A decision the statement changes among the probes already decided proves it needed
        # without asking the engine about more of the space (only while nothing was removed:
        # later judgments are against a smaller policy).
        if kept == probes.all_bits and _changes(probes, seen, bit, kept)[0]:
            continue
        changes, example = _changes(probes, _applying_to(probes, bit, kept), bit, kept)
        if not changes:
            kept &= ~bit
            found.append((s, example))
    if found:
        # Every signature is enumerated before anything is reported: a space with more than
        # the engine may be asked about is not exact (a statement that applies nowhere is
        # judged without enumerating any).
        for _ in probes.deciding():
            pass
    if not (probes.consistent and probes.exact):
        return
    total = f"{probes.size:,} probe request" + ("s" if probes.size != 1 else "")
    for s, example in sorted(found, key=lambda item: item[0]):
        if example is None:
            message = (f"{label(policy, s)} applies to none of the {total} the engine decided: "
                       f"{_why_never(probes, s)}")
        else:
            message = (f"{label(policy, s)} applies to some of the {total} the engine decided, "
                       "but each is decided the same without it; e.g. "
                       f"{who(probes, example.assignment)} is "
                       f"{effect_word(example.decision.effect)} either way "
                       f"({example.decision.message})")
        yield ctx.finding("redundant-statement", policy.statements[s].path, message)


def _applying_to(probes: Probes, bit: int, kept: int) -> Iterator[Probe]:
    """The engine's traces on each probe of one per signature that, by the truth table, the
    statement applies to, in the order of the signatures."""
    if not probes.reachable(bit & kept):
        return
    for assignment in probes.deciding():
        if probes.predict(assignment) & bit & kept:
            yield probes.evaluate(assignment)


def _changes(probes: Probes, decided: Iterable[Probe], bit: int, kept: int
             ) -> tuple[bool, Probe | None]:
    """Whether leaving the statement out of `kept` changes a probe's decision, and a probe it
    applies to (None when it applies to none)."""
    example = None
    for probe in decided:
        if not probe.applying & bit & kept:
            continue
        with_it = probes.restricted_effect(probe, kept)
        if probes.restricted_effect(probe, kept & ~bit) is not with_it:
            return True, probe
        if example is None:
            example = probe
    return False, example


def _why_never(probes: Probes, s: int) -> str:
    bit = 1 << s
    if not probes.action_mask & bit:
        return "its actions do not cover rum:PutRumEvents"
    if not any(m & bit for m in probes.caller_masks):
        return ("its principal matches none of the callers tried (anonymous, the account's users "
                "and root, every principal the policy names, another account)")
    if not any(m & bit for m in probes.resource_masks):
        return "its resources match none of the app monitors tried"
    for key, masks in zip(probes.keys, probes.key_masks, strict=True):
        if not any(m & bit for m in masks):
            return f"no value tried for {key.key} satisfies its conditions"
    return "its principal, resource and conditions never hold together"
