"""Shared by the audit's property tests."""

from __future__ import annotations

import dataclasses

import rumpolicy as rp


def keeping(policy: rp.Policy, keep: int) -> rp.Policy | None:
    """The policy with only the statements whose bit is set (None: nothing left)."""
    kept = tuple(s for i, s in enumerate(policy.statements) if keep >> i & 1)
    return dataclasses.replace(policy, statements=kept) if kept else None
