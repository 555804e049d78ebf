"""Who may send at all, as the engine decides it: public ingestion with no alias, address or
referer restriction, and Allow statements whose NotPrincipal lets anonymous callers in."""

from __future__ import annotations

from collections.abc import Iterator

from rumpolicy.analysis.audit.checks import _paths
from rumpolicy.analysis.audit.context import AuditContext
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.registry import check
from rumpolicy.engine import Effect

_RESTRICTING = ("rum:alias", "aws:sourceip", "aws:referer")
_TRIES = 8


def _anonymous_may_match(ctx: AuditContext) -> bool:
    for statement in ctx.policy.statements:
        if statement.effect != "Allow":
            continue
        if statement.not_principal is not None:
            return True
        principal = statement.principal
        if principal is not None and (principal.wildcard or "*" in principal.values("AWS")):
            return True
    return False


@check("public-ingestion")
def public_ingestion(ctx: AuditContext) -> Iterator[Finding]:
    if not _anonymous_may_match(ctx):
        return
    probes = ctx.probes
    fixed: dict[int, list[int]] = {}
    shown = []
    for lookup in _RESTRICTING:
        k = probes.key_index.get(lookup)
        if k is None:
            continue
        options = probes.keys[k].values
        chosen = probes.keys[k].random
        if chosen is None:
            chosen = next((o for o in range(1, len(options)) if isinstance(options[o], str)), 0)
        fixed[k] = [chosen]
        shown.append(f"{probes.keys[k].key} {options[chosen]!r}")
    # Only an Allow that applies lets an anonymous caller in (IAM's combination): when none
    # can apply to an anonymous probe with these values, no probe would be allowed.
    if not probes.reachable(probes.allow_bits, callers=[0], fixed=fixed):
        return
    tries = 0
    for assignment in probes.signatures(callers=[0], fixed=fixed):
        if not probes.predict(assignment):
            continue
        probe = probes.evaluate(assignment)
        tries += 1
        if probes.verdict(probe)[0] is Effect.ALLOW:
            index = next(t.index for t in probe.decision.statements
                         if t.applies and t.effect == "Allow")
            statement = ctx.policy.statements[index]
            name = "Principal" if statement.principal is not None else "NotPrincipal"
            with_values = (f" with {', '.join(shown)}, values the policy names nowhere"
                           if shown else ", whatever its alias, address or referer")
            yield ctx.finding("public-ingestion", _paths.element(statement, name),
                              f"the engine allows an anonymous request{with_values} "
                              f"({probe.decision.message})")
            return
        if tries >= _TRIES:
            return
