"""Reading rollout files: what each line means, and errors that name line, column and what
was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rumpolicy.analysis.rollout import (
    ChangeExpectation,
    ChangeKind,
    DecisionExpectation,
    ExemptionKind,
    RolloutError,
    Verdict,
    parse_rollout,
    read_rollout,
)

MONITOR = "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"
HEAD = f'policy "new.json"\nmonitor {MONITOR}\n'
FILE = Path("/work/rollouts/shop.rollout")


def parse(body: str, head: str = HEAD):
    return parse_rollout(head + body, FILE)


def only(body: str, head: str = HEAD) -> DecisionExpectation:
    (expectation,) = parse(body, head).expectations
    assert isinstance(expectation, DecisionExpectation)
    return expectation


def problems(text: str) -> list[str]:
    with pytest.raises(RolloutError) as caught:
        parse_rollout(text, Path("t.rollout"))
    return [p.format() for p in caught.value.problems]


def test_the_example_from_the_issue_reads_as_intended():
    rollout = parse_rollout(
        '# blue/green switch of the shop monitor\n'
        'policy "shop-v2.json"\n'
        f"monitor {MONITOR}\n"
        "\n"
        'allow anonymous alias "shop-v2" from 203.0.113.9\n'
        'deny alias "shop-v1"\n'
        "deny without alias\n"
        "allow principal arn:aws:iam::123456789012:role/rum-forwarder alias \"x\" "
        'with aws:SecureTransport = "true" at 2026-12-01T00:00:00Z\n'
        "\n"
        'change from "shop-v1.json"\n'
        'no new access except alias matching "shop-v2*"\n', FILE)
    assert rollout.policy.path == FILE.parent / "shop-v2.json"
    assert rollout.baseline is not None and rollout.baseline.path == FILE.parent / "shop-v1.json"
    assert rollout.monitor == MONITOR
    first, second, third, fourth, change = rollout.expectations
    assert isinstance(first, DecisionExpectation) and first.verdict is Verdict.ALLOW
    assert first.request.principal is None
    assert dict(first.request.context) == {"rum:alias": "shop-v2", "aws:SourceIp": "203.0.113.9"}
    assert first.position.line == 5 and first.position.column == 1
    assert first.text == 'allow anonymous alias "shop-v2" from 203.0.113.9'
    assert isinstance(second, DecisionExpectation) and second.verdict is Verdict.DENY
    assert isinstance(third, DecisionExpectation) and "rum:alias" not in third.request.context
    assert isinstance(fourth, DecisionExpectation)
    assert fourth.request.principal == "arn:aws:iam::123456789012:role/rum-forwarder"
    assert dict(fourth.request.context) == {
        "rum:alias": "x", "aws:SecureTransport": "true",
        "aws:CurrentTime": "2026-12-01T00:00:00Z", "aws:EpochTime": "1796083200"}
    assert isinstance(change, ChangeExpectation)
    assert change.kind is ChangeKind.NO_NEW_ACCESS
    assert [(e.kind, e.value) for e in change.exemptions] == [
        (ExemptionKind.ALIAS_MATCHING, "shop-v2*")]


@pytest.mark.parametrize(("words", "verdict"), [
    ("allow", Verdict.ALLOW), ("deny", Verdict.DENY),
    ("explicit deny", Verdict.EXPLICIT_DENY), ("implicit deny", Verdict.IMPLICIT_DENY),
])
def test_verdicts(words, verdict):
    assert only(f'{words} alias "a"\n').verdict is verdict


def test_time_is_converted_to_utc_and_epoch_seconds():
    # aws:CurrentTime is ISO 8601 in UTC, aws:EpochTime whole seconds (IAM global keys page).
    request = only("allow at 2026-12-08T00:59:59.750+01:00\n").request
    assert request.context["aws:CurrentTime"] == "2026-12-07T23:59:59Z"
    assert request.context["aws:EpochTime"] == "1796687999"


def test_addresses_are_normalised_unless_quoted():
    assert only("allow from 2001:DB8:0::7\n").request.context["aws:SourceIp"] == "2001:db8::7"
    assert only('allow from "not an address"\n').request.context["aws:SourceIp"] == \
        "not an address"


def test_with_takes_lists_and_several_keys():
    request = only('allow with aws:TagKeys = ["a", "b"], aws:referer = "x" and k:y = []\n').request
    assert dict(request.context) == {"aws:TagKeys": ["a", "b"], "aws:referer": "x", "k:y": []}


def test_on_names_another_resource():
    other = "arn:aws:rum:us-east-1:123456789012:appmonitor/blog"
    assert only(f"deny on {other}\n").request.resource == other
    assert only("deny\n").request.resource == MONITOR


def test_every_request_sets_defaults_that_lines_override():
    rollout = parse('every request alias "v1" from 203.0.113.9 with aws:SecureTransport = "true"\n'
                    "allow\n"
                    "deny without alias\n"
                    'deny alias "v2" with aws:SecureTransport = "false"\n'
                    'deny with rum:alias = "v3"\n'
                    "deny principal arn:aws:iam::123456789012:user/alice\n")
    contexts = [dict(e.request.context) for e in rollout.expectations]  # type: ignore[union-attr]
    base = {"aws:SecureTransport": "true", "rum:alias": "v1", "aws:SourceIp": "203.0.113.9"}
    assert contexts[0] == base
    assert contexts[1] == {"aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.9"}
    assert contexts[2] == {**base, "rum:alias": "v2", "aws:SecureTransport": "false"}
    # A `with` on the line overrides the default alias: the line's own word wins.
    assert contexts[3] == {**base, "rum:alias": "v3"}
    assert rollout.expectations[4].request.principal.endswith("user/alice")  # type: ignore[union-attr]


def test_declarations_may_come_after_expectations_and_comments_anywhere():
    rollout = parse_rollout('allow alias "a#b"   # a comment; the # inside quotes is kept\n'
                            "# policy \"ignored.json\"\n\n\n"
                            f"monitor {MONITOR}\r\n"
                            "policy none", FILE)
    (expectation,) = rollout.expectations
    assert expectation.request.context["rum:alias"] == "a#b"  # type: ignore[union-attr]
    assert rollout.policy.path is None


def test_change_expectations_and_exemptions():
    rollout = parse('change from none\n'
                    'no lost access except alias "v1", alias "V1" in any case or without alias\n'
                    "no change except from 10.0.0.1/8\n")
    lost, same = rollout.expectations
    assert isinstance(lost, ChangeExpectation) and isinstance(same, ChangeExpectation)
    assert lost.kind is ChangeKind.NO_LOST_ACCESS
    assert [e.describe() for e in lost.exemptions] == [
        'alias "v1"', 'alias "V1" in any case', "without alias"]
    assert same.kind is ChangeKind.NO_CHANGE
    assert [e.value for e in same.exemptions] == ["10.0.0.0/8"]
    assert rollout.baseline is not None and rollout.baseline.path is None


def test_read_rollout_reports_unreadable_files(tmp_path):
    with pytest.raises(RolloutError, match="no such file"):
        read_rollout(tmp_path / "missing.rollout")
    (tmp_path / "latin1.rollout").write_bytes(b"# one\n# caf\xe9\n")
    with pytest.raises(RolloutError) as caught:
        read_rollout(tmp_path / "latin1.rollout")
    assert caught.value.problems[0].format() == \
        f"{tmp_path / 'latin1.rollout'}:2:6: not UTF-8 text (byte 11)"
    with pytest.raises(RolloutError, match="is a directory"):
        read_rollout(tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ('alow alias "x"\n',
     "t.rollout:1:1: unexpected 'alow'; expected a statement: allow, deny, explicit deny, "
     "implicit deny, policy, monitor, every request, change from, identity policy, no new "
     "access / no lost access / no change (did you mean 'allow'?)"),
    ('allow alias x\n', "t.rollout:1:13: unexpected 'x'; expected a quoted string"),
    ("allow with\n", "t.rollout:1:11: the line ends too early: expected a condition key"),
    ("allow from localhost\n", "t.rollout:1:12: unexpected 'localhost'; expected one of: "
                               'a quoted string such as "shop-v2", an IP address'),
    ('allow alias "x\n', 't.rollout:1:13: unterminated string: close it with " on the same'),
    ("policy\n", "t.rollout:1:7: the line ends too early: expected one of: 'none', a quoted"),
    ("monitor 12\n", "t.rollout:1:9: unexpected '12'; expected one of: a quoted string"),
    ('\n\n  deny alias "a" form 1.2.3.4\n', "t.rollout:3:18: unexpected 'form'; expected one "
                                            "of: 'alias', 'anonymous', 'at', 'from'"),
    ("no new access except from 1.2.3.4 and alias \"x\"\n",
     "t.rollout:1:35: unexpected 'and'; expected one of: ',', 'or', the end of the line"),
    ("every request\n", "t.rollout:1:14: the line ends too early: expected one of:"),
    ('deny with a:b = "c" = "d"\n', "t.rollout:1:21: unexpected '='"),
    ("explicit alias \"x\"\n", "t.rollout:1:10: unexpected 'alias'; expected 'deny'"),
])
def test_syntax_errors_name_line_column_and_what_was_expected(text, expected):
    (message,) = problems(text)
    assert message.startswith(expected), message


def test_errors_of_meaning_are_all_reported_in_order():
    text = ('policy "p.json"\n'
            "monitor arn:aws:s3:::bucket\n"
            'allow from 300.1.2.3 alias "" at 2026-01-01T00:00:00 principal arn:aws:iam::1:user/x\n'
            'deny alias "a" without alias with rum:alias = "b"\n'
            'deny with k:a = "1", K:A = "2" at "2026-12-01" on arn:nope\n'
            "no change\n"
            'policy "q.json"\n'
            'allow alias "\\q"\n')
    assert problems(text) == [
        "t.rollout:2:9: 'arn:aws:s3:::bucket' is not an app monitor ARN: expected "
        "arn:aws:rum:REGION:ACCOUNT:appmonitor/NAME",
        "t.rollout:3:12: '300.1.2.3' is not an IP address (quote it to send it as written)",
        "t.rollout:3:28: an alias is 1 to 255 characters, this one has 0 (use without alias for "
        "a request that sends none)",
        "t.rollout:3:34: '2026-01-01T00:00:00' is not a time with a zone: write it like "
        "2026-12-01T00:00:00Z",
        "t.rollout:3:64: 'arn:aws:iam::1:user/x' is not a caller ARN: use an IAM user, role or "
        "root ARN (arn:aws:iam::123456789012:user/NAME) or an STS session ARN "
        "(arn:aws:sts::123456789012:assumed-role/ROLE/SESSION)",
        "t.rollout:4:16: the alias (alias or without alias) is given twice on this line",
        "t.rollout:4:35: rum:alias is set twice on this line: by with and by the alias (alias or "
        "without alias)",
        "t.rollout:5:22: K:A is given twice on this line (keys ignore case)",
        "t.rollout:5:35: '2026-12-01' is not a time with a zone: write it like "
        "2026-12-01T00:00:00Z",
        "t.rollout:5:51: 'arn:nope' is not an ARN: expected arn:partition:service:region:"
        "account:resource",
        "t.rollout:6:1: no change compares with an earlier policy: add a line such as change "
        'from "previous.json"',
        "t.rollout:7:1: a second policy line (the first is on line 1): a rollout file tests one "
        "change of one policy",
        "t.rollout:8:13: bad escape in string: use \\\" \\\\ \\n \\t or \\uXXXX",
    ]


def test_a_lone_surrogate_escape_is_an_error_where_it_stands():
    """As in a policy (invalid-string): it decodes, but no text holds it, and printing the
    request of a failed expectation crashed (review). An escaped pair is one character."""
    assert problems(HEAD + 'allow alias "\\ud800"\n'
                    'allow with rum:alias = ["a", "\\udc00"]\n') == [
        "t.rollout:3:13: invalid string: a lone surrogate escape is not valid Unicode",
        "t.rollout:4:30: invalid string: a lone surrogate escape is not valid Unicode"]
    parse('allow alias "\\ud83d\\ude00"\n')  # no error


def test_missing_declarations_and_empty_files():
    assert problems('allow alias "a"\n') == [
        't.rollout:1:1: no policy line: name the policy under test, e.g. policy "shop.json" '
        "(or policy none)",
        "t.rollout:1:1: no monitor line: name the app monitor, e.g. monitor "
        "arn:aws:rum:us-east-1:123456789012:appmonitor/shop"]
    assert problems(HEAD + "# nothing yet\n") == [
        't.rollout:1:1: nothing to check: add an expectation such as allow alias "v2"']


def test_every_request_may_not_set_a_slot_twice():
    (message,) = problems(HEAD + 'every request alias "a"\nevery request alias "b"\nallow\n')
    assert message.startswith("t.rollout:4:15: the alias (alias or without alias) is already "
                              "set by an earlier every request line (line 3)")


def test_session_principals_and_long_aliases():
    assert only("allow principal arn:aws:sts::123456789012:assumed-role/r/s\n").request.caller \
        .role_arn == "arn:aws:iam::123456789012:role/r"
    (message,) = problems(HEAD + f'allow alias "{"a" * 256}"\n')
    assert "an alias is 1 to 255 characters, this one has 256" in message  # PutRumEvents model


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=255))
def test_any_alias_written_as_a_json_string_reads_back(alias):
    # The Alias member has no pattern (botocore model): any 1-255 characters must be testable.
    assert only(f"allow alias {json.dumps(alias)}\n").request.context["rum:alias"] == alias
