"""Replay: per-alias counts, changed decisions with examples, bad lines with their numbers,
streaming in bounded memory, and counts that equal a naive loop of `rumpolicy.evaluate`."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rumpolicy import Effect, Request, evaluate
from rumpolicy.analysis.replay import Replayer, format_report
from rumpolicy.analysis.replay.report import OTHER_ALIASES
from rumpolicy.policy import Policy
from rumpolicy.testing.strategies import policies, requests

from ._helpers import MONITOR, OTHER, alias_in, policy, replayed, statement
from ._helpers import request_line as _line


def _policy(aliases: list[str], deny: list[str] | None = None) -> Policy:
    statements = [statement(condition=alias_in(aliases))]
    if deny:
        statements.append(statement("Deny", alias_in(deny)))
    return policy(*statements)


NEW = _policy(["v2"], deny=["v0"])
OLD = _policy(["v1", "v2"])


def _log_line(request_line: str, n: int, effect: str = "allow") -> str:
    """A decision-log record (docs/decision-log.md) around a request line."""
    return json.dumps({"v": 1, "time": f"2026-11-26T10:00:{n % 60:02d}.{n % 1000:03d}Z",
                       "request_id": f"7f3c{n:08x}", "monitor_id": "0d4e", "monitor": "shop",
                       "request": json.loads(request_line), "effect": effect,
                       "reason": "x", "status": 200})


def _replay(text: str, policy: Policy = NEW, **options: Any) -> Replayer:
    return replayed(text, policy, **options)


def _table(replayer: Replayer) -> dict[Any, dict[str, int]]:
    report = replayer.report(policy_name="new.json", against_name="old.json")
    return {row.alias: {e.value: n for e, n in row.counts.items() if n} for row in report.aliases}


def test_counts_per_alias_for_both_formats_and_blank_lines():
    lines = [_line("v2")] * 3 + [_line("v1"), _line(None), "", "   ",
                                 _log_line(_line("v2"), 1), _log_line(_line("v0"), 2)]
    replayer = _replay("\n".join(lines) + "\n")
    assert replayer.records == 7 and replayer.bad == 0
    assert _table(replayer) == {"v2": {"allow": 4}, "v1": {"implicit_deny": 1},
                                None: {"implicit_deny": 1}, "v0": {"explicit_deny": 1}}


def test_the_last_line_needs_no_newline_and_crlf_is_accepted():
    replayer = _replay(_line("v2") + "\r\n" + _line("v2"))
    assert _table(replayer) == {"v2": {"allow": 2}}


def test_against_reports_changes_with_counts_and_examples():
    lines = [_line("v2"), _line("v1"), _line("v1", aws_SourceIp="1"), _line("v0"),
             _line("v1"), _line("v0")]
    replayer = _replay("\n".join(lines) + "\n", against=OLD)
    report = replayer.report(policy_name="new.json", against_name="old.json")
    assert report.records == 6 and report.changed == 5
    by_kind = {(c.before, c.now): c for c in report.changes}
    lost = by_kind[(Effect.ALLOW, Effect.IMPLICIT_DENY)]
    assert lost.count == 3 and lost.aliases == (("v1", 3),)
    # One example per (change, alias): the first request, with its line number.
    (example,) = lost.examples
    assert (example.source, example.line) == ("log.jsonl", 2)
    assert example.request == json.loads(lines[1])
    assert (example.reason_before, example.reason_now) == ("resource_policy_allow",
                                                           "no_matching_allow")
    denied = by_kind[(Effect.IMPLICIT_DENY, Effect.EXPLICIT_DENY)]
    assert (denied.count, denied.examples[0].line) == (2, 4)
    row = {r.alias: r for r in report.aliases}["v1"]
    assert row.before == {Effect.ALLOW: 3}
    text = format_report(report)
    assert "5 of 6 requests change decision against old.json:" in text
    assert "  allow -> implicit_deny: 3" in text
    assert "    e.g. log.jsonl:2 " in text


def test_examples_span_aliases_and_stop_at_three():
    lines = [_line(f"v1{'x' * i}") for i in range(6)]
    allowing = _policy([f"v1{'x' * i}" for i in range(6)])
    report = _replay("\n".join(lines), against=allowing).report(policy_name="n",
                                                               against_name="o")
    (change,) = report.changes
    assert change.count == 6 and [e.line for e in change.examples] == [1, 2, 3]


def test_bad_lines_are_counted_with_line_numbers_and_never_stop_the_replay():
    """Listed in line order, whatever repeats: the list cannot depend on how the log was cut."""
    lines = [_line("v2"), "{not json", "[1, 2]", '"text"', _line("v2"),
             json.dumps({"v": 2, "request": {}}), json.dumps({"v": 1, "time": "t"}),
             json.dumps({"v": 1, "request": "x"}), json.dumps({"resource": "", "context": {}}),
             json.dumps({"resource": MONITOR, "extra": 1}),
             json.dumps({"resource": MONITOR, "context": {"rum:alias": {"a": 1}}}),
             json.dumps({"resource": MONITOR, "principal": "bob"}), "{not json"]
    text = "\n".join(lines).encode() + b'\n{"a": "\xff"}\n'
    replayer = Replayer(NEW)
    replayer.replay("log.jsonl", io.BytesIO(text))
    report = replayer.report(policy_name="p")
    assert report.records == 2 and report.bad == 12
    assert [(b.line, b.message) for b in report.bad_lines] == [
        (2, "not JSON: Expecting property name enclosed in double quotes at column 2"),
        (3, "not a JSON object: a list"),
        (4, "not a JSON object: a string"),
        (6, "not a decision-log record: version 2 is not supported (expected 1)"),
        (7, "not a decision-log record: it has no request member"),
        (8, "not a decision-log record: its request member is not a JSON object"),
        (9, "not a request: a request needs a resource: the app monitor's ARN"),
        (10, "not a request: unknown request field(s): extra"),
        (11, "not a request: context value of 'rum:alias' must be a string or a list of "
             "strings"),
        (12, "not a request: 'bob' is not a caller ARN: use an IAM user, role or root ARN "
             "(arn:aws:iam::123456789012:user/NAME) or an STS session ARN "
             "(arn:aws:sts::123456789012:assumed-role/ROLE/SESSION)"),
        (13, "not JSON: Expecting property name enclosed in double quotes at column 2"),
        (14, "not UTF-8: byte 7"),
    ]
    assert report.bad_reasons == {"not JSON": 2, "not a JSON object": 2, "not UTF-8": 1,
                                  "not a decision-log record": 3, "not a request": 4}
    text_report = format_report(report)
    assert "Bad lines: 12 (not JSON: 2, not UTF-8: 1, not a JSON object: 2, not a " \
           "decision-log record: 3, not a request: 4), not replayed" in text_report
    assert "  log.jsonl:14: not UTF-8: byte 7" in text_report


def test_line_numbers_run_on_across_chunks():
    lines = [_line("v2")] * 50 + ["oops"] + [_line("v2")] * 50 + ["oops"]
    replayer = _replay("\n".join(lines) + "\n", chunk_bytes=256)
    assert [b.line for b in replayer.bad_lines] == [51, 102]
    assert replayer.records == 100


def test_only_the_first_bad_lines_are_kept():
    replayer = _replay("x\n" * 1000)
    assert replayer.bad == 1000 and len(replayer.bad_lines) == 20
    assert [b.line for b in replayer.bad_lines] == list(range(1, 21))


def test_monitor_filter_skips_other_monitors():
    text = "\n".join([_line("v2"), _line("v2", resource=OTHER), _line("v1")])
    replayer = _replay(text, monitor=MONITOR)
    assert (replayer.records, replayer.skipped) == (2, 1)


def test_a_multi_valued_alias_and_the_alias_cap():
    multi = json.dumps({"resource": MONITOR, "context": {"rum:alias": ["v2", "v1"]}})
    replayer = _replay("\n".join([multi] + [_line(f"a{i}") for i in range(5)]), max_aliases=3)
    table = _table(replayer)
    # A list under a plain operator is undecidable: the Allow does not apply and the Deny
    # does (fail closed, docs/semantics.md).
    assert table[("v2", "v1")] == {"explicit_deny": 1}
    assert table[OTHER_ALIASES] == {"implicit_deny": 3}
    report = replayer.report(policy_name="p").to_dict()
    assert {"alias": {"other_aliases": True}, "requests": 3,
            "decisions": {"allow": 0, "explicit_deny": 0, "implicit_deny": 3},
            "before": None} in report["aliases"]


def test_keys_differing_only_in_case_decide_alike():
    lines = [json.dumps({"resource": MONITOR, "context": {"RUM:Alias": "v2"}}),
             json.dumps({"resource": MONITOR, "context": {"rum:alias": "v2"}}),
             json.dumps({"resource": MONITOR, "context": {"rum:alias": "v9", "RUM:ALIAS": "v2"}})]
    assert _table(_replay("\n".join(lines))) == {"v2": {"allow": 3}}


# -- bounded memory ---------------------------------------------------------------------------


class _EndlessLog(io.RawIOBase):
    """An endless log: reading it whole would never finish."""

    def __init__(self, line: bytes) -> None:
        self.line = line
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.line * (len(buffer) // len(self.line) or 1)
        data = data[:len(buffer)]
        buffer[:len(data)] = data
        self.served += len(data)
        return len(data)


def test_the_reader_streams_and_never_materialises_the_log():
    raw = _EndlessLog((_line("v2") + "\n").encode())
    stream = io.BufferedReader(raw, buffer_size=4096)
    replayer = Replayer(NEW, chunk_bytes=64 << 10)
    steps: Iterator[Any] = replayer.feed("endless", stream)
    first, second = next(steps), next(steps)
    assert first.records > 0 and second.records > first.records
    # Two chunks were read, not the (endless) file: about chunk_bytes each.
    assert raw.served < 4 * (64 << 10)


def _distinct_log(n: int) -> bytes:
    """`n` different lines (a user agent no policy reads), 600 aliases, half of them logged by
    the gate: every cache is filled past its cap."""
    lines = []
    for i in range(n):
        line = _line(f"alias-{i % 600}", **{"aws:UserAgent": f"agent/{i}"})
        lines.append(_log_line(line, i) if i % 2 else line)
    return ("\n".join(lines) + "\n").encode()


def _peak(data: bytes) -> int:
    replayer = Replayer(NEW, OLD, compare=True, chunk_bytes=32 << 10,
                        line_cache_bytes=256 << 10, context_cache_entries=2_000, max_aliases=500,
                        memo_size=256)
    tracemalloc.start()
    replayer.replay("log", io.BytesIO(data))
    replayer.report(policy_name="p", against_name="q")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_stays_bounded_by_the_caps_not_the_log():
    small, large = _distinct_log(5_000), _distinct_log(50_000)
    # The log itself is in memory here (BytesIO) and not traced; what is traced is the
    # replay's own state, which must not grow tenfold with ten times the distinct lines.
    peak_small, peak_large = _peak(small), _peak(large)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)


def test_gzip_logs(tmp_path):
    from rumpolicy.analysis.replay import open_log

    path = tmp_path / "log.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(_line("v2") + "\n" + _line("v1") + "\n")
    replayer = Replayer(NEW)
    with open_log(str(path)) as stream:
        replayer.replay(str(path), stream)
    assert _table(replayer) == {"v2": {"allow": 1}, "v1": {"implicit_deny": 1}}


# -- the property: replay equals a naive loop ----------------------------------------------------

_LINE_KINDS = st.sampled_from(("plain", "log", "log-compact", "bad", "blank"))


@st.composite
def _logs(draw: st.DrawFn) -> tuple[list[str], list[Request | None]]:
    """Log lines and, per line, the request it holds (None for bad or blank lines). Requests
    repeat, as real traffic does, and decision-log lines get their own time and id."""
    pool = draw(st.lists(requests(), min_size=1, max_size=6))
    lines: list[str] = []
    held: list[Request | None] = []
    for n in range(draw(st.integers(0, 40))):
        kind = draw(_LINE_KINDS)
        request = draw(st.sampled_from(pool))
        shape = request.to_dict()
        if draw(st.booleans()):
            stamp = f"2026-12-0{draw(st.integers(1, 9))}T00:00:00Z"
            shape["context"] = {**shape["context"], "aws:CurrentTime": stamp}
        if kind == "plain":
            lines.append(json.dumps(shape))
        elif kind in ("log", "log-compact"):
            record = {"v": 1, "time": f"t{n}", "request_id": f"id-{n}", "monitor": "m",
                      "request": shape, "effect": "allow"}
            separators = (",", ":") if kind == "log-compact" else None
            lines.append(json.dumps(record, separators=separators))
        elif kind == "bad":
            lines.append(draw(st.sampled_from(('{"v": 1, "time": "x", "request": ', "nope",
                                               json.dumps({"v": 1, "time": "x"})))))
        else:
            lines.append("")
        held.append(Request.from_dict(shape) if kind in ("plain", "log", "log-compact")
                    else None)
    return lines, held


@settings(max_examples=150, deadline=None)
@given(policies(), policies(), _logs(), st.sampled_from((64, 512, 1 << 20)))
def test_replay_counts_equal_a_naive_loop_of_evaluate(new, old, log, chunk):
    lines, held = log
    replayer = Replayer(new, old, compare=True, chunk_bytes=chunk, line_cache_bytes=2048,
                        context_cache_entries=4)
    replayer.replay("log", io.BytesIO(("\n".join(lines) + "\n").encode()))
    expected: Counter[tuple[Any, Effect, Effect]] = Counter()
    for request in held:
        if request is not None:
            expected[(request.get("rum:alias"), evaluate(new, request).effect,
                      evaluate(old, request).effect)] += 1
    actual: Counter[tuple[Any, Effect, Effect]] = Counter()
    for (alias, effect, _, before, _), n in replayer.counts.items():
        actual[(alias, effect, before)] += n
    assert actual == expected
    assert replayer.bad == sum(1 for line, r in zip(lines, held, strict=True)
                               if r is None and line.strip())
