"""rumpolicy: a faithful local engine for CloudWatch RUM app-monitor resource policies.

    import rumpolicy as rp
    policy = rp.load_policy(text)
    decision = rp.evaluate(policy, rp.Request(resource=ARN, context={"rum:alias": "beta"}))
"""

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from rumpolicy.gate.mock import mock_rum

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
    "mock_rum",
]


def __getattr__(name: str) -> object:
    """`mock_rum` is imported when first used: it brings the gate (pydantic, botocore), and
    `import rumpolicy` stays as fast as `rumpolicy eval` needs."""
    if name == "mock_rum":
        from rumpolicy.gate.mock import mock_rum

        return mock_rum
    raise AttributeError(f"module 'rumpolicy' has no attribute {name!r}")
