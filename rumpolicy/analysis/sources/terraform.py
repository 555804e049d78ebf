"""Resource policies in Terraform's JSON plans and states (`terraform show -json`).

The AWS provider's `aws_rum_app_monitor` has no argument for a resource policy; the policy is the
`policy_document` (a JSON string) of a separate `aws_rum_resource_policy` resource. In `.tf`
source that string is usually built by `jsonencode()` or an `aws_iam_policy_document` data
source, which only Terraform can evaluate; the plan holds the value Terraform computed, so the
audit reads plans, not `.tf` files (docs/audit.md, "Terraform").
"""

from __future__ import annotations

from collections.abc import Iterator

from rumpolicy.analysis.sources.documents import PolicyText, PositionMap, Problem
from rumpolicy.analysis.sources.tree import Mapping, Node, Sequence, Text

RESOURCE_TYPE = "aws_rum_resource_policy"


def is_plan(root: Node) -> bool:
    return isinstance(root, Mapping) and isinstance(root.get("terraform_version"), Text) and (
        root.get("planned_values") is not None or root.get("values") is not None)


def plan_policies(root: Mapping, file: str, lines: list[str]
                  ) -> tuple[list[PolicyText], list[Problem]]:
    policies: list[PolicyText] = []
    problems: list[Problem] = []
    for values_key in ("planned_values", "values"):
        top = root.get(values_key)
        module = top.get("root_module") if isinstance(top, Mapping) else None
        for resource in _resources(module):
            address = resource.get("address")
            place = address.value if isinstance(address, Text) else RESOURCE_TYPE
            values = resource.get("values")
            document = values.get("policy_document") if isinstance(values, Mapping) else None
            if isinstance(document, Text):
                policies.append(PolicyText(file, document.value, place,
                                           PositionMap.of(document.value, document.places()),
                                           tuple(lines)))
            else:
                snippet = lines[resource.line - 1] if 0 < resource.line <= len(lines) else ""
                problems.append(Problem(file, "unresolved-policy", "policy_document is known "
                                        "only after apply, so the plan does not hold it",
                                        resource.line, resource.column, place, snippet))
        if policies or problems:
            break
    return policies, problems


def _resources(module: Node | None) -> Iterator[Mapping]:
    if not isinstance(module, Mapping):
        return
    resources = module.get("resources")
    if isinstance(resources, Sequence):
        for resource in resources.items:
            kind = resource.get("type") if isinstance(resource, Mapping) else None
            if isinstance(kind, Text) and kind.value == RESOURCE_TYPE:
                assert isinstance(resource, Mapping)
                yield resource
    children = module.get("child_modules")
    if isinstance(children, Sequence):
        for child in children.items:
            yield from _resources(child)
