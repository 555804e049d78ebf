"""Presigned (query-string) SigV4 calls to PutRumEvents, verified by the gate over HTTP.

The clients are real signers: botocore's `SigV4QueryAuth`, and aws-rum-web's own beacon path
(`tests/browser/presign.mjs` runs its DataPlaneClient.sendBeacon with its signing config, i.e.
@smithy/signature-v4's presign with `expiresIn: 60` and the body's SHA-256 as
X-Amz-Content-Sha256, and records the URL its BeaconHttpHandler hands navigator.sendBeacon).

botocore's query signer moves a request's body into the query string (it was written for the
query protocol), so a PutRumEvents POST is presigned with an empty body and the body's SHA-256 in
a signed `X-Amz-Content-SHA256` header: botocore then signs that hash as the payload hash, which
binds the body as aws-rum-web's query parameter does.

The app monitor's policy allows only named principals, so a 200 proves the gate took the
presigned caller's identity for the decision, and the same call unsigned is denied.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from rumpolicy.gate import Credential, Gate, GateConfig
from rumpolicy.gate.app import create_app
from rumpolicy.gate.credentials import MAX_EXPIRES

from ._helpers import ACCOUNT, batch, encoded, make_gate
from .conftest import TestClient

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
SESSION_TOKEN = "FwoGZXIvYXdzEBYaDH/session+token=="
"""Has `/`, `+` and `=`, which a query string must percent-encode."""
CREDENTIALS = {
    "AKIDALICE": Credential("AKIDALICE", ALICE, "alice-secret"),
    "ASIATEMP": Credential("ASIATEMP", ALICE, "temp-secret", SESSION_TOKEN),
    "AKIDTRUSTED": Credential("AKIDTRUSTED", BOB, None),
}
MAX_SKEW = 900
BEACON_TYPE = "text/plain;charset=UTF-8"
BASE = "http://testserver"
BROWSER = Path(__file__).resolve().parents[1] / "browser"
PRESIGN = BROWSER / "presign.mjs"
RUM_WEB_MODULES = ("@aws-rum/web-core", "@smithy/signature-v4", "@aws-crypto/sha256-js")


# -- the gate ----------------------------------------------------------------------------------

@dataclass
class Env:
    """A gate whose clock the test sets, its app under TestClient, every query it received."""

    client: TestClient
    gate: Gate
    monitor_id: str
    clock: list[float]
    queries: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{BASE}/appmonitors/{self.monitor_id}"

    def principals(self) -> list[str | None]:
        return [b.principal for b in self.gate.events("shop")]


class _Recorder:
    """Records the raw query string of every call as the gate's app received it."""

    def __init__(self, app: Any, queries: list[str]) -> None:
        self.app = app
        self.queries = queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.queries.append(scope.get("query_string", b"").decode("latin-1"))
        await self.app(scope, receive, send)


@contextmanager
def gate_env() -> Iterator[Env]:
    clock = [time.time()]
    gate, monitor_id = make_gate(GateConfig(credentials=CREDENTIALS, max_clock_skew=MAX_SKEW),
                                 clock=lambda: clock[0])
    gate.put_resource_policy(Name="shop", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": [ALICE, BOB]},
            "Action": "rum:PutRumEvents", "Resource": "*"}]}))
    queries: list[str] = []
    try:
        with TestClient(_Recorder(create_app(gate), queries), base_url=BASE) as client:
            yield Env(client, gate, monitor_id, clock, queries)
    finally:
        gate.close()


@pytest.fixture
def env() -> Iterator[Env]:
    with gate_env() as made:
        yield made


def refused(response: Any, code: str, status: int) -> str:
    """The message of an AWS error answer, after checking its code, status and CORS."""
    assert response.status_code == status, response.text
    assert response.headers["x-amzn-ErrorType"] == code, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    message: str = response.json()["message"]
    assert message
    return message


