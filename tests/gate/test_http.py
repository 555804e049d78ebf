"""The gate over HTTP, through Starlette's TestClient: routes as botocore's model defines them,
the wire behaviour real clients need (wire README), and SigV4 verification."""

from __future__ import annotations

import gzip
import json
import re
import time
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from rumpolicy.gate import Credential, Gate, GateConfig, _sqlite
from rumpolicy.gate.app import create_app
from rumpolicy.gate.errors import GateError
from rumpolicy.gate.front import route

from ._helpers import ACCOUNT, alias_policy, batch, encoded, make_gate
from .conftest import TestClient

Http = tuple[TestClient, Gate, str]


def assert_aws_error(response: Any, code: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-amzn-ErrorType"] == code
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    body: dict[str, Any] = response.json()
    assert body["message"]
    return body


def test_both_path_forms_accept_events(http: Http) -> None:
    """boto3 sends /appmonitors/{Id}/, aws-rum-web /appmonitors/{id}."""
    client, gate, monitor_id = http
    for path in (f"/appmonitors/{monitor_id}/", f"/appmonitors/{monitor_id}"):
        response = client.post(path, content=encoded(batch(monitor_id, "v1")))
        assert response.status_code == 200 and response.json() == {}
        assert response.headers["content-type"] == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert len(response.headers["x-amzn-RequestId"]) == 36
    assert len(gate.events("shop")) == 2


def test_gzip_and_text_plain_bodies_and_a_dataplane_host(http: Http) -> None:
    """aws-rum-web gzips fetch bodies; beacons send text/plain; boto3 prefixes dataplane."""
    client, gate, monitor_id = http
    gz = client.post(f"/appmonitors/{monitor_id}", content=gzip.compress(
        encoded(batch(monitor_id, "v1", events=20))), headers={
        "Content-Encoding": "gzip", "Content-Type": "application/json"})
    beacon = client.post(f"/appmonitors/{monitor_id}", content=encoded(batch(monitor_id, "v2")),
                         headers={"Content-Type": "text/plain;charset=UTF-8"})
    prefixed = client.post(f"/appmonitors/{monitor_id}/", content=encoded(
        batch(monitor_id, "v1")), headers={"Host": "dataplane.127.0.0.1:4566"})
    assert [gz.status_code, beacon.status_code, prefixed.status_code] == [200, 200, 200]
    assert [len(b.events) for b in gate.events("shop")] == [20, 2, 2]


def test_a_deny_is_a_403_with_cors_so_browsers_back_off(http: Http) -> None:
    client, gate, monitor_id = http
    response = client.post(f"/appmonitors/{monitor_id}", content=encoded(
        batch(monitor_id, "nope")), headers={"Origin": "http://127.0.0.1:8000"})
    body = assert_aws_error(response, "AccessDeniedException", 403)
    assert "x-amzn-ErrorType" in response.headers["Access-Control-Expose-Headers"]
    assert body == {"message": "User: anonymous is not authorized to perform: rum:PutRumEvents "
                    f"on resource: arn:aws:rum:us-east-1:{ACCOUNT}:appmonitor/shop because no "
                    "resource-based policy allows the rum:PutRumEvents action"}
    assert gate.events("shop") == []


def test_preflight_allows_content_encoding_and_signing_headers(http: Http) -> None:
    """Chromium preflights gzipped and signed fetches (wire README, CORS)."""
    client, _, monitor_id = http
    asked = "authorization,content-encoding,content-type,x-amz-content-sha256,x-amz-date"
    response = client.options(f"/appmonitors/{monitor_id}", headers={
        "Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": asked})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == asked
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "x-amzn-RequestId" in response.headers


def test_errors_carry_modeled_members(http: Http) -> None:
    client, _, _ = http
    unknown = "00000000-0000-4000-8000-000000000000"
    body = assert_aws_error(client.post(f"/appmonitors/{unknown}/",
                                        content=encoded(batch(unknown, "v1"))),
                            "ResourceNotFoundException", 404)
    assert body["resourceName"] == unknown and body["resourceType"] == "AppMonitor"
    assert_aws_error(client.get("/appmonitor/shop/policies"), "UnknownOperationException", 404)
    assert_aws_error(client.patch("/appmonitor/shop/policy"), "UnknownOperationException", 404)


def test_an_id_with_an_encoded_slash_is_a_bad_id(http: Http) -> None:
    client, _, _ = http
    body = assert_aws_error(client.post("/appmonitors/a%2Fb/", content=b"{}"),
                            "ValidationException", 400)
    assert "Value 'a/b' at 'Id'" in body["message"]


def test_a_label_holding_a_newline_is_refused_by_the_gate(http: Http) -> None:
    """Starlette's `{path:path}` pattern stops at a decoded newline, which answered a plain 404
    without x-amzn-ErrorType; the gate answers such a path as any other, as mock_rum does."""
    client, _, _ = http
    body = assert_aws_error(client.get("/tags/%0A0"), "ValidationException", 400)
    assert "Value '\\n0' at 'ResourceArn'" in body["message"]  # shown escaped
    assert_aws_error(client.get("/appmonitor/shop%0A"), "ValidationException", 400)
    assert_aws_error(client.get("/appmonitor%0A/shop"), "UnknownOperationException", 404)


def _model_routes() -> list[tuple[str, re.Pattern[str], str]]:
    """botocore's request URIs read plainly, as regular expressions over the raw path."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("rum")
    routes = []
    for operation in model.operation_names:
        http = model.operation_model(operation).http
        template = http["requestUri"].rstrip("/")
        pattern = re.sub(r"\\{(\w+)\+?\\}", r"(?P<\1>[^/]+)", re.escape(template))
        routes.append((http["method"], re.compile(f"^{pattern}/?$"), operation))
    return routes


def test_every_operation_routes_as_botocores_model_says() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("rum")
    assert len(model.operation_names) == 20
    for operation in model.operation_names:
        http = model.operation_model(operation).http
        template = http["requestUri"]
        path = re.sub(r"\{\w+\+?\}", "a%2Db", template)
        labels = {name: "a-b" for name in re.findall(r"\{(\w+)\+?\}", template)}
        assert route(http["method"], path) == (operation, labels)
        assert route(http["method"], path.rstrip("/")) == (operation, labels)
        with pytest.raises(GateError):
            route(http["method"], path.rstrip("/") + "/extra/more")
        with pytest.raises(GateError):
            route("HEAD", path)


_SEGMENTS = st.sampled_from(["appmonitors", "appmonitor", "policy", "x", "", "a%2Fb", "%ff",
                             "rummetrics", "metrics", "metricsdestination", "tags", "data"])


@given(method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH"]),
       segments=st.lists(_SEGMENTS, max_size=5))
def test_routing_is_the_model_read_plainly(method: str, segments: list[str]) -> None:
    """Whatever shortcut `route` takes, it answers as botocore's request URIs read plainly:
    the path matches the template (one trailing slash optional), labels percent-decoded."""
    path = "/" + "/".join(segments)
    expected: Any = None
    for verb, pattern, operation in _model_routes():
        match = pattern.match(path)
        if verb == method and match:
            expected = (operation, match.groupdict())
            break
    try:
        found: Any = route(method, path)
    except GateError as err:
        found = err.code
    if expected is not None and any("%ff" in v for v in expected[1].values()):
        assert found == "ValidationException"  # not UTF-8 once decoded
    elif expected is not None:
        assert found == (expected[0], {k: v.replace("%2F", "/")
                                       for k, v in expected[1].items()})
    else:
        assert found == "UnknownOperationException"


def test_control_plane_routes(http: Http) -> None:
    client, _, _ = http
    created = client.post("/appmonitor", json={"Name": "blog", "Domain": "example.org"})
    assert created.status_code == 200 and len(created.json()["Id"]) == 36
    assert client.get("/appmonitor/blog").json()["AppMonitor"]["Domain"] == "example.org"
    listed = client.post("/appmonitors?maxResults=1").json()
    assert [m["Name"] for m in listed["AppMonitorSummaries"]] == ["blog"]
    put = client.put("/appmonitor/blog/policy", json={"PolicyDocument": alias_policy("blog")})
    revision = put.json()["PolicyRevisionId"]
    assert client.get("/appmonitor/blog/policy").json()["PolicyRevisionId"] == revision
    assert_aws_error(client.delete("/appmonitor/blog/policy?policyRevisionId=old"),
                     "InvalidPolicyRevisionIdException", 400)
    deleted = client.delete(f"/appmonitor/blog/policy?policyRevisionId={revision}")
    assert deleted.json() == {"PolicyRevisionId": revision}
    assert client.delete("/appmonitor/blog").status_code == 200
    assert_aws_error(client.post("/appmonitor", content=b""), "ValidationException", 400)


def test_oversized_bodies_are_refused_before_reading_them_all() -> None:
    gate, monitor_id = make_gate(GateConfig(max_body_bytes=4096))
    with TestClient(create_app(gate)) as client:
        big = encoded(batch(monitor_id, "v1", events=40))
        body = assert_aws_error(client.post(f"/appmonitors/{monitor_id}", content=big),
                                "ValidationException", 400)
        assert "larger than 4096 bytes" in body["message"]
        bomb = gzip.compress(b"{" + b" " * 100_000 + b"}")
        body = assert_aws_error(client.post(f"/appmonitors/{monitor_id}", content=bomb,
                                            headers={"Content-Encoding": "gzip"}),
                                "ValidationException", 400)
        assert "decompresses to more than 4096 bytes" in body["message"]


def test_forwarded_for_only_when_trusted() -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "rum:PutRumEvents", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]})
    for trusted, status in ((False, 403), (True, 200)):
        gate, monitor_id = make_gate(GateConfig(trust_forwarded_for=trusted))
        gate.put_resource_policy(Name="shop", PolicyDocument=policy)
        with TestClient(create_app(gate)) as client:
            response = client.post(f"/appmonitors/{monitor_id}", content=encoded(
                batch(monitor_id)), headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"})
            assert response.status_code == status


# -- SigV4 ------------------------------------------------------------------------------------

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def signed_gate() -> tuple[Gate, str]:
    config = GateConfig(credentials={
        "AKIDALICE": Credential("AKIDALICE", ALICE, "alice-secret"),
        "AKIDTRUSTED": Credential("AKIDTRUSTED", ALICE, None)})
    gate, monitor_id = make_gate(config, clock=time.time)
    gate.put_resource_policy(Name="shop", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "rum:PutRumEvents",
            "Resource": "*"}]}))
    return gate, monitor_id


def sign(url: str, body: bytes, key: str = "AKIDALICE", secret: str = "alice-secret",
         region: str = "us-east-1", **extra: str) -> dict[str, str]:
    """Sign as botocore does for boto3 (header signature, content-type;host;x-amz-date)."""
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json", **extra})
    SigV4Auth(Credentials(key, secret), "rum", region).add_auth(request)
    return dict(request.headers.items())


def test_signed_calls_are_verified() -> None:
    gate, monitor_id = signed_gate()
    with TestClient(create_app(gate), base_url="http://testserver") as client:
        path = f"/appmonitors/{monitor_id}/"
        url = f"http://testserver{path}"
        body = encoded(batch(monitor_id))
        ok = client.post(path, content=body, headers=sign(url, body))
        assert ok.status_code == 200
        assert gate.events("shop")[0].principal == ALICE
        assert_aws_error(client.post(path, content=body), "AccessDeniedException", 403)
        cases = {
            "InvalidSignatureException": [sign(url, body, secret="wrong"),
                                          sign(url, body + b" "),
                                          sign(url, body, region="eu-west-1")],
            "UnrecognizedClientException": [sign(url, body, key="AKIDNOBODY")],
        }
        for code, headers_list in cases.items():
            for headers in headers_list:
                assert_aws_error(client.post(path, content=body, headers=headers), code, 403)
        trusted = client.post(path, content=encoded(batch(monitor_id)),
                              headers=sign(url, body, key="AKIDTRUSTED", secret="anything"))
        assert trusted.status_code == 200
        garbled = client.post(path, content=body, headers={"Authorization": "AWS4 nonsense"})
        assert_aws_error(garbled, "IncompleteSignatureException", 400)
        presigned = client.post(path + "?X-Amz-Signature=abc", content=body)
        assert_aws_error(presigned, "IncompleteSignatureException", 400)
    assert len(gate.events("shop")) == 2


def test_stale_signatures_expire() -> None:
    gate, monitor_id = signed_gate()
    gate._clock = lambda: time.time() + 3600  # the gate's clock is an hour ahead
    with TestClient(create_app(gate)) as client:
        path = f"/appmonitors/{monitor_id}/"
        body = encoded(batch(monitor_id))
        response = client.post(path, content=body, headers=sign(f"http://testserver{path}", body))
        assert "Signature expired" in assert_aws_error(
            response, "InvalidSignatureException", 403)["message"]


def test_a_signed_payload_hash_must_match_the_body() -> None:
    gate, monitor_id = signed_gate()
    with TestClient(create_app(gate)) as client:
        path = f"/appmonitors/{monitor_id}"
        body = encoded(batch(monitor_id))
        headers = sign(f"http://testserver{path}", body,
                       **{"X-Amz-Content-SHA256": "0" * 64})
        assert_aws_error(client.post(path, content=body, headers=headers),
                         "InvalidSignatureException", 403)


# -- embedding: the recipe of docs/gate.md ------------------------------------------------------

def test_mounting_the_gate_inside_another_asgi_app() -> None:
    gate, monitor_id = make_gate()

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    outer = Starlette(routes=[Route("/health", health), Mount("/rum", app=create_app(gate))])
    with TestClient(outer) as client:
        assert client.get("/health").json() == {"ok": True}
        response = client.post(f"/rum/appmonitors/{monitor_id}",
                               content=encoded(batch(monitor_id, "v1")))
        assert response.status_code == 200
        assert client.get("/rum/appmonitor/shop").json()["AppMonitor"]["Id"] == monitor_id
    assert len(gate.events("shop")) == 1


def test_unexpected_failures_in_the_app_answer_500_with_cors(
        http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    client, gate, monitor_id = http

    def explode(*args: Any, **members: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(gate, "call", explode)
    assert_aws_error(client.get("/appmonitor/shop"), "InternalServerException", 500)
    monkeypatch.setattr(_sqlite, "_write_together", explode)  # the in-loop commit (in memory)
    response = client.post(f"/appmonitors/{monitor_id}", content=encoded(batch(monitor_id, "v1")))
    assert_aws_error(response, "InternalServerException", 500)
    assert response.headers["Retry-After"] == "1"
    monkeypatch.undo()
    assert gate.events("shop") == []
