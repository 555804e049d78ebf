"""json_rules.py against an independent reading: Python's json with a hook that sees every
member, and a plain recursive depth count."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy.gate.json_rules import MAX_DEPTH, deeper_than, locate_problem, text_problem


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def has_duplicate(text: bytes) -> bool:
    found = False

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({name for name, _ in members}) < len(members)
        return dict(members)

    json.loads(text, object_pairs_hook=pairs)
    return found


names = st.sampled_from(["a", "b", ":", "a:b", "\u00e9", "\"", "\\", "RumEvents"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(":ab\"\\é", max_size=4))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.lists(st.tuples(names, inner), max_size=4)), max_leaves=12)
"""JSON values whose objects are member lists, so that a name may repeat."""


def write(value: Any, escape_colons: bool, spaced: bool) -> str:
    """JSON text for `values`, with duplicates kept, `:` inside strings escaped as \\u003a when
    asked, and whitespace around the structure when asked."""
    gap = " \n" if spaced else ""
    if isinstance(value, list) and all(isinstance(m, tuple) for m in value) and value:
        members = [f"{write(n, escape_colons, spaced)}{gap}:{gap}{write(v, escape_colons, spaced)}"
                   for n, v in value]
        return "{" + f",{gap}".join(members) + "}"
    if isinstance(value, list):
        return "[" + f",{gap}".join(write(v, escape_colons, spaced) for v in value) + "]"
    text = json.dumps(value)
    return text.replace(":", "\\u003a") if escape_colons and isinstance(value, str) else text


def wrapped(text: str, levels: int) -> str:
    return "[" * levels + text + "]" * levels


@settings(max_examples=400, deadline=None)
@given(values, st.booleans(), st.booleans(), st.integers(0, 70))
def test_a_problem_is_found_exactly_when_python_sees_one(value: Any, escape: bool, spaced: bool,
                                                        levels: int) -> None:
    text = wrapped(write(value, escape, spaced), levels).encode()
    parsed = orjson.loads(text)
    expected = has_duplicate(text) or depth(parsed) > MAX_DEPTH
    assert (text_problem(text, parsed) is not None) == expected
    assert deeper_than(parsed) == (depth(parsed) > MAX_DEPTH)


@settings(max_examples=200, deadline=None)
@given(values, st.booleans())
def test_a_duplicate_is_located_at_its_second_name(value: Any, spaced: bool) -> None:
    text = write(value, False, spaced).encode()
    problem = locate_problem(text)
    if not has_duplicate(text):
        assert problem is None
        return
    assert problem is not None
    message, offset = problem
    name = json.JSONDecoder().raw_decode(text[offset:].decode())[0]
    assert message == f"duplicate member {json.dumps(name)}"
    before = text[:offset].decode()
    assert before.rstrip().endswith(("{", ","))  # a member name, not a value


def test_depth_is_located_at_the_bracket_that_goes_too_deep() -> None:
    text = b'{"a": ' + wrapped("1", MAX_DEPTH).encode() + b"}"
    assert locate_problem(text) == (f"nested more than {MAX_DEPTH} levels deep",
                                    6 + MAX_DEPTH - 1)
