"""ARN structure: `arn:partition:service:region:account:resource`, as IAM validates it."""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"
"""The account and Region every command assumes where none is given (a `--monitor` NAME, a
template's ${AWS::AccountId}): the gate's defaults and AWS's documentation examples."""
APP_MONITOR_NAME = re.compile(r"(?!\.)[.\-_#A-Za-z0-9]{1,255}")
"""AppMonitorName in the RUM API model."""
APP_MONITOR_ARN = re.compile(r"arn:[a-z][a-z0-9-]*:rum:[a-z0-9-]+:\d{12}:appmonitor/"
                             + APP_MONITOR_NAME.pattern)

_PARTITION = re.compile(r"[a-z][a-z0-9-]*|[a-z0-9*?-]+")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]*")
_REGION = re.compile(r"[a-z0-9*?-]*")
_ACCOUNT = re.compile(r"[\d?]{12}|[\d?]*\*[\d*?]*|aws|")
"""12 digits, any of them `?`, or a `*` run anywhere (IAM allows wildcards in any segment but
the service: aws-facts §5, Resource)."""


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def split_arn(text: str) -> Arn | None:
    """The six parts of an ARN, or None if `text` does not have them."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])


def arn_problem(text: str, *, service_wildcards: bool = False) -> str | None:
    """What is wrong with `text` as an ARN pattern, in words for the user; None if nothing."""
    arn = split_arn(text)
    if arn is None and text.endswith("*") and text.count(":") >= 3:
        # A trailing `*` may run past the remaining colons (IAM Resource element page).
        arn = split_arn(text + ":" * (5 - text.count(":")) + "*")
    if arn is None:
        if not text.startswith("arn:"):
            return f"'{text}' is not an ARN: it must start with 'arn:'"
        return (f"'{text}' is not a complete ARN: expected "
                "arn:partition:service:region:account:resource")
    if not _PARTITION.fullmatch(arn.partition):
        return f"'{arn.partition}' is not a valid ARN partition (such as aws)"
    if not arn.service:
        return f"the ARN '{text}' has an empty service"
    if not service_wildcards and not _SERVICE.fullmatch(arn.service):
        return f"'{arn.service}' is not a valid service in an ARN (lowercase, no wildcards)"
    if not _REGION.fullmatch(arn.region):
        return f"'{arn.region}' is not a valid region in an ARN"
    if not _ACCOUNT.fullmatch(arn.account):
        return f"'{arn.account}' is not a valid account in an ARN: use 12 digits"
    if not arn.resource:
        return f"the ARN '{text}' has an empty resource part"
    return None
