"""Checks on the document's structure: Version, Sids, empty arrays, variables under old
Versions (Access Analyzer's ERROR, WARNING and SUGGESTION checks of the same names)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rumpolicy.analysis.audit.checks import _paths
from rumpolicy.analysis.audit.context import AuditContext
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.registry import check
from rumpolicy.policy.variables import has_variables, parse_template

_SID = re.compile(r"[A-Za-z0-9]+")


@check("missing-version")
def missing_version(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.policy.version is None:
        yield ctx.finding("missing-version", "$", "the policy has no Version, so IAM reads it "
                          "as the 2008-10-17 language")


@check("duplicate-sid", "invalid-sid", "empty-sid")
def sids(ctx: AuditContext) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, statement in enumerate(ctx.policy.statements):
        sid = statement.sid
        if sid is None:
            continue
        path = _paths.element(statement, "Sid")
        if sid == "":
            yield ctx.finding("empty-sid", path, f"statement {index} has an empty Sid")
            continue
        if not _SID.fullmatch(sid):
            bad = "".join(sorted({c for c in sid if not (c.isascii() and c.isalnum())}))
            yield ctx.finding("invalid-sid", path, f"the Sid '{sid}' contains {bad!r}: IAM "
                              "Sids take only ASCII letters and digits")
        if sid in first:
            yield ctx.finding("duplicate-sid", path, f"the Sid '{sid}' is also the Sid of "
                              f"statement {first[sid]}")
        else:
            first[sid] = index


_ELEMENT_MEANING = {
    "Action": "matches no action, so the statement never applies",
    "Resource": "matches no resource, so the statement never applies",
    "NotAction": "excludes nothing: the statement covers every action",
    "NotResource": "excludes nothing: the statement covers every resource",
}


@check("empty-array")
def empty_arrays(ctx: AuditContext) -> Iterator[Finding]:
    for statement in ctx.policy.statements:
        for name, values in (("Action", statement.action), ("NotAction", statement.not_action),
                             ("Resource", statement.resource),
                             ("NotResource", statement.not_resource)):
            if values == ():
                yield ctx.finding("empty-array", _paths.element(statement, name),
                                  f"{name} is an empty array: it {_ELEMENT_MEANING[name]}")
        for name, principals in (("Principal", statement.principal),
                                 ("NotPrincipal", statement.not_principal)):
            for kind, values in principals.entries if principals else ():
                if values == ():
                    meaning = ("names nobody" if name == "Principal"
                               else "excludes nobody: the statement covers every caller")
                    yield ctx.finding("empty-array", f"{statement.path}.{name}.{kind}",
                                      f"{name} {kind} is an empty array: it {meaning}")
        for condition in statement.conditions:
            if condition.values == ():
                op = condition.operator
                if op.base.negated:
                    meaning = "a negated operator with no values is always true"
                elif op.if_exists or op.qualifier == "ForAllValues":
                    meaning = "it holds only when the key is absent"
                else:
                    meaning = "it never holds"
                yield ctx.finding("empty-array", condition.path,
                                  f"{op.name} on {condition.key} has an empty value array: "
                                  f"{meaning}")


@check("variable-unsupported-in-version")
def variables_in_old_version(ctx: AuditContext) -> Iterator[Finding]:
    policy = ctx.policy
    if policy.substitutes_variables:
        return
    shown = f"Version {policy.version}" if policy.version else "no Version"
    for statement in policy.statements:
        for name, values in (("Resource", statement.resource),
                             ("NotResource", statement.not_resource)):
            for index, text in enumerate(values or ()):
                if _has_variable(text):
                    yield ctx.finding("variable-unsupported-in-version",
                                      _paths.element(statement, name, index),
                                      f"'{text}' holds a policy variable, but with {shown} it "
                                      "is compared literally")
        for condition in statement.conditions:
            for index, text in enumerate(condition.values):
                if _has_variable(text):
                    yield ctx.finding("variable-unsupported-in-version",
                                      _paths.value(condition, index),
                                      f"'{text}' holds a policy variable, but with {shown} it "
                                      "is compared literally")


def _has_variable(text: str) -> bool:
    if "${" not in text:
        return False
    template, problem = parse_template(text)
    return problem is None and has_variables(template)
