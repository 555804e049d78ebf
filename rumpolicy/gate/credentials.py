"""Who a signed call comes from: the credentials table and SigV4 verification.

A call with an `Authorization: AWS4-HMAC-SHA256 ...` header names an access key. An unknown key is
refused as AWS refuses it (UnrecognizedClientException, 403). When the table knows the key's
secret, botocore's own signer recomputes the signature over what arrived (method, raw path, query,
the signed headers, the body as sent) and a mismatch is InvalidSignatureException; a key listed
without a secret is trusted as is. Unsigned calls are anonymous (`None`).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from rumpolicy.gate.config import Credential
from rumpolicy.gate.context import Identity
from rumpolicy.gate.errors import GateError

SERVICE = "rum"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. Consult the service "
             "documentation for details.")
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def authenticate(credentials: Mapping[str, Credential], *, method: str, scheme: str,
                 raw_path: str, query: str, headers: Mapping[str, str], body: bytes,
                 now: float, region: str, max_skew: int) -> Identity | None:
    """The caller's identity, None for an unsigned call, or a GateError (403/400).

    `headers` has lower-case names; `raw_path` and `query` are exactly as received."""
    authorization = headers.get("authorization")
    if authorization is None:
        if any(k.lower() == "x-amz-signature" for k, _ in parse_qsl(query)):
            raise GateError("IncompleteSignatureException",
                            "Query-string (presigned) SigV4 signatures are not supported by this "
                            "gate; sign with the Authorization header or send the call unsigned.")
        return None
    match = _AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise GateError("IncompleteSignatureException",
                        "Authorization header must be 'AWS4-HMAC-SHA256 Credential=KEY/DATE/"
                        "REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=<64 hex>'.")
    access_key, _, scope = match["credential"].partition("/")
    credential = credentials.get(access_key)
    if credential is None:
        raise GateError("UnrecognizedClientException",
                        "The security token included in the request is invalid.")
    if credential.secret_key is None:
        return credential.identity()
    _check_token(credential, headers)
    amz_date = _request_time(headers, now, max_skew)
    signed = match["signed"].split(";")
    _, scope_region, scope_service = _scope(scope, amz_date, region)
    missing = [h for h in signed if h not in headers]
    if "host" not in signed or missing:
        raise GateError("IncompleteSignatureException",
                        "SignedHeaders must include host, and every signed header must be sent"
                        + (f" (missing: {', '.join(missing)})" if missing else "") + ".")
    _check_payload_hash(headers, body)
    request = AWSRequest(method=method, url=f"{scheme}://{headers['host']}{raw_path}"
                         + (f"?{query}" if query else ""),
                         headers={h: headers[h] for h in signed}, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, credential.secret_key), scope_service,
                       scope_region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise GateError("InvalidSignatureException", _MISMATCH)
    return credential.identity()


def _check_token(credential: Credential, headers: Mapping[str, str]) -> None:
    token = headers.get("x-amz-security-token")
    if credential.session_token is not None and not hmac.compare_digest(
            (token or "").encode(), credential.session_token.encode()):
        raise GateError("UnrecognizedClientException",
                        "The security token included in the request is invalid.")


def _request_time(headers: Mapping[str, str], now: float, max_skew: int) -> str:
    amz_date = headers.get("x-amz-date")
    if amz_date is None:
        raise GateError("IncompleteSignatureException",
                        "Authorization header requires existence of a 'X-Amz-Date' header.")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
    except ValueError:
        raise GateError("IncompleteSignatureException",
                        f"X-Amz-Date '{amz_date[:40]}' must look like 20261126T100000Z.") from None
    if abs(signed_at - now) > max_skew:
        earliest = time.strftime(_AMZ_DATE, time.gmtime(now - max_skew))
        raise GateError("InvalidSignatureException",
                        f"Signature expired: {amz_date} is now earlier than {earliest} "
                        f"({time.strftime(_AMZ_DATE, time.gmtime(now))} - "
                        f"{max_skew // 60} min.)" if signed_at < now else
                        f"Signature not yet current: {amz_date} is still later than "
                        f"{time.strftime(_AMZ_DATE, time.gmtime(now + max_skew))}.")
    return amz_date


def _scope(scope: str, amz_date: str, region: str) -> tuple[str, str, str]:
    parts = scope.split("/")
    if len(parts) != 4 or parts[3] != "aws4_request":
        raise GateError("IncompleteSignatureException",
                        "Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request.")
    date, scope_region, service, _ = parts
    if date != amz_date[:8]:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to a valid date: {amz_date[:8]}, "
                        f"not {date}.")
    if scope_region != region:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to a valid region, not '{scope_region}'. "
                        f"This gate serves '{region}'.")
    if service != SERVICE:
        raise GateError("InvalidSignatureException",
                        f"Credential should be scoped to correct service: '{SERVICE}'.")
    return date, scope_region, service


def _check_payload_hash(headers: Mapping[str, str], body: bytes) -> None:
    """A client may send its payload hash (aws-rum-web does); it must be the body's."""
    claimed = headers.get("x-amz-content-sha256")
    if claimed is None:
        return
    if claimed == _UNSIGNED_PAYLOAD:
        raise GateError("InvalidSignatureException",
                        "UNSIGNED-PAYLOAD is not accepted: the signature must cover the body.")
    if not hmac.compare_digest(claimed, hashlib.sha256(body).hexdigest()):
        raise GateError("InvalidSignatureException",
                        "The provided 'x-amz-content-sha256' header does not match what was "
                        "computed.")
