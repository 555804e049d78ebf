"""The probe space of a policy: which callers, app monitors and condition-key values the
engine-backed checks ask the engine about, all drawn from the policy's own literals.

- **callers**: anonymous, a user of the monitor's account, its root, a user of another account,
  every principal the policy names (and a session of every role it names);
- **resources**: the monitor (`--monitor`, else one the policy's Resource names) and, without
  `--monitor`, every app monitor the policy's Resources name plus one they do not;
- **condition keys**: for every key the policy tests, "absent" plus values drawn from the
  policy's own literals (each value, a wildcard instantiated, a case variant, the edges of a
  number or date, an address inside each range and one outside all) and values it names
  nowhere. A key IAM does not define is never in a request, so it is only ever absent.

Each builder says, as a second result, when it had to leave something out: the space then no
longer stands for every request, and checks that claim completeness stand down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from rumpolicy.analysis.audit.keys import spec
from rumpolicy.analysis.audit.networks import Range, read_address, read_range
from rumpolicy.engine.principals import caller_problem
from rumpolicy.policy.arns import PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, split_arn
from rumpolicy.policy.models import Condition, Policy
from rumpolicy.policy.operators import Comparison, Family
from rumpolicy.policy.values import is_bare_year, read_date, read_number
from rumpolicy.policy.variables import Escaped, Variable, has_variables, parse_template

ContextValue = str | tuple[str, ...]
Option = ContextValue | None

DEFAULT_ACCOUNT = PLACEHOLDER_ACCOUNT
DEFAULT_REGION = PLACEHOLDER_REGION
PROBE_NAME = "rumpolicy-probe"
RANDOM_TEXT = "rumpolicy-probe-zq"
"""A value no policy is expected to name: what "any value" looks like to a condition."""
RANDOM_SHORT = "Q7"
RANDOM_REFERER = "https://rumpolicy-probe.example.net/page"
_PUBLIC_V4 = ("52.94.76.10", "3.5.140.2", "15.177.0.1", "44.224.1.1")
_PUBLIC_V6 = ("2600:1f18:4000::1", "2a05:d018::1", "2406:da18::1")
_MAX_OPTIONS = 64
"""Per key; more distinct literals than this (far beyond a 4 KB policy's usual) make the space
inexact rather than silently unprobed."""
_MAX_CALLERS = 24
_MAX_RESOURCES = 16

CALLER_KEYS = frozenset({"aws:principalarn", "aws:principalaccount", "aws:principaltype",
                         "aws:username", "aws:userid"})
"""Keys the engine derives from the caller: probes never set them, callers vary them."""
RESOURCE_KEYS = frozenset({"aws:resourceaccount"})


@dataclass(frozen=True, slots=True)
class KeyOptions:
    key: str
    """The key as the policy first spells it."""
    lookup: str
    values: tuple[Option, ...]
    """Index 0 is always None: the key is absent."""
    random: int | None
    """Index of a value the policy names nowhere (an arbitrary value), when there is one."""
    truncated: bool = False
    """Some of the policy's literals for this key were left out (too many to probe)."""


def account_of(policy: Policy, monitor: str | None) -> str:
    """The monitor's account: from --monitor, a Resource, or a principal the policy names."""
    if monitor:
        arn = split_arn(monitor)
        if arn is not None and arn.account.isdigit():
            return arn.account
    for statement in policy.statements:
        for pattern in statement.resource or ():
            arn = split_arn(pattern)
            if arn is not None and len(arn.account) == 12 and arn.account.isdigit():
                return arn.account
    for statement in policy.statements:
        for principals in (statement.principal, statement.not_principal):
            for entry in principals.values("AWS") if principals else ():
                account = _principal_account(entry)
                if account:
                    return account
    return DEFAULT_ACCOUNT


def _principal_account(entry: str) -> str | None:
    if len(entry) == 12 and entry.isdigit():
        return entry
    parts = entry.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


def monitor_for(pattern: str, account: str) -> str | None:
    """A concrete app-monitor ARN a Resource pattern plausibly names (the engine then decides
    whether it really matches); None for `*` or a pattern that names no app monitor."""
    if "${" in pattern:
        return None
    arn = split_arn(pattern)
    if arn is None:
        return None
    if arn.service not in ("rum", "*") and not _wild(arn.service):
        return None
    resource = arn.resource
    if resource.startswith("appmonitor/"):
        name = _instantiate(resource.removeprefix("appmonitor/")) or PROBE_NAME
    elif resource.startswith(("*", "?", "a")) and _wild(resource):
        name = PROBE_NAME
    else:
        return None
    partition = "aws" if _wild(arn.partition) else arn.partition
    region = DEFAULT_REGION if _wild(arn.region) or not arn.region else arn.region
    acct = arn.account if arn.account.isdigit() and len(arn.account) == 12 else account
    return f"arn:{partition}:rum:{region}:{acct}:appmonitor/{name}"


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _instantiate(text: str) -> str:
    return text.replace("*", "probe").replace("?", "p")


def first_monitor(policy: Policy, account: str) -> str:
    """The first app monitor a Resource names outright, else the first a pattern covers."""
    patterns = [p for s in policy.statements for p in s.resource or ()]
    for pattern in sorted(patterns, key=_wild):
        found = monitor_for(pattern, account)
        if found:
            return found
    return f"arn:aws:rum:{DEFAULT_REGION}:{account}:appmonitor/{PROBE_NAME}"


def resources_of(policy: Policy, account: str, monitor: str) -> tuple[tuple[str, ...], bool]:
    """The monitor, every app monitor the Resources name, and one they do not; True as second
    item when some had to be left out."""
    found: dict[str, None] = {monitor: None}
    for statement in policy.statements:
        for pattern in (*(statement.resource or ()), *(statement.not_resource or ())):
            arn = monitor_for(pattern, account)
            if arn:
                found[arn] = None
    head = monitor.rpartition("appmonitor/")[0]
    found[f"{head}appmonitor/{PROBE_NAME}-other"] = None
    chosen = tuple(found)
    return chosen[:_MAX_RESOURCES], len(chosen) > _MAX_RESOURCES


def callers_of(policy: Policy, accounts: Sequence[str]) -> tuple[tuple[str | None, ...], bool]:
    """Anonymous; a user and the root of each account whose monitors are probed (the first is
    the monitor's); a user of an account the policy does not name; whoever the policy names.
    True as second item when some had to be left out."""
    other = next(a for a in ("444455556666", "555566667777", "666677778888")
                 if a not in accounts)
    found: dict[str | None, None] = {None: None}
    for account in accounts:
        found[f"arn:aws:iam::{account}:user/{PROBE_NAME}"] = None
        found[f"arn:aws:iam::{account}:root"] = None
    found[f"arn:aws:iam::{other}:user/{PROBE_NAME}"] = None
    for statement in policy.statements:
        for principals in (statement.principal, statement.not_principal):
            for entry in principals.values("AWS") if principals else ():
                for caller in _callers_for(entry):
                    found[caller] = None
    chosen = tuple(found)
    return chosen[:_MAX_CALLERS], len(chosen) > _MAX_CALLERS


def accounts_of(resources: Sequence[str]) -> tuple[str, ...]:
    """The accounts of the probed monitors, in order, each once."""
    found: dict[str, None] = {}
    for resource in resources:
        arn = split_arn(resource)
        if arn is not None and arn.account:
            found[arn.account] = None
    return tuple(found)


def _callers_for(entry: str) -> tuple[str, ...]:
    """Callers a principal entry names: an account's root, the ARN itself, a role's session."""
    if entry == "*":
        return ()
    if len(entry) == 12 and entry.isdigit():
        return (f"arn:aws:iam::{entry}:root",)
    if caller_problem(entry) is not None:
        return ()
    parts = entry.split(":", 5)
    if parts[2] == "iam" and parts[5].startswith("role/"):
        role = parts[5].rpartition("/")[2]
        return (entry, f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role}/{PROBE_NAME}")
    return (entry,)


def key_options(policy: Policy) -> tuple[KeyOptions, ...]:
    grouped: dict[str, list[Condition]] = {}
    for statement in policy.statements:
        for condition in statement.conditions:
            lookup = condition.key.lower()
            if lookup not in CALLER_KEYS and lookup not in RESOURCE_KEYS:
                grouped.setdefault(lookup, []).append(condition)
    return tuple(_options(lookup, conditions, policy.substitutes_variables)
                 if spec(lookup) is not None else KeyOptions(conditions[0].key, lookup, (None,),
                                                             None)
                 for lookup, conditions in grouped.items())


_OUTSIDE = "\x00outside"
"""Stands in `randoms` for the address outside every range, found once all are read."""


def _options(lookup: str, conditions: list[Condition], substitutes: bool) -> KeyOptions:
    values: dict[Option, None] = {None: None}
    randoms: list[Option] = []
    strings: list[str] = []
    ranges: list[Range] = []
    for condition in conditions:
        base = condition.operator.base
        family = base.family
        for raw in condition.values:
            if family in (Family.STRING, Family.ARN):
                text = _literal(raw, substitutes, base.comparison is Comparison.LIKE)
                if text is not None:
                    values[text] = None
                    strings.append(text)
            elif family is Family.IP:
                found = read_range(raw)
                if found is not None:
                    ranges.append(found)
                    values[found.first_host()] = None
            elif family is Family.NUMERIC:
                number = read_number(raw)
                if number is not None:
                    for edge in (number, number + 1, number - 1):
                        values[_decimal_text(edge)] = None
            elif family is Family.DATE:
                moment = read_date(raw)
                if moment is not None:  # a bare "2027" is also epoch seconds: probe both
                    readings = (moment, Decimal(raw)) if is_bare_year(raw) else (moment,)
                    for reading in readings:
                        for edge in (reading, reading - 86400, reading + 86400):
                            values[_date_text(edge)] = None
            elif family is Family.BOOL:
                values["true"] = None
                values["false"] = None
            elif family is Family.BINARY:
                values[raw] = None
        if family is Family.IP:
            randoms.append(_OUTSIDE)
        elif family in (Family.STRING, Family.ARN, Family.NULL, Family.BINARY):
            randoms.append(RANDOM_REFERER if lookup == "aws:referer" else RANDOM_TEXT)
    for text in strings[:1]:
        variant = text.swapcase()
        if variant != text:
            values[variant] = None
    if any(c.operator.qualifier for c in conditions):
        first = strings[0] if strings else RANDOM_TEXT
        values[(first, RANDOM_TEXT)] = None
    chosen = list(values)
    truncated = len(chosen) > _MAX_OPTIONS - 2
    chosen = chosen[: _MAX_OPTIONS - 2]
    random_index: int | None = None
    for extra in randoms[:1]:
        if extra == _OUTSIDE:
            extra = _outside(ranges)
        if extra is not None:
            if extra not in chosen:
                chosen.append(extra)
            random_index = chosen.index(extra)
    if lookup == "rum:alias" and RANDOM_SHORT not in chosen:
        chosen.append(RANDOM_SHORT)
    return KeyOptions(conditions[0].key, lookup, tuple(chosen), random_index, truncated)


def _literal(raw: str, substitutes: bool, like: bool) -> str | None:
    """A request value a String/ARN policy value matches: wildcards instantiated under Like
    operators, `${*}` escapes resolved; None when it holds a variable."""
    if substitutes and "${" in raw:
        template, problem = parse_template(raw)
        if problem:
            return raw
        parts = []
        for part in template:
            if isinstance(part, Variable):
                return None
            parts.append(part.char if isinstance(part, Escaped) else
                         (_instantiate(part) if like else part))
        return "".join(parts)
    return _instantiate(raw) if like else raw


_PUBLIC = tuple((candidate, read_address(candidate)) for candidate in (*_PUBLIC_V4, *_PUBLIC_V6))


def _outside(ranges: list[Range]) -> str | None:
    """A public address in none of the ranges (IPv6 when the ranges are all IPv6)."""
    v6 = any(n.version == 6 for n in ranges) and not any(n.version == 4 for n in ranges)
    for candidate, (version, address) in _PUBLIC:
        if (version == 6) != v6:
            continue
        if not any(n.contains(version, address) for n in ranges):
            return candidate
    return None


def _decimal_text(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _date_text(seconds: Decimal) -> str:
    try:
        moment = datetime.fromtimestamp(int(seconds), UTC)
    except (OverflowError, ValueError, OSError):
        return str(int(seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def uses_variables(policy: Policy) -> bool:
    """Whether some value is resolved per request (escapes such as `${*}` are not variables)."""
    if not policy.substitutes_variables:
        return False
    for statement in policy.statements:
        texts = [*(statement.resource or ()), *(statement.not_resource or ())]
        texts += [v for c in statement.conditions for v in c.values]
        for text in texts:
            if "${" in text and has_variables(parse_template(text)[0]):
                return True
    return False
