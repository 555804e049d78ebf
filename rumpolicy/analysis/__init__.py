"""Analyses built on the engine: audit, semantic diff, rollout tests and replay.

Each lives in its own subpackage and asks `rumpolicy.engine` for decisions rather than
re-deriving IAM's rules, so an analysis can never disagree with what the engine decides.
"""
