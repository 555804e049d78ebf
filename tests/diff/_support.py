"""What the diff's example tests share: requests to the shop monitor, the change a request lies
in, and the check that every witness gets its change's two effects from the evaluator."""

from __future__ import annotations

from typing import Any

import rumpolicy as rp
from rumpolicy import Effect
from rumpolicy.analysis.diff import PolicyDiff

SHOP = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"


def request(principal: str | None = None, **context: Any) -> rp.Request:
    """`request(ALICE, rum_alias="v2")`: the first `_` of a keyword is the key's colon."""
    return rp.Request(resource=SHOP, principal=principal,
                      context={k.replace("_", ":", 1): v for k, v in context.items()})


def change_of(result: PolicyDiff, request: rp.Request) -> tuple[Effect, Effect] | None:
    found = result.change_for(request)
    return None if found is None else (found.from_effect, found.to_effect)


def witnesses_hold(result: PolicyDiff, old: rp.Policy | None, new: rp.Policy | None) -> None:
    """With the identity policies each witness's caller holds (none without them)."""
    for change in result.changes:
        held = result.identity_policies.held_by(change.witness)
        assert rp.evaluate(old, change.witness, held).effect is change.from_effect
        assert rp.evaluate(new, change.witness, held).effect is change.to_effect
