"""rumpolicy: a faithful local engine for CloudWatch RUM app-monitor resource policies.

    import rumpolicy as rp
    policy = rp.load_policy(text)
    decision = rp.evaluate(policy, rp.Request(resource=ARN, context={"rum:alias": "beta"}))
"""

from rumpolicy.engine import (
    PUT_RUM_EVENTS,
    CompiledPolicy,
    Decision,
    Effect,
    Request,
    compile_policy,
    evaluate,
)
from rumpolicy.policy import Diagnostic, Policy, PolicyError, Statement, load_policy

__version__ = "0.1.0"

__all__ = [
    "PUT_RUM_EVENTS",
    "CompiledPolicy",
    "Decision",
    "Diagnostic",
    "Effect",
    "Policy",
    "PolicyError",
    "Request",
    "Statement",
    "__version__",
    "compile_policy",
    "evaluate",
    "load_policy",
]
