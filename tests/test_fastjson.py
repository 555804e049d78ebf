"""The fast JSON path (`rumpolicy/policy/_fastjson.py`) against the lark reference
(`_json.parse_with_lark`): the same positioned values and the same diagnostics for every text,
the same `load_policy` results, and each reason for the fast path to hand over to lark.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import pytest
from _bench import audit_bench  # tests/_bench.py
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rumpolicy as rp
from rumpolicy.policy import _json, loader
from rumpolicy.policy._fastjson import parse_fast
from rumpolicy.policy._json import parse_json, parse_with_lark
from rumpolicy.policy._jvalues import MAX_NESTING, JArray, JObject, JScalar, JString, JValue
from rumpolicy.policy.diagnostics import Diagnostic
from rumpolicy.testing.strategies import policy_documents

ROOT = Path(__file__).resolve().parent.parent
_SETTINGS = settings(max_examples=400, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- comparing the two paths -------------------------------------------------------------------

def shape(node: JValue | None) -> object:
    """Everything a positioned value holds, types included (`1 == 1.0 == True` would hide a
    difference that `==` on the dataclasses lets through; `repr` tells -0.0 from 0.0)."""
    if node is None:
        return None
    if type(node) is JString:
        return ("string", node.value, node.line, node.column)
    if type(node) is JScalar:
        return ("scalar", type(node.value).__name__, repr(node.value), node.text, node.line,
                node.column)
    if type(node) is JArray:
        return ("array", node.line, node.column, tuple(shape(item) for item in node.items))
    assert type(node) is JObject
    return ("object", node.line, node.column,
            tuple((shape(key), shape(value)) for key, value in node.pairs))


def outcome(parse: Callable[[str], tuple[JValue | None, list[Diagnostic]]], text: str) -> object:
    try:
        root, problems = parse(text)
    except Exception as err:  # the reference's own failures must be reproduced too
        return ("raised", type(err).__name__, str(err))
    return shape(root), problems


def assert_same_parse(text: str) -> None:
    reference = outcome(parse_with_lark, text)
    assert outcome(parse_json, text) == reference
    fast = parse_fast(text)
    if fast is not None:
        assert reference == (shape(fast), [])


@contextmanager
def lark_only() -> Iterator[None]:
    with mock.patch.object(loader, "parse_json", parse_with_lark):
        yield


def load_outcome(text: str, kind: str) -> object:
    """All of a load's result: the policy, and what its equality leaves out (text, locations,
    statement and condition paths), or every diagnostic."""
    try:
        policy = rp.load_policy(text, kind=kind)  # type: ignore[arg-type]
    except rp.PolicyError as err:
        return ("error", err.diagnostics)
    except Exception as err:  # the reference's own failures must be reproduced too
        return ("raised", type(err).__name__, str(err))
    return ("policy", policy, policy.text, dict(policy.locations),
            tuple((s.path, tuple(c.path for c in s.conditions)) for s in policy.statements))


def assert_same_load(text: str) -> None:
    for kind in ("resource", "identity"):
        fast = load_outcome(text, kind)
        with lark_only():
            reference = load_outcome(text, kind)
        assert fast == reference


# -- texts -------------------------------------------------------------------------------------

def _fixture_texts() -> list[str]:
    """Every policy the repository ships or tests: the fixture files, each case file as a whole,
    and each case's policy text (or its mapping, rendered as `load_policy` renders one)."""
    texts = list(POLICY_FIXTURES)
    for path in sorted((ROOT / "tests" / "cases").rglob("*.json")):
        raw = path.read_text(encoding="utf-8")
        texts.append(raw)
        doc = json.loads(raw)
        for case in doc["cases"]:
            if isinstance(case.get("text"), str):
                texts.append(case["text"])
            for policy in (case.get("policy"), *case.get("identity_policies", ())):
                if isinstance(policy, str):
                    texts.append(policy)
                elif isinstance(policy, dict):
                    texts.append(json.dumps(policy, indent=2, ensure_ascii=False))
    return texts


POLICY_FIXTURES = [p.read_text(encoding="utf-8")
                   for p in sorted((ROOT / "fixtures" / "policies").rglob("*.json"))]
