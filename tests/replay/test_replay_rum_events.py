"""CloudWatch RUM's own log events (CwLogEnabled): replayed only where they hold what the
policies read; otherwise each is reported as not replayable, saying what is missing."""

from __future__ import annotations

import json
from typing import Any

from rumpolicy import Effect
from rumpolicy.analysis.replay import Replayer
from rumpolicy.analysis.replay.report import NOT_RECORDED
from rumpolicy.policy import Policy

from ._helpers import MONITOR, policy, replayed, statement

EVENT = {  # the shape RUM writes to /aws/vendedlogs/RUMService_<name><id> (rum_events.py)
    "event_timestamp": 1795996800000, "event_type": "com.amazon.rum.page_view_event",
    "event_id": "a125ac43-652c-4799-9363-18bf7a5786f5", "event_version": "1.0.0",
    "log_stream": "2026-11-30T00", "application_id": "9c420d0e-23f2-4257-acff-ef95de04be4b",
    "application_version": "1.0.0",
    "metadata": {"version": "1.0.0", "browserName": "Firefox", "domain": "shop.example.com",
                 "aws:client": "arw-module", "aws:clientVersion": "1.20.0",
                 "countryCode": "NO", "subdivisionCode": "30"},
    "user_details": {"sessionId": "fc26f85c-f6e7-4751-91f4-ee9dfb8b4828",
                     "userId": "00000000-0000-0000-0000-000000000000"},
    "event_details": {"version": "1.0.0", "pageId": "/", "interaction": 0}}


def _policy(condition: dict[str, Any] | None) -> Policy:
    return policy(statement(condition=condition))


def _replay(policy: Policy, text: str, **options: Any) -> Replayer:
    return replayed(text, policy, **options)


def test_events_replay_when_the_policy_reads_nothing_they_lack():
    line = json.dumps(EVENT)
    exported = f"2026-11-30T00:00:03.512Z {line}"  # CloudWatch Logs' export to S3
    replayer = _replay(_policy(None), f"{line}\n{exported}\n", monitor=MONITOR,
                       caller="anonymous")
    assert (replayer.records, replayer.bad) == (2, 0)
    ((outcome, n),) = replayer.counts.items()
    assert (outcome[0], outcome[1], n) == (NOT_RECORDED, Effect.ALLOW, 2)
    other_account = _replay(_policy(None), line, monitor=MONITOR,
                            caller="arn:aws:iam::999999999999:role/web")
    ((outcome, _),) = other_account.counts.items()
    assert outcome[1] is Effect.IMPLICIT_DENY  # RUM grants no cross-account access
    report = replayer.report(policy_name="p").to_dict()
    assert report["aliases"][0]["alias"] == {"not_recorded": True}


def test_what_the_events_lack_is_said_line_by_line():
    alias_policy = _policy({"StringEquals": {"rum:alias": "v2"}})
    replayer = _replay(alias_policy, json.dumps(EVENT) + "\n", monitor=MONITOR,
                       caller="anonymous")
    assert replayer.records == 0
    assert [(b.line, b.message) for b in replayer.bad_lines] == [(1, (
        "not replayable: a CloudWatch RUM log event records no rum:alias, which the "
        "policies read"))]
    unnamed = _replay(_policy(None), json.dumps(EVENT) + "\n")
    assert unnamed.bad_lines[0].message == (
        "not replayable: name --monitor ARN (an event names its app monitor by id only) and "
        "--caller anonymous|ARN (an event does not say who called)")
    assert dict(unnamed.bad_reasons) == {"not replayable": 1}


def test_aws_userid_is_known_for_anonymous_callers_only():
    """The engine derives aws:userid = anonymous for unsigned callers; a signed caller's is its
    unique id, which no ARN tells, so such events are not replayable (docs/semantics.md)."""
    policy = _policy({"StringNotEquals": {"aws:userid": "anonymous"}})
    anonymous = _replay(policy, json.dumps(EVENT) + "\n", monitor=MONITOR, caller="anonymous")
    ((outcome, _),) = anonymous.counts.items()
    assert outcome[1] is Effect.IMPLICIT_DENY
    signed = _replay(policy, json.dumps(EVENT) + "\n", monitor=MONITOR,
                     caller="arn:aws:iam::123456789012:user/alice")
    assert (signed.records, signed.bad_lines[0].message) == (0, (
        "not replayable: a CloudWatch RUM log event records no aws:userid, which the "
        "policies read"))


def test_a_changed_decision_on_an_exported_event_is_an_example_of_its_request():
    """With --against, the first changed line becomes an example; an export line (its message
    after the ingestion time) failed an assertion in the example's decoding (review)."""
    exported = f"2026-11-30T00:00:03.512Z {json.dumps(EVENT)}\n"
    signed_only = policy(statement(principal={"AWS": "123456789012"}))
    replayer = _replay(signed_only, exported, against=_policy(None), monitor=MONITOR,
                       caller="anonymous")
    [[example]] = replayer.examples.values()
    assert (example.line, example.request) == (
        1, {"resource": MONITOR, "principal": None, "context": {}})


def test_what_every_event_stands_for_is_worked_out_once_per_replay(monkeypatch):
    """Events are all different lines (ids, times), and each stands for the same request."""
    import rumpolicy.analysis.replay.replayer as replayer_module

    calls = []
    original = replayer_module.rum_event_request

    def counted(**arguments: Any) -> Any:
        calls.append(arguments)
        return original(**arguments)

    monkeypatch.setattr(replayer_module, "rum_event_request", counted)
    events = "".join(json.dumps({**EVENT, "event_id": f"e-{n}"}) + "\n" for n in range(5))
    replayer = _replay(_policy(None), events, compare=True, monitor=MONITOR,
                       caller="anonymous")  # against no policy: every event changes
    assert (replayer.records, len(replayer.counts), len(calls)) == (5, 1, 1)
    [[example]] = replayer.examples.values()  # the request it stands for, the same one
    assert (example.line, example.request["principal"]) == (1, None)
