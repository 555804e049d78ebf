"""Who a signed call comes from: the credentials table and SigV4 verification.

A call is signed in one of two ways, and both name an access key:
- an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header
  (boto3, aws-rum-web's fetch path), dated by its `X-Amz-Date` header;
- a presigned query string, `?X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...
  &X-Amz-Expires=...&X-Amz-SignedHeaders=...&X-Amz-Signature=...` (aws-rum-web's sendBeacon
  path when it signs, botocore's `SigV4QueryAuth`).

Each way is read into one `_Claim`; everything after that is shared. An unknown key is refused as
AWS refuses it (UnrecognizedClientException, 403). When the table knows the key's secret,
botocore's own signer recomputes the signature over what arrived (method, raw path, the query
without `X-Amz-Signature`, the signed headers, the body's SHA-256) and a mismatch is
InvalidSignatureException; a key listed without a secret is trusted as is. Unsigned calls are
anonymous (`None`).

Choices where AWS documents nothing for a Coral (non-S3) service (docs/semantics.md):
- any SigV4 parameter in the query (any case) makes the call a presigned one, so a half-signed
  call is refused rather than taken as anonymous; with an `Authorization` header as well it is
  refused as AWS's front door refuses it ("Found both ...");
- `X-Amz-Expires` is required, 1 to 604800 seconds (a signing key lives seven days); the request
  is valid from `X-Amz-Date` minus the clock skew allowance to `X-Amz-Date` plus `X-Amz-Expires`;
- the payload hash is always the body's SHA-256: a claimed `X-Amz-Content-Sha256` (query or
  header) must equal it, and `UNSIGNED-PAYLOAD` is refused, so a signature always covers the body;
- the query is canonicalized from its decoded parameters (decoded, then encoded again as SigV4
  says), so an equivalent encoding of the same parameters verifies; empty `&&` segments are
  ignored.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from rumpolicy.gate.config import Credential
from rumpolicy.gate.context import Identity
from rumpolicy.gate.errors import GateError

SERVICE = "rum"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_EXPIRES = 604_800
"""Seven days in seconds: the longest X-Amz-Expires SigV4 allows (a signing key's lifetime)."""

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_SHAPE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_EXPIRES_SHAPE = re.compile(r"[0-9]{1,12}")
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. Consult the service "
             "documentation for details.")
_INVALID_TOKEN = "The security token included in the request is invalid."
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_CONTENT_SHA256 = "x-amz-content-sha256"

_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
             "X-Amz-Date", "X-Amz-Expires")
"""The parameters a presigned call must carry, in the order AWS's message names them."""
_TOKEN = "X-Amz-Security-Token"
_SIGNATURE = "X-Amz-Signature"
_QUERY_AUTH = frozenset(name.lower() for name in (*_REQUIRED, _TOKEN))
"""Names that make a query string a SigV4 signature, compared without case."""

