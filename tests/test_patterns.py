"""Wildcard patterns (engine/patterns.py): the same matches as the plain translation of `*` and
`?`, without its backtracking on long values a caller sends (docs/semantics.md, Conditions)."""

from __future__ import annotations

import re
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from rumpolicy.analysis.diff.automata import tokens_from_regex
from rumpolicy.engine import patterns

_TEXT = st.text(alphabet="ab/*?.:", max_size=12)
_VALUES = st.text(alphabet="ab/.:xA", max_size=24)


def _plain(text: str, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` as `.*`, `?` as `.`: the reference, which backtracks."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@given(_TEXT, st.lists(_VALUES, max_size=8), st.booleans())
def test_a_glob_matches_what_the_plain_translation_matches(text, values, ignore_case):
    found = patterns.glob([(text, False)], ignore_case=ignore_case)
    reference = _plain(text, ignore_case)
    for value in [*values, text, text.replace("*", "ab").replace("?", "x")]:
        assert bool(found.fullmatch(value)) == bool(reference.fullmatch(value)), (text, value)


@given(_TEXT)
def test_the_diff_reads_the_same_tokens_as_from_the_plain_translation(text):
    """The diff builds its automata from the expression's text (automata.tokens_from_regex);
    the atomic groups must not change what it reads. Runs of stars read as one."""
    squeezed = re.sub(r"\*+", "*", text)
    assert tokens_from_regex(patterns.glob([(text, False)])) == \
        tokens_from_regex(_plain(squeezed))


@given(st.text(alphabet="ab*?", max_size=10), st.lists(_VALUES, max_size=6))
def test_an_arn_resource_segment_matches_as_before(resource, values):
    arn = f"arn:aws:rum:us-east-1:123456789012:appmonitor/{resource}"
    found = patterns.arn_glob([(arn, False)], star_may_cross_colons=True)
    reference = re.compile(re.escape("arn:aws:rum:us-east-1:123456789012:appmonitor/")
                           + _plain(resource).pattern, re.DOTALL)
    for value in values:
        full = f"arn:aws:rum:us-east-1:123456789012:appmonitor/{value}"
        assert bool(found.fullmatch(full)) == bool(reference.fullmatch(full))


def test_many_stars_on_a_long_value_that_almost_matches_do_not_backtrack():
    """`*/*/*/*.html` on 800 slashes took 11 s (review); a referer may be 16 KB. Run in a
    child with a deadline so that a regression fails rather than hangs the suite."""
    code = ("from rumpolicy.engine import patterns\n"
            "assert patterns.glob([('*/*/*/*.html', False)]).fullmatch('/' * 16_000) is None\n"
            "assert patterns.glob([('*a*a*a*b', False)]).fullmatch('a' * 16_000) is None\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
