"""The building blocks: automata read from the engine's regexes, the exploration of signatures,
the case tables, and the interval value spaces."""

from __future__ import annotations

import itertools
import re
import sys
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy.analysis.diff.automata import TokenLanguage, explore, tokens_from_regex
from rumpolicy.analysis.diff.intervals import IpValues, OrderedValues, date_text
from rumpolicy.analysis.diff.strings import StringValues, casefold_atom, equals_atom, regex_atom
from rumpolicy.analysis.diff.unicode_case import ignorecase_equivalents, preimage
from rumpolicy.engine import patterns
from rumpolicy.engine.operators import read_request_value
from rumpolicy.policy.operators import BASE_OPERATORS
from rumpolicy.policy.values import read_date

_PATTERN_TEXT = st.text(alphabet="ab:*?$", max_size=6)
_WORDS = st.text(alphabet="ab:xB", max_size=7)


def _accepts(language: TokenLanguage, text: str) -> bool:
    state = language.start
    for char in text:
        state = language.step(state, char)
    return language.accepts(state)


@settings(max_examples=300, deadline=None)
@given(_PATTERN_TEXT, st.lists(_WORDS, max_size=20), st.booleans())
def test_automata_read_from_engine_regexes_accept_what_the_regexes_match(text, words, arn):
    """StringLike globs and ARN globs (segment rules included) mean the same to the diff as to
    the engine."""
    regex = patterns.arn_glob([(text, False)], star_may_cross_colons=True) if arn \
        else patterns.glob([(text, False)])
    language = TokenLanguage(tokens_from_regex(regex))
    for word in words:
        assert _accepts(language, word) == (regex.fullmatch(word) is not None), (text, word)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PATTERN_TEXT, min_size=1, max_size=3))
def test_exploration_finds_every_signature_short_strings_have(texts):
    """Brute force over every string of up to 5 characters from the interesting alphabet plus
    an outsider finds no signature the exploration missed."""
    regexes = [patterns.glob([(t, False)]) for t in texts]
    found = explore([TokenLanguage(tokens_from_regex(r)) for r in regexes])
    for signature, witness in found.items():
        assert tuple(r.fullmatch(witness) is not None for r in regexes) == signature
    for length in range(6):
        for chars in itertools.product("ab:$x", repeat=length):
            word = "".join(chars)
            assert tuple(r.fullmatch(word) is not None for r in regexes) in found, word


def test_escaped_wildcards_are_literal():
    """`${*}` reaches the engine as a literal `*`; the automaton must not read it as a
    wildcard (IAM policy variables page)."""
    regex = patterns.glob([("a", False), ("*", True)])
    language = TokenLanguage(tokens_from_regex(regex))
    assert _accepts(language, "a*")
    assert not _accepts(language, "ab")


def test_unknown_regex_syntax_is_refused():
    try:
        tokens_from_regex(re.compile("a+", re.DOTALL))
    except ValueError as err:
        assert "'+'" in str(err)
    else:
        raise AssertionError("a '+' must be refused, not guessed")


def test_case_tables_know_the_unicode_special_cases():
    assert "\u017f" in ignorecase_equivalents("s")  # long s matches s under re.IGNORECASE
    assert "\u212a" in ignorecase_equivalents("k")  # Kelvin sign
    assert "\u00df" in preimage("ss", "casefold")   # sharp s folds to "ss"
    assert preimage("a", "casefold") == {"a", "A"}


def test_characters_without_case_match_only_themselves_ignoring_case():
    """The premise of `ignorecase_equivalents`: scanning only cased characters suffices."""
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1)
                         if not 0xD800 <= c < 0xE000)
    for char in "sk-:1i*":
        pattern = re.compile(re.escape(char), re.IGNORECASE)
        assert set(pattern.findall(everything)) == ignorecase_equivalents(char), char


def test_ignore_case_classes_include_exotic_spellings():
    """StringEqualsIgnoreCase `sk` (casefold) also matches the long s and the Kelvin sign:
    the class of `sk` has witnesses beyond ASCII case variants."""
    values = StringValues([casefold_atom("sk", "sk"), equals_atom("sk"), equals_atom("SK"),
                           equals_atom("sK"), equals_atom("Sk")])
    exotic = [w for w, s in zip(values.reps, values.signatures, strict=True)
              if s[0] and not any(s[1:])]
    assert exotic and all(w.casefold() == "sk" for w in exotic)


def test_string_classes_and_words():
    values = StringValues([regex_atom(patterns.glob([("canary-*", False)]), "canary-*"),
                           equals_atom("canary-internal"), equals_atom("shop-v2")])
    canary = values.classify("canary-7")
    assert canary is not None
    assert values.describe(frozenset({canary})) == ["matches `canary-*` except "
                                                    "`canary-internal`"]
    other = values.classify("zzz")
    assert other is not None
    assert values.describe(frozenset({other})) == [
        "is any value not matching `canary-*` and other than `shop-v2`"]


def test_ip_values_cut_at_cidr_boundaries():
    ip = BASE_OPERATORS["IpAddress"]
    networks = [(4, 0xCB007100, 0xFFFFFF00),  # 203.0.113.0/24
                (6, 0x20010DB8 << 96, ((1 << 128) - 1) ^ ((1 << 96) - 1))]
    values = IpValues(networks, lambda s: read_request_value(ip, s))
    inside = values.classify("203.0.113.77")
    assert inside == values.classify("203.0.113.0") == values.classify("203.0.113.255")
    assert values.classify("203.0.114.0") != inside
    assert values.classify("not an ip") == values.unreadable
    assert values.describe(frozenset({inside, values.classify("2001:db8::9")})) == \
        ["is in 203.0.113.0/24 or 2001:db8::/32"]


def test_dates_cut_into_points_and_open_intervals():
    base = BASE_OPERATORS["DateEquals"]
    start, end = read_date("2026-12-01T00:00:00Z"), read_date("2026-12-08T00:00:00Z")
    assert start is not None and end is not None
    values = OrderedValues([start, end], lambda s: read_request_value(base, s), dates=True)
    assert len(values.reps) == 6  # before, at start, between, at end, after, unreadable
    between = values.classify("2026-12-03T10:00:00Z")
    at_start = values.classify("2026-12-01")
    assert between is not None and at_start is not None
    assert values.describe(frozenset({at_start, between})) == [
        "is at or after `2026-12-01T00:00:00Z` and before `2026-12-08T00:00:00Z`"]


@given(st.decimals(min_value=Decimal(-10**10), max_value=Decimal(10**12), places=3))
def test_date_witnesses_read_back_as_the_same_instant(value):
    text = date_text(value)
    if text is not None:
        assert read_date(text) == value


def test_the_first_instant_of_year_one_can_be_a_threshold():
    """The day before 0001-01-01T00:00:00Z can still be named (`+23:59`): the interval before
    it needs a witness (it raised InternalError: 'no date string for the interval')."""
    base = BASE_OPERATORS["DateEquals"]
    first = read_date("0001-01-01")
    assert first is not None
    values = OrderedValues([first], lambda s: read_request_value(base, s), dates=True)
    earlier = values.classify("0001-01-01T00:00:00+01:00")
    assert earlier is not None and earlier != values.classify("0001-01-01T00:00:00Z")
    assert values.reps[earlier].endswith("+23:59")


@given(st.decimals(min_value=Decimal(-62135683140), max_value=Decimal(-62135596800), places=3))
def test_date_witnesses_of_the_last_day_before_year_one_read_back(value):
    text = date_text(value)
    assert text is not None and read_date(text) == value
