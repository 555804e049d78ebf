"""RUM-specific checks: which actions and resources an app-monitor policy can name, and whose
principals it can let in (RUM resource policies support only rum:PutRumEvents and no
cross-account access)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rumpolicy.analysis.audit import actions
from rumpolicy.analysis.audit.checks import _paths
from rumpolicy.analysis.audit.context import AuditContext, label
from rumpolicy.analysis.audit.findings import Finding
from rumpolicy.analysis.audit.registry import check
from rumpolicy.analysis.audit.space import PROBE_NAME, monitor_for
from rumpolicy.engine import Request
from rumpolicy.engine.principals import caller_problem, parse_caller
from rumpolicy.policy.arns import split_arn
from rumpolicy.policy.variables import Escaped, has_variables, parse_template

_SHOWN = 4


def _listing(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_SHOWN])
    more = len(names) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


@check("unknown-action", "unsupported-action", "action-wildcard")
def action_entries(ctx: AuditContext) -> Iterator[Finding]:
    """A wildcard in a Deny is left alone: denying more than can be granted is harmless."""
    for statement in ctx.policy.statements:
        for name, entries in (("Action", statement.action), ("NotAction", statement.not_action)):
            for index, entry in enumerate(entries or ()):
                path = _paths.element(statement, name, index)
                covered = actions.coverage(entry)
                if not covered.actions:
                    hint = actions.nearest(entry)
                    what = ("no AWS service has the prefix" if not covered.service_known
                            else "no action of the service matches")
                    yield ctx.finding(
                        "unknown-action", path,
                        f"'{entry}': {what} '{entry.partition(':')[0]}'" if not
                        covered.service_known else f"'{entry}': {what}",
                        fix=f"Did you mean {hint}?" if hint else None)
                    continue
                if name == "NotAction":
                    continue
                if not covered.includes_put_rum_events:
                    yield ctx.finding(
                        "unsupported-action", path,
                        f"'{entry}' covers {_listing(covered.actions)}: an app-monitor policy "
                        "supports only rum:PutRumEvents, so this entry never takes effect")
                elif covered.others and statement.effect == "Allow":
                    others = covered.others
                    yield ctx.finding(
                        "action-wildcard", path,
                        f"'{entry}' covers rum:PutRumEvents and {len(others)} other "
                        f"action{'s' if len(others) > 1 else ''} ({_listing(others)}); only "
                        "rum:PutRumEvents is supported in an app-monitor policy")


@check("allow-with-not-action-or-resource")
def negated_elements(ctx: AuditContext) -> Iterator[Finding]:
    for index, statement in enumerate(ctx.policy.statements):
        if statement.effect != "Allow":
            continue
        for name, values in (("NotAction", statement.not_action),
                             ("NotResource", statement.not_resource)):
            if values is not None:
                yield ctx.finding("allow-with-not-action-or-resource",
                                  _paths.element(statement, name),
                                  f"{label(ctx.policy, index)} allows everything except "
                                  f"{', '.join(values) or 'nothing'} through {name}")


# AppMonitorName in the RUM API model: 1-255 of . - _ # letters digits, not starting with '.'.
_NAME_CHARS = re.compile(r"[.\-_#A-Za-z0-9*?]*")


@check("resource-not-app-monitor")
def app_monitor_resources(ctx: AuditContext) -> Iterator[Finding]:
    for statement in ctx.policy.statements:
        for name, values in (("Resource", statement.resource),
                             ("NotResource", statement.not_resource)):
            for index, pattern in enumerate(values or ()):
                problem = _not_app_monitor(pattern, ctx.policy.substitutes_variables)
                if problem:
                    yield ctx.finding("resource-not-app-monitor",
                                      _paths.element(statement, name, index), problem)


def _not_app_monitor(pattern: str, substitutes: bool) -> str | None:
    if pattern == "*":
        return None
    arn = split_arn(pattern)
    if arn is None:
        return None  # a trailing * running past colons; the loader judged its shape
    service = arn.service
    if service != "rum" and not (_wild(service) and _glob(service).fullmatch("rum")):
        return f"'{pattern}' names a '{arn.service}' resource, not a RUM app monitor"
    resource = arn.resource
    escaped = ""
    if substitutes and "${" in resource:
        template, problem = parse_template(resource)
        if problem or has_variables(template):
            return None
        # `${*}`, `${?}` and `${$}` are literal characters, which no monitor name holds.
        escaped = "".join(p.char for p in template if isinstance(p, Escaped))
        resource = "".join(p if isinstance(p, str) else "" for p in template)
    if not resource.startswith("appmonitor/"):
        if _glob(resource).fullmatch(f"appmonitor/{PROBE_NAME}"):
            return None
        return (f"'{pattern}' cannot match an app-monitor ARN: the resource part must be "
                "appmonitor/NAME")
    name = resource.removeprefix("appmonitor/")
    shown = arn.resource.removeprefix("appmonitor/")
    bad = sorted(set(escaped) if _NAME_CHARS.fullmatch(name) else
                 {c for c in name if not _NAME_CHARS.fullmatch(c)} | set(escaped))
    if bad:
        return (f"'{shown}' can never be an app monitor name: names take letters, digits, "
                f". - _ and #, not {''.join(bad)!r}")
    if not name or name.startswith(".") or len(name.replace("*", "")) > 255:
        return (f"'{shown}' can never be an app monitor name (1 to 255 characters, not "
                "starting with '.')")
    return None


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _glob(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in text), re.DOTALL)


@check("resource-not-monitor")
def resources_match_monitor(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.monitor is None:
        return
    decision = ctx.probes.decide(Request(resource=ctx.monitor))
    for trace, statement in zip(decision.statements, ctx.policy.statements, strict=True):
        if not trace.resource.matched:
            name = "Resource" if statement.resource is not None else "NotResource"
            how = ("none of its Resource entries matches" if name == "Resource"
                   else f"its NotResource entry '{trace.resource.detail}' excludes")
            yield ctx.finding("resource-not-monitor", _paths.element(statement, name),
                              f"{label(ctx.policy, trace.index)} never applies to "
                              f"{ctx.monitor}: {how} it")


@check("cross-account-principal")
def cross_account(ctx: AuditContext) -> Iterator[Finding]:
    """The engine is asked about each principal of another account than the monitor's: a
    caller of the monitor's own account is never refused as cross-account (the engine's
    reason `cross_account` is the accounts differing)."""
    probes = None
    for index, statement in enumerate(ctx.policy.statements):
        if statement.effect != "Allow" or statement.principal is None:
            continue
        entries = statement.principal.values("AWS")
        if not entries:
            continue
        monitor = ctx.monitor or _statement_monitor(statement.resource or ())
        if monitor is None:
            continue
        owner = split_arn(monitor)
        for kind_index, entry in enumerate(entries):
            caller = _caller(entry)
            if caller is None or (owner is not None
                                  and parse_caller(caller).account == owner.account):
                continue
            probes = probes or ctx.probes
            decision = probes.decide(Request(resource=monitor, principal=caller))
            if decision.reason == "cross_account":
                yield ctx.finding("cross-account-principal",
                                  _paths.principal(statement, "AWS", kind_index),
                                  f"{label(ctx.policy, index)} names '{entry}', but the engine "
                                  f"denies its requests to {monitor}: {decision.message}")


def _statement_monitor(resources: tuple[str, ...]) -> str | None:
    """A concrete monitor of a known account the statement is about."""
    for pattern in resources:
        arn = split_arn(pattern)
        if arn is not None and arn.account.isdigit() and len(arn.account) == 12:
            return monitor_for(pattern, arn.account)
    return None


def _caller(entry: str) -> str | None:
    if entry == "*":
        return None
    if len(entry) == 12 and entry.isdigit():
        return f"arn:aws:iam::{entry}:root"
    return entry if caller_problem(entry) is None else None
