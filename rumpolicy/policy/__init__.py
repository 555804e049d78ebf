"""The policy language: positioned parsing, validation and immutable models."""

from rumpolicy.policy.diagnostics import Diagnostic, PolicyError
from rumpolicy.policy.loader import RESOURCE_POLICY_LIMIT, load_policy
from rumpolicy.policy.models import Condition, Location, Policy, Principals, Statement
from rumpolicy.policy.operators import BaseOperator, Family, Operator, parse_operator

__all__ = [
    "RESOURCE_POLICY_LIMIT",
    "BaseOperator",
    "Condition",
    "Diagnostic",
    "Family",
    "Location",
    "Operator",
    "Policy",
    "PolicyError",
    "Principals",
    "Statement",
    "load_policy",
    "parse_operator",
]
