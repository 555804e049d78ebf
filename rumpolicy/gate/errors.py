"""The AWS errors the gate answers with: code, HTTP status and the modeled members.

The table follows botocore's RUM model (`rum/2018-05-10`): each error's status and which members
its body carries. Codes outside the model (`UnrecognizedClientException`, ...) are the ones AWS's
front door answers for authentication failures; boto3 raises them as a plain `ClientError` with
that code, exactly as it does against AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorKind:
    status: int
    members: tuple[str, ...]
    """Members besides `message` that the model defines for the error's body."""
    retry_after: bool = False
    """Whether the error carries the modeled `Retry-After` header."""


ERRORS: dict[str, ErrorKind] = {
    "AccessDeniedException": ErrorKind(403, ()),
    "ConflictException": ErrorKind(409, ("resourceName", "resourceType")),
    "InternalServerException": ErrorKind(500, (), retry_after=True),
    "InvalidPolicyRevisionIdException": ErrorKind(400, ()),
    "MalformedPolicyDocumentException": ErrorKind(400, ()),
    "PolicyNotFoundException": ErrorKind(404, ()),
    "PolicySizeLimitExceededException": ErrorKind(400, ()),
    "ResourceNotFoundException": ErrorKind(404, ("resourceName", "resourceType")),
    "ServiceQuotaExceededException": ErrorKind(402, ()),
    "ThrottlingException": ErrorKind(429, ("serviceCode", "quotaCode"), retry_after=True),
    "ValidationException": ErrorKind(400, ()),
    # Not in the RUM model: AWS's authentication front door and its router.
    "UnrecognizedClientException": ErrorKind(403, ()),
    "InvalidSignatureException": ErrorKind(403, ()),
    "IncompleteSignatureException": ErrorKind(400, ()),
    "UnknownOperationException": ErrorKind(404, ()),
}


class GateError(Exception):
    """An AWS error answer. Raising one is how any gate step refuses a request."""

    def __init__(self, code: str, message: str, *, retry_after: int | None = None,
                 **members: str) -> None:
        kind = ERRORS[code]
        unknown = set(members) - set(kind.members)
        if unknown:
            raise ValueError(f"{code} has no member(s) {sorted(unknown)}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = kind.status
        self.members = dict(members)
        self.retry_after = retry_after if kind.retry_after else None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles whole: the store's writer process sends refusals back to the gate."""
        return _rebuild, (self.code, self.message, self.retry_after, self.members)

    def body(self) -> dict[str, Any]:
        """The JSON body: `message` plus the modeled members that are set."""
        return {"message": self.message, **self.members}

    def headers(self) -> dict[str, str]:
        """The `x-amzn-ErrorType` header botocore reads the code from, and `Retry-After`."""
        headers = {"x-amzn-ErrorType": self.code}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, **self.body()}


def _rebuild(code: str, message: str, retry_after: int | None, members: dict[str, str]
             ) -> GateError:
    return GateError(code, message, retry_after=retry_after, **members)


def validation(message: str) -> GateError:
    return GateError("ValidationException", message)


def monitor_not_found(name: str) -> GateError:
    return GateError("ResourceNotFoundException", f"App monitor {name} does not exist.",
                     resourceName=name, resourceType="AppMonitor")


def internal(request_id: str) -> GateError:
    """What every unexpected failure becomes: nothing was stored, the caller may retry."""
    return GateError("InternalServerException",
                     f"The gate failed while handling request {request_id}; nothing was stored. "
                     "Retry the request.", retry_after=1)
