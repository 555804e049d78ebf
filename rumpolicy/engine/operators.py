"""How each operator family compares a request value with a policy value, as tables.

`prepare` turns a policy value (already free of variables) into something cheap to compare, once;
`read` turns a request value into the same type, or None when it cannot be read, which the
condition logic treats as undecidable rather than guessing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from rumpolicy.engine import patterns
from rumpolicy.policy.operators import BaseOperator, Comparison, Family
from rumpolicy.policy.values import (
    read_address,
    read_base64,
    read_bool,
    read_date,
    read_network,
    read_number,
)

Parts = patterns.Parts


def _same(text: str) -> str:
    return text


_READ_REQUEST: dict[Family, Callable[[str], Any]] = {
    Family.STRING: _same,
    Family.ARN: _same,
    Family.NUMERIC: read_number,
    Family.DATE: read_date,
    Family.BOOL: read_bool,
    Family.BINARY: read_base64,
    Family.IP: read_address,
}

_READ_POLICY: dict[Family, Callable[[str], Any]] = {
    **_READ_REQUEST,
    Family.IP: read_network,
    Family.NULL: read_bool,
}


def _in_network(address: Any, network: Any) -> bool:
    return bool(address.version == network.version and address in network)


def _like(value: str, pattern: Any) -> bool:
    return pattern.fullmatch(value) is not None


def _equals_ignore_case(value: str, folded: str) -> bool:
    return value.casefold() == folded


COMPARE: dict[Comparison, Callable[[Any, Any], bool]] = {
    Comparison.EQUALS: operator.eq,
    Comparison.EQUALS_IGNORE_CASE: _equals_ignore_case,
    Comparison.LIKE: _like,
    Comparison.LESS: operator.lt,
    Comparison.LESS_EQUALS: operator.le,
    Comparison.GREATER: operator.gt,
    Comparison.GREATER_EQUALS: operator.ge,
    Comparison.IN_RANGE: _in_network,
}


def read_request_value(base: BaseOperator, value: str) -> Any:
    return _READ_REQUEST[base.family](value)


def prepare(base: BaseOperator, parts: Parts) -> Any:
    """A policy value, given as wildcard/literal parts, ready for `COMPARE[base.comparison]`."""
    if base.comparison is Comparison.LIKE:
        if base.family is Family.ARN:
            return patterns.arn_glob(parts, star_may_cross_colons=False)
        return patterns.glob(parts)
    text = patterns.join(parts)
    if base.comparison is Comparison.EQUALS_IGNORE_CASE:
        return text.casefold()
    return _READ_POLICY[base.family](text)