# -- the signers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Presigned:
    """A presigned call: the URL with its query, the headers to send, the body."""

    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def signed_at(self) -> float:
        return calendar.timegm(time.strptime(self.params()["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))

    def with_query(self, query: str) -> Presigned:
        base = self.url.split("?", 1)[0]
        return Presigned(f"{base}?{query}" if query else base, self.headers, self.body)

    def edited(self, edit: Callable[[list[tuple[str, str]]], list[tuple[str, str]]]
               ) -> Presigned:
        """The same call with its raw (still encoded) query parameters edited."""
        pairs = [(k, v) for k, _, v in (s.partition("=") for s in self.query.split("&"))]
        return self.with_query("&".join(f"{k}={v}" for k, v in edit(pairs)))

    def without(self, name: str) -> Presigned:
        return self.edited(lambda pairs: [(k, v) for k, v in pairs if k != name])

    def replacing(self, name: str, raw_value: str) -> Presigned:
        return self.edited(lambda pairs: [(k, raw_value if k == name else v) for k, v in pairs])

    def send(self, env: Env, body: bytes | None = None, **headers: str) -> Any:
        return env.client.post(self.url, content=self.body if body is None else body,
                               headers={**self.headers, **headers})


def boto_presign(env: Env, body: bytes, *, key: str = "AKIDALICE",
                 secret: str = "alice-secret", token: str | None = None, expires: int = 60,
                 region: str = "us-east-1", bind_body: bool = True) -> Presigned:
    """botocore's SigV4QueryAuth over a PutRumEvents POST (see the module's docstring)."""
    headers = {"Content-Type": "application/json"}
    if bind_body:
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method="POST", url=env.url, headers=headers)
    SigV4QueryAuth(Credentials(key, secret, token), "rum", region, expires=expires
                   ).add_auth(request)
    return Presigned(request.url, dict(request.headers.items()), body)


def _rum_web_missing() -> list[str]:
    missing = [] if shutil.which("node") else ["node on PATH (Node.js 18 or newer)"]
    missing += [f"{BROWSER / 'node_modules' / m} (npm ci in {BROWSER})" for m in RUM_WEB_MODULES
                if not (BROWSER / "node_modules" / m / "package.json").is_file()]
    return missing


RumWeb = Callable[..., Presigned]


@pytest.fixture(scope="module")
def rum_web() -> RumWeb:
    """aws-rum-web's beacon presigner. Skips without Node.js or the npm packages, except under
    CI, whose setup (.ci/setup-browser) installs both: there a missing one is a broken setup."""
    missing = _rum_web_missing()
    if missing:
        reason = "aws-rum-web's presigner needs " + "; ".join(missing)
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(reason)
        pytest.skip(reason)

    def presign(env: Env, request: dict[str, Any], *, key: str = "AKIDALICE",
                secret: str = "alice-secret", token: str | None = None) -> Presigned:
        credentials = {"accessKeyId": key, "secretAccessKey": secret}
        if token is not None:
            credentials["sessionToken"] = token
        done = subprocess.run(
            ["node", str(PRESIGN)], cwd=BROWSER, capture_output=True, timeout=60, check=False,
            input=json.dumps({"endpoint": BASE, "region": "us-east-1",
                              "credentials": credentials, "request": request}).encode())
        assert done.returncode == 0, done.stderr.decode()
        sent = json.loads(done.stdout)
        assert sent["headers"]["content-type"] == BEACON_TYPE
        # navigator.sendBeacon with a string body sends it as UTF-8 text/plain.
        return Presigned(sent["url"], {"Content-Type": BEACON_TYPE}, sent["body"].encode())

    return presign


# -- valid presigned calls ---------------------------------------------------------------------

def test_an_aws_rum_web_beacon_is_decided_as_its_signer(env: Env, rum_web: RumWeb) -> None:
    beacon = rum_web(env, batch(env.monitor_id, "v1"))
    params = beacon.params()
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert params["X-Amz-Expires"] == ["60"]
    assert params["X-Amz-SignedHeaders"] == ["content-type;host"]
    assert params["X-Amz-Content-Sha256"] == [hashlib.sha256(beacon.body).hexdigest()]
    assert params["X-Amz-Credential"][0].startswith("AKIDALICE/")
    assert beacon.send(env).status_code == 200
    assert env.principals() == [ALICE]
    unsigned = env.client.post(env.url, content=encoded(batch(env.monitor_id, "v1")),
                               headers={"Content-Type": BEACON_TYPE})
    assert "User: anonymous is not authorized" in refused(unsigned, "AccessDeniedException", 403)
    assert env.principals() == [ALICE]


def test_a_botocore_presigned_call_is_decided_as_its_signer(env: Env) -> None:
    body = encoded(batch(env.monitor_id))
    presigned = boto_presign(env, body)
    assert presigned.params()["X-Amz-SignedHeaders"] == ["content-type;host;x-amz-content-sha256"]
    assert presigned.send(env).status_code == 200
    assert env.principals() == [ALICE]


def test_an_equivalent_encoding_of_the_same_query_verifies(env: Env) -> None:
    """The query is canonicalized from its decoded parameters, as SigV4 defines it: another
    order, lower-case hex escapes, an escaped unreserved character or an empty segment change
    nothing that is signed."""
    presigned = boto_presign(env, encoded(batch(env.monitor_id)), expires=3600)
    reordered = presigned.edited(lambda pairs: list(reversed(pairs)))
    lower_hex = presigned.with_query(presigned.query.replace("%2F", "%2f") + "&")
    escaped = presigned.with_query(presigned.query.replace("X-Amz-Date", "X-Amz-D%61te"))
    for variant in (reordered, lower_hex, escaped):
        assert variant.query != presigned.query
        assert variant.send(env).status_code == 200, variant.query


def test_session_credentials_must_carry_their_token(env: Env) -> None:
    body = encoded(batch(env.monitor_id))
    good = boto_presign(env, body, key="ASIATEMP", secret="temp-secret", token=SESSION_TOKEN)
    assert good.params()["X-Amz-Security-Token"] == [SESSION_TOKEN]
    assert good.send(env).status_code == 200
    for bad in (boto_presign(env, body, key="ASIATEMP", secret="temp-secret"),
                boto_presign(env, body, key="ASIATEMP", secret="temp-secret", token="other")):
        refused(bad.send(env), "UnrecognizedClientException", 403)
    assert env.principals() == [ALICE]


def test_aws_rum_web_session_credentials(env: Env, rum_web: RumWeb) -> None:
    """Cognito guest credentials, aws-rum-web's usual signer, are session credentials."""
    beacon = rum_web(env, batch(env.monitor_id), key="ASIATEMP", secret="temp-secret",
                     token=SESSION_TOKEN)
    assert beacon.params()["X-Amz-Security-Token"] == [SESSION_TOKEN]
    assert beacon.send(env).status_code == 200
    wrong = rum_web(env, batch(env.monitor_id), key="ASIATEMP", secret="temp-secret",
                    token="stale")
    refused(wrong.send(env), "UnrecognizedClientException", 403)
    assert env.principals() == [ALICE]


def test_a_key_listed_without_a_secret_is_trusted(env: Env, rum_web: RumWeb) -> None:
    boto = boto_presign(env, encoded(batch(env.monitor_id)), key="AKIDTRUSTED", secret="any")
    beacon = rum_web(env, batch(env.monitor_id), key="AKIDTRUSTED", secret="whatever")
    assert [boto.send(env).status_code, beacon.send(env).status_code] == [200, 200]
    assert env.principals() == [BOB, BOB]


# -- refused presigned calls -------------------------------------------------------------------

def test_a_wrong_signature_is_refused(env: Env, rum_web: RumWeb) -> None:
    body = encoded(batch(env.monitor_id))
    signature = boto_presign(env, body).params()["X-Amz-Signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for call in (boto_presign(env, body, secret="wrong"),
                 boto_presign(env, body).replacing("X-Amz-Signature", flipped),
                 boto_presign(env, body, region="eu-west-1"),
                 boto_presign(env, body, bind_body=False),  # signed the empty payload
                 rum_web(env, batch(env.monitor_id), secret="wrong")):
        refused(call.send(env), "InvalidSignatureException", 403)
    assert env.principals() == []


def test_a_tampered_body_is_refused(env: Env, rum_web: RumWeb) -> None:
    """The signature covers the body through its SHA-256, in the query (aws-rum-web) or in a
    signed header (botocore); `UNSIGNED-PAYLOAD` would leave the body uncovered."""
    beacon = rum_web(env, batch(env.monitor_id, "v1"))
    boto = boto_presign(env, encoded(batch(env.monitor_id, "v1")))
    for call in (beacon, boto):
        tampered = call.body.replace(b'"v1"', b'"v2"')
        assert tampered != call.body
        message = refused(call.send(env, tampered), "InvalidSignatureException", 403)
        assert "SHA-256 of the body" in message
    unsigned_payload = beacon.replacing("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
    assert "UNSIGNED-PAYLOAD" in refused(unsigned_payload.send(env),
                                         "InvalidSignatureException", 403)
    assert env.principals() == []


def test_a_presigned_call_expires_after_x_amz_expires(env: Env, rum_web: RumWeb) -> None:
    beacon = rum_web(env, batch(env.monitor_id))
    boto = boto_presign(env, encoded(batch(env.monitor_id)), expires=300)
    for call, lifetime in ((beacon, 60), (boto, 300)):
        env.clock[0] = call.signed_at() + lifetime + 1
        message = refused(call.send(env), "InvalidSignatureException", 403)
        assert "Signature expired" in message and f"{lifetime} sec." in message
        env.clock[0] = call.signed_at() + lifetime
        assert call.send(env).status_code == 200
    assert env.principals() == [ALICE, ALICE]


def test_a_presigned_call_dated_too_far_ahead_is_refused(env: Env) -> None:
    """The gate's clock may be behind the signer's by the clock-skew allowance, no more."""
    call = boto_presign(env, encoded(batch(env.monitor_id)))
    env.clock[0] = call.signed_at() - MAX_SKEW - 1
    assert "not yet current" in refused(call.send(env), "InvalidSignatureException", 403)
    env.clock[0] = call.signed_at() - MAX_SKEW
    assert call.send(env).status_code == 200


def test_x_amz_expires_is_one_second_to_seven_days(env: Env) -> None:
    body = encoded(batch(env.monitor_id))
    for expires in (0, MAX_EXPIRES + 1):
        message = refused(boto_presign(env, body, expires=expires).send(env),
                          "IncompleteSignatureException", 400)
        assert "X-Amz-Expires must be a whole number of seconds from 1 to 604800" in message
    for raw in ("-5", "60.0", "1e3", "", "%D9%A1"):  # "" is missing; the last is Arabic one
        refused(boto_presign(env, body).replacing("X-Amz-Expires", raw).send(env),
                "IncompleteSignatureException", 400)
    longest = boto_presign(env, body, expires=MAX_EXPIRES)
    env.clock[0] = longest.signed_at() + MAX_EXPIRES
    assert longest.send(env).status_code == 200


def test_an_unknown_key_is_refused(env: Env, rum_web: RumWeb) -> None:
    for call in (boto_presign(env, encoded(batch(env.monitor_id)), key="AKIDNOBODY"),
                 rum_web(env, batch(env.monitor_id), key="AKIDNOBODY")):
        message = refused(call.send(env), "UnrecognizedClientException", 403)
        assert message == "The security token included in the request is invalid."


@pytest.mark.parametrize("name", ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                  "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"])
def test_each_missing_parameter_is_named(env: Env, name: str) -> None:
    call = boto_presign(env, encoded(batch(env.monitor_id)))
    for incomplete in (call.without(name), call.replacing(name, "")):
        message = refused(incomplete.send(env), "IncompleteSignatureException", 400)
        assert message == (f"AWS query-string parameters must include '{name}'. "
                           "Re-examine the query-string parameters.")


def test_malformed_query_signatures_are_incomplete(env: Env) -> None:
    call = boto_presign(env, encoded(batch(env.monitor_id)))
    lone = env.client.post(env.url + "?X-Amz-Signature=abc", content=call.body)
    assert refused(lone, "IncompleteSignatureException", 400).count("must include") == 5
    lower = call.with_query(call.query.replace("X-Amz-Algorithm", "x-amz-algorithm"))
    assert "'X-Amz-Algorithm'" in refused(lower.send(env), "IncompleteSignatureException", 400)
    twice = call.edited(lambda pairs: [*pairs, ("X-Amz-Date", "20200101T000000Z")])
    assert "more than once" in refused(twice.send(env), "IncompleteSignatureException", 400)
    other = call.replacing("X-Amz-Algorithm", "AWS4-HMAC-SHA512")
    assert "Unsupported AWS 'algorithm'" in refused(other.send(env),
                                                    "IncompleteSignatureException", 400)
    bad_date = call.replacing("X-Amz-Date", "2026-11-26T10:00:00Z")
    assert "must look like" in refused(bad_date.send(env), "IncompleteSignatureException", 400)
    no_host = call.replacing("X-Amz-SignedHeaders", "content-type")
    assert "must include host" in refused(no_host.send(env), "IncompleteSignatureException", 400)
    assert env.principals() == []


def test_a_header_signature_and_a_query_signature_together_are_refused(env: Env) -> None:
    """AWS's front door refuses a call signed both ways rather than choosing one; so does the
    gate, whichever of the two is valid."""
    from botocore.auth import SigV4Auth

    body = encoded(batch(env.monitor_id))
    call = boto_presign(env, body)
    header = AWSRequest(method="POST", url=call.url, data=body,
                        headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDALICE", "alice-secret"), "rum", "us-east-1").add_auth(header)
    both = env.client.post(call.url, content=body, headers=dict(header.headers.items()))
    message = refused(both, "InvalidSignatureException", 403)
    assert message.startswith("Found both 'X-Amz-Algorithm' as a query-string param and "
                              "'Authorization' as HTTP header.")
    assert env.principals() == []


# -- any change to a presigned query string ----------------------------------------------------

def _meaning(query: str) -> Counter[tuple[bytes, bytes]]:
    """What a query string says: its decoded parameters, in any order, empty segments aside."""
    return Counter((unquote_to_bytes(k), unquote_to_bytes(v))
                   for k, _, v in (s.partition("=") for s in query.split("&") if s))


_CHARS = "&=%+/;:-_.~aAzZ09fFé "
_EDITS = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 9)),
    st.tuples(st.just("repeat"), st.integers(0, 9)),
    st.tuples(st.just("value"), st.integers(0, 9), st.text(max_size=12)),
    st.tuples(st.just("key"), st.integers(0, 9), st.text(max_size=12)),
    st.tuples(st.just("add"), st.text(max_size=12), st.text(max_size=12)),
    st.tuples(st.just("insert"), st.integers(0, 2000), st.sampled_from(_CHARS)),
    st.tuples(st.just("replace"), st.integers(0, 2000), st.sampled_from(_CHARS)),
    st.tuples(st.just("delete"), st.integers(0, 2000)),
    st.tuples(st.just("swapcase"), st.integers(0, 2000)),
    st.tuples(st.just("truncate"), st.integers(0, 2000)),
)


