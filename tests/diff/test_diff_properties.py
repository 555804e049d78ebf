"""The diff against the evaluator, on generated policy pairs and requests.

Soundness: every witness really gets the two reported decisions. Completeness: every covered
request the two policies decide differently lies in exactly one reported change with those
decisions, and no request they decide alike lies in any. Exactness at the level of classes: the
same holds for one representative of every cell of the partition (brute force).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.analysis.diff import PolicyDiff, diff_policies
from rumpolicy.analysis.diff.analyse import representatives
from rumpolicy.testing.strategies import monitor_arn, policy_documents, requests, statements

_SETTINGS = settings(max_examples=100, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def policy_pairs(draw: st.DrawFn) -> tuple[rp.Policy | None, rp.Policy | None]:
    """Mostly close pairs (a statement added, removed or replaced), as rollouts are; sometimes
    unrelated ones, or no policy on one side."""
    old_doc: dict[str, Any] = draw(policy_documents())
    how = draw(st.sampled_from(("add", "remove", "replace", "replace", "unrelated", "none")))
    new_doc = {**old_doc, "Statement": list(old_doc["Statement"])}
    if how == "add":
        new_doc["Statement"].append(draw(statements()))
    elif how == "remove" and len(new_doc["Statement"]) > 1:
        del new_doc["Statement"][draw(st.integers(0, len(new_doc["Statement"]) - 1))]
    elif how in ("replace", "remove"):
        new_doc["Statement"][draw(st.integers(0, len(new_doc["Statement"]) - 1))] = \
            draw(statements())
    elif how == "unrelated":
        new_doc = draw(policy_documents())
    old: rp.Policy | None = rp.load_policy(old_doc)
    new: rp.Policy | None = None if how == "none" else rp.load_policy(new_doc)
    if draw(st.booleans()):
        old, new = new, old
    return old, new


def _check(result: PolicyDiff, old: rp.Policy | None, new: rp.Policy | None,
           probes: list[rp.Request]) -> None:
    for change in result.changes:
        assert rp.evaluate(old, change.witness).effect is change.from_effect
        assert rp.evaluate(new, change.witness).effect is change.to_effect
        assert change.contains(change.witness), change.description
    if result.equivalent:
        assert not result.changes and not result.not_analysed
    for request in probes:
        before, after = rp.evaluate(old, request).effect, rp.evaluate(new, request).effect
        inside = [c for c in result.changes if c.contains(request)]
        if not result.covers(request):
            assert not inside
            assert result.not_analysed, f"not covered: {request.to_dict()}"
            continue
        if before is after:
            assert not inside, (request.to_dict(), [c.description for c in inside])
        else:
            assert len(inside) == 1, (request.to_dict(), before, after,
                                      [c.description for c in result.changes])
            assert (inside[0].from_effect, inside[0].to_effect) == (before, after)


@_SETTINGS
@given(policy_pairs(), st.lists(requests(), min_size=1, max_size=12))
def test_generated_requests_differ_exactly_inside_the_changes(pair, probes):
    old, new = pair
    for monitor in sorted({r.resource for r in probes}):
        result = diff_policies(old, new, monitor=monitor, all_actions=True)
        _check(result, old, new, [r for r in probes if r.resource == monitor])
    result = diff_policies(old, new)
    _check(result, old, new, probes)


@_SETTINGS
@given(policy_pairs(), st.sampled_from((None, monitor_arn("shop"))),
       st.randoms(use_true_random=False))
def test_cell_representatives_differ_exactly_inside_the_changes(pair, monitor, rnd):
    """Every cell when there are few, else 400 drawn at random."""
    old, new = pair
    result = diff_policies(old, new, monitor=monitor)
    if result.stats.cells <= 400:
        cells = list(representatives(result))
    else:
        cells = list(itertools.islice(representatives(result, rnd), 400))
    assert cells or not result.changes
    _check(result, old, new, cells)