FIXTURE_TEXTS = _fixture_texts()
BENCH_TEXTS: list[str] = audit_bench().corpus(150)
"""The audit bench's generated corpus, the workload the fast path is for."""

_WHITESPACE = st.one_of(st.sampled_from(("", "", " ", "\n", "\n  ", "\r\n\t", "\n    ")),
                        st.text(alphabet=" \t\r\n", max_size=4))
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                  "\r": "\\r", "\t": "\\t"}
_CHARACTERS = st.one_of(
    st.characters(codec="ascii"),
    st.characters(),  # any code point but surrogates
    st.sampled_from(("\ud800", "\udc00", "\udbff", "é", "中", "😀", "\u2028", "\x7f", "\x85",
                     "\ufeff", '"', "\\", "/", "\x00", "\x1f")),
)
_NUMBER_SPELLINGS = st.from_regex(
    r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)


class _Pairs(tuple):  # type: ignore[type-arg]
    """An object as written: its (key, value) pairs, duplicates allowed."""


class _Number(str):
    """A number as spelled in the text."""

    __slots__ = ()


@st.composite
def _spelled(draw: st.DrawFn, value: str) -> str:
    """`value` as a JSON string token, each character raw or escaped in one of the ways JSON
    allows (control characters, quotes and backslashes always escaped)."""
    out = []
    for char in value:
        how = draw(st.sampled_from(("raw", "raw", "short", "u", "U")))
        if how == "short" and char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif how in ("u", "U") or char in '"\\' or char < " ":
            units = char.encode("utf-16-be", "surrogatepass")
            for index in range(0, len(units), 2):
                escape = f"\\u{int.from_bytes(units[index:index + 2], 'big'):04x}"
                out.append(escape.upper().replace("\\U", "\\u") if how == "U" else escape)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@st.composite
def _written(draw: st.DrawFn, value: Any) -> str:
    """`value` as JSON text with random whitespace between tokens and random string escapes."""
    if isinstance(value, _Number):
        return str(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return draw(_spelled(value))
    if isinstance(value, list):
        items = [draw(_WHITESPACE) + draw(_written(item)) + draw(_WHITESPACE) for item in value]
        return "[" + (",".join(items) if items else draw(_WHITESPACE)) + "]"
    pairs = value if isinstance(value, _Pairs) else _Pairs(value.items())
    members = [draw(_WHITESPACE) + draw(_spelled(key)) + draw(_WHITESPACE) + ":"
               + draw(_WHITESPACE) + draw(_written(member)) + draw(_WHITESPACE)
               for key, member in pairs]
    return "{" + (",".join(members) if members else draw(_WHITESPACE)) + "}"


@st.composite
def _document(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> str:
    return draw(_WHITESPACE) + draw(_written(draw(values))) + draw(_WHITESPACE)


def _strings(max_size: int) -> st.SearchStrategy[str]:
    # Not st.text: it drops surrogates from any alphabet, and lone surrogates are a fallback.
    return st.lists(_CHARACTERS, max_size=max_size).map("".join)


_KEYS = st.one_of(st.sampled_from(("a", "Version", "Statement", "Effect", "", "é")),
                  _strings(4))
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**30, 10**30),
              st.floats(allow_nan=False, allow_infinity=False),
              _NUMBER_SPELLINGS.map(_Number), _strings(8),
              # json accepts these, the grammar does not: "JSON-ish"
              st.sampled_from(("NaN", "Infinity", "-Infinity")).map(_Number)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(_KEYS, children), max_size=4).map(_Pairs)),
    max_leaves=24,
)
JSON_TEXTS = _document(_JSON_VALUES)
POLICY_TEXTS = st.one_of(_document(policy_documents()), _document(policy_documents(True)))

_NOISE = ('{', '}', '[', ']', '"', ':', ',', '\\', 'n', 't', 'u', 'e', 'E', '0', '1', '9', '.',
          '-', '+', ' ', '\t', '\r', '\n', '\x00', '\x0b', '\x0c', '\x1f', '\ufeff', '\ud800',
          '\udc00', 'é', '😀', '\u00a0', '\u0661', 'NaN', 'Infinity', 'true', '\\u', '\\ud800',
          '1e999', '9' * 30, '/', "'")


