"""The semantic diff: exactly which requests two app-monitor resource policies decide
differently (with the identity policies signed callers hold), as regions in words with a witness
request each (docs/diff.md).

    from rumpolicy.analysis.diff import diff_policies
    result = diff_policies(old, new, monitor="arn:aws:rum:us-east-1:123456789012:appmonitor/shop")
    for change in result.changes:
        print(change.description, change.witness.to_dict())
"""

from rumpolicy.analysis.diff.analyse import diff_policies
from rumpolicy.analysis.diff.identities import IdentityPolicies, holder_problem, same_principal
from rumpolicy.analysis.diff.model import Change, DiffStats, PolicyDiff, Region

__all__ = ["Change", "DiffStats", "IdentityPolicies", "PolicyDiff", "Region", "diff_policies",
           "holder_problem", "same_principal"]
