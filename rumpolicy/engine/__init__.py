"""The decision engine: request context, matching, conditions, evaluation and compilation.

Pure: no I/O, no clock. Time, addresses and identity arrive in the request context.
"""

from rumpolicy.engine.compiled import CompiledPolicy, compile_policy
from rumpolicy.engine.decision import Check, ConditionTrace, Decision, Effect, StatementTrace
from rumpolicy.engine.evaluate import evaluate
from rumpolicy.engine.principals import Caller, CallerKind
from rumpolicy.engine.request import PUT_RUM_EVENTS, Request

__all__ = [
    "PUT_RUM_EVENTS",
    "Caller",
    "CallerKind",
    "Check",
    "CompiledPolicy",
    "ConditionTrace",
    "Decision",
    "Effect",
    "Request",
    "StatementTrace",
    "compile_policy",
    "evaluate",
]