Pairs = tuple[tuple[str, str], ...]
"""The query's parameters in order, percent-decoded (undecodable bytes kept as surrogates)."""


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a signed call says about itself, read from its header or from its query string."""

    access_key: str
    scope: str
    """The credential after the key: DATE/REGION/SERVICE/aws4_request."""
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str | None
    """None only for a header signature without an X-Amz-Date header."""
    token: str | None
    expires: int | None
    """Seconds a presigned call stays valid; None for a header signature (clock-skew window)."""
    canonical_query: Pairs
    """The parameters the signature covers: all of them but X-Amz-Signature."""


def authenticate(credentials: Mapping[str, Credential], *, method: str, scheme: str,
                 raw_path: str, query: str, headers: Mapping[str, str], body: bytes,
                 now: float, region: str, max_skew: int, account: str) -> Identity | None:
    """The caller's identity, None for an unsigned call, or a GateError (403/400).

    With no credentials table (emulator mode, docs/gate.md), any access key is accepted and no
    signature is checked, as moto and LocalStack do: the caller is `emulator_principal`, an IAM
    user of the account, never its root user, so the resource policy still decides. A call whose
    signature cannot even be read is refused all the same.

    `headers` has lower-case names; `raw_path` and `query` are exactly as received (the query
    decoded from bytes as latin-1)."""
    pairs = _query_pairs(query)
    claim = _claim(headers, pairs)
    if claim is None:
        return None
    if not credentials:
        return Identity(emulator_principal(account), (), claim.access_key)
    credential = credentials.get(claim.access_key)
    if credential is None:
        raise GateError("UnrecognizedClientException", _INVALID_TOKEN)
    if credential.secret_key is None:
        return credential.identity()
    _check_token(credential, claim.token)
    amz_date = _check_time(claim, now, max_skew)
    _, scope_region, scope_service = _scope(claim.scope, amz_date, region)
    _check_signed_headers(claim.signed_headers, headers)
    digest = hashlib.sha256(body).hexdigest()
    _check_payload_hash(headers, pairs, digest)
    signer = _Signer(Credentials(claim.access_key, credential.secret_key), scope_service,
                     scope_region, digest)
    request = _canonical_request(claim, method=method, scheme=scheme, raw_path=raw_path,
                                 headers=headers, body=body, amz_date=amz_date)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected.encode(), _bytes(claim.signature)):
        raise GateError("InvalidSignatureException", _MISMATCH)
    return credential.identity()


EMULATOR_USER = "rumpolicy-emulator"


def emulator_principal(account: str) -> str:
    """The signed caller in emulator mode: an IAM user with no identity policies."""
    return f"arn:aws:iam::{account}:user/{EMULATOR_USER}"


# -- reading the claim -------------------------------------------------------------------------

def _claim(headers: Mapping[str, str], pairs: Pairs) -> _Claim | None:
    """The signature the call carries, None if it carries none; refuses a call carrying two."""
    authorization = headers.get("authorization")
    in_query = [key for key, _ in pairs if key.lower() in _QUERY_AUTH]
    if authorization is None:
        return _query_claim(pairs) if in_query else None
    if in_query:
        raise GateError("InvalidSignatureException",
                        f"Found both '{_shown(in_query[0])}' as a query-string param and "
                        "'Authorization' as HTTP header. Sign with one of them only.")
    return _header_claim(authorization, headers, pairs)


def _header_claim(authorization: str, headers: Mapping[str, str], pairs: Pairs) -> _Claim:
    match = _AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise GateError("IncompleteSignatureException",
                        "Authorization header must be 'AWS4-HMAC-SHA256 Credential=KEY/DATE/"
                        "REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=<64 hex>'.")
    access_key, _, scope = match["credential"].partition("/")
    return _Claim(access_key, scope, tuple(match["signed"].split(";")), match["signature"],
                  headers.get("x-amz-date"), headers.get("x-amz-security-token"), None, pairs)


def _query_claim(pairs: Pairs) -> _Claim:
    """A presigned call's parameters, or IncompleteSignatureException naming what is wrong."""
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    missing = [name for name in _REQUIRED if not any(values.get(name, ()))]
    if missing:
        raise GateError("IncompleteSignatureException", "".join(
            f"AWS query-string parameters must include '{name}'. " for name in missing)
            + "Re-examine the query-string parameters.")
    repeated = [name for name in (*_REQUIRED, _TOKEN) if len(values.get(name, ())) > 1]
    if repeated:
        raise GateError("IncompleteSignatureException",
                        f"The query string gives {', '.join(repeated)} more than once; a "
                        "presigned request carries each SigV4 parameter once.")
    one = {name: found[0] for name, found in values.items()}
    if one["X-Amz-Algorithm"] != ALGORITHM:
        raise GateError("IncompleteSignatureException",
                        f"Unsupported AWS 'algorithm': '{_shown(one['X-Amz-Algorithm'])}' "
                        f"(only {ALGORITHM} for now).")
    access_key, _, scope = one["X-Amz-Credential"].partition("/")
    return _Claim(access_key, scope, tuple(one["X-Amz-SignedHeaders"].split(";")),
                  one[_SIGNATURE], one["X-Amz-Date"], one.get(_TOKEN),
                  _expires(one["X-Amz-Expires"]),
                  tuple((k, v) for k, v in pairs if k != _SIGNATURE))


def _expires(given: str) -> int:
    seconds = int(given) if _EXPIRES_SHAPE.fullmatch(given) else -1
    if not 1 <= seconds <= MAX_EXPIRES:
        raise GateError("IncompleteSignatureException",
                        f"X-Amz-Expires must be a whole number of seconds from 1 to "
                        f"{MAX_EXPIRES} (seven days), not '{_shown(given)}'.")
    return seconds


def _query_pairs(query: str) -> Pairs:
    """Percent-decoded (key, value) pairs; `a` alone is ('a', ''), empty segments are skipped.
    Decoding never fails: bytes that are not UTF-8 become surrogates, and `_encode` restores
    them, so such a query is canonicalized byte for byte."""
    pairs = []
    for segment in query.split("&"):
        if segment:
            key, _, value = segment.partition("=")
            pairs.append((_decode(key), _decode(value)))
    return tuple(pairs)


def _decode(raw: str) -> str:
    return unquote_to_bytes(raw.encode("latin-1", "replace")).decode("utf-8", "surrogateescape")


