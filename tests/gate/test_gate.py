"""The in-process gate: control plane, PolicyRevisionId, the order of checks, the request
context, signed callers' identity policies, throttling, the decision log, and failing closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rumpolicy import Decision, Request, load_policy
from rumpolicy.gate import Gate, GateConfig, GateError, Identity, Origin
from rumpolicy.gate.storage import Storage, StoredBatch
from rumpolicy.policy import Policy

from ._helpers import (
    ACCOUNT,
    NOW,
    alias_policy,
    allow_all_policy,
    arn,
    batch,
    delete_after,
    encoded,
    make_gate,
)


def error_of(call: Any, **members: Any) -> GateError:
    with pytest.raises(GateError) as caught:
        call(**members)
    return caught.value


# -- app monitors ------------------------------------------------------------------------------

def test_monitors_are_created_with_uuid_ids_and_arns_by_name() -> None:
    gate = Gate(None, clock=lambda: NOW)
    monitor_id = gate.create_app_monitor(Name="my.app-1_#x", DomainList=["example.com"])["Id"]
    described = gate.get_app_monitor(Name="my.app-1_#x")["AppMonitor"]
    assert described["Id"] == monitor_id and len(monitor_id) == 36
    assert described["DomainList"] == ["example.com"]
    assert described["State"] == "ACTIVE" and len(described["Created"]) == 19
    assert gate.monitor("my.app-1_#x").arn == \
        f"arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/my.app-1_#x"


@pytest.mark.parametrize(("members", "expected"), [
    ({"Name": ".hidden", "Domain": "example.com"}, "at 'Name'"),
    ({"Name": "has space", "Domain": "example.com"}, "regular expression pattern"),
    ({"Name": "x" * 256, "Domain": "example.com"}, "less than or equal to 255"),
    ({"Domain": "example.com"}, "Value null at 'Name'"),
    ({"Name": "shop"}, "requires either Domain or DomainList"),
    ({"Name": "shop", "Domain": "exa mple"}, "at 'Domain'"),
    ({"Name": "shop", "DomainList": []}, "at 'DomainList'"),
    ({"Name": "shop", "Domain": "example.com", "Platform": "Mac"}, "enum value set"),
    ({"Name": "shop", "Domain": "example.com", "Tags": {"aws:x": "1"}}, "Tags.aws:x (key)"),
])
def test_create_app_monitor_validates_like_the_model(members: dict[str, Any],
                                                     expected: str) -> None:
    error = error_of(Gate().create_app_monitor, **members)
    assert error.code == "ValidationException"
    assert expected in error.message


def test_duplicate_names_conflict_and_unknown_names_are_not_found(
        gate: tuple[Gate, str]) -> None:
    g, _ = gate
    conflict = error_of(g.create_app_monitor, Name="shop", Domain="example.com")
    assert (conflict.code, conflict.status, conflict.members) == \
        ("ConflictException", 409, {"resourceName": "shop", "resourceType": "AppMonitor"})
    missing = error_of(g.get_app_monitor, Name="nope")
    assert (missing.code, missing.status, missing.members["resourceName"]) == \
        ("ResourceNotFoundException", 404, "nope")


def test_app_monitors_per_account_are_capped_by_the_rum_quota() -> None:
    """AWS: 20 app monitors per account and Region, a quota one can raise (aws-facts.md §2,
    CloudWatch-RUM-quotas). The 21st CreateAppMonitor is ServiceQuotaExceededException (402 in
    the model); a name conflict is reported first (docs/semantics.md)."""
    gate = Gate()
    for n in range(20):
        gate.create_app_monitor(Name=f"app{n}", Domain="example.com")
    over = error_of(gate.create_app_monitor, Name="app20", Domain="example.com")
    assert (over.code, over.status) == ("ServiceQuotaExceededException", 402)
    assert "20 app monitors" in over.message and "max_app_monitors" in over.message
    assert error_of(gate.create_app_monitor, Name="app0",
                    Domain="example.com").code == "ConflictException"
    gate.delete_app_monitor(Name="app3")
    assert gate.create_app_monitor(Name="app20", Domain="example.com")["Id"]
    assert len(gate.monitors()) == 20


@pytest.mark.parametrize(("limit", "created"), [(2, 2), (None, 30)])
def test_the_monitor_quota_is_configurable(limit: int | None, created: int) -> None:
    gate = Gate(None, GateConfig(max_app_monitors=limit))
    made = 0
    for n in range(30):
        try:
            gate.create_app_monitor(Name=f"app{n}", Domain="example.com")
        except GateError as err:
            assert err.code == "ServiceQuotaExceededException"
            break
        made += 1
    assert made == created


def test_list_app_monitors_pages_by_name() -> None:
    gate = Gate()
    for name in ("c", "a", "b", "d"):
        gate.create_app_monitor(Name=name, Domain="example.com")
    first = gate.list_app_monitors(MaxResults=3)
    assert [m["Name"] for m in first["AppMonitorSummaries"]] == ["a", "b", "c"]
    second = gate.list_app_monitors(MaxResults=3, NextToken=first["NextToken"])
    assert [m["Name"] for m in second["AppMonitorSummaries"]] == ["d"]
    assert "NextToken" not in second
    assert "at 'MaxResults'" in error_of(gate.list_app_monitors, MaxResults=101).message
    assert "at 'NextToken'" in error_of(gate.list_app_monitors, NextToken="!!").message


def test_deleting_a_monitor_removes_it_and_its_events(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    assert g.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1"))).accepted
    g.delete_app_monitor(Name="shop")
    assert error_of(g.get_app_monitor, Name="shop").code == "ResourceNotFoundException"
    assert g.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1"))).status == 404
    g.create_app_monitor(Name="shop", Domain="example.com")
    assert g.events("shop") == []


# -- resource policies -------------------------------------------------------------------------

def test_put_get_delete_policy_with_revision_ids(gate: tuple[Gate, str]) -> None:
    """AWS: a PolicyRevisionId that is not the current one is InvalidPolicyRevisionIdException;
    the gate generates a new id on every put (docs/gate.md, Semantics choices)."""
    g, _ = gate
    first = g.get_resource_policy(Name="shop")
    assert first["PolicyDocument"] == alias_policy()
    second = g.put_resource_policy(Name="shop", PolicyDocument=allow_all_policy(),
                                   PolicyRevisionId=first["PolicyRevisionId"])
    assert second["PolicyRevisionId"] != first["PolicyRevisionId"]
    stale = error_of(g.put_resource_policy, Name="shop", PolicyDocument=alias_policy(),
                     PolicyRevisionId=first["PolicyRevisionId"])
    assert (stale.code, stale.status) == ("InvalidPolicyRevisionIdException", 400)
    assert error_of(g.delete_resource_policy, Name="shop",
                    PolicyRevisionId="nope").code == "InvalidPolicyRevisionIdException"
    unconditional = g.put_resource_policy(Name="shop", PolicyDocument=alias_policy())
    removed = g.delete_resource_policy(Name="shop")
    assert removed == {"PolicyRevisionId": unconditional["PolicyRevisionId"]}
    for call in (g.get_resource_policy, g.delete_resource_policy):
        gone = error_of(call, Name="shop")
        assert (gone.code, gone.status) == ("PolicyNotFoundException", 404)


def test_a_revision_id_for_a_monitor_without_policy_is_refused() -> None:
    gate = Gate()
    gate.create_app_monitor(Name="shop", Domain="example.com")
    error = error_of(gate.put_resource_policy, Name="shop", PolicyDocument=alias_policy(),
                     PolicyRevisionId="r1")
    assert error.code == "InvalidPolicyRevisionIdException"
    assert "has no policy" in error.message


def test_malformed_policies_carry_every_loader_diagnostic(gate: tuple[Gate, str]) -> None:
    g, _ = gate
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow",\n' \
           '   "Action": "rum:PutRumEvents", "Resource": "*"}],\n  "Bogus": 1\n}'
    error = error_of(g.put_resource_policy, Name="shop", PolicyDocument=text)
    assert (error.code, error.status) == ("MalformedPolicyDocumentException", 400)
    expected = "; ".join(d.format() for d in _diagnostics(text))
    assert error.message.endswith(expected)
    assert "5:3:" in error.message  # line:col of "Bogus"


def test_allow_with_not_principal_is_a_malformed_policy(gate: tuple[Gate, str]) -> None:
    """IAM NotPrincipal page: NotPrincipal only with Deny (docs/semantics.md)."""
    g, _ = gate
    text = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",\n'
            ' "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:user/mallory"},\n'
            ' "Action": "rum:PutRumEvents", "Resource": "*"}]}')
    error = error_of(g.put_resource_policy, Name="shop", PolicyDocument=text)
    assert (error.code, error.status) == ("MalformedPolicyDocumentException", 400)
    assert "2:2: allow-with-not-principal" in error.message
    assert g.get_resource_policy(Name="shop")["PolicyDocument"] != text


def _diagnostics(text: str) -> Sequence[Any]:
    from rumpolicy import PolicyError
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    return caught.value.diagnostics


def test_policies_over_4096_bytes_exceed_the_size_limit(gate: tuple[Gate, str]) -> None:
    """RUM: 'The document can be up to 4 KB in size' (read as 4096 bytes of UTF-8)."""
    g, _ = gate
    base = json.loads(allow_all_policy())
    base["Id"] = ""
    room = 4096 - len(json.dumps(base).encode())
    base["Id"] = "x" * room
    g.put_resource_policy(Name="shop", PolicyDocument=json.dumps(base))
    base["Id"] = "x" * (room + 1)
    error = error_of(g.put_resource_policy, Name="shop", PolicyDocument=json.dumps(base))
    assert (error.code, error.status) == ("PolicySizeLimitExceededException", 400)
    assert "The limit is 4 KB" in error.message and "policy-too-large" in error.message


def test_policy_is_compiled_once_when_put() -> None:
    compiled: list[Policy | None] = []

    def compiler(policy: Policy | None) -> Any:
        from rumpolicy import compile_policy
        compiled.append(policy)
        return compile_policy(policy)

    gate, monitor_id = make_gate(compiler=compiler)
    for _ in range(5):
        gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1")))
    assert len(compiled) == 2  # the monitor without policy, then the put policy


# -- PutRumEvents: the order of checks -------------------------------------------------------

def test_allowed_alias_is_stored_and_others_are_denied(gate: tuple[Gate, str]) -> None:
    """AWS sample (c): StringEquals on rum:alias; without Alias the key is absent and the
    Allow does not apply (implicit deny)."""
    g, monitor_id = gate
    body = batch(monitor_id, "v1")
    ok = g.put_rum_events(monitor_id, encoded(body))
    assert (ok.status, ok.stored, ok.response()) == (200, True, {})
    for alias in ("v3", "V1", None):
        denied = g.put_rum_events(monitor_id, encoded(batch(monitor_id, alias)))
        assert (denied.status, denied.error.code) == (403, "AccessDeniedException")  # type: ignore[union-attr]
        assert denied.error.message == denied.decision.message  # type: ignore[union-attr]
        assert denied.error.message.startswith("User: anonymous is not authorized")  # type: ignore[union-attr]
    [stored] = g.events("shop")
    assert stored.batch_id == body["BatchId"] and stored.alias == "v1"
    assert [e.id for e in stored.events] == [e["id"] for e in body["RumEvents"]]


def test_bad_id_wins_over_everything(gate: tuple[Gate, str]) -> None:
    g, _ = gate
    result = g.put_rum_events("not-a-uuid", b"garbage")
    assert result.status == 400 and "at 'Id'" in result.error.message  # type: ignore[union-attr]


def test_body_shape_and_alias_are_checked_before_the_monitor(gate: tuple[Gate, str]) -> None:
    g, _ = gate
    unknown = "00000000-0000-4000-8000-000000000000"
    assert g.put_rum_events(unknown, b"[1]").status == 400
    assert g.put_rum_events(unknown, encoded({"Alias": ""})).status == 400
    missing = g.put_rum_events(unknown, encoded({"Alias": "v1"}))
    assert missing.status == 404
    assert missing.error.members == {"resourceName": unknown,  # type: ignore[union-attr]
                                     "resourceType": "AppMonitor"}


def test_authorization_comes_before_full_validation(gate: tuple[Gate, str]) -> None:
    """A denied caller learns nothing about the rest of the body: 403, not 400."""
    g, monitor_id = gate
    broken = encoded({"Alias": "nope", "BatchId": "x", "RumEvents": "y"})
    assert g.put_rum_events(monitor_id, broken).status == 403
    allowed = g.put_rum_events(monitor_id, encoded({"Alias": "v1", "BatchId": "x"}))
    assert allowed.status == 400 and allowed.decision is not None and allowed.decision.allowed
    assert g.events("shop") == []


def test_a_repeated_batch_id_is_acknowledged_and_stored_once(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    body = encoded(batch(monitor_id, "v1"))
    first, again = g.put_rum_events(monitor_id, body), g.put_rum_events(monitor_id, body)
    assert (first.status, first.stored, again.status, again.stored) == (200, True, 200, False)
    assert len(g.events("shop")) == 1


def test_in_process_callers_may_pass_a_mapping_or_text(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    assert g.put_rum_events(monitor_id, batch(monitor_id, "v1")).accepted
    assert g.put_rum_events(monitor_id, json.dumps(batch(monitor_id, "v2"))).accepted


# -- the request context -----------------------------------------------------------------------

def _context_policy(condition: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": arn(),
        "Condition": condition}]})


@pytest.mark.parametrize(("condition", "origin", "allowed"), [
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, Origin(source_ip="203.0.113.9"), True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, Origin(source_ip="198.51.100.1"), False),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, Origin(source_ip=None), False),
    ({"Bool": {"aws:SecureTransport": "true"}}, Origin(secure_transport=True), True),
    ({"Bool": {"aws:SecureTransport": "true"}}, Origin(), False),
    ({"StringLike": {"aws:referer": "https://www.example.com/*"}},
     Origin(referer="https://www.example.com/page"), True),
    ({"StringLike": {"aws:referer": "https://www.example.com/*"}}, Origin(), False),
    ({"Null": {"aws:referer": "true"}}, Origin(), True),
    ({"StringLike": {"aws:UserAgent": "*Chrome*"}}, Origin(user_agent="HeadlessChrome/156"), True),
    ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, Origin(), True),
    ({"DateGreaterThan": {"aws:CurrentTime": "2026-11-01T00:00:00Z"}}, Origin(), True),
    ({"DateLessThan": {"aws:CurrentTime": "2026-11-01T00:00:00Z"}}, Origin(), False),
    ({"NumericEquals": {"aws:EpochTime": str(int(NOW))}}, Origin(), True),
    ({"StringEquals": {"aws:PrincipalType": "Anonymous"}}, Origin(), True),
    ({"Null": {"rum:alias": "true"}}, Origin(), True),
])
def test_request_context_keys(condition: dict[str, Any], origin: Origin, allowed: bool) -> None:
    """IAM global condition keys (aws-facts.md section 7): present as AWS documents them for
    an anonymous PutRumEvents caller; aws:referer only with a Referer, rum:alias only with an
    Alias; time from the gate's clock."""
    gate = Gate(None, clock=lambda: NOW)
    monitor_id = gate.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    gate.put_resource_policy(Name="shop", PolicyDocument=_context_policy(condition))
    result = gate.put_rum_events(monitor_id, encoded(batch(monitor_id)), origin)
    assert result.accepted is allowed, result.error


