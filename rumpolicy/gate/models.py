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
from typing import Annotated, Any, Literal, NotRequired

import orjson
import pydantic_core
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from rumpolicy.gate.json_rules import MAX_DEPTH, deeper_than

UUID_PATTERN = (r"[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-"
                r"[a-fA-F0-9]{12}")
"""PutRumEventsRequestIdString, PutRumEventsRequestBatchIdString, RumEventIdString,
UserDetailsUserIdString, UserDetailsSessionIdString, AppMonitorId: 36 characters."""
UUID_LENGTH = 36
ALIAS_MIN, ALIAS_MAX = 1, 255  # Alias
NAME_PATTERN = r"(?!\.)[\.\-_#A-Za-z0-9]+"  # AppMonitorName
NAME_MIN, NAME_MAX = 1, 255
DOMAIN_PATTERN = (  # AppMonitorDomain
    r"(localhost)$|^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}"
    r"(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$|(?=^[a-zA-Z0-9\.\*-]{4,253}$)(?!.*\.-)(?!.*-\.)"
    r"(?!.*\.\.)(?!.*[^\.]{64,})^(\*\.)?(?![-\.\*])[^\*]{1,}\.(\*|(?!.*--)(?=.*[a-zA-Z])"
    r"[^\*]{1,}[^\*-])"
)
DOMAIN_MIN, DOMAIN_MAX = 1, 253
DOMAIN_LIST_MIN, DOMAIN_LIST_MAX = 1, 5  # AppMonitorDomainList
REVISION_MIN, REVISION_MAX = 1, 255  # PolicyRevisionId
TAG_KEY_PATTERN = r"(?!aws:)[a-zA-Z+-=._:/]+"  # TagKey
TAG_KEY_MIN, TAG_KEY_MAX = 1, 128
TAG_VALUE_MAX = 256  # TagValue
MAX_RESULTS_MIN, MAX_RESULTS_MAX = 1, 100  # MaxResultsInteger
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


# -- control plane: not on the hot path, so Python's `re` (which has look-ahead) checks patterns --

_CONTROL = ConfigDict(strict=True, extra="ignore", frozen=True, regex_engine="python-re")
MonitorName = Annotated[str, StringConstraints(min_length=NAME_MIN, max_length=NAME_MAX,
                                               pattern=f"^(?:{NAME_PATTERN})$")]
DomainText = Annotated[str, StringConstraints(min_length=DOMAIN_MIN, max_length=DOMAIN_MAX,
                                          pattern=f"^(?:{DOMAIN_PATTERN})$")]
TagKey = Annotated[str, StringConstraints(min_length=TAG_KEY_MIN, max_length=TAG_KEY_MAX,
                                          pattern=f"^(?:{TAG_KEY_PATTERN})$")]
TagValue = Annotated[str, StringConstraints(max_length=TAG_VALUE_MAX)]
RevisionId = Annotated[str, StringConstraints(min_length=REVISION_MIN, max_length=REVISION_MAX)]


class CustomEventsShape(BaseModel):
    model_config = _CONTROL
    Status: Literal["ENABLED", "DISABLED"] | None = None


class CreateAppMonitorBody(BaseModel):
    """CreateAppMonitor. Configuration members the gate does not act on are kept and echoed by
    GetAppMonitor, type-checked as JSON objects only."""

    model_config = _CONTROL
    Name: MonitorName
    Domain: DomainText | None = None
    DomainList: Annotated[list[DomainText], Field(min_length=DOMAIN_LIST_MIN,
                                              max_length=DOMAIN_LIST_MAX)] | None = None
    Tags: dict[TagKey, TagValue] | None = None
    AppMonitorConfiguration: dict[str, Any] | None = None
    CwLogEnabled: bool | None = None
    CustomEvents: CustomEventsShape | None = None
    DeobfuscationConfiguration: dict[str, Any] | None = None
    Platform: Literal["Web", "Android", "iOS"] | None = None


class PutResourcePolicyBody(BaseModel):
    model_config = _CONTROL
    PolicyDocument: str
    PolicyRevisionId: RevisionId | None = None


class NameParameter(BaseModel):
    """A monitor name arriving in the URI ({Name})."""

    model_config = _CONTROL
    Name: MonitorName


class IdParameter(BaseModel):
    """PutRumEvents' {Id} URI label."""

    model_config = _DATA
    Id: UuidText


class ListParameters(BaseModel):
    """ListAppMonitors' query string (maxResults, nextToken)."""

    model_config = ConfigDict(strict=False, extra="ignore", frozen=True)
    MaxResults: Annotated[int, Field(ge=MAX_RESULTS_MIN, le=MAX_RESULTS_MAX)] | None = None
    NextToken: str | None = None


class DeleteParameters(BaseModel):
    model_config = _CONTROL
    PolicyRevisionId: RevisionId | None = None