def _encode(value: str) -> str:
    """SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX."""
    return quote(_bytes(value), safe="-_.~")


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _shown(value: str, limit: int = 60) -> str:
    """A client's value, safe to echo in a message: cut short, undecodable bytes escaped."""
    return value[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


# -- checking the claim ------------------------------------------------------------------------

def _check_token(credential: Credential, token: str | None) -> None:
    if credential.session_token is not None and not hmac.compare_digest(
            _bytes(token or ""), credential.session_token.encode()):
        raise GateError("UnrecognizedClientException", _INVALID_TOKEN)


def _check_time(claim: _Claim, now: float, max_skew: int) -> str:
    """The claim's X-Amz-Date, if the call is within its window: `max_skew` either side of it
    for a header signature; from `max_skew` before it to X-Amz-Expires after it if presigned."""
    amz_date = claim.amz_date
    if amz_date is None:
        raise GateError("IncompleteSignatureException",
                        "Authorization header requires existence of a 'X-Amz-Date' header.")
    signed_at = _epoch(amz_date)
    if signed_at > now + max_skew:
        raise GateError("InvalidSignatureException",
                        f"Signature not yet current: {amz_date} is still later than "
                        f"{_stamp(now + max_skew)} ({_stamp(now)} + {max_skew // 60} min.)")
    if claim.expires is None and signed_at < now - max_skew:
        raise GateError("InvalidSignatureException",
                        f"Signature expired: {amz_date} is now earlier than "
                        f"{_stamp(now - max_skew)} ({_stamp(now)} - {max_skew // 60} min.)")
    if claim.expires is not None and signed_at + claim.expires < now:
        raise GateError("InvalidSignatureException",
                        f"Signature expired: {amz_date} is now earlier than "
                        f"{_stamp(now - claim.expires)} ({_stamp(now)} - {claim.expires} sec., "
                        "the X-Amz-Expires of this presigned request). Request has expired.")
    return amz_date


def _epoch(amz_date: str) -> int:
    try:
        if not _AMZ_DATE_SHAPE.fullmatch(amz_date):
            raise ValueError(amz_date)
        return calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
    except ValueError:
        raise GateError("IncompleteSignatureException",
                        f"X-Amz-Date '{_shown(amz_date, 40)}' must look like 20261126T100000Z."
                        ) from None


def _stamp(epoch: float) -> str:
    return time.strftime(_AMZ_DATE, time.gmtime(epoch))


def _scope(scope: str, amz_date: str, region: str) -> tuple[str, str, str]:
    parts = scope.split("/")
    if len(parts) != 4 or parts[3] != "aws4_request":
        raise GateError("IncompleteSignatureException",
                        "Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request.")
    date, scope_region, service, _ = parts
    if date != amz_date[:8]:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to a valid date: {amz_date[:8]}, "
                        f"not {_shown(date, 20)}.")
    if scope_region != region:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to a valid region, not "
                        f"'{_shown(scope_region, 40)}'. This gate serves '{region}'.")
    if service != SERVICE:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to correct service: '{SERVICE}'.")
    return date, scope_region, service


def _check_signed_headers(signed: Sequence[str], headers: Mapping[str, str]) -> None:
    missing = [h for h in signed if h not in headers]
    if "host" not in signed or missing:
        shown = ", ".join(_shown(h, 40) for h in missing[:10])
        raise GateError("IncompleteSignatureException",
                        "SignedHeaders must include host, and every signed header must be sent"
                        + (f" (missing: {shown})" if missing else "") + ".")


def _check_payload_hash(headers: Mapping[str, str], pairs: Pairs, digest: str) -> None:
    """A client may state its payload hash, as a header (boto3 can; aws-rum-web's fetch does)
    or in the query (aws-rum-web's presigned beacon): every statement must be the body's."""
    claims = [("header 'x-amz-content-sha256'", headers[_CONTENT_SHA256])] \
        if _CONTENT_SHA256 in headers else []
    claims += [(f"query parameter '{_shown(key)}'", value) for key, value in pairs
               if key.lower() == _CONTENT_SHA256]
    for where, claimed in claims:
        if claimed == _UNSIGNED_PAYLOAD:
            raise GateError("InvalidSignatureException",
                            f"UNSIGNED-PAYLOAD ({where}) is not accepted: the signature must "
                            "cover the body.")
        if not hmac.compare_digest(_bytes(claimed), digest.encode()):
            raise GateError("InvalidSignatureException",
                            f"The provided {where} does not match what was computed: it must "
                            "be the hex SHA-256 of the body as sent.")


# -- the signature -----------------------------------------------------------------------------

class _Signer(SigV4Auth):  # type: ignore[misc]  # botocore ships no type hints
    """botocore's signer, told the body's SHA-256 rather than hashing the body again: the gate
    has computed it to check the client's claims (up to 5 MB a call)."""

    def __init__(self, credentials: Credentials, service: str, region: str,
                 payload_hash: str) -> None:
        super().__init__(credentials, service, region)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def _canonical_request(claim: _Claim, *, method: str, scheme: str, raw_path: str,
                       headers: Mapping[str, str], body: bytes, amz_date: str) -> AWSRequest:
    """The request as botocore's signer must see it to sign it again: the signed headers only,
    the body (its SHA-256 is the payload hash, which `_check_payload_hash` made the only one
    accepted) and the covered query, each parameter encoded as SigV4 says so that botocore's
    sort gives the canonical query string."""
    query = "&".join(f"{_encode(key)}={_encode(value)}" for key, value in claim.canonical_query)
    request = AWSRequest(method=method, url=f"{scheme}://{headers['host']}{raw_path}"
                         + (f"?{query}" if query else ""),
                         headers={h: headers[h] for h in claim.signed_headers}, data=body)
    request.context["timestamp"] = amz_date
    return request