# -- signed callers ----------------------------------------------------------------------------

def test_signed_same_account_caller_is_allowed_by_its_identity_policy() -> None:
    """IAM: within one account, identity and resource policies grant as a union."""
    identity_policy = load_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rum:PutRumEvents", "Resource": "*"}]}), kind="identity")
    alice = Identity(f"arn:aws:iam::{ACCOUNT}:user/alice", (identity_policy,))
    mallory = Identity("arn:aws:iam::999999999999:user/mallory", (identity_policy,))
    gate, monitor_id = make_gate()
    signed = gate.put_rum_events(monitor_id, encoded(batch(monitor_id)), Origin(identity=alice))
    assert signed.accepted and signed.decision.reason == "identity_policy_allow"  # type: ignore[union-attr]
    assert gate.events("shop")[0].principal == alice.principal
    cross = gate.put_rum_events(monitor_id, encoded(batch(monitor_id)), Origin(identity=mallory))
    assert cross.status == 403 and "mallory" in cross.error.message  # type: ignore[union-attr]


# -- throttling --------------------------------------------------------------------------------

def test_quota_answers_throttling_with_retry_after() -> None:
    clock = [NOW]
    gate, monitor_id = make_gate(GateConfig(throttle_rps=2), clock=lambda: clock[0])
    answers = [gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1"))).status
               for _ in range(3)]
    assert answers == [200, 200, 429]
    throttled = gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1")))
    assert throttled.error is not None and throttled.error.headers()["Retry-After"] == "1"
    clock[0] += 1.0
    assert gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1"))).status == 200


