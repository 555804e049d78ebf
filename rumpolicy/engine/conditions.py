"""One condition judged against a request: IAM's rules for absent keys, IfExists, negation,
ForAnyValue/ForAllValues and multi-valued keys, written once for both evaluators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rumpolicy.engine.decision import ConditionTrace, ContextValue
from rumpolicy.engine.operators import (
    COMPARE,
    TwoReadings,
    prepare,
    read_request_value,
    unreadable_reason,
)
from rumpolicy.engine.request import Request
from rumpolicy.policy.models import Condition
from rumpolicy.policy.operators import Family, Operator
from rumpolicy.policy.variables import Escaped, Template, Variable, parse_template

Parts = list[tuple[str, bool]]


def template_of(text: str, substitutes: bool) -> Template:
    """The value as a template; without substitution (old Version) the text is all policy text."""
    if not substitutes or "${" not in text:
        return (text,)
    template, problem = parse_template(text)
    return (text,) if problem else template


def condition_templates(condition: Condition, substitutes: bool) -> tuple[Template, ...]:
    """The condition's values as templates: variables count only in String and ARN values."""
    family = condition.operator.base.family
    substitutes = substitutes and family in (Family.STRING, Family.ARN)
    return tuple(template_of(v, substitutes) for v in condition.values)


def resolve(template: Template, request: Request | None) -> Parts | None:
    """Substitute variables; None when one has no single value and no default (IAM drops the
    value). Substituted text is literal: a `*` from the request is not a wildcard. Without a
    request (compiling a template that has no variables) nothing is looked up."""
    parts: Parts = []
    for part in template:
        if isinstance(part, str):
            parts.append((part, False))
        elif isinstance(part, Escaped):
            parts.append((part.char, True))
        else:
            value = _variable_value(part, request)
            if value is None:
                return None
            parts.append((value, True))
    return parts


def _variable_value(variable: Variable, request: Request | None) -> str | None:
    value = None if request is None else request.get(variable.key)
    if isinstance(value, str):
        return value
    return variable.default


def resolved_values(
    condition: Condition, templates: Sequence[Template], request: Request | None
) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """(display strings, prepared comparables) of the values that resolve for this request."""
    shown: list[str] = []
    prepared: list[Any] = []
    for template in templates:
        parts = resolve(template, request)
        if parts is None:
            continue
        shown.append("".join(text for text, _ in parts))
        prepared.append(prepare(condition.operator.base, parts))
    return tuple(shown), tuple(prepared)


def judge(
    condition: Condition,
    shown: tuple[str, ...],
    prepared: tuple[Any, ...],
    value: ContextValue | None,
) -> ConditionTrace:
    result, reason = condition_result(condition.operator, prepared, value)
    return ConditionTrace(condition.operator.name, condition.key, shown, value, result, reason)


def condition_result(op: Operator, prepared: tuple[Any, ...], value: ContextValue | None,
                     *, empty_is_value: bool = False) -> tuple[bool | None, str]:
    """The result and reason `judge` puts in its trace, without building the trace: for
    callers that judge many values and keep few traces (the audit's truth table)."""
    if None in prepared:  # only a condition built by hand, not loaded
        return None, "policy_value_unreadable"
    if value == "" and not empty_is_value:
        return _both_readings(op, prepared)
    base = op.base
    if base.family is Family.NULL:
        return _null(op, prepared, value)
    if value is None:
        if op.if_exists:
            if op.qualifier == "ForAnyValue":  # IfExists says true, ForAnyValue false
                return None, "key_absent_for_any_value_if_exists"
            return True, "key_absent_if_exists"
        if op.qualifier == "ForAllValues":
            return True, "key_absent_for_all_values"
        if op.qualifier == "ForAnyValue":
            return False, "key_absent_for_any_value"
        return base.negated, "key_absent_negated" if base.negated else "key_absent"
    if isinstance(value, str):  # the common case: one value, no list to build
        read_one = read_request_value(base, value)
        if read_one is None:
            return None, unreadable_reason(base, value)
        found = _any_hit(COMPARE[base.comparison], read_one, prepared)
        if found is None:
            return None, "policy_date_readings_disagree"
        hit = found != base.negated
        if op.qualifier == "ForAllValues":
            return hit, "all_values_match" if hit else "some_value_does_not_match"
        return hit, "value_matches" if hit else "no_value_matches"
    if op.qualifier is None:
        return None, "multi_valued_key_needs_qualifier"
    read = [read_request_value(base, member) for member in value]
    unread = next((m for m, r in zip(value, read, strict=True) if r is None), None)
    if unread is not None:
        return None, unreadable_reason(base, unread)
    compare = COMPARE[base.comparison]
    members = [_any_hit(compare, r, prepared) for r in read]
    if None in members:
        return None, "policy_date_readings_disagree"
    hits = [m != base.negated for m in members]
    if op.qualifier == "ForAllValues":
        every = all(hits)
        return every, "all_values_match" if every else "some_value_does_not_match"
    ok = any(hits)
    return ok, "value_matches" if ok else "no_value_matches"


def _any_hit(compare: Callable[[Any, Any], bool], read: Any, prepared: tuple[Any, ...]
             ) -> bool | None:
    """Whether `read` compares true with some policy value; None when that depends on which
    reading of a two-reading value (a bare four-digit date) is taken."""
    unsure = False
    for p in prepared:
        if type(p) is TwoReadings:
            first, second = compare(read, p.first), compare(read, p.second)
            if first and second:
                return True
            unsure = unsure or first != second
        elif compare(read, p):
            return True
    return None if unsure else False


def _both_readings(op: Operator, prepared: tuple[Any, ...]) -> tuple[bool | None, str]:
    """An empty string is a present value to the string operators and an absent key to AWS's
    "null data set" (the ForAllValues page): decided only where both readings agree."""
    present = condition_result(op, prepared, "", empty_is_value=True)
    absent = condition_result(op, prepared, None)
    if present[0] is not None and present[0] == absent[0]:
        return present[0], "empty_value_readings_agree"
    return None, "empty_value_readings_disagree"


def _null(op: Operator, prepared: tuple[Any, ...], value: ContextValue | None
          ) -> tuple[bool | None, str]:
    if op.qualifier == "ForAllValues":
        return True, "null_with_for_all_values"
    if op.qualifier == "ForAnyValue":
        return False, "null_with_for_any_value"
    absent = value is None
    ok = absent in prepared
    return ok, ("key_absent" if absent else "key_present") + ("" if ok else "_not_expected")