@st.composite
def _mutated(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> str:
    """A text with one to four characters inserted, deleted or replaced: mostly invalid JSON,
    some of it still valid but different."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(("insert", "delete", "replace")))
        noise = draw(st.sampled_from(_NOISE))
        if how == "insert":
            text = text[:at] + noise + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + noise + text[at + 1:]
    return text


_SURROGATE_ANYWHERE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


# -- properties --------------------------------------------------------------------------------

@_SETTINGS
@given(JSON_TEXTS)
@example('{"a": 1, "a": [true, false, null, -0, -0.0, 1E+2, 0.5e-3], "": {}}')
@example(' \r\n[\r\n\t"é😀", "\\u00e9", "\\/\\"\\\\\\b\\f\\n\\r\\t", 12345678901234567890]\n')
def test_generated_json_parses_the_same_on_both_paths(text: str) -> None:
    assert_same_parse(text)
    # Everything else generated here is valid JSON the grammar accepts, which the fast path
    # must answer itself.
    if not _SURROGATE_ANYWHERE.search(text) and "NaN" not in text and "Infinity" not in text:
        assert parse_fast(text) is not None


@_SETTINGS
@given(_mutated(st.one_of(JSON_TEXTS, st.sampled_from(FIXTURE_TEXTS))))
def test_mutated_texts_parse_the_same_on_both_paths(text: str) -> None:
    assert_same_parse(text)


@settings(_SETTINGS, max_examples=200)
@given(st.one_of(POLICY_TEXTS, _mutated(POLICY_TEXTS), _mutated(st.sampled_from(FIXTURE_TEXTS)),
                 _mutated(st.sampled_from(BENCH_TEXTS))))
def test_load_policy_gives_the_same_result_on_both_paths(text: str) -> None:
    assert_same_load(text)


# -- the corpus --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", FIXTURE_TEXTS, ids=lambda text: f"{len(text)}b")
def test_every_fixture_and_case_text_matches(text: str) -> None:
    assert_same_parse(text)
    assert_same_load(text)


@pytest.mark.parametrize("text", POLICY_FIXTURES + BENCH_TEXTS, ids=lambda text: f"{len(text)}b")
def test_shipped_and_bench_policies_take_the_fast_path(text: str) -> None:
    assert parse_fast(text) is not None
    assert_same_parse(text)


def test_valid_policies_never_reach_lark() -> None:
    """The point of the fast path: loading a valid policy runs no LALR parse at all."""
    def refuse(text: str) -> tuple[JValue | None, list[Diagnostic]]:
        raise AssertionError("lark was asked")

    with mock.patch.object(_json, "parse_with_lark", refuse):
        for text in POLICY_FIXTURES + BENCH_TEXTS[:20]:
            try:
                rp.load_policy(text)
            except rp.PolicyError as err:  # bench policies with a deliberate mistake
                assert all(d.code != "json-syntax" for d in err.diagnostics)


# -- positions ---------------------------------------------------------------------------------

def test_positions_count_characters_and_only_newline_ends_a_line() -> None:
    text = '{\r\n  "é😀": "x",\r\n\t"b": [1.50, -0, 1E+2, true, null],\r"c":\r{}}'
    root = parse_fast(text)
    assert root is not None
    assert shape(root) == ("object", 1, 1, (
        (("string", "é😀", 2, 3), ("string", "x", 2, 9)),
        (("string", "b", 3, 2), ("array", 3, 7, (
            ("scalar", "float", "1.5", "1.50", 3, 8),
            ("scalar", "int", "0", "-0", 3, 14),
            ("scalar", "float", "100.0", "1E+2", 3, 18),
            ("scalar", "bool", "True", "true", 3, 24),
            ("scalar", "NoneType", "None", "null", 3, 30)))),
        (("string", "c", 3, 37), ("object", 3, 42, ())),
    ))
    assert_same_parse(text)


def test_escaped_strings_keep_their_place() -> None:
    text = '["a\\"b\\\\", "\\u00e9\\n", "c", {"\\u0061": "\\/", "a": 1}]'
    root = parse_fast(text)
    assert isinstance(root, JArray)
    assert [item.column for item in root.items] == [2, 12, 24, 29]
    assert shape(root.items[3]) == ("object", 1, 29, (
        (("string", "a", 1, 30), ("string", "/", 1, 40)),
        (("string", "a", 1, 46), ("scalar", "int", "1", "1", 1, 51))))
    assert_same_parse(text)


# -- each reason to hand over to lark ----------------------------------------------------------

FALLBACKS = {
    "syntax error": '{"a": }',
    "trailing comma": '{"a": 1,}',
    "text ends early": '{"a": [1, 2',
    "extra data": '{} {}',
    "empty": "",
    "only whitespace": " \n ",
    "raw control character in a string": '{"a": "x\ty"}',
    "raw NUL in a key": '{"a\x00": 1}',
    "raw newline in a string": '["a\nb"]',
    "bad escape": '["\\x41"]',
    "short unicode escape": '["\\u12"]',
    "lone surrogate escape": '{"a": "\\ud800"}',
    "lone low surrogate escape": '["x\\uDC00y"]',
    "escaped surrogate pair": '["\\ud83d\\ude00"]',
    "raw lone surrogate": '["\ud800"]',
    "raw surrogate in a key": '{"\udfff": 1}',
    "NaN": "[NaN]",
    "Infinity": '{"a": Infinity}',
    "-Infinity": "[-Infinity]",
    "byte-order mark": '\ufeff{"a": 1}',
    "form feed between tokens": '{"a":\x0c1}',
    "no-break space between tokens": '\u00a0{}',
    "vertical tab at the end": "{}\x0b",
    "leading zero": "[01]",
    "non-ASCII digit": "[\u0661]",
    "single quotes": "{'a': 1}",
    "integer too long to convert": '{"a": ' + "7" * 5000 + "}",
    "nesting deeper than the fast path builds": "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1),
}


@pytest.mark.parametrize("text", FALLBACKS.values(), ids=FALLBACKS.keys())
def test_what_the_fast_path_cannot_reproduce_goes_to_lark(text: str) -> None:
    assert parse_fast(text) is None
    assert_same_parse(text)
    assert_same_load(text)


def test_fallbacks_that_lark_reports_per_string_keep_their_diagnostics() -> None:
    for text in ('{"a": "x\ty"}', '["\\x41"]', '{"a": "\\ud800"}', '["\ud800"]'):
        root, problems = parse_json(text)
        assert root is not None
        assert [p.code for p in problems] == ["invalid-string"]
    root, problems = parse_json('["\\ud83d\\ude00"]')
    assert isinstance(root, JArray) and root.items[0] == JString("😀", 1, 2)
    assert problems == []


def test_the_deepest_nesting_the_fast_path_builds() -> None:
    text = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse_fast(text) is not None
    assert_same_parse(text)


def test_numbers_keep_their_spelling_and_type() -> None:
    root = parse_fast('[0, -0, 0.0, -0.0, 1e2, 1E-2, 2.50, 123456789012345678901234567890, 1e400]')
    assert isinstance(root, JArray)
    got = [(type(n.value).__name__, repr(n.value), n.text) for n in root.items
           if isinstance(n, JScalar)]
    assert got == [("int", "0", "0"), ("int", "0", "-0"), ("float", "0.0", "0.0"),
                   ("float", "-0.0", "-0.0"), ("float", "100.0", "1e2"),
                   ("float", "0.01", "1E-2"), ("float", "2.5", "2.50"),
                   ("int", "123456789012345678901234567890", "123456789012345678901234567890"),
                   ("float", "inf", "1e400")]


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("[" * 900 + "]" * 900, "resource", "nested more than 64 levels deep"),
    # A resource policy this long is refused by size before parsing; an identity policy has
    # no size limit here, so it reaches the parser.
    ('{"Version": ' + "1" * 5000 + "}", "identity", "a number of 5000 characters"),
])
def test_json_this_parser_will_not_build_is_a_diagnostic_not_a_traceback(
        text: str, kind: Literal["resource", "identity"], message: str) -> None:
    """docs/semantics.md, Loading: deeper nesting would exhaust Python's recursion limit, and
    Python refuses integers of more than 4300 digits; both were tracebacks before."""
    with pytest.raises(rp.PolicyError) as caught:
        rp.load_policy(text, kind=kind)
    found = [d for d in caught.value.diagnostics if d.code == "json-syntax"]
    assert found and message in found[0].message