def test_no_quota_by_default(gate: tuple[Gate, str]) -> None:
    g, monitor_id = gate
    assert all(g.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1", events=0))).accepted
               for _ in range(120))


# -- the decision log --------------------------------------------------------------------------

def test_every_decision_is_logged_and_replays(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    gate, monitor_id = make_gate(GateConfig(decision_log=log))
    origin = Origin(source_ip="203.0.113.9", user_agent="probe")
    gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1")), origin)
    gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v9")), origin)
    gate.put_rum_events(monitor_id, encoded({"Alias": "v1"}), origin)  # allowed, then 400
    gate.put_rum_events(monitor_id, b"not json", origin)  # no decision, no line
    gate.close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["effect"], x["status"]) for x in lines] == \
        [("allow", 200), ("implicit_deny", 403), ("allow", 400)]
    first = lines[0]
    assert first["v"] == 1 and first["monitor"] == "shop" and first["monitor_id"] == monitor_id
    assert first["time"].endswith("Z") and first["reason"] == "resource_policy_allow"
    request = Request.from_dict(first["request"])
    assert request.get("rum:alias") == "v1" and request.get("aws:SourceIp") == "203.0.113.9"
    from rumpolicy import compile_policy
    policy = load_policy(alias_policy())
    assert [compile_policy(policy).evaluate(Request.from_dict(x["request"])).effect.value
            for x in lines] == [x["effect"] for x in lines]


