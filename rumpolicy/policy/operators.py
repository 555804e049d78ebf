"""The condition operators IAM knows, as a table.

The loader uses it to reject unknown operators and to validate values by type; the engine uses
the same entries to compare. Adding an operator is one row here plus its comparison in
`rumpolicy.engine.operators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class Comparison(StrEnum):
    EQUALS = "equals"
    LIKE = "like"
    EQUALS_IGNORE_CASE = "equals_ignore_case"
    LESS = "less"
    LESS_EQUALS = "less_equals"
    GREATER = "greater"
    GREATER_EQUALS = "greater_equals"
    IN_RANGE = "in_range"
    IS_NULL = "is_null"


@dataclass(frozen=True, slots=True)
class BaseOperator:
    name: str
    family: Family
    comparison: Comparison
    negated: bool = False

    @property
    def takes_variables(self) -> bool:
        """Policy variables are substituted only in String and ARN values (IAM variables page)."""
        return self.family in (Family.STRING, Family.ARN)


def _row(name: str, family: Family, comparison: Comparison, negated: bool = False) -> BaseOperator:
    return BaseOperator(name, family, comparison, negated)


_S, _N, _D = Family.STRING, Family.NUMERIC, Family.DATE
_C = Comparison

BASE_OPERATORS: dict[str, BaseOperator] = {
    op.name: op
    for op in (
        _row("StringEquals", _S, _C.EQUALS),
        _row("StringNotEquals", _S, _C.EQUALS, negated=True),
        _row("StringEqualsIgnoreCase", _S, _C.EQUALS_IGNORE_CASE),
        _row("StringNotEqualsIgnoreCase", _S, _C.EQUALS_IGNORE_CASE, negated=True),
        _row("StringLike", _S, _C.LIKE),
        _row("StringNotLike", _S, _C.LIKE, negated=True),
        _row("NumericEquals", _N, _C.EQUALS),
        _row("NumericNotEquals", _N, _C.EQUALS, negated=True),
        _row("NumericLessThan", _N, _C.LESS),
        _row("NumericLessThanEquals", _N, _C.LESS_EQUALS),
        _row("NumericGreaterThan", _N, _C.GREATER),
        _row("NumericGreaterThanEquals", _N, _C.GREATER_EQUALS),
        _row("DateEquals", _D, _C.EQUALS),
        _row("DateNotEquals", _D, _C.EQUALS, negated=True),
        _row("DateLessThan", _D, _C.LESS),
        _row("DateLessThanEquals", _D, _C.LESS_EQUALS),
        _row("DateGreaterThan", _D, _C.GREATER),
        _row("DateGreaterThanEquals", _D, _C.GREATER_EQUALS),
        _row("Bool", Family.BOOL, _C.EQUALS),
        _row("BinaryEquals", Family.BINARY, _C.EQUALS),
        _row("IpAddress", Family.IP, _C.IN_RANGE),
        _row("NotIpAddress", Family.IP, _C.IN_RANGE, negated=True),
        _row("ArnEquals", Family.ARN, _C.LIKE),
        _row("ArnLike", Family.ARN, _C.LIKE),
        _row("ArnNotEquals", Family.ARN, _C.LIKE, negated=True),
        _row("ArnNotLike", Family.ARN, _C.LIKE, negated=True),
        _row("Null", Family.NULL, _C.IS_NULL),
    )
}

QUALIFIERS = ("ForAnyValue", "ForAllValues")
_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class Operator:
    """A full operator as written: `[ForAnyValue:|ForAllValues:]Base[IfExists]`."""

    base: BaseOperator
    qualifier: str | None = None
    if_exists: bool = False

    @property
    def name(self) -> str:
        prefix = f"{self.qualifier}:" if self.qualifier else ""
        return f"{prefix}{self.base.name}{_IF_EXISTS if self.if_exists else ''}"


def parse_operator(text: str) -> Operator | None:
    """The operator `text` names, or None. Names are case-sensitive, as in AWS's grammar."""
    qualifier: str | None = None
    rest = text
    if ":" in text:
        qualifier, _, rest = text.partition(":")
        if qualifier not in QUALIFIERS:
            return None
    if_exists = rest.endswith(_IF_EXISTS) and rest != _IF_EXISTS
    base = BASE_OPERATORS.get(rest[: -len(_IF_EXISTS)] if if_exists else rest)
    if base is None or (if_exists and base.family is Family.NULL):
        return None
    return Operator(base, qualifier, if_exists)


def suggest_operator(text: str) -> str | None:
    """A likely intended operator name for an unknown one (wrong case, a typo)."""
    import difflib

    names = [op.name for op in BASE_OPERATORS.values()]
    candidates = names + [f"{n}IfExists" for n in names if n != "Null"]
    candidates += [f"{q}:{c}" for q in QUALIFIERS for c in candidates]
    lowered = {c.lower(): c for c in candidates}
    if text.lower() in lowered:
        return lowered[text.lower()]
    close = difflib.get_close_matches(text, candidates, n=1, cutoff=0.8)
    return close[0] if close else None
