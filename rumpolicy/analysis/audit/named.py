"""A file named on the command line that holds no policy is reported, never skipped.

`rumpolicy.analysis.sources` skips a CloudFormation template or Terraform plan that holds no
RUM resource policy, named or met in a walk, while every other named file without a policy (a
YAML document, a binary file) is a `not-a-policy` problem. A user who names a file expects it
checked, so `audit` and `validate` report such a template or plan the same way, at 1:1; found in
a directory walk (or read as one with `--force-exclude`), it is still skipped and counted.
"""

from __future__ import annotations

from rumpolicy.analysis.sources import FileContents, Problem

_NO_POLICY = "so there is no resource policy to check"
_PLAN = f"this Terraform plan or state has no aws_rum_resource_policy resource, {_NO_POLICY}"
_WHY = {
    "template without an app monitor":
        f"this CloudFormation template has no AWS::RUM::AppMonitor, {_NO_POLICY}",
    "cloudformation without a resource policy":
        f"no AWS::RUM::AppMonitor in this template has a ResourcePolicy, {_NO_POLICY}",
    "plan without a RUM resource policy": _PLAN,
    "terraform-plan without a resource policy": _PLAN,
}
"""`FileContents.skipped` reasons, as `sources` words them, told as a finding's message."""


def named_without_policy(contents: FileContents, named: bool) -> FileContents:
    """`contents`, except that a file named on the command line (`named`) that was skipped for
    holding no policy becomes one `not-a-policy` problem."""
    if not named or contents.kind != "skipped":
        return contents
    reason = contents.skipped or "nothing to read"
    message = _WHY.get(reason, f"this file holds no app-monitor resource policy to check "
                               f"({reason})")
    return FileContents(contents.file, "problem",
                        problems=(Problem(contents.file, "not-a-policy", message),))