# -- failing closed ----------------------------------------------------------------------------

class _Exploding:
    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Decision:
        raise RuntimeError("evaluator bug")


class _AllowingButBroken:
    """An evaluator that would allow, returning something that is not a Decision."""

    def evaluate(self, request: Request, identity_policies: Sequence[Policy] = ()) -> Any:
        return object()


@pytest.mark.parametrize("evaluator", [_Exploding(), _AllowingButBroken()])
def test_a_failing_evaluator_answers_500_and_stores_nothing(evaluator: Any) -> None:
    gate, monitor_id = make_gate(compiler=lambda policy: evaluator)
    result = gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1")))
    assert (result.status, result.error.code) == (500, "InternalServerException")  # type: ignore[union-attr]
    assert result.error.retry_after == 1  # type: ignore[union-attr]
    assert gate.events("shop") == []


class _FailingStorage(Storage):
    def store_batch(self, batch: StoredBatch) -> bool:
        raise OSError("disk full")


def test_a_failing_store_answers_500(tmp_path: Path) -> None:
    gate, monitor_id = make_gate(storage=_FailingStorage(tmp_path))
    result = gate.put_rum_events(monitor_id, encoded(batch(monitor_id, "v1")))
    assert result.status == 500 and not result.stored
    assert Storage.batches(gate.storage, monitor_id) == []


