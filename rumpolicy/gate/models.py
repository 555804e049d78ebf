"""The requests the gate accepts, as pydantic models carrying the botocore RUM model's constraints.

Constraint values are copied from botocore's `rum/2018-05-10` service model (the shapes named in
each comment); `tests/gate/test_models.py` compares them with the installed botocore so that a
model change shows up as a failing test. Patterns are matched against the **whole** value, as
AWS's validators do (the model writes them unanchored, in Smithy style).

Strict mode everywhere: a number is not a string, `true` is not a number. Unknown members are
ignored (the model grows: `SessionMetadata` was added late, and older clients must keep working
against newer services and the other way round). `null` for an optional member means absent.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] from evaluated
# annotations only, and tests compare its required keys with botocore's.
from typing import Annotated, NotRequired

import orjson
import pydantic_core
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from rumpolicy.gate.json_rules import MAX_DEPTH, deeper_than

UUID_PATTERN = (r"[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-"
                r"[a-fA-F0-9]{12}")
"""PutRumEventsRequestIdString, PutRumEventsRequestBatchIdString, RumEventIdString,
UserDetailsUserIdString, UserDetailsSessionIdString, AppMonitorId: 36 characters."""
UUID_LENGTH = 36
ALIAS_MIN, ALIAS_MAX = 1, 255  # Alias
LATEST_TIMESTAMP = 253402300799.0
"""9999-12-31T23:59:59Z: the last second an ISO date can show (see `Timestamp`)."""


def _json_text(value: str) -> str:
    """A `jsonvalue` member is a string that must itself be JSON text (RFC 8259: no NaN or
    Infinity, no number too large for a double), nested no deeper than every reader reads
    (json_rules.py; docs/semantics.md)."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise pydantic_core.PydanticCustomError(
            "json_text", "Member must be a string of JSON text ({problem})",
            {"problem": str(err)}) from None
    if value.count("{") + value.count("[") > MAX_DEPTH and deeper_than(parsed):
        raise pydantic_core.PydanticCustomError(
            "json_text", "Member must be a string of JSON text nested at most {limit} levels "
            "deep", {"limit": MAX_DEPTH})
    return value


_SEEN_JSON: dict[str, None] = {}
_SEEN_JSON_LIMIT = 1024


def _repeated_json_text(value: str) -> str:
    """`_json_text` for members a client repeats: aws-rum-web sends the page's `metadata` with
    every event of the page and the same `SessionMetadata` with every batch of a session. A text
    once found to be JSON is JSON again; looking it up costs a tenth of parsing it."""
    if value in _SEEN_JSON:
        return value
    _json_text(value)
    if len(_SEEN_JSON) >= _SEEN_JSON_LIMIT:
        _SEEN_JSON.clear()
    _SEEN_JSON[value] = None
    return value


UuidText = Annotated[str, StringConstraints(min_length=UUID_LENGTH, max_length=UUID_LENGTH,
                                            pattern=f"^{UUID_PATTERN}$")]
AliasText = Annotated[str, StringConstraints(min_length=ALIAS_MIN, max_length=ALIAS_MAX)]
JsonText = Annotated[str, AfterValidator(_json_text)]
RepeatedJsonText = Annotated[str, AfterValidator(_repeated_json_text)]
Timestamp = Annotated[float, Field(ge=0, le=LATEST_TIMESTAMP, allow_inf_nan=False)]
"""rest-json timestamps are epoch seconds as a JSON number, int or float."""

_DATA = ConfigDict(strict=True, extra="ignore", frozen=True)
_BODY = ConfigDict(strict=True, extra="ignore")
"""PutRumEvents' body validates into plain dicts (TypedDicts, unknown members dropped): it is
read once, to store the batch, and building a model per event cost a fifth of validation."""


@with_config(_BODY)
class AppMonitorDetailsShape(TypedDict, total=False):
    name: str | None
    id: str | None
    version: str | None


@with_config(_BODY)
class UserDetailsShape(TypedDict, total=False):
    userId: UuidText | None
    sessionId: UuidText | None


@with_config(_BODY)
class RumEventShape(TypedDict):
    id: UuidText
    timestamp: Timestamp
    type: str
    metadata: NotRequired[RepeatedJsonText | None]
    details: JsonText


@with_config(_BODY)
class PutRumEventsBody(TypedDict):
    """The body of PutRumEvents (the `Id` member travels in the URI)."""

    BatchId: UuidText
    AppMonitorDetails: AppMonitorDetailsShape
    UserDetails: UserDetailsShape
    RumEvents: list[RumEventShape]
    Alias: NotRequired[AliasText | None]
    SessionMetadata: NotRequired[RepeatedJsonText | None]
