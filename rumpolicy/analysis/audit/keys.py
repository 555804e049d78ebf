"""The condition keys a PutRumEvents request can carry, with the type IAM gives each.

Global keys follow the IAM global condition context keys page; `rum:alias` is the one service key
the RUM user guide documents (the Service Authorization Reference lists none). Tag keys
(`aws:ResourceTag/...`) are matched by prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rumpolicy.policy.operators import Family


class KeyType(StrEnum):
    STRING = "String"
    ARN = "ARN"
    IP = "IP address"
    DATE = "Date"
    NUMERIC = "Numeric"
    BOOL = "Bool"
    DATE_OR_NUMERIC = "Date or Numeric"


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    type: KeyType
    multivalued: bool = False


ALIAS = "rum:alias"

_S, _A, _I, _D, _N, _B = (KeyType.STRING, KeyType.ARN, KeyType.IP, KeyType.DATE,
                          KeyType.NUMERIC, KeyType.BOOL)

_GLOBAL: tuple[KeySpec, ...] = (
    KeySpec("aws:CalledVia", _S, True), KeySpec("aws:CalledViaFirst", _S),
    KeySpec("aws:CalledViaLast", _S), KeySpec("aws:ViaAWSService", _B),
    KeySpec("aws:CurrentTime", _D), KeySpec("aws:EpochTime", KeyType.DATE_OR_NUMERIC),
    KeySpec("aws:FederatedProvider", _S), KeySpec("aws:MultiFactorAuthAge", _N),
    KeySpec("aws:MultiFactorAuthPresent", _B), KeySpec("aws:PrincipalAccount", _S),
    KeySpec("aws:PrincipalArn", _A), KeySpec("aws:PrincipalIsAWSService", _B),
    KeySpec("aws:PrincipalOrgID", _S), KeySpec("aws:PrincipalOrgPaths", _S, True),
    KeySpec("aws:PrincipalServiceName", _S), KeySpec("aws:PrincipalServiceNamesList", _S, True),
    KeySpec("aws:PrincipalType", _S), KeySpec("aws:referer", _S),
    KeySpec("aws:RequestedRegion", _S), KeySpec("aws:ResourceAccount", _S),
    KeySpec("aws:ResourceOrgID", _S), KeySpec("aws:ResourceOrgPaths", _S, True),
    KeySpec("aws:SecureTransport", _B), KeySpec("aws:SourceAccount", _S),
    KeySpec("aws:SourceArn", _A), KeySpec("aws:SourceIdentity", _S),
    KeySpec("aws:SourceIp", _I), KeySpec("aws:SourceOrgID", _S),
    KeySpec("aws:SourceOrgPaths", _S, True), KeySpec("aws:SourceVpc", _S),
    KeySpec("aws:SourceVpce", _S), KeySpec("aws:SourceVpcArn", _A),
    KeySpec("aws:TagKeys", _S, True), KeySpec("aws:TokenIssueTime", _D),
    KeySpec("aws:UserAgent", _S), KeySpec("aws:userid", _S), KeySpec("aws:username", _S),
    KeySpec("aws:VpcSourceIp", _I), KeySpec("aws:VpceAccount", _S),
    KeySpec("aws:VpceOrgID", _S), KeySpec("aws:VpceOrgPaths", _S, True),
    KeySpec("aws:Ec2InstanceSourceVpc", _S), KeySpec("aws:Ec2InstanceSourcePrivateIPv4", _I),
    KeySpec("aws:AssumedRoot", _B),
)
_TAG_PREFIXES = ("aws:resourcetag/", "aws:requesttag/", "aws:principaltag/")

KNOWN: dict[str, KeySpec] = {spec.name.lower(): spec for spec in (*_GLOBAL, KeySpec(ALIAS, _S))}

# Which operator families can read a value of each type. Null reads any key.
FAMILIES: dict[KeyType, frozenset[Family]] = {
    KeyType.STRING: frozenset({Family.STRING}),
    KeyType.ARN: frozenset({Family.ARN, Family.STRING}),
    KeyType.IP: frozenset({Family.IP}),
    KeyType.DATE: frozenset({Family.DATE}),
    KeyType.NUMERIC: frozenset({Family.NUMERIC}),
    KeyType.BOOL: frozenset({Family.BOOL}),
    KeyType.DATE_OR_NUMERIC: frozenset({Family.DATE, Family.NUMERIC}),
}

SUGGESTED_OPERATOR: dict[KeyType, str] = {
    KeyType.STRING: "StringEquals or StringLike",
    KeyType.ARN: "ArnLike or ArnEquals",
    KeyType.IP: "IpAddress or NotIpAddress",
    KeyType.DATE: "DateLessThan, DateGreaterThan and the other Date operators",
    KeyType.NUMERIC: "NumericLessThan, NumericEquals and the other Numeric operators",
    KeyType.BOOL: "Bool",
    KeyType.DATE_OR_NUMERIC: "the Date or Numeric operators",
}


def spec(key: str) -> KeySpec | None:
    """The key's spec, or None when IAM does not define it (tag keys need a tag name)."""
    lowered = key.lower()
    found = KNOWN.get(lowered)
    if found is not None:
        return found
    for prefix in _TAG_PREFIXES:
        if lowered.startswith(prefix) and len(lowered) > len(prefix):
            return KeySpec(key, _S)
    return None


def nearest_global(key: str) -> str | None:
    import difflib

    names = {name: spec.name for name, spec in KNOWN.items() if name.startswith("aws:")}
    lowered = key.lower()
    for prefix in _TAG_PREFIXES:
        if lowered == prefix.rstrip("/"):
            return f"{key}/TAGNAME"
    close = difflib.get_close_matches(lowered, list(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


def looks_like_alias(key: str) -> bool:
    """A key that is probably a misspelt `rum:alias` (`rum:alais`, `aws:alias`, `rum:aliases`)."""
    import difflib

    lowered = key.lower()
    if lowered == ALIAS:
        return False
    _, _, name = lowered.partition(":")
    return (name in ("alias", "aliases", "alias-name", "aliasname", "rumalias")
            or difflib.SequenceMatcher(None, lowered, ALIAS).ratio() >= 0.8
            or difflib.SequenceMatcher(None, name, "alias").ratio() >= 0.8)