def _apply(query: str, edit: tuple[Any, ...]) -> str:
    kind, *args = edit
    segments = query.split("&")
    if kind in ("drop", "repeat", "value", "key"):
        i = args[0] % len(segments)
        key, _, value = segments[i].partition("=")
        if kind == "drop":
            del segments[i]
        elif kind == "repeat":
            segments.insert(i, segments[i])
        elif kind == "value":
            segments[i] = f"{key}={quote(args[1], safe='')}"
        else:
            segments[i] = f"{quote(args[1], safe='')}={value}"
        return "&".join(segments)
    if kind == "add":
        return f"{query}&{quote(args[0], safe='')}={quote(args[1], safe='')}"
    at = args[0] % (len(query) + 1)
    if kind == "insert":
        return f"{query[:at]}{args[1]}{query[at:]}"
    if kind == "replace":
        return f"{query[:at]}{args[1]}{query[at + 1:]}"
    if kind == "delete":
        return query[:at] + query[at + 1:]
    if kind == "swapcase":
        return query[:at] + query[at:at + 1].swapcase() + query[at + 1:]
    return query[:at]  # truncate


@pytest.fixture(scope="module", params=["botocore", "aws-rum-web"])
def signed_once(request: pytest.FixtureRequest) -> Iterator[tuple[Env, Presigned]]:
    """One valid presigned call per signer, and a gate whose clock stays at its signing time."""
    with gate_env() as made:
        body = batch(made.monitor_id)
        if request.param == "botocore":
            call = boto_presign(made, encoded(body))
        else:
            call = request.getfixturevalue("rum_web")(made, body)
        made.clock[0] = call.signed_at()
        assert call.send(made).status_code == 200
        yield made, call


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDITS, min_size=1, max_size=3))
def test_a_changed_signed_query_is_refused_unless_it_means_the_same(
        signed_once: tuple[Env, Presigned], edits: list[tuple[Any, ...]]) -> None:
    """Never a 500, never the signer's identity for a query that says something else; only an
    equivalent encoding of the same parameters may be accepted."""
    env, call = signed_once
    query = call.query
    for edit in edits:
        query = _apply(query, edit)
    response = call.with_query(query).send(env)
    received = env.queries[-1]
    if response.status_code == 200:
        assert _meaning(received) == _meaning(call.query), received
        return
    assert response.status_code in (400, 403), response.text
    assert response.headers["x-amzn-ErrorType"] in (
        "IncompleteSignatureException", "InvalidSignatureException",
        "UnrecognizedClientException", "AccessDeniedException"), response.text