@pytest.mark.parametrize(("on_disk", "asynchronous"), [(False, False), (True, False),
                                                      (True, True)])
def test_a_monitor_deleted_between_the_decision_and_the_commit_is_not_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        on_disk: bool, asynchronous: bool) -> None:
    """PutRumEvents does not hold up the control plane, so DeleteAppMonitor can run after a
    batch is allowed and before it is committed: the batch has no monitor left to be stored
    under, and the answer is the 404 a later call gets, not a 500 (docs/semantics.md, The
    gate). On disk and asynchronous, the commit is the writer process's."""
    gate, monitor_id = make_gate(storage=Storage(tmp_path) if on_disk else None)
    delete_after(monkeypatch, Gate, "_prepare", gate)
    body = encoded(batch(monitor_id, "v1"))
    try:
        result = asyncio.run(gate.put_rum_events_async(monitor_id, body)) if asynchronous \
            else gate.put_rum_events(monitor_id, body)
    finally:
        gate.close()
    assert result.error is not None and not result.stored
    assert (result.status, result.error.code) == (404, "ResourceNotFoundException")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_stored_policy_that_no_longer_loads_fails_closed(tmp_path: Path) -> None:
    gate, monitor_id = make_gate()
    gate.close()
    first = Gate(tmp_path)
    monitor_id = first.create_app_monitor(Name="shop", Domain="example.com")["Id"]
    first.put_resource_policy(Name="shop", PolicyDocument=allow_all_policy())
    first.storage.set_policy(monitor_id, '{"Statement": "broken"}', "r", NOW)
    first.close()
    reopened = Gate(tmp_path)
    result = reopened.put_rum_events(monitor_id, encoded(batch(monitor_id)))
    assert result.status == 500 and reopened.events("shop") == []
    reopened.put_resource_policy(Name="shop", PolicyDocument=allow_all_policy())
    assert reopened.put_rum_events(monitor_id, encoded(batch(monitor_id))).accepted
